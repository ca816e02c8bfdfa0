"""A claim's result and its plain row export (the contract the HTML report renders).

``ClaimResult.to_dict()`` returns one flat, JSON-ready row per claim; ``ROW_KEYS`` lists its
keys in order and ``docs/claims.md`` documents each. Values are in the claim's display
``unit``; ``computed_value`` is ``None`` when the verdict is *unverifiable*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokenworks.claims.kinds import KINDS, fmt
from tokenworks.claims.schema import Claim

# The row export's keys, in order (a test pins this tuple; docs/claims.md documents each).
ROW_KEYS: tuple[str, ...] = (
    "id", "seed", "seed_file", "seed_title", "section", "kind", "statement", "quote",
    "condition", "seed_value", "seed_value_low", "seed_value_high", "seed_value_text",
    "computed_value", "unit", "verdict", "tolerance_frac", "tolerance_rule", "explanation",
    "dominant_term", "sensitivity", "model_value", "model_working", "sources", "working",
    "scenario", "evaluator", "compare", "ratio", "file",
)


def seed_text(c: Claim) -> str:
    if c.is_range:
        return f"{fmt(c.seed_low)}–{fmt(c.seed_high)}"
    return fmt(c.seed_low)


def tolerance_rule(c: Claim) -> str:
    """The comparison rule in words, e.g. 'within ±15% (physics)'."""
    t = f"{c.tolerance_frac:.0%}"
    why = f"{c.kind}" if c.tolerance_note is None else f"{c.kind}; {c.tolerance_note}"
    if c.compare == "bound":
        return f"seed ≤ computed ceiling × (1 + {t}) ({why})"
    if c.compare == "at_least":
        return f"computed ≥ seed × (1 − {t}) ({why})"
    if c.compare == "at_most":
        return f"computed ≤ seed × (1 + {t}) ({why})"
    return f"within ±{t} ({why})"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimResult:
    """A claim with its computed value (display unit), verdict and the explanation that holds."""

    claim: Claim
    computed_value: float | None
    working: str
    verdict: str
    explanation: str
    ratio: float | None  # computed ÷ seed (range: ÷ the nearer end); None when unverifiable
    dominant_term: str | None  # the largest term of the value or of the difference (computed)
    sensitivity: str | None  # the verdict over the sensitivity range, in words
    model_value: float | None  # reported claims: tokenworks' model, shown beside the source
    model_working: str | None
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        """One flat row: see ``ROW_KEYS`` and the "Row export" section of docs/claims.md."""
        c = self.claim
        row = {
            "id": c.id, "seed": c.seed, "seed_file": c.seed_file, "seed_title": c.seed_title,
            "section": c.section, "kind": c.kind, "statement": c.claim, "quote": c.quote,
            "condition": c.condition, "seed_value": c.seed_value, "seed_value_low": c.seed_low,
            "seed_value_high": c.seed_high, "seed_value_text": seed_text(c),
            "computed_value": self.computed_value, "unit": c.unit, "verdict": self.verdict,
            "tolerance_frac": c.tolerance_frac, "tolerance_rule": tolerance_rule(c),
            "explanation": self.explanation, "dominant_term": self.dominant_term,
            "sensitivity": self.sensitivity, "model_value": self.model_value,
            "model_working": self.model_working,
            "sources": [{"title": s.title, "url": s.url, "as_of": s.as_of} for s in c.sources],
            "working": self.working, "scenario": c.scenario, "evaluator": c.evaluator,
            "compare": c.compare, "ratio": self.ratio, "file": c.file,
        }
        return {k: row[k] for k in ROW_KEYS}


def kind_meaning(kind: str) -> str:
    return KINDS[kind].checks
