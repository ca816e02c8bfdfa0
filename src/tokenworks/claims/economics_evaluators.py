"""Claim evaluators for economics, power and capital (``data/claims/economics.toml``).

Each evaluator recomputes one kind of seed claim with ``tokenworks.economics`` (TCO, P&L,
power, capital math) and, where a deployment is needed, the estimator. Values are returned
in SI units (fractions, $, $/s for hourly prices, s for durations, W, J) with a one-line
working in display units; the ledger converts to the claim's unit.
"""

from __future__ import annotations

from tokenworks.api import estimate
from tokenworks.claims.registry import Computed, Params, evaluator
from tokenworks.economics.capital import capital_ceiling, revenue_gap
from tokenworks.economics.catalog import finance_default, get_api_price
from tokenworks.economics.estimate_cost import token_cost_from_estimate
from tokenworks.economics.pnl import (
    MarketSpec,
    NewGeneration,
    PnlSpec,
    depreciation_risk,
    neocloud_pnl,
)
from tokenworks.economics.power import deployment_power
from tokenworks.economics.tco import (
    TcoSpec,
    tco_per_accelerator_hour,
    vendor_financing_case,
)
from tokenworks.economics.token_cost import token_cost
from tokenworks.economics.training import training_run
from tokenworks.errors import CatalogError
from tokenworks.hardware import get_accelerator, get_system
from tokenworks.io.defaults import tco_spec
from tokenworks.io.economics import CostInputs
from tokenworks.units import KW, KWH, MILLION, MW, YEAR

# Keys of a claim's params that go straight into the TCO as the user's values.
_TCO_KEYS = ("useful_life_years", "utilization_frac", "debt_rate_frac", "pue",
             "electricity_usd_per_kwh", "residual_value_frac", "equity_hurdle_frac",
             "debt_share_frac")


def _tco(p: Params) -> TcoSpec:
    kw = {k: p.float(k) for k in _TCO_KEYS if p.has(k)}
    capex = p.float("server_capex_usd_per_accelerator") if p.has(
        "server_capex_usd_per_accelerator") else None
    return tco_spec(CostInputs(accelerator=p.str("accelerator", "h100-sxm"),
                               server_capex_usd_per_accelerator=capex, **kw))


def _pnl(t: TcoSpec, market: MarketSpec, num_accelerators: int) -> PnlSpec:
    """A P&L of ``t`` in ``market`` with the finance catalog's accounting defaults."""
    return PnlSpec(tco=t, market=market, num_accelerators=num_accelerators, years=None,
                   depreciation_method="straight_line",
                   tax_rate_frac=finance_default("tax_rate_frac"),
                   sga_frac_of_revenue=finance_default("sga_frac_of_revenue"),
                   discount_rate_frac=finance_default("discount_rate_frac"))


@evaluator("neocloud_unit_margin")
def neocloud_unit_margin(p: Params) -> Computed:
    """Margin of a rented accelerator-hour: gross (cash costs), after depreciation, or EBITDA.

    Revenue per installed hour = price x utilization; costs per installed hour from the TCO.
    ``metric``: gross_pre_dep | gross_post_dep | ebitda (gross_pre_dep - SG&A share).
    """
    t = _tco(p)
    b = tco_per_accelerator_hour(t)
    price = p.float("price_usd_per_hour")
    rev = price * t.utilization_frac
    metric = p.str("metric")
    gross = rev - b.cash_opex_usd_per_hour
    if metric == "gross_pre_dep":
        v, what = gross / rev, "(revenue - power - facility - maintenance - staff) / revenue"
    elif metric == "gross_post_dep":
        v = (gross - b.depreciation_usd_per_hour) / rev
        what = "(revenue - cash costs - depreciation) / revenue"
    elif metric == "ebitda":
        sga = p.float("sga_frac_of_revenue", 0.08)
        v, what = gross / rev - sga, f"gross margin - SG&A {sga:.0%}"
    else:
        raise CatalogError(f"neocloud_unit_margin: metric '{metric}' is not known "
                           f"(gross_pre_dep, gross_post_dep, ebitda).")
    # Terms: each cost as a share of revenue (the margin is 1 plus their sum).
    terms = (("cash costs (power, facility, maintenance, staff)", -b.cash_opex_usd_per_hour / rev),)
    if metric == "gross_post_dep":
        terms += (("depreciation", -b.depreciation_usd_per_hour / rev),)
    if metric == "ebitda":
        terms += (("SG&A", -p.float("sga_frac_of_revenue", 0.08)),)
    return Computed(value=v, terms=terms, working=(
        f"{t.accelerator} at ${price:.2f}/h x {t.utilization_frac:.0%} = ${rev:.3f} per installed "
        f"hour; cash costs ${b.cash_opex_usd_per_hour:.3f}, depreciation "
        f"${b.depreciation_usd_per_hour:.3f}; {what} = {v:.1%}"))


