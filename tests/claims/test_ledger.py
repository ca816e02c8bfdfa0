"""Tests of the seed-claims ledger: loading, verdict rules, each claim's pinned verdict."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenworks.claims import (
    EVALUATORS,
    UNITS,
    Claim,
    Computed,
    Params,
    evaluate_claim,
    evaluator,
    get_claim,
    load_claims,
    run_ledger,
    verdict_for,
)
from tokenworks.claims.ledger import load_claim_files
from tokenworks.errors import CatalogError, ConfigError

CLAIMS = load_claims()
PHYSICS = [c for c in CLAIMS if c.file == "physics.toml"]


def test_at_least_40_physics_claims_load() -> None:
    assert len(PHYSICS) >= 40
    assert len({c.id for c in CLAIMS}) == len(CLAIMS)


def test_physics_claims_cover_every_seed_with_physics() -> None:
    files = {c.seed_file for c in PHYSICS}
    assert {"000_bd0ba73682c99b86.txt", "002_bf43fd3e64bbd506.txt",
            "003_513f68dfbbae71d0.txt"} <= files


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_claim_has_every_field(claim: Claim) -> None:
    for name in ("seed_file", "seed_title", "section", "claim", "unit", "scenario", "evaluator",
                 "explanation_reproduced", "explanation_differs"):
        assert str(getattr(claim, name)).strip(), name
    assert claim.unit in UNITS
    assert claim.evaluator in EVALUATORS
    assert 0 < claim.tolerance_frac < 1
    assert claim.seed_low <= claim.seed_high


SEEDS = Path(__file__).parents[3] / "shared" / "seeds"


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_seed_file_exists(claim: Claim) -> None:
    if not SEEDS.exists():
        pytest.skip("shared/seeds is not beside the repo")
    assert (SEEDS / claim.seed_file).exists(), claim.seed_file


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_verdict_matches_expected(claim: Claim) -> None:
    """A change in the model that flips a verdict fails here: re-check the explanation text."""
    r = evaluate_claim(claim)
    assert r.verdict == claim.expected_verdict, (
        f"{claim.id}: computed {r.computed_value:.4g} {claim.unit} vs seed "
        f"{claim.seed_low:g}–{claim.seed_high:g} → {r.verdict}; working: {r.working}")
    assert r.explanation.strip()
    assert not re.search(r"\{[a-z_]+\}", r.explanation), "unfilled placeholder"
    assert r.working.strip()
    assert r.computed_value == r.computed_value  # not NaN


def _claim(**kw) -> Claim:
    base = dict(id="t", kind="physics", file="t.toml", seed_file="s", seed_title="s",
                section="s", quote=None, claim="a test claim", seed_value=100.0,
                seed_low=100.0, seed_high=100.0, unit="GB", scenario="test scenario",
                condition=None, evaluator="weight_bytes", params=(), tolerance_frac=0.15,
                tolerance_note=None, compare="value", sensitivity=None, model_check=None,
                seed_includes=(), sources=(), expected_verdict="reproduced",
                explanation_reproduced="yes {computed}", explanation_differs="no {seed}",
                explanation_unverifiable="")
    base.update(kw)
    return Claim(**base)


def test_point_verdict_tolerance_edges() -> None:
    c = _claim()
    assert verdict_for(c, 115.0) == "reproduced"
    assert verdict_for(c, 85.0) == "reproduced"
    assert verdict_for(c, 115.01) == "differs"
    assert verdict_for(c, 84.99) == "differs"


def test_range_verdict_widened_by_tolerance() -> None:
    c = _claim(seed_value=None, seed_low=40.0, seed_high=80.0, tolerance_frac=0.1)
    assert verdict_for(c, 36.0) == "reproduced"  # 40 × 0.9
    assert verdict_for(c, 88.0) == "reproduced"  # 80 × 1.1
    assert verdict_for(c, 35.9) == "differs"
    assert verdict_for(c, 88.1) == "differs"


def test_bound_verdict() -> None:
    """compare = bound: the seed's figure must not exceed the computed ceiling (+ tolerance)."""
    c = _claim(compare="bound", tolerance_frac=0.05)
    assert verdict_for(c, 1000.0) == "reproduced"
    assert verdict_for(c, 96.0) == "reproduced"  # 100 <= 96 × 1.05 = 100.8
    assert verdict_for(c, 95.0) == "differs"


