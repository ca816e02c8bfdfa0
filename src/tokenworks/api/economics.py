"""Economics orchestration: flat inputs (flags + scenario) -> economics results, with defaults.

Each ``*_report(inputs)`` takes a flat dict of overrides (keys as in
``tokenworks.economics.scenario.SCENARIO_KEYS[command]``; missing keys fall back to sourced
catalog defaults) and returns a result whose ``defaults_used`` lists every default applied,
with its source. Fleet sizing combines perf (``estimate``) with economics, so it lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, make_dataclass, replace
from typing import Any

from tokenworks.api.estimate import Estimate, estimate
from tokenworks.economics.capital import (
    AssetReturn,
    CapitalCeiling,
    RevenueGap,
    compare_capital_scenarios,
    token_revenue_multiple,
)
from tokenworks.economics.catalog import (
    describe_defaults,
    finance_default,
    finance_param,
    get_api_price,
    get_grid,
    resolve_params,
)
from tokenworks.economics.fleet import (
    FleetPlan,
    PowerBudgetCapacity,
    capacity_for_power_budget,
    combine_fleet_plans,
    size_fleet,
)
from tokenworks.economics.pnl import (
    DepreciationRiskCase,
    MarketInputs,
    Pnl,
    depreciation_risk,
    neocloud_pnl,
)
from tokenworks.economics.power import PowerReport, deployment_power, host_overhead_frac
from tokenworks.economics.sensitivity import (
    SENSITIVITY_METRICS,
    Grid2,
    TornadoRow,
    grid2,
    tornado,
)
from tokenworks.economics.tco import (
    TCO_PARAMS,
    TcoBreakdown,
    TcoInputs,
    VendorCase,
    tco_inputs,
    tco_per_accelerator_hour,
    vendor_financing_case,
)
from tokenworks.economics.token_cost import (
    Margin,
    TokenCost,
    default_usd_per_gpu_hour,
    margin_at_list_price,
    token_cost,
    usd_per_million_tokens,
)
from tokenworks.economics.training import (
    ChinchillaPoint,
    TrainingRun,
    chinchilla_optimal,
    training_run,
)
from tokenworks.errors import ConfigError, InfeasibleError, check_range
from tokenworks.hardware import get_accelerator, get_system
from tokenworks.model import get_model, param_counts
from tokenworks.units import DAY, MW

DEFAULT_ACCELERATOR = "h100-sxm"
DEFAULT_GRID = "us"


def build_tco_inputs(inputs: dict[str, Any]) -> TcoInputs:
    """TcoInputs from flat overrides (accelerator, facility, capex and any TCO_PARAMS)."""
    return tco_inputs(inputs.get("accelerator", DEFAULT_ACCELERATOR),
                      server_capex_usd_per_accelerator=inputs.get(
                          "server_capex_usd_per_accelerator"),
                      facility=inputs.get("facility", "colocation"),
                      **{k: inputs.get(k) for k in TCO_PARAMS})


def _describe(t: TcoInputs, extra: list[str] | None = None) -> list[str]:
    """Lines naming every default a result used, with value and source."""
    finance = [n for n in t.defaults_used if n != "server_capex_usd_per_accelerator"]
    lines = describe_defaults(finance)
    if "server_capex_usd_per_accelerator" in t.defaults_used:
        lines += [s for s in t.sources if s.startswith("server capex")]
    return lines + (extra or [])


@dataclass(frozen=True, slots=True, kw_only=True)
class TcoReport:
    inputs: TcoInputs
    breakdown: TcoBreakdown
    token_cost: TokenCost | None
    usd_per_million_tokens_at_throughput: float | None
    vendor_case: VendorCase
    margin: Margin | None
    list_price: str | None
    defaults_used: list[str] = field(default_factory=list)


def tco_report(inputs: dict[str, Any]) -> TcoReport:
    """TCO per accelerator-hour; optional $/M tokens at a throughput; the vendor-finance case."""
    t = build_tco_inputs(inputs)
    b = tco_per_accelerator_hour(t)
    tps = inputs.get("output_tokens_per_s")
    usd_mtok = (usd_per_million_tokens(b.breakeven_usd_per_sold_hour, tps)
                if tps is not None else None)
    vc = vendor_financing_case(t, capex_premium_usd_per_server=inputs.get(
        "capex_premium_usd_per_server", 7500.0))
    extra = [] if "accelerator" in inputs else [f"accelerator = {DEFAULT_ACCELERATOR}"]
    tc: TokenCost | None = None
    margin: Margin | None = None
    if inputs.get("model") is not None:
        basis = inputs.get("price_basis", "tco")
        if basis == "tco":
            price = b.breakeven_usd_per_sold_hour
        elif basis == "rental":
            price, src = default_usd_per_gpu_hour(t.accelerator)
            extra.append(f"rental price {price:g} $/h ({src})")
        else:
            raise ConfigError(f"price_basis = '{basis}' is not valid: use 'tco' or 'rental'.")
        kw = dict(tp=int(inputs.get("tp", 8)), pp=int(inputs.get("pp", 1)),
                  ep=int(inputs.get("ep", 1)), weights_dtype=inputs.get("weights_dtype", "fp8"),
                  kv_dtype=inputs.get("kv_dtype"),
                  input_tokens=int(inputs.get("input_tokens", 2048)),
                  output_tokens=int(inputs.get("output_tokens", 256)),
                  batch=int(inputs["batch"]) if inputs.get("batch") else "max",
                  usd_per_gpu_hour=price)
        est = estimate(inputs["model"], t.accelerator,
                       prefix_hit_frac=float(inputs.get("prefix_hit_frac", 0.0)), **kw)
        est0 = estimate(inputs["model"], t.accelerator, prefix_hit_frac=0.0,
                        **{**kw, "batch": est.batch_size})
        tc = token_cost_from_estimate(est0, est)
        if inputs.get("list_price"):
            margin = margin_for(tc, list_price=inputs["list_price"],
                                input_tokens=est.input_tokens, output_tokens=est.output_tokens)
    return TcoReport(inputs=t, breakdown=b, token_cost=tc,
                     usd_per_million_tokens_at_throughput=usd_mtok, vendor_case=vc,
                     margin=margin, list_price=inputs.get("list_price"),
                     defaults_used=_describe(t, extra))


@dataclass(frozen=True, slots=True, kw_only=True)
class PnlReport:
    inputs: TcoInputs
    market: MarketInputs
    pnl: Pnl
    depreciation_risk: tuple[DepreciationRiskCase, ...]
    defaults_used: list[str] = field(default_factory=list)


MARKET_PARAMS = ("price_decline_frac_per_year", "utilization_year1_frac", "ramp_years",
                 "reserved_share_frac", "reserved_discount_frac", "contract_years",
                 "spot_share_frac", "spot_discount_frac", "tax_rate_frac",
                 "sga_frac_of_revenue", "discount_rate_frac")


def _pnl_parts(inputs: dict[str, Any]) -> tuple[TcoInputs, MarketInputs, Pnl, list[str]]:
    """TCO inputs, market, the fleet P&L and the defaults it used (no depreciation risk)."""
    t = build_tco_inputs(inputs)
    vals, used = resolve_params(MARKET_PARAMS, {k: inputs.get(k) for k in MARKET_PARAMS})
    extra: list[str] = []
    price = inputs.get("on_demand_usd_per_hour")
    if price is None:
        price, src = default_usd_per_gpu_hour(t.accelerator)
        extra.append(f"on_demand_usd_per_hour = {price:g} $/h ({src})")
    n = int(inputs.get("num_accelerators") or 1024)
    if inputs.get("num_accelerators") is None:
        extra.append("num_accelerators = 1024 (illustrative fleet)")
    market = MarketInputs(
        on_demand_usd_per_hour=price,
        price_decline_frac_per_year=vals["price_decline_frac_per_year"],
        utilization_year1_frac=vals["utilization_year1_frac"],
        utilization_mature_frac=t.utilization_frac, ramp_years=int(vals["ramp_years"]),
        reserved_share_frac=vals["reserved_share_frac"],
        reserved_discount_frac=vals["reserved_discount_frac"],
        contract_years=int(vals["contract_years"]), spot_share_frac=vals["spot_share_frac"],
        spot_discount_frac=vals["spot_discount_frac"],
        take_or_pay_frac=float(inputs.get("take_or_pay_frac", 0.0)))
    years = inputs.get("years")
    p = neocloud_pnl(t, market, num_accelerators=n,
                     years=None if years is None else int(years),
                     depreciation_method=inputs.get("depreciation_method", "straight_line"),
                     tax_rate_frac=vals["tax_rate_frac"],
                     sga_frac_of_revenue=vals["sga_frac_of_revenue"],
                     discount_rate_frac=vals["discount_rate_frac"])
    return t, market, p, describe_defaults(used) + extra


def pnl_report(inputs: dict[str, Any]) -> PnlReport:
    """Fleet P&L over its life plus the depreciation-risk comparison."""
    t, market, p, lines = _pnl_parts(inputs)
    gen = {k: inputs[k] for k in ("new_generation_year", "new_generation_speedup",
                                  "new_generation_price_ratio") if inputs.get(k) is not None}
    if "new_generation_year" in gen:
        gen["new_generation_year"] = int(gen["new_generation_year"])
    risk = depreciation_risk(t, market, num_accelerators=p.num_accelerators, **gen)
    return PnlReport(inputs=t, market=market, pnl=p, depreciation_risk=risk,
                     defaults_used=_describe(t, lines))


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


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainReport:
    run: TrainingRun
    chinchilla: ChinchillaPoint
    carbon_g: float
    grid: str
    defaults_used: list[str] = field(default_factory=list)


def train_report(inputs: dict[str, Any]) -> TrainReport:
    """6·N·D training run on a cluster at an MFU: days, GPU-hours, cost, energy, carbon."""
    extra: list[str] = []
    acc_name = inputs.get("accelerator", DEFAULT_ACCELERATOR)
    active = inputs.get("active_params")
    if active is None:
        model = inputs.get("model", "llama-3.1-405b")
        if "model" not in inputs:
            extra.append("model = llama-3.1-405b (illustrative)")
        active = param_counts(get_model(model)).active
    vals, used = resolve_params(("mfu_frac", "chinchilla_tokens_per_param"),
                                {"mfu_frac": inputs.get("mfu_frac")})
    tokens = inputs.get("tokens")
    if tokens is None:
        tokens = vals["chinchilla_tokens_per_param"] * active
        extra.append(f"tokens = {tokens:.3g} (Chinchilla-optimal, 20 tokens/param)")
    n = int(inputs.get("num_accelerators") or 16384)
    if inputs.get("num_accelerators") is None:
        extra.append("num_accelerators = 16384 (Llama 3 405B scale)")
    t = build_tco_inputs({**inputs, "accelerator": acc_name, "utilization_frac":
                          inputs.get("utilization_frac", 1.0)})
    price = inputs.get("usd_per_gpu_hour")
    if price is None:
        price, src = default_usd_per_gpu_hour(acc_name)
        extra.append(f"usd_per_gpu_hour = {price:g} ({src})")
    acc = get_accelerator(acc_name)
    overhead, _ = host_overhead_frac(acc)
    # ASSUMPTION: a training cluster runs its accelerators at TDP (utilization 1).
    facility_w = acc.tdp_w * (1 + overhead) * t.pue
    run = training_run(acc, active_params=float(active), tokens=float(tokens),
                       num_accelerators=n, mfu_frac=vals["mfu_frac"],
                       usd_per_accelerator_hour=float(price),
                       facility_power_w_per_accelerator=facility_w,
                       precision=inputs.get("precision", "bf16"),
                       tokens_per_param=vals["chinchilla_tokens_per_param"])
    grid = get_grid(inputs.get("grid", DEFAULT_GRID))
    budget = inputs.get("compute_flops") or run.flops
    return TrainReport(run=run, chinchilla=chinchilla_optimal(
        budget, tokens_per_param=vals["chinchilla_tokens_per_param"]),
        carbon_g=run.energy_mwh * 1000 * grid.carbon_g_per_kwh, grid=grid.name,
        defaults_used=describe_defaults([u for u in used if u != "chinchilla_tokens_per_param"]
                                        + (["pue"] if "pue" in t.defaults_used else []))
        + extra)


def power_report(inputs: dict[str, Any]) -> tuple[PowerReport, list[str]]:
    """Power, energy, carbon and water of ``num_accelerators`` at a utilization."""
    extra: list[str] = []
    acc = inputs.get("accelerator", DEFAULT_ACCELERATOR)
    vals, used = resolve_params(("utilization_frac", "pue", "idle_power_frac", "wue_l_per_kwh"),
                                {k: inputs.get(k) for k in ("utilization_frac", "pue",
                                                           "idle_power_frac", "wue_l_per_kwh")})
    grid = get_grid(inputs.get("grid", DEFAULT_GRID))
    if "grid" not in inputs:
        extra.append(f"grid = {grid.name}: {grid.carbon_g_per_kwh:g} gCO2/kWh "
                     f"({grid.source_title}, {grid.as_of})")
    n = int(inputs.get("num_accelerators") or 1024)
    if inputs.get("num_accelerators") is None:
        extra.append("num_accelerators = 1024 (illustrative)")
    system = get_system(inputs["system"]) if inputs.get("system") else None
    rep = deployment_power(acc, num_accelerators=n, utilization_frac=vals["utilization_frac"],
                           pue=vals["pue"], carbon_g_per_kwh=grid.carbon_g_per_kwh,
                           grid=grid.name, wue_l_per_kwh=vals["wue_l_per_kwh"], system=system,
                           tokens_per_s=inputs.get("tokens_per_s"),
                           idle_power_frac=vals["idle_power_frac"])
    return rep, describe_defaults(list(used)) + extra


@dataclass(frozen=True, slots=True, kw_only=True)
class SensitivityReport:
    metric: str
    base: float
    tornado: tuple[TornadoRow, ...]
    grid: Grid2 | None
    defaults_used: list[str] = field(default_factory=list)


# Every numeric input of the P&L, as one flat frozen dataclass the sensitivity tools can vary.
PNL_SENSITIVITY_INPUTS: tuple[str, ...] = (
    *TCO_PARAMS, "server_capex_usd_per_accelerator", *MARKET_PARAMS, "on_demand_usd_per_hour",
    "take_or_pay_frac", "num_accelerators")
_PNL_INT_INPUTS = ("ramp_years", "contract_years", "num_accelerators")
PnlSensitivityInputs = make_dataclass(
    "PnlSensitivityInputs",
    [(n, int if n in _PNL_INT_INPUTS else float) for n in PNL_SENSITIVITY_INPUTS],
    frozen=True, slots=True, kw_only=True)
# Varied when --vary is not given: the P&L drivers the seeds argue about.
PNL_SENSITIVITY_DEFAULT_VARY: tuple[str, ...] = (
    "on_demand_usd_per_hour", "utilization_frac", "utilization_year1_frac",
    "price_decline_frac_per_year", "server_capex_usd_per_accelerator", "useful_life_years",
    "debt_rate_frac", "electricity_usd_per_kwh", "colocation_usd_per_kw_month",
    "reserved_discount_frac", "discount_rate_frac")


def _nan_if_none(x: float | None) -> float:
    return float("nan") if x is None else float(x)


# P&L metrics (name -> Pnl -> float); a payback or IRR that does not exist is NaN.
PNL_METRICS: dict[str, Callable[[Pnl], float]] = {
    "npv_usd": lambda p: p.npv_usd,
    "irr_frac": lambda p: _nan_if_none(p.project_irr_frac),
    "equity_irr_frac": lambda p: _nan_if_none(p.equity_irr_frac),
    "payback_years": lambda p: _nan_if_none(p.payback_years),
}


def pnl_sensitivity_inputs(inputs: dict[str, Any]) -> Any:
    """The resolved numeric P&L inputs (overrides, else sourced defaults) as one spec."""
    t = build_tco_inputs(inputs)
    vals, _ = resolve_params(MARKET_PARAMS, {k: inputs.get(k) for k in MARKET_PARAMS})
    price = inputs.get("on_demand_usd_per_hour")
    if price is None:
        price, _ = default_usd_per_gpu_hour(t.accelerator)
    base = {**{k: getattr(t, k) for k in (*TCO_PARAMS, "server_capex_usd_per_accelerator")},
            **vals, "on_demand_usd_per_hour": float(price),
            "take_or_pay_frac": float(inputs.get("take_or_pay_frac", 0.0)),
            "num_accelerators": int(inputs.get("num_accelerators") or 1024)}
    return PnlSensitivityInputs(**{k: (int(v) if k in _PNL_INT_INPUTS else float(v))
                                   for k, v in base.items()})


def sensitivity_report(
    inputs: dict[str, Any],
    *,
    metric: str = "tco_usd_per_hour",
    vary: list[str] | None = None,
    low_mult: float = 0.8,
    high_mult: float = 1.2,
    grid_x: tuple[str, list[float]] | None = None,
    grid_y: tuple[str, list[float]] | None = None,
) -> SensitivityReport:
    """Tornado and an optional two-way grid of a TCO metric (over TCO inputs) or a P&L metric
    (``PNL_METRICS``, over every numeric P&L input; ``inputs`` are then P&L inputs)."""
    if metric in PNL_METRICS:
        spec = pnl_sensitivity_inputs(inputs)
        get = PNL_METRICS[metric]

        def fn(s: Any) -> float:
            return get(_pnl_parts({**inputs, **asdict(s)})[2])

        names = vary or list(PNL_SENSITIVITY_DEFAULT_VARY)
        t, _, _, lines = _pnl_parts(inputs)
        described = _describe(t, lines)
    elif metric in SENSITIVITY_METRICS:
        spec = build_tco_inputs(inputs)
        fn = SENSITIVITY_METRICS[metric]
        names = vary or [n for n in (*TCO_PARAMS, "server_capex_usd_per_accelerator")
                         if n not in ("loan_term_years",)]
        described = _describe(spec)
    else:
        raise ConfigError(f"metric '{metric}' is not known. Valid: "
                          f"{', '.join([*SENSITIVITY_METRICS, *PNL_METRICS])}.")
    base, rows = tornado(spec, fn, names, low_mult=low_mult, high_mult=high_mult)
    g = None
    if grid_x is not None and grid_y is not None:
        g = grid2(spec, fn, x_input=grid_x[0], x_values=grid_x[1], y_input=grid_y[0],
                  y_values=grid_y[1])
    return SensitivityReport(metric=metric, base=base, tornado=rows, grid=g,
                             defaults_used=described)


# Capital-math inputs with a sourced default in data/finance.toml (input -> catalog param).
CAPITAL_CATALOG_DEFAULTS: dict[str, str] = {
    "gpu_revenue_usd_per_year": "nvidia_dc_revenue_run_rate_usd",
    "gpu_share_of_dc_cost_frac": "gpu_share_of_dc_cost_frac",
    "end_user_gross_margin_frac": "end_user_gross_margin_frac",
    "cfo_usd_per_year": "hyperscaler_cfo_usd_per_year",
    "years": "capital_horizon_years",
}
# ASSUMPTION: seed 003's $6T reconstruction reinvests all cash flow, doubles it with SPVs and
# adds 1x leverage; these multipliers have no catalog entry, so they default to that reading.
CAPITAL_SEED_DEFAULTS: dict[str, tuple[float, float, str]] = {  # value, valid high, meaning
    "reinvest_frac": (1.0, 1.0, "share of cash flow reinvested"),
    "spv_multiple": (1.0, 10.0, "off-balance-sheet SPV capital per $ of internal capital"),
    "leverage_x_cfo": (1.0, 10.0, "new corporate debt in years of cash flow"),
}
_ASSET_KEYS = ("asset_usd", "tokens_per_s", "usd_per_mtok")


@dataclass(frozen=True, slots=True, kw_only=True)
class CapitalCase:
    name: str
    inputs: dict[str, float]  # every capital input, resolved
    gap: RevenueGap
    ceiling: CapitalCeiling
    years_of_gap_covered: float  # ceiling / yearly gap (or required revenue if no actual)
    asset: AssetReturn | None  # token revenue multiple of one asset, when asked for


@dataclass(frozen=True, slots=True, kw_only=True)
class CapitalReport:
    cases: tuple[CapitalCase, ...]  # one, or one per named scenario (file order)
    defaults_used: list[str] = field(default_factory=list)


def _capital_case(name: str, inputs: dict[str, Any], used: list[str]) -> CapitalCase:
    vals: dict[str, float] = {}
    for key, param in CAPITAL_CATALOG_DEFAULTS.items():
        p = finance_param(param)
        if inputs.get(key) is None:
            vals[key] = p.value
            line = describe_defaults([param])[0]
            used.append(line if key == param else
                        f"{key} = {line.split(' = ', 1)[1]} [catalog param {param}]")
        else:
            vals[key] = check_range(key, float(inputs[key]), low=p.valid_low, high=p.valid_high,
                                    unit=p.unit, fix=f"Default is {p.value:g} {p.unit} "
                                    f"({p.source_title}, {p.as_of}).")
    for key, (default, high, meaning) in CAPITAL_SEED_DEFAULTS.items():
        if inputs.get(key) is None:
            vals[key] = default
            used.append(f"{key} = {default:g} ({meaning}) [assumption] (seed 003 reconstruction "
                        f"of the $6T capital ceiling)")
        else:
            vals[key] = check_range(key, float(inputs[key]), low=0, high=high)
    actual = inputs.get("actual_ai_revenue_usd_per_year")
    if actual is not None:
        vals["actual_ai_revenue_usd_per_year"] = check_range(
            "actual_ai_revenue_usd_per_year", float(actual), low=0, unit="$/year",
            fix="Give the AI revenue actually earned per year, or leave it out.")
    (case,) = compare_capital_scenarios({name: vals})
    asset = None
    given = [k for k in _ASSET_KEYS if inputs.get(k) is not None]
    if given:
        missing = [k for k in _ASSET_KEYS if inputs.get(k) is None]
        if missing:
            raise ConfigError(f"the token revenue multiple needs {', '.join(_ASSET_KEYS)}; "
                              f"{', '.join(given)} given but {', '.join(missing)} missing.")
        util = inputs.get("utilization_frac")
        life = inputs.get("asset_years")
        if util is None:
            util = finance_default("utilization_frac")
            used += describe_defaults(["utilization_frac"])
        if life is None:
            life = finance_default("useful_life_years")
            used.append("asset_years = " + describe_defaults(["useful_life_years"])[0])
        asset = token_revenue_multiple(
            asset_usd=float(inputs["asset_usd"]), tokens_per_s=float(inputs["tokens_per_s"]),
            usd_per_mtok=float(inputs["usd_per_mtok"]), utilization_frac=float(util),
            years=float(life))
        vals.update({k: float(inputs[k]) for k in _ASSET_KEYS},
                    utilization_frac=float(util), asset_years=float(life))
    return CapitalCase(name=name, inputs=vals, gap=case.gap, ceiling=case.ceiling,
                       years_of_gap_covered=case.years_of_gap_covered, asset=asset)


def capital_report(
    inputs: dict[str, Any], *, scenarios: dict[str, dict[str, Any]] | None = None
) -> CapitalReport:
    """Revenue gap (Sequoia/Cahn), deployable-capital ceiling (seed 003) and, when an asset's
    price, throughput and $/M tokens are given, its token revenue multiple.

    ``scenarios`` (e.g. bull / base / bear) each override ``inputs`` key by key and are
    reported side by side; without them the report has one case named "base".
    """
    named = scenarios if scenarios else {"base": {}}
    cases, users = [], {}  # users: default line -> names of the cases that used it
    for name, over in named.items():
        lines: list[str] = []
        cases.append(_capital_case(name, {**inputs, **over}, lines))
        for ln in lines:
            users.setdefault(ln, []).append(name)
    used = [ln if len(who) == len(cases) else f"{ln} (scenario {', '.join(who)})"
            for ln, who in users.items()]
    return CapitalReport(cases=tuple(cases), defaults_used=used)


def token_cost_from_estimate(
    est_hit0: Estimate, est: Estimate, *, usd_per_gpu_hour: float | None = None
) -> TokenCost:
    """The seeds' decomposition for an estimate: prefill without hits (``est_hit0``) and decode.

    Both estimates must be the same deployment and batch; ``est`` carries the hit rate. In the
    estimator's steady state a replica spends ``output_tokens`` steps per batch of requests;
    each step is a decode-only step plus a prefill share (``tpot_s - decode_step_time_s``), so
    per batch: prefill_s = O x (tpot - decode_step) of the no-hit estimate, decode_s =
    O x decode_step. The hit rate then scales prefill linearly (the seeds' formula).
    """
    if (est_hit0.batch_size, est_hit0.input_tokens, est_hit0.output_tokens) != (
            est.batch_size, est.input_tokens, est.output_tokens):
        raise ConfigError("token_cost_from_estimate needs two estimates of the same batch and "
                          "request shape (one with prefix_hit_frac = 0).")
    price = est.usd_per_gpu_hour if usd_per_gpu_hour is None else usd_per_gpu_hour
    o = est.output_tokens
    return token_cost(usd_per_gpu_hour=price, num_gpus=est.tp * est.pp,
                      prefill_s=o * max(est_hit0.tpot_s - est_hit0.decode_step_time_s, 0.0),
                      decode_s=o * est.decode_step_time_s,
                      batch_size=est.batch_size, input_tokens=est.input_tokens,
                      output_tokens=o, prefix_hit_frac=est.prefix_hit_frac)


def margin_for(cost: TokenCost, *, list_price: str, input_tokens: int, output_tokens: int
               ) -> Margin:
    """Margin of one request at a catalog API list price (``prices.toml`` [[api_price]])."""
    p = get_api_price(list_price)
    return margin_at_list_price(cost, input_tokens=input_tokens, output_tokens=output_tokens,
                                input_usd_per_mtok=p.input_usd_per_mtok,
                                output_usd_per_mtok=p.output_usd_per_mtok,
                                cached_input_usd_per_mtok=p.cached_input_usd_per_mtok)


__all__ = [
    "PNL_METRICS",
    "CapitalCase",
    "CapitalReport",
    "FleetClass",
    "FleetReport",
    "PnlReport",
    "PnlSensitivityInputs",
    "SensitivityReport",
    "TcoReport",
    "TrainReport",
    "build_tco_inputs",
    "capital_report",
    "fleet_report",
    "margin_for",
    "parse_request_mix",
    "pnl_report",
    "pnl_sensitivity_inputs",
    "power_report",
    "sensitivity_report",
    "tco_report",
    "token_cost_from_estimate",
    "train_report",
]