@evaluator("breakeven_utilization")
def breakeven_utilization(p: Params) -> Computed:
    """Utilization at which price x utilization covers the full TCO (incl. cost of capital)."""
    b = tco_per_accelerator_hour(_tco(p))
    price = p.float("price_usd_per_hour")
    u = b.total_usd_per_hour / price
    return Computed(value=u, working=(
        f"TCO ${b.total_usd_per_hour:.3f} per installed hour (WACC {b.wacc_frac:.1%}) / "
        f"${price:.2f} per sold hour = {u:.1%}"))


@evaluator("breakeven_price")
def breakeven_price(p: Params) -> Computed:
    """Full-TCO break-even rental price per sold hour at a utilization.

    Returned in $ per GPU-hour: hourly-price claims use the display unit "USD" (per hour).
    """
    b = tco_per_accelerator_hour(_tco(p))
    terms = tuple((k, v / b.utilization_frac) for k, v in b.components().items())
    return Computed(value=b.breakeven_usd_per_sold_hour, terms=terms, working=(
        f"TCO ${b.total_usd_per_hour:.3f}/installed h ({', '.join(f'{k} {v:.2f}' for k, v in b.components().items())}) "
        f"/ utilization {b.utilization_frac:.0%} = ${b.breakeven_usd_per_sold_hour:.2f}/h"))


def _market(p: Params, t: TcoSpec) -> MarketSpec:
    return MarketSpec(
        on_demand_usd_per_hour=p.float("price_usd_per_hour"),
        price_decline_frac_per_year=p.float("price_decline_frac_per_year", 0.0) if p.has(
            "price_decline_frac_per_year") else 0.0,
        utilization_year1_frac=p.float("utilization_year1_frac") if p.has(
            "utilization_year1_frac") else t.utilization_frac,
        utilization_mature_frac=t.utilization_frac,
        reserved_share_frac=p.float("reserved_share_frac") if p.has("reserved_share_frac")
        else 0.0,
        reserved_discount_frac=p.float("reserved_discount_frac") if p.has(
            "reserved_discount_frac") else 0.0,
        contract_years=p.int("contract_years", 2), spot_share_frac=0.0)


@evaluator("fleet_payback")
def fleet_payback(p: Params) -> Computed:
    """Project payback (years -> s) of a fleet's unlevered cash flows from the P&L."""
    t = _tco(p)
    pnl = neocloud_pnl(_pnl(t, _market(p, t), p.int("num_accelerators", 1000)))
    if pnl.payback_years is None:
        raise CatalogError("fleet_payback: the fleet never pays back under these params; "
                           "the claim needs a scenario that does.")
    y = pnl.payback_years
    return Computed(value=y * YEAR, working=(
        f"capex ${pnl.capex_usd / pnl.num_accelerators:,.0f}/accelerator; year-1 EBITDA margin "
        f"{pnl.years[0].ebitda_margin_frac:.0%}; cumulative unlevered cash turns positive after "
        f"{y:.2f} years (project IRR {pnl.project_irr_frac:.1%})"))