def test_kv_128k_golden() -> None:
    """Llama-3.1-70B KV at 128K, bf16: 80 layers × 2 × 8 heads × 128 × 2 B = 327,680 B/token;
    × 131,072 tokens = 42,949,672,960 B = 42.95 GB (the seed says ~80 GB)."""
    r = evaluate_claim(get_claim("kv-70b-128k"))
    assert r.computed_value == pytest.approx(42.949672960, rel=1e-9)
    assert r.verdict == "differs"
    assert "42.9 GB" in r.explanation


def test_h100_ridge_golden() -> None:
    """989.4 TFLOPS ÷ 3.35 TB/s = 295.34 FLOP/byte."""
    r = evaluate_claim(get_claim("h100-ridge-point"))
    assert r.computed_value == pytest.approx(989.4 / 3.35, rel=1e-6)


def test_batch1_floor_golden() -> None:
    """Ideal roofline, 8× H100 at $2.50/h: one step reads 141.1 GB of weights at 8 × 3.35 TB/s
    (5.27 ms) plus a little KV; $20/h × 5.27 ms ≈ $29.2/M tokens."""
    r = evaluate_claim(get_claim("batch1-cost-floor"))
    assert 28.0 < r.computed_value < 31.0


def test_explanation_placeholders_filled() -> None:
    r = evaluate_claim(get_claim("kv-70b-4k"))
    assert "1.34 GB" in r.explanation and "2.5 GB" in r.explanation


def test_unknown_claim_id_suggests() -> None:
    with pytest.raises(ConfigError, match="Did you mean: kv-70b-128k"):
        get_claim("kv-70b-128")


def test_run_ledger_subset_in_order() -> None:
    out = run_ledger(["kv-70b-32k", "kv-70b-4k"])
    assert [r.claim.id for r in out] == ["kv-70b-4k", "kv-70b-32k"]


def test_duplicate_evaluator_name_raises() -> None:
    @evaluator("_test_only_evaluator")
    def one(p: Params) -> Computed:
        return Computed(value=1.0, working="1")

    with pytest.raises(CatalogError, match="registered twice"):
        @evaluator("_test_only_evaluator")
        def two(p: Params) -> Computed:
            return Computed(value=2.0, working="2")
    del EVALUATORS["_test_only_evaluator"]


def _write(tmp_path: Path, body: str, name: str = "x.toml") -> Path:
    p = tmp_path / name
    p.write_text(body)
    return p


GOOD = """
[[claim]]
id = "t-one"
kind = "physics"
seed_file = "s.txt"
seed_title = "title"
section = "sec"
claim = "a claim in our words"
seed_value = 138
unit = "GB"
scenario = "llama-2-70b bf16 weights"
evaluator = "weight_bytes"
params = { model = "llama-2-70b", dtype = "bf16" }
expected_verdict = "reproduced"
explanation_reproduced = "matches at {computed} ({ratio})"
explanation_differs = "the figure differs from {seed}"
"""


def test_load_claim_files_and_evaluate(tmp_path: Path) -> None:
    (c,) = load_claim_files([_write(tmp_path, GOOD)])
    r = evaluate_claim(c)
    assert r.verdict == "reproduced"
    assert r.explanation.startswith("matches at 138 GB")


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    a, b = _write(tmp_path, GOOD, "a.toml"), _write(tmp_path, GOOD, "b.toml")
    with pytest.raises(CatalogError, match=r"already used in a\.toml"):
        load_claim_files([a, b])


