"""The claim file format: ``[[claim]]`` tables validated once into frozen ``Claim`` specs.

| key | meaning |
|---|---|
| ``id`` | unique slug, ``[a-z0-9-]+`` |
| ``kind`` | one of ``kinds.KINDS``: physics, spec, model, reported, arithmetic, consistency, conditional |
| ``seed_file``, ``seed_title``, ``section`` | where the seed document says it |
| ``quote`` | the seed's words, verbatim (a test finds them in the seed file) |
| ``claim`` | short paraphrase in our words |
| ``seed_value`` or ``seed_value_low``/``seed_value_high`` | the seed's figure (a point or a range), in ``unit`` |
| ``unit`` | display unit, one of ``kinds.UNITS`` (the evaluator returns SI; the ledger converts) |
| ``scenario`` | what we compute, concretely (model, hardware, precision, batch, context) |
| ``condition`` | conditional claims: the seed's "if"; stated, never judged |
| ``evaluator``, ``params`` | registry key (``registry.EVALUATORS``) and the table passed to it |
| ``tolerance_frac`` + ``tolerance_note`` | only to depart from the kind's tolerance, with the reason |
| ``compare`` | ``"value"`` (default), ``"bound"`` (computed is a ceiling the seed must not exceed), ``"at_least"`` / ``"at_most"`` (computed must reach / stay under the seed's figure) |
| ``sensitivity`` | ``{param, low, high, range_from, label}``: re-run over a range that is the seed's own (``"seed"``), a plausible range for an input the seed leaves unstated (``"unstated"``), or the ledger's assumption (``"ledger"``) |
| ``model_check`` | reported claims: ``{evaluator, params, scenario}``, tokenworks' model, shown beside |
| ``seed_includes`` | the evaluator's terms that the seed's figure accounts for (the rest is the gap) |
| ``sources`` | ``[{title, url, as_of}]``: where a reported or external number comes from |
| ``expected_verdict`` | the verdict the texts were written for (a test pins it) |
| ``explanation_reproduced``, ``explanation_differs`` | text shown for each verdict; unverifiable claims use ``explanation_unverifiable`` |

Explanations may use ``{computed}``, ``{seed}``, ``{ratio}`` (computed ÷ seed) and ``{model}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tokenworks.claims.kinds import KINDS, UNITS, Kind, Verdict


class SourceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str = Field(min_length=5)
    url: str = Field(pattern=r"^https?://")
    as_of: str = Field(pattern=r"^\d{4}(-\d{2})?(-\d{2})?$")


class SensitivityEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    param: str = Field(min_length=1)
    low: float
    high: float
    range_from: Literal["seed", "unstated", "ledger"]
    label: str = Field(min_length=5)

    @model_validator(mode="after")
    def _ordered(self) -> SensitivityEntry:
        if self.low >= self.high:
            raise ValueError(f"sensitivity low {self.low} must be below high {self.high}")
        return self


class ModelCheckEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    evaluator: str
    params: dict[str, Any] = Field(default_factory=dict)
    scenario: str = Field(min_length=10)


class ClaimEntry(BaseModel):
    """One ``[[claim]]`` table as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    kind: Kind
    seed_file: str = Field(min_length=3)
    seed_title: str = Field(min_length=3)
    section: str = Field(min_length=2)
    quote: str | None = Field(default=None, min_length=8)
    claim: str = Field(min_length=10)
    seed_value: float | None = None
    seed_value_low: float | None = None
    seed_value_high: float | None = None
    unit: str
    scenario: str = Field(min_length=10)
    condition: str | None = Field(default=None, min_length=10)
    evaluator: str
    params: dict[str, Any] = Field(default_factory=dict)
    tolerance_frac: float | None = Field(default=None, gt=0.0, lt=1.0)
    tolerance_note: str | None = Field(default=None, min_length=10)
    compare: Literal["value", "bound", "at_least", "at_most"] = "value"
    sensitivity: SensitivityEntry | None = None
    model_check: ModelCheckEntry | None = None
    seed_includes: list[str] = Field(default_factory=list)
    sources: list[SourceEntry] = Field(default_factory=list)
    expected_verdict: Verdict
    explanation_reproduced: str = Field(default="", max_length=2000)
    explanation_differs: str = Field(default="", max_length=2000)
    explanation_unverifiable: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _rules(self) -> ClaimEntry:
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
        default = KINDS[self.kind].tolerance_frac
        if self.tolerance_frac is not None and self.tolerance_frac != default \
                and self.tolerance_note is None:
            raise ValueError(f"tolerance_frac {self.tolerance_frac} departs from the {self.kind} "
                             f"kind's {default}; add tolerance_note saying why, or drop it")
        if self.kind == "conditional" and self.condition is None:
            raise ValueError("a conditional claim states its condition: add condition = '...'")
        if self.kind != "conditional" and self.condition is not None:
            raise ValueError("only conditional claims carry a condition")
        if self.kind in ("reported", "arithmetic", "consistency", "conditional") \
                and self.quote is None:
            raise ValueError(f"a {self.kind} claim quotes the seed: add quote = '...'")
        if self.kind == "reported" and not self.sources \
                and self.evaluator != "unverifiable":
            raise ValueError("a reported claim names its public source(s): add sources = [...]")
        needed = {"reproduced": self.explanation_reproduced, "differs": self.explanation_differs,
                  "unverifiable": self.explanation_unverifiable}
        if len(needed[self.expected_verdict].strip()) < 20:
            raise ValueError(f"explanation_{self.expected_verdict} (the expected verdict's "
                             f"text) must say why, in at least 20 characters")
        return self


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    title: str
    url: str
    as_of: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Sensitivity:
    param: str
    low: float
    high: float
    range_from: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelCheck:
    evaluator: str
    params: tuple[tuple[str, Any], ...]
    scenario: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """A loaded claim (display-unit seed figures; the evaluator output is converted to them)."""

    id: str
    kind: str
    file: str
    seed_file: str
    seed_title: str
    section: str
    quote: str | None
    claim: str
    seed_value: float | None
    seed_low: float
    seed_high: float
    unit: str
    scenario: str
    condition: str | None
    evaluator: str
    params: tuple[tuple[str, Any], ...]
    tolerance_frac: float
    tolerance_note: str | None
    compare: str
    sensitivity: Sensitivity | None
    model_check: ModelCheck | None
    seed_includes: tuple[str, ...]
    sources: tuple[Source, ...]
    expected_verdict: str
    explanation_reproduced: str
    explanation_differs: str
    explanation_unverifiable: str

    @property
    def is_range(self) -> bool:
        return self.seed_value is None

    @property
    def seed(self) -> str:
        """The seed's short id: '000' for '000_bd0ba73682c99b86.txt'."""
        return self.seed_file.split("_", 1)[0]


