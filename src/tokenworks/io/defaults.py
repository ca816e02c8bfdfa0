"""From an economics question to the economics layer's frozen specs: every value the user did
not give is resolved here, once, from the sourced catalogs, with a line saying which default
was used and where it came from.

Units: SI and the catalogs' own ($, $/h, W, fractions). Values the user gave are range-checked
by the specs themselves (``TcoSpec``, ``MarketSpec``, ``PnlSpec``), so a value means the same
whether it came from a flag, a file or a sensitivity sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenworks.economics.capital import (
    ASSET_KEYS,
    CAPITAL_CATALOG_PARAMS,
    SEED_MULTIPLIERS,
    AssetSpec,
    CapitalSpec,
)
from tokenworks.economics.catalog import (
    describe_defaults,
    finance_default,
    finance_param,
    get_gpu_price,
    get_grid,
    resolve_params,
)
from tokenworks.economics.fleet import FleetSpec, RequestClass, ServedModel
from tokenworks.economics.pnl import MarketSpec, NewGeneration, PnlSpec
from tokenworks.economics.power import PowerSpec, host_overhead_frac
from tokenworks.economics.tco import TCO_PARAMS, TcoSpec
from tokenworks.economics.token_cost import default_usd_per_gpu_hour
from tokenworks.economics.training import TrainSpec
from tokenworks.errors import ConfigError, check_range
from tokenworks.hardware import Accelerator, get_accelerator, get_system
from tokenworks.io.economics import (
    CapitalQuestion,
    CostInputs,
    FleetQuestion,
    PnlQuestion,
    PowerQuestion,
    ServingInputs,
    TrainQuestion,
    question,
)
from tokenworks.model import get_model, param_counts
from tokenworks.perf.deployment import make_deployment
from tokenworks.units import DAY, MW

__all__ = ["DEFAULT_ACCELERATOR", "DEFAULT_GRID", "capital_spec", "describe", "fleet_spec",
           "pnl_spec", "power_spec", "served_model", "tco_spec", "train_spec"]

# ASSUMPTION: the economics commands' illustrative defaults when the user names nothing: an
# H100 SXM (the reference part of the seeds), the US grid, and the fleet sizes below.
DEFAULT_ACCELERATOR = "h100-sxm"
DEFAULT_GRID = "us"
DEFAULT_FLEET_MODEL = "llama-3.1-70b"
DEFAULT_NUM_ACCELERATORS = 1024
DEFAULT_DEMAND_OUTPUT_TOKENS_PER_S = 1.0e6
# ASSUMPTION: a served model with no deployment given runs TP8 at FP8 on 2,048-token prompts
# and 256-token outputs (the README's default scenario).
DEFAULT_SERVING = {"tp": 8, "pp": 1, "ep": 1, "weights_dtype": "fp8", "input_tokens": 2048,
                   "output_tokens": 256}
# ASSUMPTION: Supermicro builds a comparable 8-GPU server $5,000-10,000 cheaper than Dell
# (seed 003); the midpoint is the capex premium of the vendor-financing case.
VENDOR_CAPEX_PREMIUM_USD_PER_SERVER = 7500.0


def tco_spec(q: CostInputs, *, accelerator: str | None = None,
             utilization_frac: float | None = None) -> TcoSpec:
    """The TCO of one accelerator: the user's values, else the finance and price catalogs'."""
    acc = get_accelerator(accelerator or q.accelerator or DEFAULT_ACCELERATOR)
    given = {k: getattr(q, k) for k in TCO_PARAMS}
    if utilization_frac is not None and given["utilization_frac"] is None:
        given["utilization_frac"] = utilization_frac
    values, used = resolve_params(TCO_PARAMS, given)
    sources: list[str] = []
    capex = q.server_capex_usd_per_accelerator
    if capex is None:
        capex, line = _server_capex(acc)
        sources.append(line)
        used = (*used, "server_capex_usd_per_accelerator")
    overhead, why = host_overhead_frac(acc)
    sources.append(f"host overhead {overhead:.2f} of TDP: {why}")
    return TcoSpec(accelerator=acc.name, server_capex_usd_per_accelerator=capex,
                   tdp_w=acc.tdp_w, host_overhead_frac=overhead,
                   facility=q.facility or "colocation", defaults_used=used,
                   sources=tuple(sources), **values)


def _server_capex(acc: Accelerator) -> tuple[float, str]:
    entry = get_gpu_price(acc.name)
    if entry is not None and entry.server_capex_usd_per_accelerator is not None:
        capex = entry.server_capex_usd_per_accelerator
        cover = [x for x in entry.extra_sources if "server_capex_usd_per_accelerator" in x.covers]
        title, as_of = ((cover[0].title, cover[0].as_of) if cover
                        else (entry.source_title, entry.as_of))
        return capex, f"server capex ${capex:,.0f}/accelerator: prices catalog ({title}, {as_of})"
    if acc.purchase_usd_low is not None or acc.purchase_usd_high is not None:
        lo = acc.purchase_usd_low or acc.purchase_usd_high
        hi = acc.purchase_usd_high or acc.purchase_usd_low
        # ASSUMPTION: the node share is 1.41x the chip price (H100: $38,750 / $27,500).
        capex = 0.5 * (lo + hi) * 1.41  # type: ignore[operator]
        return capex, (f"server capex ${capex:,.0f}: 1.41 x accelerator purchase midpoint "
                       f"({acc.source_title}) [assumption]")
    raise ConfigError(f"no capex for accelerator '{acc.name}' in the prices or accelerator "
                      f"catalogs. Pass server_capex_usd_per_accelerator (--capex-usd).")


def describe(t: TcoSpec, extra: list[str] | None = None) -> list[str]:
    """Lines naming every default a TCO used, with value and source, then ``extra``."""
    finance = [n for n in t.defaults_used if n != "server_capex_usd_per_accelerator"]
    lines = describe_defaults(finance)
    if "server_capex_usd_per_accelerator" in t.defaults_used:
        lines += [s for s in t.sources if s.startswith("server capex")]
    return lines + (extra or [])


def rental_price(acc: Accelerator | str, given: float | None, what: str,
                 lines: list[str]) -> float:
    """The user's $/GPU-hour, else the catalog's (recorded in ``lines`` as ``what = ...``)."""
    if given is not None:
        return given
    price, src = default_usd_per_gpu_hour(acc)
    lines.append(f"{what} = {price:g} ({src})" if what != "on_demand_usd_per_hour"
                 else f"{what} = {price:g} $/h ({src})")
    return price


# ---------------------------------------------------------------------------------------------
# A served model (TCO's cost per token, fleet sizing)


def default_kv_dtype(weights_dtype: str) -> str:
    """KV precision when none is given: the engine default is the activation dtype (bf16)."""
    # ASSUMPTION: with no --kv-dtype the KV cache is bf16 (vLLM kv_cache_dtype="auto" uses the
    # model's activation dtype), except that fp8 weights imply an fp8 KV cache as in the
    # TensorRT-LLM and MLPerf FP8 recipes.
    return "fp8" if weights_dtype in ("fp8", "fp8_block", "fp4", "nvfp4", "mxfp4") else "bf16"


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    input_tokens: int
    output_tokens: int


def served_model(q: ServingInputs, acc: Accelerator, *, usd_per_gpu_hour: float | None,
                 price_source: str, ttft_slo_s: float | None = None,
                 tpot_slo_s: float | None = None, default_model: str | None = None,
                 price_line: str | None = None) -> tuple[ServedModel, Shape, list[str]]:
    """The model on its deployment, with the lines of the estimator's defaults it used (the
    price line, when the price is a default, is kept in the estimate's own list only)."""
    d = DEFAULT_SERVING
    weights = q.weights_dtype or str(d["weights_dtype"])
    lines: list[str] = []
    kv = q.kv_dtype
    if kv is None:
        kv = default_kv_dtype(weights)
        lines.append(f"kv_dtype = {kv} (default for {weights} weights)")
    lines.append("calibration: packaged fit (data/calibration.toml)")
    model = get_model(q.model or default_model or DEFAULT_FLEET_MODEL)
    dep = make_deployment(model, acc, tp=q.tp if q.tp is not None else int(d["tp"]),
                          pp=q.pp if q.pp is not None else int(d["pp"]),
                          ep=q.ep if q.ep is not None else int(d["ep"]), weights_dtype=weights,
                          kv_dtype=kv)
    served = ServedModel(model=model, deployment=dep, batch=q.batch,
                         prefix_hit_frac=q.prefix_hit_frac or 0.0,
                         usd_per_gpu_hour=usd_per_gpu_hour, price_source=price_source,
                         ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s,
                         estimate_defaults=(*lines, *([price_line] if price_line else [])))
    shape = Shape(input_tokens=q.input_tokens if q.input_tokens is not None
                  else int(d["input_tokens"]),
                  output_tokens=q.output_tokens if q.output_tokens is not None
                  else int(d["output_tokens"]))
    return served, shape, lines


