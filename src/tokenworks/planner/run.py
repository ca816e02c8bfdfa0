"""The planner's method: screen everything analytically, confirm the best by simulation, rank,
verify the winner at full scale, and explain.

1. ``screen``: every configuration of the space, vectorised (seconds for 100,000s).
2. ``survivors``: the best ``sim.top_k`` by the objective, taking first the best of each
   (mode, hardware) so every family is simulated at least once; if none is feasible on paper,
   the closest ones (so the answer can say how close they come).
3. ``confirm`` each survivor (bisection on load, tail latencies) on the chosen backend; results
   already known (``done``: from the results store, or this process's memo) are not re-run,
   and each new one is handed to ``on_result`` as it finishes.
4. rank by the objective with the simulated capacity; the winner is simulated once more as the
   whole deployment at the demand (one more unit is added if that misses the SLO).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np

from tokenworks.planner import explain
from tokenworks.planner.backends import Backend, SerialBackend
from tokenworks.planner.confirm import Confirmation, ConfirmTask, confirm
from tokenworks.planner.rank import size_and_price, unit_economics
from tokenworks.planner.result import LATENCY_KEYS, PlannedCandidate, PlanResult
from tokenworks.planner.screen import ScreenTable, price_screen, screen
from tokenworks.planner.spec import Candidate, PlanSpec

__all__ = ["plan", "structure", "survivors"]

_MEMO: dict[str, Confirmation] = {}
_MAX_VERIFY_STEPS = 3


def survivors(table: ScreenTable, priced: dict[str, np.ndarray], k: int) -> list[int]:
    """Rows to simulate: the best of each (mode, hardware) family, then the best overall."""
    c = table.columns
    feasible = np.flatnonzero(priced["feasible"])
    if len(feasible) == 0:
        # Nothing works on paper: simulate the closest, to say how close they come.
        order = np.argsort(c["slo_ratio_at_b1"], kind="stable")
        return _distinct(table, order.tolist(), k)
    order = feasible[np.argsort(priced["score"][feasible], kind="stable")].tolist()
    families: dict[tuple, int] = {}
    for r in order:
        fam = (int(c["mode"][r]), int(c["prefill_pool"][r] >= 0 and
                                      table.pools[int(c["prefill_pool"][r])].choice.accelerator
                                      != table.pools[int(c["decode_pool"][r])].choice.accelerator),
               table.pools[int(c["decode_pool"][r])].choice.accelerator)
        families.setdefault(fam, r)
    first = sorted(families.values(), key=lambda r: priced["score"][r])
    return _distinct(table, first[: max(1, k // 2)] + order, k)


def structure(cand: Candidate) -> tuple:
    """A candidate without its scheduler knobs: what hardware, split and ratio it is."""
    return (cand.mode, cand.decode, cand.prefill, cand.num_prefill, cand.num_decode)


def _distinct(table: ScreenTable, rows: list[int], k: int) -> list[int]:
    """Up to ``k`` rows in order, distinct structures first, then knob variants."""
    seen: set = set()
    kinds: set = set()
    out: list[int] = []
    later: list[int] = []
    for r in rows:
        cand = table.candidate(r)
        if cand in seen:
            continue
        seen.add(cand)
        if structure(cand) in kinds:
            later.append(r)
            continue
        kinds.add(structure(cand))
        out.append(r)
        if len(out) == k:
            return out
    return out + later[: k - len(out)]


def _run_tasks(tasks: list[ConfirmTask], backend: Backend, done: Mapping[str, Confirmation],
               on_result: Callable[[ConfirmTask, Confirmation], None] | None,
               progress: Callable[[int, int], None] | None) -> list[Confirmation]:
    results: list[Confirmation | None] = [None] * len(tasks)
    todo = []
    for i, t in enumerate(tasks):
        known = done.get(t.key) or _MEMO.get(t.key)
        if known is not None:
            results[i] = known
        else:
            todo.append(i)
    count = len(tasks) - len(todo)
    if progress is not None:
        progress(count, len(tasks))

    def finished(j: int, r: Confirmation) -> None:
        nonlocal count
        i = todo[j]
        results[i] = r
        _MEMO[r.key] = r
        if on_result is not None:
            on_result(tasks[i], r)
        count += 1
        if progress is not None:
            progress(count, len(tasks))

    backend.run(confirm, [tasks[i] for i in todo], finished)
    return [r for r in results if r is not None]


def _planned(spec: PlanSpec, conf: Confirmation, analytic_rate: float, analytic_binding: str,
             rank: int = 0) -> PlannedCandidate:
    gpus, usd, power, capex = unit_economics(spec, conf.candidate)
    point = conf.at_capacity or conf.closest
    tpot = point.summary.get("tpot_p50") or 0.0
    p = size_and_price(spec, rate_per_s=np.asarray([conf.capacity_rate_per_s]),
                       unit_gpus=np.asarray([float(gpus)]), unit_usd_per_hour=np.asarray([usd]),
                       unit_power_w=np.asarray([power]), unit_capex_usd=np.asarray([capex]),
                       tpot_s=np.asarray([tpot]))
    return PlannedCandidate(
        rank=rank, key=conf.key, candidate=conf.candidate, meets_slo=bool(p["feasible"][0]),
        binding=conf.binding, analytic_binding=analytic_binding, unit_gpus=gpus,
        units=int(p["units"][0]), num_gpus=int(p["num_gpus"][0]),
        capacity_rate_per_s=conf.capacity_rate_per_s, analytic_rate_per_s=analytic_rate,
        served_rate_per_s=float(p["served_rate_per_s"][0]),
        usd_per_hour=float(p["usd_per_hour"][0]),
        usd_per_million_output_tokens=float(p["usd_per_million_output_tokens"][0]),
        output_tokens_per_s_per_gpu=float(p["output_tokens_per_s_per_gpu"][0]),
        output_tokens_per_s_per_user=float(p["output_tokens_per_s_per_user"][0]),
        power_w=float(p["power_w"][0]),
        capex_usd=None if np.isnan(p["capex_usd"][0]) else float(p["capex_usd"][0]),
        latency_s={k: point.summary.get(k) for k in LATENCY_KEYS})


def _task(spec: PlanSpec, cand, rate: float, units: int = 1) -> ConfirmTask:
    return ConfirmTask(candidate=cand, model=spec.model, demand=spec.demand, slo=spec.slo,
                       sim=spec.sim, seed=spec.seed, calibration=spec.calibration,
                       engine=spec.engine,
                       start_rate_per_s=rate, units=units)


def plan(spec: PlanSpec, *, backend: Backend | None = None,
         done: Mapping[str, Confirmation] | None = None,
         on_result: Callable[[ConfirmTask, Confirmation], None] | None = None,
         progress: Callable[[int, int], None] | None = None) -> PlanResult:
    """Answer ``spec`` (see module docstring)."""
    backend = backend or SerialBackend()
    done = done or {}
    t0 = time.perf_counter()
    table, pruning = screen(spec)
    priced = price_screen(spec, table)
    t_screen = time.perf_counter() - t0
    rows = survivors(table, priced, spec.sim.top_k)
    c = table.columns
    tasks = [_task(spec, table.candidate(r), float(c["rate_per_s"][r]) or
                   explain.start_rate(spec, table, r)) for r in rows]
    confs = _run_tasks(tasks, backend, done, on_result, progress)
    planned = [_planned(spec, conf, float(c["rate_per_s"][r]), table.bindings[int(c["binding"][r])])
               for conf, r in zip(confs, rows, strict=True)]
    order = sorted(range(len(planned)), key=lambda i: (not planned[i].meets_slo,
                                                       explain.score(spec, planned[i]), i))
    ranked = tuple(replace(planned[i], rank=n + 1) for n, i in enumerate(order))
    best = ranked[0] if ranked and ranked[0].meets_slo else None
    verification: dict = {}
    if best is not None:
        best, verification = _verify(spec, best, backend, done, on_result)
        ranked = (best, *ranked[1:])
    runner = next((p for p in ranked[1:] if p.meets_slo and
                   structure(p.candidate) != structure(best.candidate)), None) \
        if best is not None else None
    t_total = time.perf_counter() - t0
    result = PlanResult(
        name=spec.name, question=explain.question(spec), candidates=ranked,
        recommendation=best, runner_up=runner,
        explanation=explain.explain(spec, best, runner, ranked, verification)
        if best is not None else None,
        pareto_cost_latency=explain.cost_latency_front(spec, table, ranked),
        pareto_throughput_interactivity=explain.throughput_front(spec, table),
        screen={"num_candidates": table.num_rows,
                "num_feasible_analytic": int(priced["feasible"].sum()),
                "num_simulated": len(ranked), "replica_choices_tried": pruning.tried,
                "replica_choices_pruned": dict(pruning.removed)},
        diagnosis=() if best is not None else explain.diagnose(spec, ranked, pruning),
        timings={"screen_s": t_screen, "total_s": t_total})
    return result


def _verify(spec: PlanSpec, best: PlannedCandidate, backend: Backend,
            done: Mapping[str, Confirmation],
            on_result: Callable[[ConfirmTask, Confirmation], None] | None
            ) -> tuple[PlannedCandidate, dict]:
    """Simulate the whole recommended deployment at the demand; add units until it meets
    the SLO (at most a few). Without a demand rate the unit's own bisection is the check."""
    if spec.demand.rate_per_s is None or best.units <= 1:
        return best, {"simulated": "one unit at its capacity", "units": best.units,
                      "meets_slo": best.meets_slo, "latency_s": dict(best.latency_s)}
    units = best.units
    for _ in range(_MAX_VERIFY_STEPS):
        t = _task(spec, best.candidate, spec.demand.rate_per_s, units=units)
        conf = _run_tasks([t], backend, done, on_result, None)[0]
        point = conf.closest
        if point.ok:
            lat = {k: point.summary.get(k) for k in LATENCY_KEYS}
            new = replace(best, units=units, num_gpus=units * best.unit_gpus,
                          usd_per_hour=best.usd_per_hour / best.units * units,
                          power_w=best.power_w / best.units * units,
                          usd_per_million_output_tokens=best.usd_per_million_output_tokens
                          / best.units * units,
                          output_tokens_per_s_per_gpu=best.output_tokens_per_s_per_gpu
                          * best.units / units)
            return new, {"simulated": f"{units} units at {spec.demand.rate_per_s:g} req/s",
                         "units": units, "meets_slo": True, "latency_s": lat,
                         "added_units": units - best.units}
        units += 1
    return best, {"simulated": f"up to {units - 1} units at {spec.demand.rate_per_s:g} req/s",
                  "units": best.units, "meets_slo": False,
                  "failed": list(point.failed)}