@evaluator("economic_life")
def economic_life(p: Params) -> Computed:
    """Years an accelerator still covers its cash costs once a faster generation arrives."""
    t = _tco(p)
    gen = NewGeneration(year=p.int("new_generation_year"),
                        speedup=p.float("new_generation_speedup"),
                        price_ratio=p.float("new_generation_price_ratio"))
    cases = depreciation_risk(_pnl(t, _market(p, t), 100), gen,
                              lives_years=(round(t.useful_life_years),),
                              horizon_years=p.int("horizon_years", 8))
    shocked = next(c for c in cases if c.new_generation_year is not None)
    return Computed(value=shocked.economic_life_years * YEAR, working=(
        f"a {p.float('new_generation_speedup'):g}x part renting at "
        f"{p.float('new_generation_price_ratio'):g}x arrives in year "
        f"{p.int('new_generation_year')}: old price falls to "
        f"{min(1, p.float('new_generation_price_ratio') / p.float('new_generation_speedup')):.0%}"
        f" of trend; revenue covers cash costs through year {shocked.economic_life_years}; "
        f"book value left then: ${shocked.impairment_usd / 100:,.0f}/accelerator"))


@evaluator("profit_overstatement")
def profit_overstatement(p: Params) -> Computed:
    """Pre-tax profit per installed hour that a ``book_life_years`` straight-line schedule
    reports above a ``true_life_years`` one, as a share of revenue (the seed's "profits are
    overstated"). Terms: depreciation at each life."""
    t = _tco(p)
    price = p.float("price_usd_per_hour")
    rev = price * t.utilization_frac
    book = p.float("book_life_years")
    true = p.float("true_life_years")
    # Straight-line: (capex − residual) / life, per installed hour.
    base = (t.it_capex_usd * (1.0 - t.residual_value_frac)) / YEAR * 3600.0
    dep_book, dep_true = base / book, base / true
    v = (dep_true - dep_book) / rev
    return Computed(value=v, terms=(("depreciation at the true life", dep_true / rev),
                                    ("depreciation at the book life", -dep_book / rev)),
                    working=(
        f"${t.it_capex_usd:,.0f} all-in per {t.accelerator}, {t.residual_value_frac:.0%} "
        f"residual: straight-line ${dep_book:.3f}/installed h over {book:g} years vs "
        f"${dep_true:.3f}/h over {true:g} years; revenue ${price:.2f}/h x "
        f"{t.utilization_frac:.0%} = ${rev:.3f}/h; profit overstated by "
        f"{dep_true - dep_book:.3f}/{rev:.3f} = {v:.1%} of revenue"))


@evaluator("vendor_breakeven_premium")
def vendor_breakeven_premium(p: Params) -> Computed:
    """Server price premium ($/server) that cheaper vendor debt can absorb before TCO ties."""
    t = _tco(p)
    disc = p.float("rate_discount_frac")
    per_server = p.int("accelerators_per_server", 8)
    lo, hi = 0.0, 1e6
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        case = vendor_financing_case(t, capex_premium_usd_per_server=mid,
                                     accelerators_per_server=per_server, rate_discount_frac=disc)
        lo, hi = (mid, hi) if case.winner == "cheap_finance" else (lo, mid)
    return Computed(value=lo, working=(
        f"{disc:.1%} cheaper debt on {t.debt_share_frac:.0%} of ${t.it_capex_usd * per_server:,.0f}"
        f" per server over {t.useful_life_years:g} years offsets a price premium up to "
        f"${lo:,.0f} per server"))


@evaluator("nvl72_token_revenue_multiple")
def token_revenue(p: Params) -> Computed:
    """Token revenue of a deployment over ``years`` at list prices, over the asset price."""
    e = estimate(p.str("model"), p.str("hardware"), num_gpus=p.int("num_gpus"), tp=p.int("tp"),
                 ep=p.int("ep", 1), weights_dtype=p.str("weights_dtype"),
                 input_tokens=p.int("input_tokens"), output_tokens=p.int("output_tokens"))
    price = get_api_price(p.str("list_price"))
    util, years = p.float("utilization_frac"), p.float("years")
    req_per_s = e.output_tokens_per_s / e.output_tokens
    usd_per_req = (e.input_tokens * price.input_usd_per_mtok
                   + e.output_tokens * price.output_usd_per_mtok) / MILLION
    rev = req_per_s * usd_per_req * util * years * YEAR
    asset = p.float("asset_usd")
    return Computed(value=rev / asset, working=(
        f"{e.num_gpus}x {e.hardware} ({e.num_replicas} replicas tp={e.tp}, batch {e.batch_size}): "
        f"{e.output_tokens_per_s:,.0f} output tok/s; at {price.name} "
        f"(${price.input_usd_per_mtok}/{price.output_usd_per_mtok} per M in/out) x {util:.0%} x "
        f"{years:g} years = ${rev / 1e6:,.1f}M on a ${asset / 1e6:g}M asset = {rev / asset:.1f}x"))