# ---------------------------------------------------------------------------------------------
# P&L


MARKET_PARAMS = ("price_decline_frac_per_year", "utilization_year1_frac", "ramp_years",
                 "reserved_share_frac", "reserved_discount_frac", "contract_years",
                 "spot_share_frac", "spot_discount_frac")
ACCOUNTING_PARAMS = ("tax_rate_frac", "sga_frac_of_revenue", "discount_rate_frac")


def pnl_spec(q: PnlQuestion) -> tuple[PnlSpec, NewGeneration, list[str]]:
    """The P&L question as a spec, the new-generation shock, and the defaults it used."""
    t = tco_spec(q)
    names = (*MARKET_PARAMS, *ACCOUNTING_PARAMS)
    vals, used = resolve_params(names, {k: getattr(q, k) for k in names})
    lines = describe_defaults(list(used))
    price = rental_price(t.accelerator, q.on_demand_usd_per_hour, "on_demand_usd_per_hour",
                         lines)
    market = MarketSpec(
        on_demand_usd_per_hour=price,
        price_decline_frac_per_year=vals["price_decline_frac_per_year"],
        utilization_year1_frac=vals["utilization_year1_frac"],
        utilization_mature_frac=t.utilization_frac, ramp_years=int(vals["ramp_years"]),
        reserved_share_frac=vals["reserved_share_frac"],
        reserved_discount_frac=vals["reserved_discount_frac"],
        contract_years=int(vals["contract_years"]), spot_share_frac=vals["spot_share_frac"],
        spot_discount_frac=vals["spot_discount_frac"],
        take_or_pay_frac=q.take_or_pay_frac if q.take_or_pay_frac is not None else 0.0)
    n = q.num_accelerators
    if n is None:
        n = DEFAULT_NUM_ACCELERATORS
        lines.append(f"num_accelerators = {n} (illustrative fleet)")
    spec = PnlSpec(tco=t, market=market, num_accelerators=n, years=q.years,
                   depreciation_method=q.depreciation_method or "straight_line",
                   **{k: vals[k] for k in ACCOUNTING_PARAMS})
    base = NewGeneration()
    gen = NewGeneration(
        year=q.new_generation_year if q.new_generation_year is not None else base.year,
        speedup=q.new_generation_speedup if q.new_generation_speedup is not None
        else base.speedup,
        price_ratio=q.new_generation_price_ratio if q.new_generation_price_ratio is not None
        else base.price_ratio)
    return spec, gen, describe(t, lines)


