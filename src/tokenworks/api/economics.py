"""The economics questions: TCO, P&L, fleet, training, power, sensitivity, capital.

Each entry point takes a question (``io.economics``: flags, ``--set`` and scenario files
merged and validated) or its keyword arguments, resolves it into the economics layer's specs
(``io.defaults``, which records every default it used), runs the layer and returns a report
whose ``defaults_used`` lists those defaults with their sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from tokenworks.economics.capital import CapitalCase, capital_case
from tokenworks.economics.catalog import finance_default, get_api_price
from tokenworks.economics.estimate_cost import price_estimate, token_cost_from_estimate
from tokenworks.economics.fleet import FleetReport, plan_fleet
from tokenworks.economics.pnl import (
    DepreciationRiskCase,
    MarketSpec,
    Pnl,
    depreciation_risk,
    neocloud_pnl,
)
from tokenworks.economics.power import PowerReport, power
from tokenworks.economics.sensitivity import (
    METRICS,
    Grid2,
    SensitivitySpec,
    TornadoRow,
    sensitivity,
)
from tokenworks.economics.tco import (
    TcoBreakdown,
    TcoSpec,
    VendorCase,
    tco_per_accelerator_hour,
    vendor_financing_case,
)
from tokenworks.economics.token_cost import (
    Margin,
    TokenCost,
    default_usd_per_gpu_hour,
    margin_at_list_price,
    usd_per_million_tokens,
)
from tokenworks.economics.training import TrainReport, train
from tokenworks.errors import ConfigError
from tokenworks.hardware import get_accelerator
from tokenworks.io import defaults as d
from tokenworks.io.economics import (
    CapitalQuestion,
    FleetQuestion,
    PnlQuestion,
    PowerQuestion,
    TcoQuestion,
    TrainQuestion,
    question,
)
from tokenworks.perf.estimator import estimate_performance

__all__ = ["CapitalReport", "PnlReport", "SensitivityReport", "TcoReport", "capital_report",
           "fleet_report", "pnl_report", "power_report", "sensitivity_report", "tco_report",
           "train_report"]


def _q(kind: str, q: Any, kw: dict[str, Any]) -> Any:
    """The question itself, or one built (and validated) from keyword arguments."""
    return q if q is not None else question(kind, flags=kw)


@dataclass(frozen=True, slots=True, kw_only=True)
class TcoReport:
    inputs: TcoSpec
    breakdown: TcoBreakdown
    token_cost: TokenCost | None
    usd_per_million_tokens_at_throughput: float | None
    vendor_case: VendorCase
    margin: Margin | None
    list_price: str | None
    defaults_used: list[str] = field(default_factory=list)


def tco_report(q: TcoQuestion | None = None, **kw: Any) -> TcoReport:
    """TCO per accelerator-hour; optional $/M tokens at a throughput, the cost of a model's
    tokens and its margin at a list price; the vendor-finance case."""
    q = _q("tco", q, kw)
    t = d.tco_spec(q)
    b = tco_per_accelerator_hour(t)
    tps = q.output_tokens_per_s
    usd_mtok = usd_per_million_tokens(b.breakeven_usd_per_sold_hour, tps) if tps is not None \
        else None
    vc = vendor_financing_case(
        t, capex_premium_usd_per_server=q.capex_premium_usd_per_server
        if q.capex_premium_usd_per_server is not None else d.VENDOR_CAPEX_PREMIUM_USD_PER_SERVER,
        rate_discount_frac=finance_default("vendor_financing_discount_frac"))
    extra = [] if q.accelerator is not None else [f"accelerator = {d.DEFAULT_ACCELERATOR}"]
    tc: TokenCost | None = None
    margin: Margin | None = None
    if q.model is not None:
        acc = get_accelerator(t.accelerator)
        if (q.price_basis or "tco") == "tco":
            price = b.breakeven_usd_per_sold_hour
        else:
            price, src = default_usd_per_gpu_hour(acc)
            extra.append(f"rental price {price:g} $/h ({src})")
        served, shape, _ = d.served_model(q, acc, usd_per_gpu_hour=price,
                                          price_source="user input")

        def at(hit: float, batch: int | str) -> Any:
            perf = estimate_performance(served.model, served.deployment,
                                        input_tokens=shape.input_tokens,
                                        output_tokens=shape.output_tokens, batch=batch,
                                        prefix_hit_frac=hit)
            return price_estimate(perf, acc, usd_per_gpu_hour=price, price_source="user input")

        est = at(served.prefix_hit_frac, served.batch or "max")
        tc = token_cost_from_estimate(at(0.0, est.batch_size), est)
        if q.list_price is not None:
            p = get_api_price(q.list_price)
            margin = margin_at_list_price(
                tc, input_tokens=est.input_tokens, output_tokens=est.output_tokens,
                input_usd_per_mtok=p.input_usd_per_mtok, output_usd_per_mtok=p.output_usd_per_mtok,
                cached_input_usd_per_mtok=p.cached_input_usd_per_mtok)
    return TcoReport(inputs=t, breakdown=b, token_cost=tc,
                     usd_per_million_tokens_at_throughput=usd_mtok, vendor_case=vc,
                     margin=margin, list_price=q.list_price, defaults_used=d.describe(t, extra))


@dataclass(frozen=True, slots=True, kw_only=True)
class PnlReport:
    inputs: TcoSpec
    market: MarketSpec
    pnl: Pnl
    depreciation_risk: tuple[DepreciationRiskCase, ...]
    defaults_used: list[str] = field(default_factory=list)


def pnl_report(q: PnlQuestion | None = None, **kw: Any) -> PnlReport:
    """Fleet P&L over its life plus the depreciation-risk comparison."""
    spec, generation, lines = d.pnl_spec(_q("pnl", q, kw))
    return PnlReport(inputs=spec.tco, market=spec.market, pnl=neocloud_pnl(spec),
                     depreciation_risk=depreciation_risk(spec, generation), defaults_used=lines)


def fleet_report(q: FleetQuestion | None = None, **kw: Any) -> FleetReport:
    """Demand -> deployment (the estimator at the SLOs, unless per-replica throughput is
    given; each class of a length mix on its own) -> fleet, power, cost."""
    spec, lines = d.fleet_spec(_q("fleet", q, kw))
    plan, est, classes, budget, notes = plan_fleet(spec)
    # The fleet's utilization is computed from demand, so the catalog default is not used.
    t = replace(spec.tco, defaults_used=tuple(x for x in spec.tco.defaults_used
                                              if x != "utilization_frac"))
    if classes:
        extra = [*lines.model, *lines.environment, *notes, *lines.estimate]
    else:
        extra = [*lines.model, *notes, *lines.estimate, *lines.environment]
    return FleetReport(plan=plan, estimate=est, power_budget=budget, classes=classes,
                       defaults_used=d.describe(t, extra))


def train_report(q: TrainQuestion | None = None, **kw: Any) -> TrainReport:
    """6·N·D training run on a cluster at an MFU: days, GPU-hours, cost, energy, carbon."""
    spec, lines = d.train_spec(_q("train", q, kw))
    return train(spec, lines)


def power_report(q: PowerQuestion | None = None, **kw: Any) -> tuple[PowerReport, list[str]]:
    """Power, energy, carbon and water of a deployment, and the defaults used."""
    spec, lines = d.power_spec(_q("power", q, kw))
    return power(spec), lines


@dataclass(frozen=True, slots=True, kw_only=True)
class SensitivityReport:
    metric: str
    base: float
    tornado: tuple[TornadoRow, ...]
    grid: Grid2 | None
    defaults_used: list[str] = field(default_factory=list)


def sensitivity_report(q: PnlQuestion | None = None, *, metric: str = "tco_usd_per_hour",
                       vary: list[str] | None = None, low_mult: float = 0.8,
                       high_mult: float = 1.2, grid_x: tuple[str, list[float]] | None = None,
                       grid_y: tuple[str, list[float]] | None = None,
                       **kw: Any) -> SensitivityReport:
    """Tornado and an optional two-way grid of a TCO or P&L metric (``economics.METRICS``)."""
    q = _q("pnl", q, kw)
    m = METRICS.get(metric)
    if m is None:
        raise ConfigError(f"metric '{metric}' is not known. Valid: {', '.join(METRICS)}.")
    if m.kind == "pnl" or m.needs_market:
        pnl, _, lines = d.pnl_spec(q)
        tco = pnl.tco
        lines = lines if m.kind == "pnl" else d.describe(tco)
    else:
        pnl, tco = None, d.tco_spec(q)
        lines = d.describe(tco)
    r = sensitivity(SensitivitySpec(
        metric=metric, tco=tco, context=pnl, vary=tuple(vary) if vary else None,
        low_mult=low_mult, high_mult=high_mult,
        grid_x=None if grid_x is None else (grid_x[0], tuple(grid_x[1])),
        grid_y=None if grid_y is None else (grid_y[0], tuple(grid_y[1]))))
    return SensitivityReport(metric=r.metric, base=r.base, tornado=r.tornado, grid=r.grid,
                             defaults_used=lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class CapitalReport:
    cases: tuple[CapitalCase, ...]  # one, or one per named scenario (file order)
    defaults_used: list[str] = field(default_factory=list)


def capital_report(q: CapitalQuestion | None = None, *,
                   scenarios: dict[str, dict[str, Any]] | None = None,
                   **kw: Any) -> CapitalReport:
    """Revenue gap (Sequoia/Cahn), deployable-capital ceiling (seed 003) and, when an asset's
    price, throughput and $/M tokens are given, its token revenue multiple. ``scenarios``
    (e.g. bull / base / bear) each override the inputs key by key, side by side."""
    q = _q("capital", q, kw)
    named = scenarios if scenarios else {"base": {}}
    cases, users = [], {}  # users: default line -> names of the cases that used it
    for name, over in named.items():
        lines: list[str] = []
        case_q = q.model_copy(update=over) if over else q
        cases.append(capital_case(d.capital_spec(name, CapitalQuestion.model_validate(
            case_q.model_dump()), lines)))
        for ln in lines:
            users.setdefault(ln, []).append(name)
    used = [ln if len(who) == len(cases) else f"{ln} (scenario {', '.join(who)})"
            for ln, who in users.items()]
    return CapitalReport(cases=tuple(cases), defaults_used=used)
