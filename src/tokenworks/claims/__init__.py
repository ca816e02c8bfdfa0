"""The seed-claims ledger: quantitative claims from the seed documents, checked.

Claims are data (``tokenworks/data/claims/*.toml``, format in ``schema``); each has a *kind*
(``kinds.KINDS``: physics, spec, model, reported, arithmetic, consistency, conditional) that
sets its tolerance. Evaluators are functions registered by name (``registry.EVALUATORS``,
decorator ``@evaluator("name")``); ``run_ledger()`` evaluates them and gives each a verdict
(*reproduced*, *differs* or *unverifiable*) with the explanation that holds for that verdict.
``ClaimResult.to_dict()`` is the plain row export (keys ``ROW_KEYS``) that reports render.
"""

from tokenworks.claims.kinds import KINDS, UNITS, VERDICTS
from tokenworks.claims.ledger import (
    EVALUATOR_MODULES,
    evaluate_claim,
    get_claim,
    load_claims,
    run_ledger,
    summary_line,
    verdict_for,
)
from tokenworks.claims.markdown import render_markdown
from tokenworks.claims.registry import EVALUATORS, Computed, Params, evaluator
from tokenworks.claims.result import ROW_KEYS, ClaimResult
from tokenworks.claims.schema import Claim

__all__ = [
    "EVALUATORS",
    "EVALUATOR_MODULES",
    "KINDS",
    "ROW_KEYS",
    "UNITS",
    "VERDICTS",
    "Claim",
    "ClaimResult",
    "Computed",
    "Params",
    "evaluate_claim",
    "evaluator",
    "get_claim",
    "load_claims",
    "render_markdown",
    "run_ledger",
    "summary_line",
    "verdict_for",
]