@pytest.mark.parametrize(("old", "new", "match"), [
    ('evaluator = "weight_bytes"', 'evaluator = "weight_byte"', "not registered. Did you mean"),
    ('unit = "GB"', 'unit = "gigabytes"', "unit 'gigabytes' is not one of"),
    ("seed_value = 138", "seed_value = 138\nseed_value_low = 1", "not both"),
    ("seed_value = 138", "seed_value_low = 9\nseed_value_high = 1", "exceeds"),
    ('kind = "physics"', 'kind = "physics"\ntolerance_frac = 1.5', "tolerance_frac"),
    ('kind = "physics"', 'kind = "physics"\ntolerance_frac = 0.3', "add tolerance_note"),
    ('kind = "physics"', 'kind = "guess"', "kind"),
    ('kind = "physics"', 'kind = "reported"', "quotes the seed"),
    ('kind = "physics"', 'kind = "physics"\ncondition = "if pigs fly, then"', "only conditional"),
    ('expected_verdict = "reproduced"', 'expected_verdict = "maybe"', "expected_verdict"),
    ('section = "sec"', 'section = "sec"\ncolour = "red"', "unknown key"),
])
def test_malformed_claims_rejected(tmp_path: Path, old: str, new: str, match: str) -> None:
    with pytest.raises(CatalogError, match=match):
        load_claim_files([_write(tmp_path, GOOD.replace(old, new))])


def test_missing_param_names_claim_and_key(tmp_path: Path) -> None:
    body = GOOD.replace('params = { model = "llama-2-70b", dtype = "bf16" }',
                        'params = { model = "llama-2-70b" }')
    (c,) = load_claim_files([_write(tmp_path, body)])
    with pytest.raises(CatalogError, match=r"claim 't-one': params.dtype is missing"):
        evaluate_claim(c)


def test_bad_placeholder_is_reported(tmp_path: Path) -> None:
    body = GOOD.replace("matches at {computed} ({ratio})", "the figure matches {nope} here")
    (c,) = load_claim_files([_write(tmp_path, body)])
    with pytest.raises(CatalogError, match="bad placeholder"):
        evaluate_claim(c)


def test_params_type_checks() -> None:
    p = Params("c", {"n": "eight", "x": 1.5, "flag": 1})
    with pytest.raises(CatalogError, match=r"params\.n = 'eight' must be an integer"):
        p.int("n")
    with pytest.raises(CatalogError, match="must be true/false"):
        p.bool("flag")
    assert p.float("x") == 1.5 and p.float("y", 2.0) == 2.0



@given(seed=st.floats(0.01, 1e6), tol=st.floats(0.01, 0.9), k=st.floats(0.0, 3.0))
def test_point_verdict_is_the_relative_error_rule(seed: float, tol: float, k: float) -> None:
    """reproduced ⇔ |computed − seed| ≤ tol·seed, whichever side computed falls on."""
    c = _claim(seed_value=seed, seed_low=seed, seed_high=seed, tolerance_frac=tol)
    computed = seed * k
    expected = "reproduced" if abs(computed - seed) <= tol * seed else "differs"
    assert verdict_for(c, computed) == expected


@given(lo=st.floats(0.01, 1e3), width=st.floats(0.0, 10.0), tol=st.floats(0.01, 0.5),
       x=st.floats(0.0, 1e5))
def test_range_verdict_monotone_inside(lo: float, width: float, tol: float, x: float) -> None:
    """Inside the range is always reproduced; far outside never."""
    hi = lo * (1 + width)
    c = _claim(seed_value=None, seed_low=lo, seed_high=hi, tolerance_frac=tol)
    if lo <= x <= hi:
        assert verdict_for(c, x) == "reproduced"
    if x > hi * (1 + tol) * 1.0001 or x < lo * (1 - tol) * 0.9999:
        assert verdict_for(c, x) == "differs"


def test_physics_verdict_split_is_reported() -> None:
    """The ledger is not a rubber stamp: all three verdicts occur, and among physics.toml's
    claims both reproduced and differs."""
    assert {c.expected_verdict for c in PHYSICS} >= {"reproduced", "differs"}
    assert {c.expected_verdict for c in CLAIMS} == {"reproduced", "differs", "unverifiable"}