@evaluator("prefill_gpu_reduction")
def prefill_gpu_reduction(p: Params) -> Computed:
    """GPUs saved by a prefix-cache hit rate when prefill is a share of GPU time.

    ``pool = "prefill"``: reduction of the prefill pool (= hit rate, prefill scales with
    uncached tokens); ``pool = "total"``: reduction of all GPUs (= prefill share x hit rate).
    """
    hit, share = p.float("hit_frac"), p.float("prefill_share_frac")
    # Seed 003 formula: cost ∝ (1 - hit) x prefill + decode, so prefill work falls by `hit`.
    c = token_cost(usd_per_gpu_hour=1.0, num_gpus=1, prefill_s=share, decode_s=1 - share,
                   batch_size=1, input_tokens=1, output_tokens=1, prefix_hit_frac=hit)
    total_saved = 1 - (c.prefill_usd + c.decode_usd) / (c.prefill_usd_full + c.decode_usd)
    v = hit if p.str("pool") == "prefill" else total_saved
    return Computed(value=v, working=(
        f"prefill {share:.0%} of GPU time, hit {hit:.1%}: prefill pool shrinks by {hit:.1%}; "
        f"the whole fleet by {share:.0%} x {hit:.1%} = {total_saved:.1%}"))


@evaluator("cluster_facility_power")
def cluster_facility_power(p: Params) -> Computed:
    """Provisioned facility power (W) of N accelerators in catalog nodes, plus the cluster
    fabric (``fabric_frac`` of node power), at a PUE. Terms: GPUs at TDP, the rest of the
    nodes, the fabric, and the facility overhead (PUE − 1) on all of it."""
    r = deployment_power(p.str("accelerator"), num_accelerators=p.int("num_accelerators"),
                         utilization_frac=1.0, pue=p.float("pue"), carbon_g_per_kwh=0.0)
    acc = get_accelerator(p.str("accelerator"))
    fabric = p.float("fabric_frac", 0.0)
    nodes_w = r.it_power_provisioned_w
    gpus_w = r.num_accelerators * acc.tdp_w
    it_w = nodes_w * (1.0 + fabric)
    total = it_w * r.pue
    terms = (("GPUs at TDP", gpus_w), ("rest of the nodes (CPUs, NICs, fans)", nodes_w - gpus_w),
             ("network, storage, management", nodes_w * fabric),
             ("cooling and power delivery (PUE − 1)", total - it_w))
    return Computed(value=total, terms=terms, working=(
        f"{r.num_accelerators:,} {r.accelerator} in {r.num_nodes:,} nodes x "
        f"{r.node_power_w / KW:.1f} kW = {nodes_w / MW:,.1f} MW; + {fabric:.0%} fabric = "
        f"{it_w / MW:,.1f} MW IT x PUE {r.pue:g} = {total / MW:,.1f} MW"))


@evaluator("accelerators_in_power")
def accelerators_in_power(p: Params) -> Computed:
    """How many accelerators ``facility_w`` of facility power supplies: in catalog nodes at
    full rated power, plus ``fabric_frac`` of node power for the fabric, at a PUE."""
    r = deployment_power(p.str("accelerator"), num_accelerators=1000, utilization_frac=1.0,
                         pue=p.float("pue"), carbon_g_per_kwh=0.0)
    fabric = p.float("fabric_frac", 0.0)
    per_acc_w = r.it_power_provisioned_w / r.num_accelerators * (1.0 + fabric) * r.pue
    n = p.float("facility_w") / per_acc_w
    return Computed(value=n, working=(
        f"{r.accelerator}: {r.node_power_w / KW:.1f} kW node ÷ its accelerators, + {fabric:.0%} "
        f"fabric, × PUE {r.pue:g} = {per_acc_w / KW:.2f} kW each; {p.float('facility_w') / MW:,.0f}"
        f" MW ÷ {per_acc_w / KW:.2f} kW = {n:,.0f} accelerators"))


