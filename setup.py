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

import ast
import os
import sys
from pathlib import Path

from setuptools import setup


# The modules to compile: the event loop's hot path (docs/performance.md), listed once in
# tokenworks/_compiled.py, which also switches them to source at run time.
def _compiled_modules() -> list[str]:
    """``COMPILED_MODULES`` of src/tokenworks/_compiled.py, read without importing the package
    (its dependencies are not in the build environment)."""
    tree = ast.parse(Path(__file__).with_name("src").joinpath("tokenworks", "_compiled.py")
                     .read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "COMPILED_MODULES"
                                                for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise RuntimeError("src/tokenworks/_compiled.py defines no COMPILED_MODULES")


def _ext_modules() -> list:
    # Same reading as tokenworks._compiled.pure_python_requested (1/true/yes).
    if os.environ.get("TOKENWORKS_PURE_PYTHON", "").strip().lower() in ("1", "true", "yes"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:  # no mypyc in the build environment: pure Python
        print(f"tokenworks: mypyc unavailable ({exc}); installing the pure-Python engine.",
              file=sys.stderr)
        return []
    paths = ["src/" + m.replace(".", "/") + ".py" for m in _compiled_modules()]
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