# ---------------------------------------------------------------------------------------------
# Fleet


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetDefaults:
    """The default lines of a fleet question, by kind (the report orders them)."""

    model: list[str]  # the illustrative model, when none was named
    estimate: list[str]  # the estimator's defaults (KV dtype, calibration)
    environment: list[str]  # demand, grid, water


def fleet_spec(q: FleetQuestion) -> tuple[FleetSpec, FleetDefaults]:
    """The fleet question as a spec, and the default lines it used."""
    before: list[str] = []
    acc = get_accelerator(q.accelerator or DEFAULT_ACCELERATOR)
    mix = q.request_mix
    if mix is not None:
        clash = [k for k in ("input_tokens", "output_tokens", "output_tokens_per_s_per_replica",
                             "accelerators_per_replica") if getattr(q, k) is not None]
        if clash:
            raise ConfigError(f"request_mix and {', '.join(clash)} were both given: a mix sets "
                              f"every class's shape and throughput; drop one of them.")
    per_replica = q.output_tokens_per_s_per_replica
    if q.model is None and per_replica is None:
        before.append("model = llama-3.1-70b (illustrative)")
    served = None
    est_lines: list[str] = []
    after: list[str] = []
    if per_replica is None:
        price, src = default_usd_per_gpu_hour(acc)
        served, shape, est_lines = served_model(
            q, acc, usd_per_gpu_hour=price, price_source=src, ttft_slo_s=q.ttft_slo_s,
            tpot_slo_s=q.tpot_slo_s, price_line=f"usd_per_gpu_hour = {price:.2f} ({src})")
    else:
        if q.accelerators_per_replica is None:
            raise ConfigError("output_tokens_per_s_per_replica needs accelerators_per_replica "
                              "too (--accelerators-per-replica).")
        shape = Shape(input_tokens=q.input_tokens or int(DEFAULT_SERVING["input_tokens"]),
                      output_tokens=q.output_tokens or int(DEFAULT_SERVING["output_tokens"]))
    if mix is not None:
        classes = request_classes(mix)
        out_per_req = sum(c.output_tokens * c.share_frac for c in classes)
    else:
        classes = (RequestClass(input_tokens=shape.input_tokens,
                                output_tokens=shape.output_tokens),)
        out_per_req = shape.output_tokens
    demand = q.demand_output_tokens_per_s
    if demand is None and q.demand_output_tokens_per_day is not None:
        demand = q.demand_output_tokens_per_day / DAY
    if demand is None and q.demand_requests_per_s is not None:
        # Requests/s of the given shape (or mix): output tokens/s = requests/s x output tokens.
        demand = q.demand_requests_per_s * out_per_req
    if demand is None:
        demand = DEFAULT_DEMAND_OUTPUT_TOKENS_PER_S
        after.append("demand_output_tokens_per_s = 1,000,000 (illustrative)")
    t = tco_spec(q)
    grid = get_grid(q.grid or DEFAULT_GRID)
    if q.grid is None:
        after.append(f"grid = {grid.name}: {grid.carbon_g_per_kwh:g} gCO2/kWh "
                     f"({grid.source_title}, {grid.as_of})")
    wue = q.wue_l_per_kwh
    if wue is None:
        wue = finance_default("wue_l_per_kwh")
        after += describe_defaults(["wue_l_per_kwh"])
    spec = FleetSpec(
        tco=t, demand_output_tokens_per_s=float(demand), classes=classes, served=served,
        output_tokens_per_s_per_replica=per_replica,
        accelerators_per_replica=q.accelerators_per_replica,
        peak_to_average=q.peak_to_average if q.peak_to_average is not None else 1.0,
        carbon_g_per_kwh=grid.carbon_g_per_kwh, grid=grid.name, wue_l_per_kwh=wue,
        power_budget_w=None if q.power_budget_mw is None else q.power_budget_mw * MW)
    return spec, FleetDefaults(model=before, estimate=[f"estimate: {d}" for d in est_lines],
                               environment=after)


