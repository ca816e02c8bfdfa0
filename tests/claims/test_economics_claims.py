"""The economics seed claims load, evaluate, and keep the verdicts their texts were written for."""

from __future__ import annotations

import pytest

from tokenworks.claims.ledger import evaluate_claim, load_claims

CLAIMS = [c for c in load_claims() if c.file == "economics.toml"]


def test_at_least_25_economics_claims():
    assert len(CLAIMS) >= 25
    assert {c.evaluator for c in CLAIMS} <= set(__import__(
        "tokenworks.claims.registry", fromlist=["EVALUATORS"]).EVALUATORS)


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_verdict_is_pinned(claim):
    r = evaluate_claim(claim)
    assert r.verdict == claim.expected_verdict, r.working
    assert "{" not in r.explanation  # placeholders filled
