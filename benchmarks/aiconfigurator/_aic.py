"""Shared helpers for the AIConfigurator comparison scripts.

Nothing here ships AIConfigurator code or data: the scripts locate the
*installed* PyPI package (``aiconfigurator`` / ``aiconfigurator-core``,
Apache-2.0) at run time and read its measured-kernel databases from there.
When the package is not importable every script prints a message and exits 0.

Install it outside the repo, e.g.::

    python3 -m venv /work/venv-aic && /work/venv-aic/bin/pip install aiconfigurator
    /work/venv-aic/bin/python benchmarks/aiconfigurator/fit_kernels.py
"""

from __future__ import annotations

import importlib.metadata
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def require_aic() -> str:
    """Return the aiconfigurator-core install dir, or exit 0 with a message."""
    try:
        import aiconfigurator_core
    except Exception as exc:  # pragma: no cover - depends on the environment
        print(
            "SKIP: aiconfigurator is not installed in this interpreter "
            f"({exc.__class__.__name__}: {exc}).\n"
            "      Install it outside the repo: python3 -m venv /work/venv-aic && "
            "/work/venv-aic/bin/pip install aiconfigurator; then run this script "
            "with /work/venv-aic/bin/python."
        )
        sys.exit(0)
    import aiconfigurator_core

    return os.path.dirname(os.path.abspath(aiconfigurator_core.__file__))


def aic_version() -> str:
    try:
        return importlib.metadata.version("aiconfigurator")
    except importlib.metadata.PackageNotFoundError:
        return importlib.metadata.version("aiconfigurator-core")


def core_version() -> str:
    return importlib.metadata.version("aiconfigurator-core")


def data_root(core_dir: str) -> str:
    return os.path.join(core_dir, "systems", "data")


def rel_in_package(path: str, core_dir: str) -> str:
    """Path as it appears inside the installed wheel (site-packages relative)."""
    site = os.path.dirname(core_dir)
    return os.path.relpath(path, site)


def system_spec(core_dir: str, system: str) -> dict:
    import yaml

    with open(os.path.join(core_dir, "systems", f"{system}.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def current_versions(core_dir: str) -> dict:
    """The (system, framework) -> 'current' perf-DB version slots of the package."""
    import yaml

    with open(os.path.join(core_dir, "systems", "query_versions.yaml"), encoding="utf-8") as f:
        q = yaml.safe_load(f)
    return q


def current_version(q: dict, system: str, framework: str) -> str | None:
    ov = (q.get("overrides") or {}).get(system, {}).get(framework)
    if ov and ov.get("current"):
        return ov["current"]
    d = (q.get("defaults") or {}).get(framework)
    return d.get("current") if d else None