MIX_SHARE_TOLERANCE = 1e-3


def request_classes(mix: list) -> tuple[RequestClass, ...]:
    """``request_mix`` rows (``MixClass`` or plain tables) -> request classes; the shares of
    requests must sum to 1."""
    if not mix:
        raise ConfigError("request_mix must be a non-empty list of {input_tokens, output_tokens, "
                          "share} tables.")
    rows = []
    for i, row in enumerate(mix):
        if isinstance(row, dict):
            row = question("fleet", flags={"request_mix": [row]}).request_mix[0]
        for k in ("input_tokens", "output_tokens"):
            if getattr(row, k) < 1:
                raise ConfigError(f"request_mix[{i}].{k} = {getattr(row, k)}: must be a whole "
                                  f"number >= 1.")
        check_range(f"request_mix[{i}].share", row.share, low=0, high=1, low_inclusive=False)
        rows.append(RequestClass(input_tokens=row.input_tokens, output_tokens=row.output_tokens,
                                 share_frac=row.share))
    total = sum(r.share_frac for r in rows)
    if abs(total - 1.0) > MIX_SHARE_TOLERANCE:
        raise ConfigError(f"request_mix shares sum to {total:.4g}: they must sum to 1 "
                          f"(within {MIX_SHARE_TOLERANCE:g}). Fix the shares (fractions of "
                          f"requests) so they add up to 1.")
    return tuple(rows)


def param_line(key: str, param: str) -> str:
    """The default line of ``param`` shown under the input name ``key``."""
    line = describe_defaults([param])[0]
    return line if key == param else f"{key} = {line.split(' = ', 1)[1]} [catalog param {param}]"



# ---------------------------------------------------------------------------------------------
# Training, power, capital


DEFAULT_TRAIN_MODEL = "llama-3.1-405b"
DEFAULT_TRAIN_ACCELERATORS = 16384


