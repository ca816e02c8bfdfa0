"""The modules that run compiled (mypyc), and the switch that runs them as Python.

setup.py compiles ``COMPILED_MODULES`` with mypyc when it can (the same source, as C
extensions). Setting ``TOKENWORKS_PURE_PYTHON=1`` before tokenworks is imported makes an
installed package load these modules from their ``.py`` source instead, so both builds can be
run and compared on one install (tests/test_compiled.py). ``engine_build()`` says which one
is running. They are the simulator's hot path (docs/performance.md).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
import warnings
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

__all__ = ["COMPILED_MODULES", "engine_build", "install_pure_python_finder",
           "pure_python_requested"]

COMPILED_MODULES = (
    "tokenworks.perf.step_formula",
    "tokenworks.serving.events",
    "tokenworks.serving.block_manager",
    "tokenworks.serving.seq",
    "tokenworks.serving.jump",
    "tokenworks.serving.recorder",
    "tokenworks.serving.engine_state",
    "tokenworks.serving.admission",
    "tokenworks.serving.scheduler",
    "tokenworks.serving.prefill_jump",
    "tokenworks.serving.fastpath",
    "tokenworks.serving.replica",
    "tokenworks.serving.sessions",
    "tokenworks.serving.prefix_cache",
)


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Loads the compiled modules from their ``.py`` source when asked to (pure-Python mode)
    or when any extension is older than its source (an edit since the last build): then all
    of them, since a compiled class cannot be the base of an interpreted one (the replica
    subclasses the compiled scheduler state)."""

    def __init__(self, root: Path, pure: bool) -> None:
        self.root = root  # the tokenworks package folder
        self.pure = pure or self._stale()

    def _source(self, fullname: str) -> Path:
        return self.root.joinpath(*fullname.split(".")[1:]).with_suffix(".py")

    def _stale(self) -> bool:
        for name in COMPILED_MODULES:
            source = self._source(name)
            ext = next((p for p in (source.with_suffix(s) for s in EXTENSION_SUFFIXES)
                        if p.exists()), None)
            # ASSUMPTION: an extension more than 2 s older than its source was built before the
            # source was edited (installs write both within milliseconds).
            if ext is not None and source.exists() and \
                    ext.stat().st_mtime + 2.0 < source.stat().st_mtime:
                warnings.warn(f"{ext.name} is older than {source.name}: running the engine from "
                              "source. Reinstall (pip install -e .) to compile the edited "
                              "engine.", stacklevel=4)
                return True
        return False

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in COMPILED_MODULES or not self.pure:
            return None  # the normal import: the extension, or the source if none
        return importlib.util.spec_from_file_location(fullname, self._source(fullname))


def pure_python_requested(value: str | None) -> bool:
    """Whether ``TOKENWORKS_PURE_PYTHON`` asks for the source: 1/true/yes do, unset, empty,
    0/false/no do not; any other value is reported (a warning) and ignored."""
    v = (value or "").strip().lower()
    if v in ("1", "true", "yes"):
        return True
    if v not in ("", "0", "false", "no"):
        warnings.warn(f"TOKENWORKS_PURE_PYTHON = {value!r} is not understood: use 1 to run the "
                      "engine as Python or 0 (or unset) for the compiled build; using the "
                      "compiled build.", stacklevel=3)
    return False


def install_pure_python_finder() -> None:
    """Load the compiled modules from source with ``TOKENWORKS_PURE_PYTHON=1`` (or where an
    edit made the extension stale)."""
    if not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        pure = pure_python_requested(os.environ.get("TOKENWORKS_PURE_PYTHON"))
        sys.meta_path.insert(0, _SourceFirst(Path(__file__).parent, pure))


def engine_build() -> str:
    """``"compiled"`` when every hot module runs from a mypyc extension, ``"python"`` when
    none does, ``"mixed"`` otherwise (a partly failed build, or edits since the last one)."""
    files = [getattr(importlib.import_module(m), "__file__", "") or ""
             for m in COMPILED_MODULES]
    compiled = sum(not f.endswith(".py") for f in files)
    if compiled == len(files):
        return "compiled"
    return "mixed" if compiled else "python"


install_pure_python_finder()  # on import: tokenworks/__init__.py imports this module first
