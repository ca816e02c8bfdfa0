"""docs/catalogs/models.md is generated from the catalog and must not go stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen_models_doc.py"


def _load():
    spec = importlib.util.spec_from_file_location("gen_models_doc", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_models_doc_is_current():
    assert _load().main(["--check"]) == 0, "run: python scripts/gen_models_doc.py"


def test_models_doc_lists_every_model():
    from tokenworks.model import list_models

    text = _load().render()
    for arch in list_models():
        assert f"| {arch.name} |" in text, arch.name
