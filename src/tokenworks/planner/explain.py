"""Why the recommendation won: the binding constraint, the runner-up and why it lost,
sensitivity to demand and to the price of the part, the Pareto fronts, and — when nothing
meets the SLO — the closest candidates and what would be needed.

Units: SI inside; the prose lines use display units (ms, $/M output tokens).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from tokenworks.perf.step import StepCostModel
from tokenworks.planner import analytic as an
from tokenworks.planner.rank import size_and_price, unit_economics
from tokenworks.planner.result import Explanation, PlannedCandidate
from tokenworks.planner.screen import ScreenTable, price_screen, screen
from tokenworks.planner.space import Pruning
from tokenworks.planner.spec import PlanSpec

__all__ = ["cost_latency_front", "diagnose", "explain", "question", "score", "start_rate",
           "throughput_front"]

DEMAND_FACTORS = (0.5, 1.5)
PRICE_FACTORS = (0.75, 1.25)


def question(spec: PlanSpec) -> dict[str, Any]:
    d, b = spec.demand, spec.budget
    return {"model": spec.model.name,
            "demand": {"rate_per_s": d.rate_per_s, "shared_prefix_tokens": d.shared_prefix_tokens,
                       "classes": [{"input_tokens": c.input_tokens,
                                    "output_tokens": c.output_tokens,
                                    "share_frac": c.share_frac} for c in d.classes]},
            "slo": [{"metric": t.metric, "percentile": t.percentile, "limit_s": t.limit_s}
                    for t in spec.slo],
            "objective": spec.objective, "pricing": spec.pricing,
            "budget": {"max_gpus": b.max_gpus, "max_power_w": b.max_power_w,
                       "max_usd_per_hour": b.max_usd_per_hour, "max_capex_usd": b.max_capex_usd},
            "hardware": list(spec.space.hardware), "seed": spec.seed,
            "prices": [{"accelerator": p.accelerator, "usd_per_gpu_hour": p.usd_per_gpu_hour,
                        "source": p.source} for p in spec.prices
                       if p.accelerator in (*spec.space.hardware, *spec.space.prefill_hardware)]}


def score(spec: PlanSpec, p: PlannedCandidate) -> float:
    """The objective of a simulated candidate (lower is better)."""
    if spec.objective == "gpus":
        return p.num_gpus + p.usd_per_million_output_tokens * 1e-9
    if spec.objective == "power":
        return p.power_w + p.usd_per_million_output_tokens * 1e-9
    if spec.objective == "goodput_per_usd":
        per_unit = p.usd_per_hour / max(p.units, 1)
        return -p.capacity_rate_per_s * spec.demand.mean_output_tokens / per_unit
    return p.usd_per_million_output_tokens


def start_rate(spec: PlanSpec, table: ScreenTable, row: int) -> float:
    """Where to start simulating a row with no analytic capacity: a light load (one request
    in flight on average at batch-1 speed)."""
    tpot = float(table.columns["tpot_s"][row]) or 0.05
    return 0.5 / (spec.demand.mean_output_tokens * tpot)


def _reprice(spec: PlanSpec, p: PlannedCandidate) -> tuple[float, float]:
    """($/M output tokens, score) of ``p`` under ``spec`` (another demand or prices)."""
    gpus, usd, power, capex = unit_economics(spec, p.candidate)
    r = size_and_price(spec, rate_per_s=np.asarray([p.capacity_rate_per_s]),
                       unit_gpus=np.asarray([float(gpus)]), unit_usd_per_hour=np.asarray([usd]),
                       unit_power_w=np.asarray([power]), unit_capex_usd=np.asarray([capex]),
                       tpot_s=np.asarray([1.0 / max(p.output_tokens_per_s_per_user, 1e-9)]))
    again = replace(p, usd_per_million_output_tokens=float(r["usd_per_million_output_tokens"][0]),
                    num_gpus=int(r["num_gpus"][0]), power_w=float(r["power_w"][0]),
                    usd_per_hour=float(r["usd_per_hour"][0]), units=int(r["units"][0]))
    return again.usd_per_million_output_tokens, (score(spec, again) if r["feasible"][0]
                                                 else float("inf"))


def _best_under(spec: PlanSpec, ranked: tuple[PlannedCandidate, ...]) -> tuple[str, float]:
    scored = [(_reprice(spec, p), p) for p in ranked if p.capacity_rate_per_s > 0]
    (usd, _), p = min(scored, key=lambda x: x[0][1])
    return p.label, usd


def _fmt_usd(x: float) -> str:
    return f"${x:,.3f}" if np.isfinite(x) else "—"


def explain(spec: PlanSpec, best: PlannedCandidate, runner: PlannedCandidate | None,
            ranked: tuple[PlannedCandidate, ...], verification: dict) -> Explanation:
    lines = [f"Recommended: {best.units}× {best.label} = {best.num_gpus} GPUs, "
             f"{_fmt_usd(best.usd_per_million_output_tokens)} per M output tokens, "
             f"{best.output_tokens_per_s_per_gpu:,.0f} tok/s/GPU at "
             f"{best.output_tokens_per_s_per_user:,.1f} tok/s/user."]
    binding = best.binding or "none found"
    lines.append(f"Binding constraint: {binding} (one unit serves "
                 f"{best.capacity_rate_per_s:.3g} req/s; the analytic screen expected "
                 f"{best.analytic_rate_per_s:.3g} req/s, bound by {best.analytic_binding}).")
    lost = "no other candidate met the SLO"
    if runner is not None:
        a, b = score(spec, best), score(spec, runner)
        gap = (b - a) / abs(a) if a else 0.0
        per_gpu = (f"{runner.capacity_rate_per_s / runner.unit_gpus:.3g} vs "
                   f"{best.capacity_rate_per_s / best.unit_gpus:.3g} req/s per GPU")
        lost = (f"{runner.label} scores {gap:+.0%} on {spec.objective} "
                f"({_fmt_usd(runner.usd_per_million_output_tokens)} vs "
                f"{_fmt_usd(best.usd_per_million_output_tokens)} per M output tokens, "
                f"{runner.num_gpus} vs {best.num_gpus} GPUs; {per_gpu}); it is bound by "
                f"{runner.binding or 'nothing found'}.")
        lines.append("Runner-up: " + lost)
    sens: list[dict[str, Any]] = []
    d = spec.demand
    if d.rate_per_s is not None:
        for f in DEMAND_FACTORS:
            s2 = replace(spec, demand=replace(d, rate_per_s=d.rate_per_s * f))
            label, usd = _best_under(s2, ranked)
            sens.append({"case": f"demand ×{f:g}", "change": f"{d.rate_per_s * f:g} req/s",
                         "best": label, "usd_per_million_output_tokens": usd,
                         "same_as_recommended": label == best.label})
    parts = {best.candidate.decode.accelerator}
    if best.candidate.prefill is not None:
        parts.add(best.candidate.prefill.accelerator)
    for acc in sorted(parts):
        for f in PRICE_FACTORS:
            s2 = _scaled_price(spec, acc, f)
            label, usd = _best_under(s2, ranked)
            sens.append({"case": f"{acc} price ×{f:g}",
                         "change": f"{spec.price(acc).usd_per_gpu_hour * f:.2f} $/GPU-h",
                         "best": label, "usd_per_million_output_tokens": usd,
                         "same_as_recommended": label == best.label})
        flip = _price_flip(spec, acc, best, ranked)
        if flip is not None:
            lines.append(f"If {acc} cost {flip[0]:.0%} of its price, {flip[1]} would be "
                         f"cheaper.")
    for s in sens:
        tail = "(unchanged)" if s["same_as_recommended"] else f"→ {s['best']}"
        lines.append(f"Sensitivity, {s['case']} ({s['change']}): "
                     f"{_fmt_usd(s['usd_per_million_output_tokens'])} per M output tokens "
                     f"{tail}.")
    if verification:
        lines.append(f"Verified: {verification['simulated']}: "
                     + ("meets the SLO." if verification.get("meets_slo") else
                        f"misses the SLO ({', '.join(verification.get('failed', []))})."))
    return Explanation(binding=binding, runner_up_lost=lost, sensitivity=tuple(sens),
                       verification=verification, lines=tuple(lines))


def _scaled_price(spec: PlanSpec, acc: str, factor: float) -> PlanSpec:
    prices = tuple(replace(p, usd_per_gpu_hour=p.usd_per_gpu_hour * factor)
                   if p.accelerator == acc else p for p in spec.prices)
    return replace(spec, prices=prices)


def _price_flip(spec: PlanSpec, acc: str, best: PlannedCandidate,
                ranked: tuple[PlannedCandidate, ...]) -> tuple[float, str] | None:
    """The smallest price multiple of ``acc`` (up to 3×) at which another candidate wins."""
    if spec.objective != "cost":
        return None
    for f in np.arange(1.05, 3.001, 0.05):
        label, _ = _best_under(_scaled_price(spec, acc, float(f)), ranked)
        if label != best.label:
            return float(f), label
    return None


def cost_latency_front(spec: PlanSpec, table: ScreenTable,
                       ranked: tuple[PlannedCandidate, ...]) -> tuple[dict[str, Any], ...]:
    """Cheapest $/M output tokens for each latency (the SLO's first target), simulated."""
    t = spec.slo[0]
    key = f"{t.metric}_{t.percentile}"
    pts = [(p.latency_s.get(key), p.usd_per_million_output_tokens, p) for p in ranked
           if p.capacity_rate_per_s > 0 and p.latency_s.get(key) is not None]
    front, best = [], float("inf")
    for lat, usd, p in sorted(pts, key=lambda x: (x[0], x[1])):
        if usd < best:
            best = usd
            front.append({"label": p.label, f"{key}_s": lat,
                          "usd_per_million_output_tokens": usd, "source": "simulated"})
    return tuple(front)


def throughput_front(spec: PlanSpec, table: ScreenTable) -> tuple[dict[str, Any], ...]:
    """Output tokens/s per GPU against tokens/s per user (1/TPOT) over every aggregated
    replica choice and batch (analytic, no SLO: the curve NVIDIA and SemiAnalysis draw)."""
    mbt = max(spec.space.max_num_batched_tokens)
    mns = max(spec.space.max_num_seqs)
    sh = an.shape(spec.demand, prefix_cache=spec.space.prefix_cache[0])
    xs, ys, labels = [], [], []
    for vp in table.pools:
        if vp.choice.accelerator not in spec.space.hardware:
            continue
        cost = StepCostModel(spec.model, vp.deployment, spec.calibration,
                             engine=spec.engine)
        top = min(mns, vp.memory[(mbt, mns)].max_concurrent_sequences)
        curve = an.aggregated_curve(cost, sh, mbt=mbt, max_batch=top)
        ok = curve.budget_ok
        xs.append(1.0 / curve.tpot_s[ok])
        ys.append(curve.rate_per_s[ok] * sh.output_tokens / vp.choice.num_gpus)
        labels += [f"{vp.choice.label()} batch {int(b)}" for b in curve.batch[ok]]
    if not xs:
        return ()
    x, y = np.concatenate(xs), np.concatenate(ys)
    order = np.lexsort((-y, -x))  # fastest per user first
    front, best = [], -1.0
    for i in order:
        if y[i] > best:
            best = float(y[i])
            front.append({"label": labels[i], "output_tokens_per_s_per_user": float(x[i]),
                          "output_tokens_per_s_per_gpu": float(y[i]), "source": "analytic"})
    return tuple(front)


def diagnose(spec: PlanSpec, ranked: tuple[PlannedCandidate, ...],
             pruning: Pruning) -> tuple[str, ...]:
    """Nothing met the SLO: the closest candidates and what would be needed."""
    lines = ["No configuration in the search space meets the SLO."]
    worst: list[tuple[float, PlannedCandidate]] = []
    for p in ranked:
        ratios = [(p.latency_s.get(f"{t.metric}_{t.percentile}") or np.inf) / t.limit_s
                  for t in spec.slo]
        worst.append((max(ratios), p))
    worst.sort(key=lambda x: x[0])
    for r, p in worst[:3]:
        lat = ", ".join(f"{t.label} {1e3 * (p.latency_s.get(f'{t.metric}_{t.percentile}') or np.inf):,.0f} ms"
                        for t in spec.slo)
        lines.append(f"Closest: {p.label} at its lightest load: {lat} ({r:.2f}× the SLO).")
    if worst and np.isfinite(worst[0][0]):
        p = worst[0][1]
        need = ", ".join(f"{t.label} ≥ {1e3 * (p.latency_s.get(f'{t.metric}_{t.percentile}') or 0) * 1.05:,.0f} ms"
                         for t in spec.slo)
        lines.append(f"A looser SLO would be met: {need}.")
    if pruning.removed.get("the GPU budget") or spec.budget.max_gpus is not None:
        lines.append(f"More GPUs: the budget allows {spec.budget.max_gpus}; larger tensor "
                     f"parallelism cuts TTFT and TPOT.")
    lines += _wider(spec)
    return tuple(lines)


def _wider(spec: PlanSpec) -> list[str]:
    """Try, analytically, narrower precisions, wider TP and every priced part."""
    from tokenworks.errors import TokenworksError

    space = replace(spec.space, hardware=tuple(p.accelerator for p in spec.prices),
                    prefill_hardware=(), tp=tuple(sorted({*spec.space.tp, 1, 2, 4, 8})),
                    weights_dtypes=tuple(sorted({*spec.space.weights_dtypes, "fp8", "nvfp4"})),
                    kv_dtypes=tuple(sorted({*spec.space.kv_dtypes, "fp8"})))
    wide = replace(spec, space=space, demand=replace(spec.demand, rate_per_s=None),
                   budget=replace(spec.budget, max_gpus=None))
    try:
        table, _ = screen(wide)
    except TokenworksError:
        return ["No wider precision, split or part in the catalog meets it either (analytic)."]
    priced = price_screen(wide, table)
    ok = np.flatnonzero(priced["feasible"])
    if len(ok) == 0:
        return ["No wider precision, split or part among the priced catalog parts meets it "
                "(analytic screen): the SLO is beyond this model's reach; loosen it."]
    r = int(ok[np.argmin(priced["score"][ok])])
    return [f"Another precision, split or part would (analytic screen): "
            f"{table.candidate(r).label()}; add it to the search space."]

