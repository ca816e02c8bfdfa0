"""The seed-claims ledger: load claims from ``data/claims/*.toml``, evaluate, give verdicts.

Every ``*.toml`` file in ``tokenworks/data/claims/`` (except ``omitted.toml``) holds
``[[claim]]`` tables; the format is in ``claims.schema``. Verdict rules, with the tolerance
``tol`` of the claim's kind (``kinds.KINDS``):

* ``value``: *reproduced* when ``|computed − seed| ≤ tol·|seed|`` or, for a range, when
  ``low·(1 − tol) ≤ computed ≤ high·(1 + tol)``;
* ``bound``: *reproduced* when the seed's figure does not exceed the computed ceiling by more
  than ``tol`` (the claim is physically attainable);
* ``at_least``: *reproduced* when the computed value reaches ``low·(1 − tol)``;
* ``at_most``: *reproduced* when the computed value stays under ``high·(1 + tol)``;
* *unverifiable* when the evaluator has nothing to check against (``value is None``);
* *differs* otherwise.

A ``sensitivity`` range re-runs the evaluator at five points. When the range is the seed's own
(``range_from = "seed"``), or the plausible range of an input the seed leaves unstated
(``"unstated"``), a figure that some point of it reproduces is not refuted: the verdict is
*reproduced* and the note says where. A range that is only the ledger's assumption
(``"ledger"``) reports a flip but keeps the verdict of the stated scenario. Results are deterministic: no clocks or
randomness reach a verdict (``elapsed_s`` is reported, never compared).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tokenworks.catalog import DATA_PACKAGE, format_validation_error, read_toml
from tokenworks.claims.kinds import UNITS, Verdict, fmt, with_unit
from tokenworks.claims.registry import EVALUATORS, Computed, Params
from tokenworks.claims.result import ClaimResult, seed_text
from tokenworks.claims.schema import Claim, ClaimEntry, to_claim
from tokenworks.errors import CatalogError, ConfigError, did_you_mean

# Modules whose import registers evaluators. A module that does not exist yet is skipped; an
# import error inside one that does exist propagates (a broken evaluator is a bug).
EVALUATOR_MODULES = (
    "tokenworks.claims.evaluators",
    "tokenworks.claims.evaluators_perf",
    "tokenworks.claims.evaluators_training",
    "tokenworks.claims.economics_evaluators",
    "tokenworks.claims.evaluators_figures",
)

NOT_CLAIM_FILES = ("omitted.toml",)


def _claim_files() -> list[Path]:
    folder = Path(str(resources.files(DATA_PACKAGE).joinpath("claims")))
    return sorted(p for p in folder.glob("*.toml") if p.name not in NOT_CLAIM_FILES)


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
    for name in [e.evaluator] + ([e.model_check.evaluator] if e.model_check else []):
        if name not in EVALUATORS:
            raise CatalogError(f"{path.name}: claim '{e.id}' names evaluator '{name}', "
                               f"which is not registered.{did_you_mean(name, EVALUATORS)}")
    seen[e.id] = path.name
    return to_claim(e, path.name)


def verdict_for(c: Claim, computed: float | None) -> Verdict:
    """Apply the tolerance rule of ``c`` to a computed display-unit value."""
    if computed is None:
        return "unverifiable"
    tol = c.tolerance_frac
    if c.compare == "bound":
        # The seed's figure must be attainable: not above the computed ceiling (+ tolerance).
        return "reproduced" if c.seed_high <= computed * (1.0 + tol) else "differs"
    lo, hi = c.seed_low, c.seed_high
    if c.compare == "at_least":
        return "reproduced" if computed >= lo * (1.0 - tol) else "differs"
    if c.compare == "at_most":
        return "reproduced" if computed <= hi * (1.0 + tol) else "differs"
    if not c.is_range:
        return "reproduced" if abs(computed - lo) <= tol * abs(lo) else "differs"
    ok = lo * (1.0 - tol) <= computed <= hi * (1.0 + tol)
    return "reproduced" if ok else "differs"


def _ratio(c: Claim, computed: float | None) -> float | None:
    if computed is None:
        return None
    if c.is_range:
        ref = c.seed_low if computed < c.seed_low else (c.seed_high if computed > c.seed_high
                                                          else computed)
    else:
        ref = c.seed_low
    return computed / ref if ref else math.inf


def _run(evaluator: str, claim_id: str, params: dict[str, Any]) -> Computed:
    return EVALUATORS[evaluator](Params(claim_id, params))


def _display(c: Claim, out: Computed) -> float | None:
    return None if out.value is None else out.value / UNITS[c.unit]


def _set_path(params: dict[str, Any], path: str, value: float) -> dict[str, Any]:
    """A copy of ``params`` with the dotted ``path`` (e.g. ``run.batch``) set to ``value``."""
    head, _, rest = path.partition(".")
    new = dict(params)
    if rest:
        if not isinstance(new.get(head), dict):
            raise CatalogError(f"sensitivity param '{path}': params.{head} is not a table.")
        new[head] = _set_path(new[head], rest, value)
        return new
    if head not in new:
        raise CatalogError(f"sensitivity param '{path}' is not in the claim's params; name a "
                           f"key the evaluator reads.")
    new[head] = round(value) if isinstance(new[head], int) else value
    return new


def _sensitivity(c: Claim, base: Verdict) -> tuple[Verdict, str | None]:
    """Re-run over the sensitivity range; (verdict, note)."""
    s = c.sensitivity
    if s is None:
        return base, None
    params = dict(c.params)
    points = [s.low + (s.high - s.low) * k / 4 for k in range(5)]
    rows = []
    for x in points:
        v = _display(c, _run(c.evaluator, c.id, _set_path(params, s.param, x)))
        rows.append((x, v, verdict_for(c, v)))
    listed = "; ".join(f"{s.param} = {x:g}: {with_unit(fmt(v), c.unit)}" for x, v, _ in rows)
    ok = [x for x, _, vd in rows if vd == "reproduced"]
    if not ok:
        return base, f"Over {s.label}: {listed}. The verdict holds across the range."
    if len(ok) == len(rows):
        return base, f"Over {s.label}: {listed}. Reproduced across the range."
    where = f"{s.param} from {min(ok):g} to {max(ok):g}"
    if s.range_from == "seed":
        return "reproduced", (
            f"Over {s.label}: {listed}. The verdict flips inside the seed's own range "
            f"(reproduced for {where}), so the seed's own inputs can produce its figure: "
            f"not refuted.")
    if s.range_from == "unstated":
        return "reproduced", (
            f"Over {s.label}: {listed}. The seed does not state this input, and the verdict "
            f"flips inside its plausible range (reproduced for {where}): not refuted, but "
            f"the figure holds only there.")
    return base, (f"Over {s.label}: {listed}. The verdict flips inside this range "
                  f"(reproduced for {where}); the verdict above is at the stated scenario.")


def _dominant(c: Claim, out: Computed, verdict: str) -> str | None:
    """The largest term of the value, or of the part the seed leaves out (computed)."""
    terms = [(n, v) for n, v in out.terms if v != 0.0]
    if not terms:
        return None
    unit = UNITS[c.unit]
    if c.seed_includes and verdict == "differs":
        gap = [(n, v) for n, v in terms if n not in c.seed_includes]
        total = sum(abs(v) for _, v in gap)
        if gap and total > 0:
            ranked = sorted(gap, key=lambda t: -abs(t[1]))
            parts = ", ".join(f"{n} {abs(v) / total:.0%}" for n, v in ranked)
            n, v = ranked[0]
            return (f"{n} ({with_unit(fmt(v / unit), c.unit)}, {abs(v) / total:.0%} of the "
                    f"terms the seed leaves out: {parts})")
    total = sum(abs(v) for _, v in terms)
    n, v = max(terms, key=lambda t: abs(t[1]))
    return f"{n} ({with_unit(fmt(v / unit), c.unit)}, {abs(v) / total:.0%} of the sum of the terms)"


def evaluate_claim(c: Claim) -> ClaimResult:
    """Run the claim's evaluator, convert to its unit, and pick the explanation that holds."""
    t0 = time.perf_counter()
    out = _run(c.evaluator, c.id, dict(c.params))
    computed = _display(c, out)
    verdict, note = _sensitivity(c, verdict_for(c, computed))
    ratio = _ratio(c, computed)
    model_value = model_working = None
    if c.model_check is not None:
        m = _run(c.model_check.evaluator, c.id, dict(c.model_check.params))
        model_value, model_working = _display(c, m), m.working
    text = {"reproduced": c.explanation_reproduced, "differs": c.explanation_differs,
            "unverifiable": c.explanation_unverifiable}[verdict]
    if not text.strip():
        raise CatalogError(f"claim '{c.id}': the verdict is {verdict} but explanation_{verdict} "
                           f"is empty; write it (and re-check expected_verdict).")
    fill = {"computed": with_unit(fmt(computed), c.unit),
            "seed": with_unit(seed_text(c), c.unit),
            "ratio": "—" if ratio is None else f"{ratio:.2f}×",
            "model": with_unit(fmt(model_value), c.unit)}
    try:
        explanation = text.format_map(fill)
    except (KeyError, IndexError, ValueError) as e:
        raise CatalogError(f"claim '{c.id}': explanation has a bad placeholder ({e}); use "
                           f"{{computed}}, {{seed}}, {{ratio}}, {{model}} and double other "
                           f"braces.") from e
    return ClaimResult(claim=c, computed_value=computed, working=out.working, verdict=verdict,
                       explanation=explanation, ratio=ratio,
                       dominant_term=_dominant(c, out, verdict), sensitivity=note,
                       model_value=model_value, model_working=model_working,
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
        wanted = {get_claim(i).id for i in ids}
        claims = [c for c in load_claims() if c.id in wanted]
    else:
        claims = list(load_claims())
    return [evaluate_claim(c) for c in claims]


def summary_line(results: list[ClaimResult]) -> str:
    """'215 claims: 120 reproduced, 80 differ, 15 unverifiable.'"""
    n = {v: sum(r.verdict == v for r in results) for v in ("reproduced", "differs",
                                                              "unverifiable")}
    return (f"{len(results)} claims: {n['reproduced']} reproduced, {n['differs']} differ, "
            f"{n['unverifiable']} unverifiable.")
