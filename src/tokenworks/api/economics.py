"""Economics orchestration: flat inputs (flags + scenario) -> economics results, with defaults.

Each ``*_report(inputs)`` takes a flat dict of overrides (keys as in
``tokenworks.economics.scenario.SCENARIO_KEYS[command]``; missing keys fall back to sourced
catalog defaults) and returns a result whose ``defaults_used`` lists every default applied,
with its source. Fleet sizing combines perf (``estimate``) with economics, so it lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tokenworks.api.estimate import Estimate, estimate
from tokenworks.economics.catalog import (
    describe_defaults,
    get_api_price,
    get_grid,
    resolve_params,
)
from tokenworks.economics.pnl import (
    DepreciationRiskCase,
    MarketInputs,
    Pnl,
    depreciation_risk,
    neocloud_pnl,
)
from tokenworks.economics.power import PowerReport, deployment_power, host_overhead_frac
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
from tokenworks.errors import ConfigError
from tokenworks.hardware import get_accelerator, get_system
from tokenworks.model import get_model, param_counts

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


# Fleet sizing, sensitivity and capital math live in their own modules (econ_fleet,
# econ_sensitivity, econ_capital) to keep files short; their names stay importable from here.
_MOVED = {
    "PNL_METRICS": "tokenworks.api.econ_sensitivity",
    "PnlSensitivityInputs": "tokenworks.api.econ_sensitivity",
    "CAPITAL_CATALOG_DEFAULTS": "tokenworks.api.econ_capital",
    "CAPITAL_SEED_DEFAULTS": "tokenworks.api.econ_capital",
    "CapitalCase": "tokenworks.api.econ_capital",
    "CapitalReport": "tokenworks.api.econ_capital",
    "FleetClass": "tokenworks.api.econ_fleet",
    "FleetReport": "tokenworks.api.econ_fleet",
    "MIX_SHARE_TOLERANCE": "tokenworks.api.econ_fleet",
    "SensitivityReport": "tokenworks.api.econ_sensitivity",
    "capital_report": "tokenworks.api.econ_capital",
    "fleet_report": "tokenworks.api.econ_fleet",
    "parse_request_mix": "tokenworks.api.econ_fleet",
    "pnl_sensitivity_inputs": "tokenworks.api.econ_sensitivity",
    "sensitivity_report": "tokenworks.api.econ_sensitivity",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenworks.api.economics' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)


__all__ = [
    "PnlReport",
    "TcoReport",
    "TrainReport",
    "build_tco_inputs",
    "margin_for",
    "pnl_report",
    "power_report",
    "tco_report",
    "token_cost_from_estimate",
    "train_report",
]