@evaluator("homes_equivalent")
def homes_equivalent(p: Params) -> Computed:
    """Homes whose yearly electricity equals a constant load of ``power_mw``."""
    mw, kwh = p.float("power_mw"), p.float("home_kwh_per_year")
    homes = mw * MW * YEAR / KWH / kwh
    return Computed(value=homes, working=(
        f"{mw:g} MW x 8,760 h = {mw * 8760:,.0f} MWh / {kwh:,.0f} kWh per home = {homes:,.0f}"))


@evaluator("system_power")
def system_power(p: Params) -> Computed:
    """Rack (or node) power of a catalog system, with the bottom-up accelerator share."""
    s = get_system(p.str("system"))
    acc = get_accelerator(s.accelerator)
    w = s.rack_power_w if (p.str("level", "rack") == "rack" and s.rack_power_w) else s.node_power_w
    return Computed(value=w, working=(
        f"{s.display_name}: {w / KW:,.1f} kW ({s.num_accelerators} x {acc.tdp_w:g} W accelerators"
        f" = {s.num_accelerators * acc.tdp_w / KW:,.1f} kW of it), {s.cooling} cooling "
        f"({s.source_title})"))


@evaluator("gpu_energy_per_token")
def gpu_energy_per_token(p: Params) -> Computed:
    """Accelerator energy per output token (J) from the estimator at a batch."""
    e = estimate(p.str("model"), p.str("hardware"), tp=p.int("tp"),
                 weights_dtype=p.str("weights_dtype"), input_tokens=p.int("input_tokens"),
                 output_tokens=p.int("output_tokens"), batch=p.int("batch"))
    return Computed(value=e.energy_per_output_token_j, working=(
        f"{e.model} on {e.num_gpus}x {e.hardware} at batch {e.batch_size}: {e.num_gpus} x "
        f"{e.gpu_power_w:g} W / {e.output_tokens_per_s:,.0f} tok/s = "
        f"{e.energy_per_output_token_j:.2f} J/token"))


@evaluator("chip_energy_per_token")
def chip_energy_per_token(p: Params) -> Computed:
    """J/token of a multi-chip system: chips x TDP / aggregate tokens/s (stated in params)."""
    acc = get_accelerator(p.str("accelerator"))
    n, tps = p.int("num_chips"), p.float("tokens_per_s")
    j = n * acc.tdp_w / tps
    return Computed(value=j, working=(
        f"{n} x {acc.name} at {acc.tdp_w:g} W = {n * acc.tdp_w / KW:,.1f} kW / {tps:,.0f} tok/s "
        f"= {j:.1f} J/token"))


@evaluator("capital_math")
def capital_math(p: Params) -> Computed:
    """Cahn's revenue gap and O'Laughlin's capital ceiling; ``metric`` picks the figure ($)."""
    m = p.str("metric")
    if m in ("required_revenue", "gap_growth"):
        g = revenue_gap(gpu_revenue_usd_per_year=p.float("gpu_revenue_usd_per_year"),
                        gpu_share_of_dc_cost_frac=finance_default("gpu_share_of_dc_cost_frac"),
                        end_user_gross_margin_frac=finance_default("end_user_gross_margin_frac"),
                        actual_ai_revenue_usd_per_year=p.float("actual_ai_revenue_usd_per_year"))
        if m == "required_revenue":
            return Computed(value=g.required_revenue_usd_per_year, working=(
                f"${g.gpu_revenue_usd_per_year / 1e9:,.0f}B GPU revenue / 0.5 (GPU share of DC cost) "
                f"/ (1 - 0.5 margin) = ${g.required_revenue_usd_per_year / 1e9:,.0f}B"))
        prev = p.float("previous_gap_usd_per_year")
        r = g.gap_usd_per_year / prev  # type: ignore[operator]
        return Computed(value=r, working=(
            f"gap ${g.required_revenue_usd_per_year / 1e9:,.0f}B - "
            f"${g.actual_ai_revenue_usd_per_year / 1e9:,.0f}B revenue = "  # type: ignore[operator]
            f"${g.gap_usd_per_year / 1e9:,.0f}B vs ${prev / 1e9:,.0f}B before = {r:.2f}x"))
    c = capital_ceiling(cfo_usd_per_year=p.float("cfo_usd_per_year"), years=p.float("years"),
                        reinvest_frac=p.float("reinvest_frac", 1.0),
                        spv_multiple=p.float("spv_multiple", 1.0),
                        leverage_x_cfo=p.float("leverage_x_cfo", 1.0))
    value = {"ceiling": c.total_usd, "internal": c.internal_usd, "compute": c.compute_usd}.get(m)
    if value is None:
        raise CatalogError(f"capital_math: metric '{m}' is not known.")
    share = value / c.total_usd
    terms = (("reinvested cash flow", c.internal_usd * share), ("off-balance-sheet SPVs",
             c.spv_usd * share), ("corporate leverage", c.leverage_usd * share))
    if m == "internal":
        terms = ()
    return Computed(value=value, terms=terms, working=(
        f"internal ${c.internal_usd / 1e12:.2f}T + SPV ${c.spv_usd / 1e12:.2f}T + leverage "
        f"${c.leverage_usd / 1e12:.2f}T = ${c.total_usd / 1e12:.2f}T; 60% compute = "
        f"${c.compute_usd / 1e12:.2f}T"))


