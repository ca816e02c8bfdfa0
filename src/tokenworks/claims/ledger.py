"""The seed-claims ledger: load claims from ``data/claims/*.toml``, evaluate, give verdicts.

Every ``*.toml`` file in ``tokenworks/data/claims/`` holds ``[[claim]]`` tables (one file per
area: ``physics.toml``, ``economics.toml``, ...). A claim:

| key | meaning |
|---|---|
| ``id`` | unique slug, ``[a-z0-9-]+`` |
| ``seed_file``, ``seed_title``, ``section`` | where the seed document says it |
| ``claim`` | short paraphrase in our words |
| ``seed_value`` or ``seed_value_low``/``seed_value_high`` | the seed's figure (a point or a range), in ``unit`` |
| ``unit`` | display unit, one of ``UNITS`` (the evaluator returns SI; the ledger converts) |
| ``scenario`` | what we compute, concretely (model, hardware, precision, batch, context) |
| ``evaluator`` | registry key (``registry.EVALUATORS``) |
| ``params`` | table passed to the evaluator |
| ``tolerance_frac`` | relative tolerance, e.g. 0.15 |
| ``compare`` | ``"value"`` (default) or ``"bound"``: the computed value is a physical ceiling |
| ``expected_verdict`` | the verdict the texts were written for (a test pins it) |
| ``explanation_reproduced``, ``explanation_differs`` | text shown for each verdict |

Verdict rules: ``value`` claims are *reproduced* when ``|computed − seed| ≤ tol·|seed|`` or,
for a range, when ``low·(1 − tol) ≤ computed ≤ high·(1 + tol)``; ``bound`` claims are
*reproduced* when the seed's figure does not exceed the computed ceiling by more than the
tolerance (the claim is physically attainable). Anything else *differs*. Explanations may use
``{computed}``, ``{seed}`` and ``{ratio}`` (computed ÷ seed) placeholders, filled at run time.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenworks.catalog import DATA_PACKAGE, format_validation_error, read_toml
from tokenworks.claims.registry import EVALUATORS, Params
from tokenworks.errors import CatalogError, ConfigError, did_you_mean
from tokenworks.units import DAY, GB, GBIT, KW, MILLION, MS, MW, PETA, TB, TERA

Verdict = Literal["reproduced", "differs"]

# Display unit -> SI value of one display unit. Evaluators return SI; claims are written in these.
UNITS: dict[str, float] = {
    "GB": GB, "TB": TB, "MB": 1e6,
    "GB/s": GB, "TB/s": TB, "Gbit/s": GBIT / 8.0,
    "ms": MS, "s": 1.0, "days": DAY,
    "FLOP": 1.0, "FLOP/byte": 1.0, "PFLOPS": PETA, "TFLOPS": TERA,
    "W": 1.0, "kW": KW, "MW": MW, "J/token": 1.0,
    "USD": 1.0, "million USD": MILLION, "USD/M tokens": 1.0 / MILLION,
    "tokens/s": 1.0, "sequences": 1.0, "tokens": 1.0, "tokens/param": 1.0,
    "billion params": 1e9, "devices": 1.0, "x": 1.0, "%": 0.01,
}

# Modules whose import registers evaluators. A module that does not exist yet is skipped; an
# import error inside one that does exist propagates (a broken evaluator is a bug).
EVALUATOR_MODULES = (
    "tokenworks.claims.evaluators",
    "tokenworks.claims.evaluators_perf",
    "tokenworks.claims.evaluators_training",
    "tokenworks.claims.economics_evaluators",
)


class ClaimEntry(BaseModel):
    """One ``[[claim]]`` table as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    seed_file: str = Field(min_length=3)
    seed_title: str = Field(min_length=3)
    section: str = Field(min_length=2)
    claim: str = Field(min_length=10)
    seed_value: float | None = None
    seed_value_low: float | None = None
    seed_value_high: float | None = None
    unit: str
    scenario: str = Field(min_length=10)
    evaluator: str
    params: dict[str, Any] = Field(default_factory=dict)
    tolerance_frac: float = Field(gt=0.0, lt=1.0)
    compare: Literal["value", "bound"] = "value"
    expected_verdict: Verdict
    explanation_reproduced: str = Field(min_length=20)
    explanation_differs: str = Field(min_length=20)

    @model_validator(mode="after")
    def _point_or_range(self) -> ClaimEntry:
        point = self.seed_value is not None
        rng = self.seed_value_low is not None or self.seed_value_high is not None
        if point == rng:
            raise ValueError("give seed_value, or seed_value_low and seed_value_high, not both")
        if rng:
            if self.seed_value_low is None or self.seed_value_high is None:
                raise ValueError("a range needs both seed_value_low and seed_value_high")
            if self.seed_value_low > self.seed_value_high:
                raise ValueError("seed_value_low exceeds seed_value_high")
        if self.unit not in UNITS:
            raise ValueError(f"unit '{self.unit}' is not one of: {', '.join(UNITS)}")
        return self


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """A loaded claim (display-unit seed figures; the evaluator output is converted to them)."""

    id: str
    file: str
    seed_file: str
    seed_title: str
    section: str
    claim: str
    seed_value: float | None
    seed_low: float
    seed_high: float
    unit: str
    scenario: str
    evaluator: str
    params: tuple[tuple[str, Any], ...]
    tolerance_frac: float
    compare: str
    expected_verdict: str
    explanation_reproduced: str
    explanation_differs: str

    @property
    def is_range(self) -> bool:
        return self.seed_value is None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimResult:
    """A claim with its computed value (display unit), verdict and the explanation that holds."""

    claim: Claim
    computed_value: float
    working: str
    verdict: str
    explanation: str
    ratio: float  # computed ÷ seed (range: ÷ the nearer end)
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        c = self.claim
        return {
            "id": c.id, "seed_file": c.seed_file, "seed_title": c.seed_title, "section": c.section,
            "claim": c.claim, "seed_value": c.seed_value, "seed_value_low": c.seed_low,
            "seed_value_high": c.seed_high, "seed_value_text": seed_text(c),
            "computed_value": self.computed_value, "unit": c.unit, "verdict": self.verdict,
            "explanation": self.explanation, "working": self.working, "scenario": c.scenario,
            "evaluator": c.evaluator, "tolerance_frac": c.tolerance_frac, "compare": c.compare,
            "ratio": self.ratio, "file": c.file,
        }


