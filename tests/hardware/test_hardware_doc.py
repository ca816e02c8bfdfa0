"""docs/catalogs/hardware.md is generated from the catalogs and must not go stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen_hardware_doc.py"


def _load():
    spec = importlib.util.spec_from_file_location("gen_hardware_doc", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_hardware_doc_is_current():
    mod = _load()
    assert mod.main(["--check"]) == 0, "run: python scripts/gen_hardware_doc.py"


def test_hardware_doc_lists_every_entry():
    from tokenworks.hardware import list_accelerators, list_systems

    text = _load().render()
    for name in [a.name for a in list_accelerators()] + [s.name for s in list_systems()]:
        assert f"| {name} |" in text, name
