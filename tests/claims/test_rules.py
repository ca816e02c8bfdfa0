"""The ledger's rules on synthetic claims: sensitivity over the seed's own range, the dominant
term of a difference, the at_most comparison, and the row export contract."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tokenworks.claims import (
    EVALUATORS,
    ROW_KEYS,
    Claim,
    Computed,
    Params,
    evaluate_claim,
    evaluator,
    get_claim,
    run_ledger,
    verdict_for,
)
from tokenworks.claims.schema import Sensitivity


@pytest.fixture(scope="module", autouse=True)
def _linear_evaluator():
    """value = a·x (SI), with two terms: a·x·share and a·x·(1 − share)."""
    @evaluator("_test_linear")
    def linear(p: Params) -> Computed:
        v = p.float("a") * p.float("x")
        s = p.float("share", 0.5)
        return Computed(value=v, working="a·x", terms=(("kept", v * s), ("left out", v * (1 - s))))
    yield
    del EVALUATORS["_test_linear"]


def _claim(**kw) -> Claim:
    base = dict(id="t", kind="model", file="t.toml", seed_file="s", seed_title="s",
                section="s", quote=None, claim="a test claim", seed_value=100.0,
                seed_low=100.0, seed_high=100.0, unit="x", scenario="test scenario",
                condition=None, evaluator="_test_linear",
                params=(("a", 10.0), ("share", 0.75), ("x", 5.0)), tolerance_frac=0.15,
                tolerance_note=None, compare="value", sensitivity=None, model_check=None,
                seed_includes=(), sources=(), expected_verdict="differs",
                explanation_reproduced="yes {computed}", explanation_differs="no {computed}",
                explanation_unverifiable="")
    base.update(kw)
    return Claim(**base)


def test_seed_range_flip_reproduces() -> None:
    """At x = 5 the value is 50 (differs from 100); x = 10 inside the seed's own range gives
    100, so the seed's own inputs produce its figure: reproduced, with the note."""
    c = _claim(sensitivity=Sensitivity(param="x", low=5.0, high=10.0, range_from="seed",
                                       label="the seed's own x range"))
    r = evaluate_claim(c)
    assert r.computed_value == pytest.approx(50.0)
    assert r.verdict == "reproduced"
    assert "flips inside the seed's own range" in (r.sensitivity or "")


def test_ledger_range_flip_keeps_the_scenario_verdict() -> None:
    c = _claim(sensitivity=Sensitivity(param="x", low=5.0, high=10.0, range_from="ledger",
                                       label="our assumed x range"))
    r = evaluate_claim(c)
    assert r.verdict == "differs"
    assert "flips inside this range" in (r.sensitivity or "")


def test_dominant_term_of_the_difference() -> None:
    """With seed_includes = ('kept',), the gap is the 'left out' term: 25% of 50 = 12.5."""
    r = evaluate_claim(_claim(seed_includes=("kept",)))
    assert r.dominant_term is not None and r.dominant_term.startswith("left out (12.5×")
    r2 = evaluate_claim(_claim())
    assert r2.dominant_term is not None and r2.dominant_term.startswith("kept (37.5×")


def test_at_most_rule() -> None:
    c = _claim(compare="at_most", tolerance_frac=0.1)
    assert verdict_for(c, 110.0) == "reproduced"
    assert verdict_for(c, 110.1) == "differs"
    assert verdict_for(c, None) == "unverifiable"


def test_row_export_contract() -> None:
    """The row keys are a public contract for reports: pinned here, documented in claims.md."""
    assert ROW_KEYS == (
        "id", "seed", "seed_file", "seed_title", "section", "kind", "statement", "quote",
        "condition", "seed_value", "seed_value_low", "seed_value_high", "seed_value_text",
        "computed_value", "unit", "verdict", "tolerance_frac", "tolerance_rule", "explanation",
        "dominant_term", "sensitivity", "model_value", "model_working", "sources", "working",
        "scenario", "evaluator", "compare", "ratio", "file")
    rows = [r.to_dict() for r in run_ledger()]
    json.dumps(rows)  # plain types only
    assert all(tuple(row) == ROW_KEYS for row in rows)


def test_ledger_is_deterministic() -> None:
    a = [r.to_dict() for r in run_ledger()]
    b = [r.to_dict() for r in run_ledger()]
    assert a == b


def test_terms_add_up() -> None:
    """Where an evaluator gives terms they sum to its value (a margin: 1 + its cost terms)."""
    for c in [get_claim(i) for i in ("batch64-cost", "cluster-100k-gpus-200mw",
                                      "gpu-economic-life-3-4-years", "001-meta-h1-2025-capex")]:
        out = EVALUATORS[c.evaluator](Params(c.id, dict(c.params)))
        assert sum(v for _, v in out.terms) == pytest.approx(out.value, rel=1e-9), c.id
    c = get_claim("neocloud-gross-margin-pre-dep")
    out = EVALUATORS[c.evaluator](Params(c.id, dict(c.params)))
    assert 1 + sum(v for _, v in out.terms) == pytest.approx(out.value, rel=1e-9)


def test_model_never_overrides_a_reported_figure() -> None:
    """The post-depreciation margin: the model at 55% says ~9%, the operator reports ~16%;
    the verdict follows the report and the model is shown beside it."""
    r = evaluate_claim(get_claim("neocloud-gross-margin-post-dep"))
    assert r.claim.kind == "reported" and r.verdict == "reproduced"
    assert r.model_value is not None and r.model_value < 14.0
    c = get_claim("neocloud-gross-margin-post-dep")
    flipped = replace(c, params=tuple((k, 99.0 if k == "value" else v) for k, v in c.params))
    assert evaluate_claim(flipped).model_value == pytest.approx(r.model_value)
