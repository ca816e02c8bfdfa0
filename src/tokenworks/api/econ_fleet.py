"""Fleet sizing: a demand (tokens/day or requests/s, one shape or a length mix) and SLOs →
the deployment from ``estimate`` → accelerators, nodes, racks, MW, capex, opex, $/M tokens.

Split out of ``tokenworks.api.economics``; inputs are flat dicts as there.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from tokenworks.api.economics import (
    DEFAULT_ACCELERATOR,
    DEFAULT_GRID,
    _describe,
    build_tco_inputs,
)
from tokenworks.api.estimate import Estimate, estimate
from tokenworks.economics.catalog import (
    describe_defaults,
    finance_default,
    get_grid,
)
from tokenworks.economics.fleet import (
    FleetPlan,
    PowerBudgetCapacity,
    capacity_for_power_budget,
    combine_fleet_plans,
    size_fleet,
)
from tokenworks.errors import ConfigError, InfeasibleError, check_range
from tokenworks.units import DAY, MW


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetClass:
    """One request class of a length mix, sized on its own (``FleetReport.classes``)."""

    input_tokens: int
    output_tokens: int
    share_frac: float  # share of requests
    requests_per_s: float
    plan: FleetPlan
    estimate: Estimate


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetReport:
    plan: FleetPlan  # the whole fleet (the sum of ``classes`` for a length mix)
    estimate: Estimate | None
    power_budget: PowerBudgetCapacity | None
    classes: tuple[FleetClass, ...] = ()
    defaults_used: list[str] = field(default_factory=list)


MIX_SHARE_TOLERANCE = 1e-3


def parse_request_mix(mix: Any) -> list[tuple[int, int, float]]:
    """``request_mix`` rows -> (input_tokens, output_tokens, share); shares must sum to 1."""
    if not isinstance(mix, (list, tuple)) or not mix:
        raise ConfigError("request_mix must be a non-empty list of {input_tokens, output_tokens, "
                          "share} tables.")
    rows = []
    for i, row in enumerate(mix):
        if not isinstance(row, dict) or set(row) != {"input_tokens", "output_tokens", "share"}:
            got = sorted(row) if isinstance(row, dict) else row
            raise ConfigError(f"request_mix[{i}] = {got}: each class needs exactly input_tokens, "
                              f"output_tokens and share.")
        inp, out, share = row["input_tokens"], row["output_tokens"], float(row["share"])
        for k, v in (("input_tokens", inp), ("output_tokens", out)):
            if v != int(v) or v < 1:
                raise ConfigError(f"request_mix[{i}].{k} = {v:g}: must be a whole number >= 1.")
        check_range(f"request_mix[{i}].share", share, low=0, high=1, low_inclusive=False)
        rows.append((int(inp), int(out), share))
    total = sum(r[2] for r in rows)
    if abs(total - 1.0) > MIX_SHARE_TOLERANCE:
        raise ConfigError(f"request_mix shares sum to {total:.4g}: they must sum to 1 "
                          f"(within {MIX_SHARE_TOLERANCE:g}). Fix the shares (fractions of "
                          f"requests) so they add up to 1.")
    return rows


def _replica(inputs: dict[str, Any], input_tokens: int, output_tokens: int,
             extra: list[str]) -> tuple[Estimate, float, int]:
    """Estimator deployment for one request shape at the SLOs: (estimate, tok/s, accs)."""
    model = inputs.get("model", "llama-3.1-70b")
    acc = inputs.get("accelerator", DEFAULT_ACCELERATOR)
    kw = dict(tp=int(inputs.get("tp", 8)), pp=int(inputs.get("pp", 1)),
              ep=int(inputs.get("ep", 1)), weights_dtype=inputs.get("weights_dtype", "fp8"),
              kv_dtype=inputs.get("kv_dtype"), input_tokens=input_tokens,
              output_tokens=output_tokens,
              prefix_hit_frac=float(inputs.get("prefix_hit_frac", 0.0)))
    est = estimate(model, acc, batch=int(inputs["batch"]) if inputs.get("batch") else "max", **kw)
    est = _meet_slos(est, model, acc, kw, ttft_slo_s=inputs.get("ttft_slo_s"),
                     tpot_slo_s=inputs.get("tpot_slo_s"), extra=extra)
    return est, est.output_tokens_per_s / est.num_replicas, est.tp * est.pp


def fleet_report(inputs: dict[str, Any]) -> FleetReport:
    """Demand -> deployment (from ``estimate`` unless per-replica throughput is given) -> fleet.

    With ``request_mix`` (a list of ``{input_tokens, output_tokens, share}``, shares being
    fractions of requests), each class is sized with the estimator at the SLOs for its share
    of the demand, and the fleet is their sum.
    """
    extra: list[str] = []
    est: Estimate | None = None
    per_replica = inputs.get("output_tokens_per_s_per_replica")
    acc_per_replica = inputs.get("accelerators_per_replica")
    mix = parse_request_mix(inputs["request_mix"]) if "request_mix" in inputs else None
    if mix is not None:
        clash = [k for k in ("input_tokens", "output_tokens", "output_tokens_per_s_per_replica",
                             "accelerators_per_replica") if k in inputs]
        if clash:
            raise ConfigError(f"request_mix and {', '.join(clash)} were both given: a mix sets "
                              f"every class's shape and throughput; drop one of them.")
    if "model" not in inputs and per_replica is None:
        extra.append("model = llama-3.1-70b (illustrative)")
    if per_replica is None and mix is None:
        est, per_replica, acc_per_replica = _replica(
            inputs, int(inputs.get("input_tokens", 2048)), int(inputs.get("output_tokens", 256)),
            extra)
        extra += [f"estimate: {d}" for d in est.defaults_used
                  if not d.startswith("usd_per_gpu_hour")]
    elif mix is None and acc_per_replica is None:
        raise ConfigError("output_tokens_per_s_per_replica needs accelerators_per_replica too "
                          "(--accelerators-per-replica).")
    # Output tokens per request: of the single shape, or the mix's share-weighted mean.
    out_per_req = (sum(o * sh for _, o, sh in mix) if mix is not None
                   else int(inputs.get("output_tokens", 256)))
    demand = inputs.get("demand_output_tokens_per_s")
    if demand is None and inputs.get("demand_output_tokens_per_day") is not None:
        demand = inputs["demand_output_tokens_per_day"] / DAY
    if demand is None and inputs.get("demand_requests_per_s") is not None:
        # Requests/s of the given shape (or mix): output tokens/s = requests/s x output tokens.
        demand = inputs["demand_requests_per_s"] * out_per_req
    if demand is None:
        demand = 1.0e6
        extra.append("demand_output_tokens_per_s = 1,000,000 (illustrative)")
    t = build_tco_inputs(inputs)
    grid = get_grid(inputs.get("grid", DEFAULT_GRID))
    if "grid" not in inputs:
        extra.append(f"grid = {grid.name}: {grid.carbon_g_per_kwh:g} gCO2/kWh "
                     f"({grid.source_title}, {grid.as_of})")
    wue = inputs.get("wue_l_per_kwh")
    if wue is None:
        wue = finance_default("wue_l_per_kwh")
        extra += describe_defaults(["wue_l_per_kwh"])
    peak = float(inputs.get("peak_to_average", 1.0))
    env = dict(carbon_g_per_kwh=grid.carbon_g_per_kwh, grid=grid.name, wue_l_per_kwh=wue)
    classes: list[FleetClass] = []
    if mix is None:
        plan = size_fleet(tco=t, demand_output_tokens_per_s=float(demand),
                          output_tokens_per_s_per_replica=float(per_replica),
                          accelerators_per_replica=int(acc_per_replica), peak_to_average=peak,
                          **env)
    else:
        check_range("demand_output_tokens_per_s", float(demand), low=0, low_inclusive=False,
                    unit="tok/s")
        rps = float(demand) / out_per_req
        for inp, out, share in mix:
            notes: list[str] = []
            e, r, a = _replica(inputs, inp, out, notes)
            extra += [f"class {inp}/{out}: {n}" for n in notes]
            p = size_fleet(tco=t, demand_output_tokens_per_s=rps * share * out,
                           output_tokens_per_s_per_replica=r, accelerators_per_replica=a,
                           peak_to_average=peak, **env)
            classes.append(FleetClass(input_tokens=inp, output_tokens=out, share_frac=share,
                                      requests_per_s=rps * share, plan=p, estimate=e))
        plan = combine_fleet_plans([c.plan for c in classes], tco=t, **env)
        # Blended per-replica throughput of the mix at full load (harmonic, by demand).
        per_replica = float(demand) / sum(c.plan.demand_output_tokens_per_s
                                          / c.plan.output_tokens_per_s_per_replica
                                          for c in classes)
        acc_per_replica = classes[0].plan.accelerators_per_replica
        extra += [f"estimate: {d}" for d in classes[0].estimate.defaults_used
                  if not d.startswith("usd_per_gpu_hour")]
    budget = None
    if inputs.get("power_budget_mw") is not None:
        budget = capacity_for_power_budget(
            tco=t, facility_power_w=float(inputs["power_budget_mw"]) * MW,
            output_tokens_per_s_per_replica=float(per_replica),
            accelerators_per_replica=int(acc_per_replica))
    # The fleet's utilization is computed from demand, so the catalog default is not used.
    t = replace(t, defaults_used=tuple(d for d in t.defaults_used if d != "utilization_frac"))
    return FleetReport(plan=plan, estimate=est, power_budget=budget, classes=tuple(classes),
                       defaults_used=_describe(t, extra))


def _meet_slos(est: Estimate, model: str, acc: str, kw: dict[str, Any], *,
               ttft_slo_s: float | None, tpot_slo_s: float | None, extra: list[str]) -> Estimate:
    """Halve the batch until the estimate meets the TPOT SLO; check TTFT at that batch.

    TTFT here is the zero-load prefill time (queueing is the simulator's job), so a TTFT SLO
    below it is infeasible at any batch.
    """
    if tpot_slo_s is not None:
        check_range("tpot_slo_s", tpot_slo_s, low=0, low_inclusive=False, unit="s")
        while est.tpot_s > tpot_slo_s and est.batch_size > 1:
            est = estimate(model, acc, batch=max(1, est.batch_size // 2), **kw)
        if est.tpot_s > tpot_slo_s:
            raise InfeasibleError(
                f"tpot_slo_s = {tpot_slo_s:g} s is below {est.tpot_s:.4f} s, the time per output "
                f"token of {est.model} on {est.num_gpus}x {est.hardware} even at batch 1. Use "
                f"a larger tp, faster hardware or a looser SLO.")
        extra.append(f"batch {est.batch_size}: largest power-of-two halving meeting "
                     f"tpot_slo_s = {tpot_slo_s:g} s (tpot {est.tpot_s * 1e3:.1f} ms)")
    if ttft_slo_s is not None:
        check_range("ttft_slo_s", ttft_slo_s, low=0, low_inclusive=False, unit="s")
        if est.ttft_s > ttft_slo_s:
            raise InfeasibleError(
                f"ttft_slo_s = {ttft_slo_s:g} s is below the zero-load prefill time "
                f"{est.ttft_s:.3f} s of {est.input_tokens} tokens on {est.num_gpus}x "
                f"{est.hardware}. Use a larger tp, prefix caching or a looser SLO.")
    return est