def to_claim(e: ClaimEntry, file: str) -> Claim:
    low = e.seed_value if e.seed_value is not None else e.seed_value_low
    high = e.seed_value if e.seed_value is not None else e.seed_value_high
    s = e.sensitivity
    m = e.model_check
    return Claim(
        id=e.id, kind=e.kind, file=file, seed_file=e.seed_file, seed_title=e.seed_title,
        section=e.section, quote=e.quote, claim=e.claim, seed_value=e.seed_value,
        seed_low=float(low), seed_high=float(high),  # type: ignore[arg-type]
        unit=e.unit, scenario=e.scenario, condition=e.condition, evaluator=e.evaluator,
        params=tuple(sorted(e.params.items())),
        tolerance_frac=(e.tolerance_frac if e.tolerance_frac is not None
                        else KINDS[e.kind].tolerance_frac),
        tolerance_note=e.tolerance_note, compare=e.compare,
        sensitivity=None if s is None else Sensitivity(
            param=s.param, low=s.low, high=s.high, range_from=s.range_from, label=s.label),
        model_check=None if m is None else ModelCheck(
            evaluator=m.evaluator, params=tuple(sorted(m.params.items())), scenario=m.scenario),
        seed_includes=tuple(e.seed_includes),
        sources=tuple(Source(title=x.title, url=x.url, as_of=x.as_of) for x in e.sources),
        expected_verdict=e.expected_verdict,
        explanation_reproduced=e.explanation_reproduced,
        explanation_differs=e.explanation_differs,
        explanation_unverifiable=e.explanation_unverifiable,
    )