def train_spec(q: TrainQuestion) -> tuple[TrainSpec, list[str]]:
    """The training question as a spec, and the defaults it used."""
    extra: list[str] = []
    acc_name = q.accelerator or DEFAULT_ACCELERATOR
    active = q.active_params
    if active is None:
        if q.model is None:
            extra.append(f"model = {DEFAULT_TRAIN_MODEL} (illustrative)")
        active = param_counts(get_model(q.model or DEFAULT_TRAIN_MODEL)).active
    vals, used = resolve_params(("mfu_frac", "chinchilla_tokens_per_param"),
                                {"mfu_frac": q.mfu_frac})
    tokens = q.tokens
    if tokens is None:
        tokens = vals["chinchilla_tokens_per_param"] * active
        extra.append(f"tokens = {tokens:.3g} (Chinchilla-optimal, 20 tokens/param)")
    n = q.num_accelerators
    if n is None:
        n = DEFAULT_TRAIN_ACCELERATORS
        extra.append(f"num_accelerators = {n} (Llama 3 405B scale)")
    # ASSUMPTION: a training cluster is busy all the time (utilization 1) unless told otherwise.
    t = tco_spec(q, accelerator=acc_name, utilization_frac=1.0)
    price = rental_price(acc_name, q.usd_per_gpu_hour, "usd_per_gpu_hour", extra)
    acc = get_accelerator(acc_name)
    overhead, _ = host_overhead_frac(acc)
    grid = get_grid(q.grid or DEFAULT_GRID)
    spec = TrainSpec(
        accelerator=acc, active_params=float(active), tokens=float(tokens), num_accelerators=n,
        mfu_frac=vals["mfu_frac"], usd_per_accelerator_hour=float(price),
        # ASSUMPTION: a training cluster runs its accelerators at TDP (utilization 1).
        facility_power_w_per_accelerator=acc.tdp_w * (1 + overhead) * t.pue,
        precision=q.precision or "bf16", tokens_per_param=vals["chinchilla_tokens_per_param"],
        grid=grid.name, carbon_g_per_kwh=grid.carbon_g_per_kwh, compute_flops=q.compute_flops)
    lines = describe_defaults([u for u in used if u != "chinchilla_tokens_per_param"]
                              + (["pue"] if "pue" in t.defaults_used else [])) + extra
    return spec, lines


def power_spec(q: PowerQuestion) -> tuple[PowerSpec, list[str]]:
    """The power question as a spec, and the defaults it used."""
    extra: list[str] = []
    names = ("utilization_frac", "pue", "idle_power_frac", "wue_l_per_kwh")
    vals, used = resolve_params(names, {k: getattr(q, k) for k in names})
    grid = get_grid(q.grid or DEFAULT_GRID)
    if q.grid is None:
        extra.append(f"grid = {grid.name}: {grid.carbon_g_per_kwh:g} gCO2/kWh "
                     f"({grid.source_title}, {grid.as_of})")
    n = q.num_accelerators
    if n is None:
        n = DEFAULT_NUM_ACCELERATORS
        extra.append(f"num_accelerators = {n} (illustrative)")
    spec = PowerSpec(accelerator=get_accelerator(q.accelerator or DEFAULT_ACCELERATOR),
                     num_accelerators=n, utilization_frac=vals["utilization_frac"],
                     pue=vals["pue"], idle_power_frac=vals["idle_power_frac"],
                     carbon_g_per_kwh=grid.carbon_g_per_kwh, grid=grid.name,
                     wue_l_per_kwh=vals["wue_l_per_kwh"],
                     system=get_system(q.system) if q.system else None,
                     tokens_per_s=q.tokens_per_s)
    return spec, describe_defaults(list(used)) + extra


def capital_spec(name: str, q: CapitalQuestion, used: list[str]) -> CapitalSpec:
    """One capital case (e.g. bull, base or bear) as a spec; appends the defaults it used."""
    vals: dict[str, float] = {}
    for key, param in CAPITAL_CATALOG_PARAMS.items():
        given = getattr(q, key)
        if given is None:
            vals[key] = finance_param(param).value
            used.append(param_line(key, param))
        else:
            vals[key] = float(given)
    for key, (default, _, meaning) in SEED_MULTIPLIERS.items():
        if getattr(q, key) is None:
            vals[key] = default
            used.append(f"{key} = {default:g} ({meaning}) [assumption] (seed 003 reconstruction "
                        f"of the $6T capital ceiling)")
        else:
            vals[key] = float(getattr(q, key))
    asset = None
    given = [k for k in ASSET_KEYS if getattr(q, k) is not None]
    if given:
        missing = [k for k in ASSET_KEYS if getattr(q, k) is None]
        if missing:
            raise ConfigError(f"the token revenue multiple needs {', '.join(ASSET_KEYS)}; "
                              f"{', '.join(given)} given but {', '.join(missing)} missing.")
        util, life = q.utilization_frac, q.asset_years
        if util is None:
            util = finance_default("utilization_frac")
            used += describe_defaults(["utilization_frac"])
        if life is None:
            life = finance_default("useful_life_years")
            used.append("asset_years = " + describe_defaults(["useful_life_years"])[0])
        asset = AssetSpec(asset_usd=float(q.asset_usd), tokens_per_s=float(q.tokens_per_s),
                          usd_per_mtok=float(q.usd_per_mtok), utilization_frac=float(util),
                          years=float(life))
    return CapitalSpec(name=name, actual_ai_revenue_usd_per_year=q.actual_ai_revenue_usd_per_year,
                       asset=asset, **vals)