def fmt(x: float) -> str:
    """A display number: 3 significant figures, thousands separators, scientific when huge."""
    ax = abs(x)
    if ax != 0 and (ax >= 1e7 or ax < 1e-3):
        return f"{x:.3g}".replace("e+", "e")
    if ax >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def with_unit(number: str, unit: str) -> str:
    """'6.2×', '26%', '42.9 GB'."""
    if unit == "x":
        return f"{number}×"
    if unit == "%":
        return f"{number}%"
    return f"{number} {unit}"


def seed_text(c: Claim) -> str:
    if c.is_range:
        return f"{fmt(c.seed_low)}–{fmt(c.seed_high)}"
    return fmt(c.seed_low)


def _claim_files() -> list[Path]:
    folder = Path(str(resources.files(DATA_PACKAGE).joinpath("claims")))
    return sorted(folder.glob("*.toml"))


def load_evaluator_modules() -> None:
    for name in EVALUATOR_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


@cache
def load_claims() -> tuple[Claim, ...]:
    """Every claim from every packaged ``data/claims/*.toml`` file."""
    return load_claim_files(_claim_files())


def load_claim_files(paths: list[Path]) -> tuple[Claim, ...]:
    """Claims from ``paths`` (ids unique across files, evaluators registered)."""
    load_evaluator_modules()
    out: list[Claim] = []
    seen: dict[str, str] = {}
    for path in paths:
        raw = read_toml(path)
        unknown = set(raw) - {"claim"}
        if unknown:
            raise CatalogError(f"{path.name}: unknown top-level keys {sorted(unknown)}; "
                               f"only [[claim]] tables are allowed.")
        for i, table in enumerate(raw.get("claim", [])):
            out.append(_to_claim(table, i, path, seen))
    return tuple(out)


