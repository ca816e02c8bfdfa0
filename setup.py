"""Build hook: compile the serving engine's hot modules with mypyc when possible.

Everything else about the package is in pyproject.toml. The modules below are plain,
type-annotated Python; mypyc (https://mypyc.readthedocs.io) turns each into a C extension
with the same behaviour, which runs the simulator's event loop about twice as fast (see
docs/performance.md). The pure-Python source stays the reference:

* ``TOKENWORKS_PURE_PYTHON=1`` at install time skips the compilation;
* if mypyc or a C compiler is missing, or compiling fails, the install goes on without the
  extensions and the same modules run as Python;
* ``TOKENWORKS_PURE_PYTHON=1`` at run time makes an installed package ignore its compiled
  modules (tokenworks/_compiled.py), which is how the tests check both builds.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup

# The event loop's hot path (docs/performance.md). Keep in sync with
# tokenworks._compiled.COMPILED_MODULES (a test checks it).
COMPILED_MODULES = [
    "tokenworks.perf.step_scalar",
    "tokenworks.serving.events",
    "tokenworks.serving.block_manager",
    "tokenworks.serving.scheduler",
    "tokenworks.serving.prefill_jump",
    "tokenworks.serving.fastpath",
    "tokenworks.serving.recorder",
    "tokenworks.serving.admission",
    "tokenworks.serving.replica",
    "tokenworks.serving.sessions",
    "tokenworks.serving.prefix_cache",
]


def _ext_modules() -> list:
    if os.environ.get("TOKENWORKS_PURE_PYTHON", "") == "1":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:  # no mypyc in the build environment: pure Python
        print(f"tokenworks: mypyc unavailable ({exc}); installing the pure-Python engine.",
              file=sys.stderr)
        return []
    paths = ["src/" + m.replace(".", "/") + ".py" for m in COMPILED_MODULES]
    try:
        exts = mypycify(paths, opt_level="3", group_name="tokenworks_engine")
    except (Exception, SystemExit) as exc:  # type errors or an unsupported construct
        print(f"tokenworks: mypyc could not compile the engine ({exc}); installing the "
              "pure-Python engine.", file=sys.stderr)
        return []
    for ext in exts:
        ext.optional = True  # a C compiler failure leaves the pure-Python modules in place
    return exts


setup(ext_modules=_ext_modules())
