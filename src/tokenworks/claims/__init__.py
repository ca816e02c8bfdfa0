"""The seed-claims ledger: quantitative claims from the seed documents, recomputed.

Claims are data (``tokenworks/data/claims/*.toml``); evaluators are functions registered by
name (``registry.EVALUATORS``, decorator ``@evaluator("name")``); ``run_ledger()`` evaluates
them and gives each a verdict (*reproduced* or *differs*) with the explanation that holds for
that verdict. The file format is documented in ``ledger`` and in ``docs/claims.md``.
"""

from tokenworks.claims.ledger import (
    EVALUATOR_MODULES,
    UNITS,
    Claim,
    ClaimResult,
    evaluate_claim,
    get_claim,
    load_claims,
    run_ledger,
    verdict_for,
)
from tokenworks.claims.markdown import render_markdown
from tokenworks.claims.registry import EVALUATORS, Computed, Params, evaluator

__all__ = [
    "EVALUATORS",
    "EVALUATOR_MODULES",
    "UNITS",
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
    "verdict_for",
]