def _to_claim(table: dict[str, Any], i: int, path: Path, seen: dict[str, str]) -> Claim:
    cid = table.get("id", f"#{i}")
    try:
        e = ClaimEntry.model_validate(table)
    except ValidationError as err:
        raise CatalogError(f"{path.name}: claim '{cid}' is invalid: "
                           f"{format_validation_error(err)}.") from err
    if e.id in seen:
        raise CatalogError(f"{path.name}: claim id '{e.id}' is already used in "
                           f"{seen[e.id]}; ids must be unique across files.")
    if e.evaluator not in EVALUATORS:
        raise CatalogError(f"{path.name}: claim '{e.id}' names evaluator '{e.evaluator}', "
                           f"which is not registered.{did_you_mean(e.evaluator, EVALUATORS)}")
    seen[e.id] = path.name
    low = e.seed_value if e.seed_value is not None else e.seed_value_low
    high = e.seed_value if e.seed_value is not None else e.seed_value_high
    return Claim(
        id=e.id, file=path.name, seed_file=e.seed_file, seed_title=e.seed_title,
        section=e.section, claim=e.claim, seed_value=e.seed_value,
        seed_low=float(low), seed_high=float(high),  # type: ignore[arg-type]
        unit=e.unit, scenario=e.scenario, evaluator=e.evaluator,
        params=tuple(sorted(e.params.items())), tolerance_frac=e.tolerance_frac,
        compare=e.compare, expected_verdict=e.expected_verdict,
        explanation_reproduced=e.explanation_reproduced,
        explanation_differs=e.explanation_differs,
    )


def verdict_for(c: Claim, computed: float) -> Verdict:
    """Apply the tolerance rule of ``c`` to a computed display-unit value."""
    tol = c.tolerance_frac
    if c.compare == "bound":
        # The seed's figure must be attainable: not above the computed ceiling (+ tolerance).
        return "reproduced" if c.seed_high <= computed * (1.0 + tol) else "differs"
    lo, hi = c.seed_low, c.seed_high
    if not c.is_range:
        return "reproduced" if abs(computed - lo) <= tol * abs(lo) else "differs"
    ok = lo * (1.0 - tol) <= computed <= hi * (1.0 + tol)
    return "reproduced" if ok else "differs"


def _ratio(c: Claim, computed: float) -> float:
    if c.is_range:
        ref = c.seed_low if computed < c.seed_low else (c.seed_high if computed > c.seed_high
                                                          else computed)
    else:
        ref = c.seed_low
    return computed / ref if ref else float("inf")


def evaluate_claim(c: Claim) -> ClaimResult:
    """Run the claim's evaluator, convert to its unit, and pick the explanation that holds."""
    t0 = time.perf_counter()
    out = EVALUATORS[c.evaluator](Params(c.id, dict(c.params)))
    computed = out.value / UNITS[c.unit]
    verdict = verdict_for(c, computed)
    ratio = _ratio(c, computed)
    text = c.explanation_reproduced if verdict == "reproduced" else c.explanation_differs
    fill = {"computed": with_unit(fmt(computed), c.unit),
            "seed": with_unit(seed_text(c), c.unit), "ratio": f"{ratio:.2f}×"}
    try:
        explanation = text.format_map(fill)
    except (KeyError, IndexError, ValueError) as e:
        raise CatalogError(f"claim '{c.id}': explanation has a bad placeholder ({e}); use "
                           f"{{computed}}, {{seed}}, {{ratio}} and double other braces.") from e
    return ClaimResult(claim=c, computed_value=computed, working=out.working, verdict=verdict,
                       explanation=explanation, ratio=ratio,
                       elapsed_s=time.perf_counter() - t0)


def get_claim(claim_id: str) -> Claim:
    claims = {c.id: c for c in load_claims()}
    if claim_id not in claims:
        raise ConfigError(f"claim '{claim_id}' is not in the ledger."
                          f"{did_you_mean(claim_id, claims)} List them with `tokenworks claims`.")
    return claims[claim_id]


def run_ledger(ids: list[str] | None = None) -> list[ClaimResult]:
    """Evaluate every claim (or the given ids, in ledger order)."""
    if ids:
        wanted = [get_claim(i).id for i in ids]
        claims = [c for c in load_claims() if c.id in set(wanted)]
    else:
        claims = list(load_claims())
    return [evaluate_claim(c) for c in claims]
