"""CLI tests for ``tokenworks claims``: JSON shape, --id errors, docs/claims.md freshness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clitools import run
from tokenworks.claims import ROW_KEYS, VERDICTS

DOCS = Path(__file__).parents[2] / "docs" / "claims.md"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run(list(argv), capsys)


def test_json_lists_every_claim_with_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "claims", "--json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) >= 200
    for row in rows:
        assert tuple(row) == ROW_KEYS, row["id"]
        assert row["verdict"] in VERDICTS
        if row["verdict"] == "unverifiable":
            assert row["computed_value"] is None
        else:
            assert isinstance(row["computed_value"], float)


def test_id_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "claims", "--json", "--id", "h100-ridge-point")
    assert code == 0
    (row,) = json.loads(out)
    assert row["id"] == "h100-ridge-point" and row["verdict"] == "reproduced"


def test_unknown_id_exits_1_with_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "claims", "--id", "kv-70b-128")
    assert code == 1
    assert "not in the ledger" in err and "Did you mean: kv-70b-128k" in err


def test_table_renders(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "claims", "--id", "kv-70b-128k")
    assert code == 0
    assert "kv-70b-128k" in out and "differs" in out and "42.9" in out


def test_docs_page_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/claims.md must equal `tokenworks claims --markdown` (regenerate it if this fails:
    tokenworks claims --markdown > docs/claims.md)."""
    code, out, _ = _run(capsys, "claims", "--markdown")
    assert code == 0
    assert DOCS.exists(), "docs/claims.md is missing; generate it with tokenworks claims --markdown"
    assert DOCS.read_text() == out


def test_several_ids_show_details(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "claims", "--id", "h100-ridge-point", "--id", "kv-batch32-8k")
    assert code == 0
    assert "2 claims: 1 reproduced, 1 differ, 0 unverifiable" in out
    assert "working:" in out and "MHA" in out