@evaluator("training_energy_share")
def training_energy_share(p: Params) -> Computed:
    """Electricity as a share of a training run's compute cost (rental or TCO $/GPU-hour)."""
    t = _tco(p)
    acc = get_accelerator(t.accelerator)
    facility_w = acc.tdp_w * (1 + t.host_overhead_frac) * t.pue
    run = training_run(acc, active_params=p.float("active_params"), tokens=p.float("tokens"),
                       num_accelerators=p.int("num_accelerators"), mfu_frac=p.float("mfu_frac"),
                       usd_per_accelerator_hour=p.float("usd_per_gpu_hour"),
                       facility_power_w_per_accelerator=facility_w)
    energy_usd = run.energy_j / KWH * t.electricity_usd_per_kwh
    share = energy_usd / run.cost_usd
    return Computed(value=share, working=(
        f"{run.accelerator_hours / 1e6:.1f}M GPU-h x ${run.usd_per_accelerator_hour:g} = "
        f"${run.cost_usd / 1e6:.1f}M; {run.energy_mwh:,.0f} MWh x "
        f"${t.electricity_usd_per_kwh:g}/kWh = ${energy_usd / 1e6:.2f}M -> {share:.1%}"))


@evaluator("api_price_ratio")
def api_price_ratio(p: Params) -> Computed:
    """Ratio of two list prices of one catalog API entry (output/input or cached/input)."""
    e = get_api_price(p.str("list_price"))
    num, den = getattr(e, p.str("numerator")), getattr(e, p.str("denominator"))
    return Computed(value=num / den, working=(
        f"{e.provider} {e.model}: {p.str('numerator')} ${num} / {p.str('denominator')} ${den} "
        f"= {num / den:.2f}x ({e.source_title}, {e.as_of})"))


@evaluator("output_input_cost_ratio")
def output_input_cost_ratio(p: Params) -> Computed:
    """Cost of an output token over an uncached input token from the seeds' decomposition."""
    kw = dict(tp=p.int("tp"), weights_dtype=p.str("weights_dtype"),
              input_tokens=p.int("input_tokens"), output_tokens=p.int("output_tokens"),
              batch=p.int("batch") if p.has("batch") else "max")
    e = estimate(p.str("model"), p.str("hardware"), **kw)
    # Steady state: the decomposition of economics.estimate_cost (prefill share of the cycle).
    c = token_cost_from_estimate(e, e)
    r = c.output_usd_per_mtok / c.input_usd_per_mtok
    return Computed(value=r, working=(
        f"{e.model} on {e.num_gpus}x {e.hardware}, batch {e.batch_size}: input "
        f"${c.input_usd_per_mtok:.3f}/M (prefill), output ${c.output_usd_per_mtok:.3f}/M "
        f"(decode) = {r:.1f}x"))
