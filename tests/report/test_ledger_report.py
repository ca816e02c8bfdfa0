"""report.ledger: the claims table follows the ledger's rows (and columns added later)."""

from __future__ import annotations

from tokenworks.report.ledger import claims_data, verdict_counts
from tokenworks.report.registry import build_report

ROWS = [
    {"id": "a", "claim": "A claim", "seed_value_text": "10", "computed_value": 9.5, "unit": "GB",
     "verdict": "reproduced", "explanation": "close", "seed_title": "Seed 1"},
    {"id": "b", "claim": "B claim", "seed_value_text": "2–3", "computed_value": 7.25e9,
     "unit": "x", "verdict": "differs", "explanation": "far", "seed_title": "Seed 1"},
    {"id": "c", "claim": "C claim", "seed_value_text": "1", "computed_value": None, "unit": "%",
     "verdict": "differs", "explanation": "n/a", "seed_title": "Seed 2"},
]


def test_verdict_counts_by_seed():
    c = verdict_counts(ROWS)
    assert list(c) == ["Seed 1", "Seed 2"]
    assert c["Seed 1"] == {"reproduced": 1, "differs": 1} and c["Seed 2"] == {"differs": 1}


def test_claims_table_is_filterable_by_verdict():
    rep = build_report("claims", claims_data(ROWS))
    t = rep.block("claims-table")
    assert t.filterable and t.filter_column == "verdict"
    assert t.columns == ("id", "seed", "computed", "unit", "verdict", "claim", "explanation",
                         "seed document")
    assert t.rows[1][2] == "7.25e+09" and t.rows[2][2] == "—"
    chart = rep.block("claims-verdicts").figure
    assert {tr["name"] for tr in chart["data"]} == {"differs", "reproduced"}
    assert "1 reproduced, 2 differs of 3 claims" in rep.block("claims-verdicts").caption


def test_a_kind_column_from_the_ledger_is_shown_and_grouped_on():
    rows = [{**r, "kind": k} for r, k in zip(ROWS, ("physics", "economics", "physics"),
                                             strict=True)]
    rep = build_report("claims", claims_data(rows))
    assert "kind" in rep.block("claims-table").columns
    assert rep.block("claims-verdicts").figure["data"][0]["y"] == ["physics", "economics"]


def test_the_real_ledger_renders():
    from tokenworks.claims import run_ledger

    results = run_ledger()
    rep = build_report("claims", claims_data(results))
    assert len(rep.block("claims-table").rows) == len(results)
