"""Neocloud P&L over the life of a fleet: revenue, margins, EBITDA, net income, cash, returns.

Yearly model for ``num_accelerators`` bought at t = 0 (costs per accelerator from
``TcoSpec``); everything it needs is one frozen ``PnlSpec`` (resolved at the edge,
``tokenworks.io.defaults``). Sold hours = capacity x utilization (ramping from year one to mature); the
sold hours split into reserved contracts (price locked at signing, repriced at the market
price when the contract expires: the duration-mismatch risk), spot, and on-demand at the
market price, which declines every year. Units: $ per year, fractions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from tokenworks.economics.catalog import check_param
from tokenworks.economics.finance import (
    depreciation_schedule_usd,
    irr_frac,
    loan_schedule,
    npv_usd,
    payback_years,
)
from tokenworks.economics.tco import HOURS_PER_YEAR, TcoSpec
from tokenworks.errors import ConfigError, check_range
from tokenworks.units import KW, MW

DEPRECIATION_METHODS = ("straight_line", "double_declining", "sum_of_years")


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketSpec:
    """Revenue side of the P&L."""

    on_demand_usd_per_hour: float  # market price in year 1
    price_decline_frac_per_year: float
    utilization_year1_frac: float
    utilization_mature_frac: float
    ramp_years: int = 2  # years to reach mature utilization (linear)
    reserved_share_frac: float = 0.5  # share of sold hours under reserved contracts
    reserved_discount_frac: float = 0.5
    contract_years: int = 2  # reserved term; price resets to market at expiry
    spot_share_frac: float = 0.1
    spot_discount_frac: float = 0.6
    price_multipliers: tuple[float, ...] = ()  # extra market-price shocks by year (1 = none)
    take_or_pay_frac: float = 0.0  # share of capacity billed whatever the usage (a floor)

    def __post_init__(self) -> None:
        # One rule for a single run and a sweep: the finance catalog's valid ranges.
        for n in ("price_decline_frac_per_year", "utilization_year1_frac", "ramp_years",
                  "reserved_share_frac", "reserved_discount_frac", "contract_years",
                  "spot_share_frac", "spot_discount_frac"):
            check_param(n, getattr(self, n))
        check_param("utilization_frac", self.utilization_mature_frac)
        check_range("on_demand_usd_per_hour", self.on_demand_usd_per_hour, low=0, unit="$/h")
        for n in ("price_decline_frac_per_year", "utilization_year1_frac",
                  "utilization_mature_frac", "reserved_share_frac", "reserved_discount_frac",
                  "spot_share_frac", "spot_discount_frac", "take_or_pay_frac"):
            check_range(n, getattr(self, n), low=0, high=1)
        if self.reserved_share_frac + self.spot_share_frac > 1:
            raise ConfigError(
                f"reserved_share_frac + spot_share_frac = "
                f"{self.reserved_share_frac + self.spot_share_frac:g} is out of range: "
                f"it must be <= 1 (the rest is on-demand).")
        if self.contract_years < 1 or self.ramp_years < 1:
            raise ConfigError("contract_years and ramp_years must be >= 1.")

    def utilization(self, year: int) -> float:
        """Billed utilization in ``year`` (1-based): linear ramp from year 1 to mature, never
        below the take-or-pay floor (customers pay for committed capacity they leave idle)."""
        if year >= self.ramp_years + 1 or self.ramp_years == 0:
            u = self.utilization_mature_frac
        else:
            t = (year - 1) / self.ramp_years
            u = self.utilization_year1_frac + t * (
                self.utilization_mature_frac - self.utilization_year1_frac)
        return max(u, self.take_or_pay_frac)

    def market_price(self, year: int) -> float:
        shock = self.price_multipliers[year - 1] if year - 1 < len(self.price_multipliers) else 1.0
        return self.on_demand_usd_per_hour * (1 - self.price_decline_frac_per_year) ** (year - 1) \
            * shock

    def repricings(self, years: int) -> tuple[tuple[int, float, float], ...]:
        """(year, reserved price before, after) at each contract expiry within ``years``: the
        duration mismatch between a multi-year asset and short contracts."""
        out = []
        for y in range(2, years + 1):
            if (y - 1) % self.contract_years == 0:
                out.append((y, self.reserved_price(y - 1), self.reserved_price(y)))
        return tuple(out)

    def reserved_price(self, year: int) -> float:
        """Price of reserved hours in ``year``: the market price when the contract was signed."""
        signed = 1 + ((year - 1) // self.contract_years) * self.contract_years
        return (1 - self.reserved_discount_frac) * self.market_price(signed)


@dataclass(frozen=True, slots=True, kw_only=True)
class PnlSpec:
    """A fleet's P&L question: its TCO, its market and the accounting choices."""

    tco: TcoSpec
    market: MarketSpec
    num_accelerators: int
    years: int | None  # horizon; None: the useful life
    depreciation_method: str
    tax_rate_frac: float
    sga_frac_of_revenue: float
    discount_rate_frac: float

    def __post_init__(self) -> None:
        check_range("num_accelerators", self.num_accelerators, low=1,
                    fix="Give the number of accelerators in the fleet, e.g. 1024.")
        if self.years is not None:
            check_range("years", self.years, low=1, high=100)
        if self.depreciation_method not in DEPRECIATION_METHODS:
            raise ConfigError(f"depreciation_method = '{self.depreciation_method}' is not valid; "
                              f"use one of {', '.join(DEPRECIATION_METHODS)}.")
        for n in ("tax_rate_frac", "sga_frac_of_revenue", "discount_rate_frac"):
            check_param(n, getattr(self, n))


@dataclass(frozen=True, slots=True, kw_only=True)
class NewGeneration:
    """A newer part arriving in ``year``, ``speedup`` x faster, renting at ``price_ratio`` x
    today's price (the depreciation-risk shock)."""

    # ASSUMPTION: the defaults read the seeds: a Blackwell-class part (4-5x an H100 for
    # inference) arriving in year 3 at 1.5x the price.
    year: int = 3
    speedup: float = 4.0
    price_ratio: float = 1.5


@dataclass(frozen=True, slots=True, kw_only=True)
class PnlYear:
    year: int
    utilization_frac: float
    market_usd_per_hour: float
    revenue_usd: float
    cash_cost_of_revenue_usd: float  # power + facility + maintenance + staff
    gross_profit_usd: float  # before depreciation
    depreciation_usd: float
    gross_profit_after_depreciation_usd: float
    sga_usd: float
    ebitda_usd: float
    ebit_usd: float
    interest_usd: float
    tax_usd: float
    net_income_usd: float
    project_cash_flow_usd: float  # unlevered: EBITDA - tax on EBIT (+ residual in last year)
    equity_cash_flow_usd: float  # EBITDA - interest - principal - tax

    @property
    def gross_margin_frac(self) -> float:
        return self.gross_profit_usd / self.revenue_usd if self.revenue_usd else float("nan")

    @property
    def gross_margin_after_depreciation_frac(self) -> float:
        return (self.gross_profit_after_depreciation_usd / self.revenue_usd
                if self.revenue_usd else float("nan"))

    @property
    def ebitda_margin_frac(self) -> float:
        return self.ebitda_usd / self.revenue_usd if self.revenue_usd else float("nan")

    @property
    def net_margin_frac(self) -> float:
        return self.net_income_usd / self.revenue_usd if self.revenue_usd else float("nan")


@dataclass(frozen=True, slots=True, kw_only=True)
class Pnl:
    num_accelerators: int
    capex_usd: float  # IT capex (+ DC capex when owned)
    years: tuple[PnlYear, ...]
    project_irr_frac: float | None
    equity_irr_frac: float | None
    npv_usd: float  # project cash flows at discount_rate_frac
    discount_rate_frac: float
    payback_years: float | None
    depreciation_method: str
    defaults_used: tuple[str, ...] = ()

    def totals(self) -> dict[str, float]:
        keys = ("revenue_usd", "gross_profit_usd", "depreciation_usd", "ebitda_usd",
                "net_income_usd", "project_cash_flow_usd")
        return {k: sum(getattr(y, k) for y in self.years) for k in keys}


def neocloud_pnl(spec: PnlSpec) -> Pnl:
    """Yearly P&L, cash flows and returns of a fleet over ``spec.years`` (None: useful life)."""
    tco, market, num_accelerators = spec.tco, spec.market, spec.num_accelerators
    years, depreciation_method = spec.years, spec.depreciation_method
    tax_rate_frac, sga_frac_of_revenue = spec.tax_rate_frac, spec.sga_frac_of_revenue
    discount_rate_frac = spec.discount_rate_frac
    if num_accelerators < 1:
        raise ConfigError(f"num_accelerators = {num_accelerators} is out of range: >= 1.")
    check_range("tax_rate_frac", tax_rate_frac, low=0, high=1)
    check_range("sga_frac_of_revenue", sga_frac_of_revenue, low=0, high=1)
    life = max(1, round(tco.useful_life_years))
    horizon = life if years is None else years
    if horizon < 1:
        raise ConfigError(f"years = {horizon} is out of range: it must be >= 1.")
    n = num_accelerators
    it_capex = tco.it_capex_usd * n
    dc_capex = (tco.dc_capex_usd_per_mw * tco.provisioned_it_w * n / MW
                if tco.facility == "owned" else 0.0)
    residual = tco.residual_value_frac * it_capex
    dep = depreciation_schedule_usd(it_capex, life_years=life, residual_usd=residual,
                                    method=depreciation_method)
    dc_dep = dc_capex / tco.dc_life_years
    loan = loan_schedule(tco.debt_share_frac * (it_capex + dc_capex), tco.debt_rate_frac,
                         max(1, round(tco.loan_term_years)))
    rows: list[PnlYear] = []
    for y in range(1, horizon + 1):
        u = market.utilization(y)
        sold_h = n * HOURS_PER_YEAR * u
        od_share = 1 - market.reserved_share_frac - market.spot_share_frac
        p = market.market_price(y)
        revenue = sold_h * (market.reserved_share_frac * market.reserved_price(y)
                            + market.spot_share_frac * (1 - market.spot_discount_frac) * p
                            + od_share * p)
        acc_w = tco.tdp_w * (tco.idle_power_frac + (1 - tco.idle_power_frac) * u)
        it_w = (acc_w + tco.host_overhead_frac * tco.tdp_w) * n
        power = it_w * tco.pue / KW * tco.electricity_usd_per_kwh * HOURS_PER_YEAR
        facility = (tco.colocation_usd_per_kw_month * 12 * tco.provisioned_it_w * n / KW
                     if tco.facility == "colocation" else 0.0)
        cash_cost = (power + facility + tco.maintenance_frac_per_year * it_capex
                     + tco.staff_usd_per_accelerator_year * n)
        d = (dep[y - 1] if y <= life else 0.0) + (dc_dep if y <= tco.dc_life_years else 0.0)
        gross = revenue - cash_cost
        sga = sga_frac_of_revenue * revenue
        ebitda = gross - sga
        ebit = ebitda - d
        ly = loan[y - 1] if y <= len(loan) else None
        interest = ly.interest_usd if ly else 0.0
        principal = ly.principal_usd if ly else 0.0
        pretax = ebit - interest
        # ASSUMPTION: losses earn no tax credit (no carry-forward) — conservative for year one.
        tax = max(pretax, 0.0) * tax_rate_frac
        unlevered_tax = max(ebit, 0.0) * tax_rate_frac
        salvage = residual if y == horizon else 0.0
        rows.append(PnlYear(
            year=y, utilization_frac=u, market_usd_per_hour=p, revenue_usd=revenue,
            cash_cost_of_revenue_usd=cash_cost, gross_profit_usd=gross, depreciation_usd=d,
            gross_profit_after_depreciation_usd=gross - d, sga_usd=sga, ebitda_usd=ebitda,
            ebit_usd=ebit, interest_usd=interest, tax_usd=tax, net_income_usd=pretax - tax,
            project_cash_flow_usd=ebitda - unlevered_tax + salvage,
            equity_cash_flow_usd=ebitda - interest - principal - tax + salvage))
    total_capex = it_capex + dc_capex
    project = [-total_capex] + [r.project_cash_flow_usd for r in rows]
    equity = [-(1 - tco.debt_share_frac) * total_capex] + [r.equity_cash_flow_usd for r in rows]
    return Pnl(num_accelerators=n, capex_usd=total_capex, years=tuple(rows),
               project_irr_frac=irr_frac(project), equity_irr_frac=irr_frac(equity),
               npv_usd=npv_usd(discount_rate_frac, project),
               discount_rate_frac=discount_rate_frac, payback_years=payback_years(project),
               depreciation_method=depreciation_method)


@dataclass(frozen=True, slots=True, kw_only=True)
class DepreciationRiskCase:
    label: str
    life_years: int
    new_generation_year: int | None
    net_income_first3_usd: float  # reported profit in years 1-3
    cumulative_net_income_usd: float
    impairment_usd: float  # book value left when the GPU stops covering its cash cost
    economic_life_years: int  # last year revenue per accelerator covers cash costs
    project_irr_frac: float | None


def depreciation_risk(
    spec: PnlSpec,
    generation: NewGeneration,
    *,
    lives_years: Sequence[int] = (6, 4, 3),
    horizon_years: int = 6,
) -> tuple[DepreciationRiskCase, ...]:
    """The same fleet under several book lives, with and without a newer generation.

    From ``generation.year`` a part ``generation.speedup`` x faster renting at
    ``generation.price_ratio`` x today's price caps the old part's market price at
    price_ratio / speedup of its trend (perf-per-$ parity). Seeds: Blackwell 4-5x H100
    inference; CoreWeave books 6 years, the bear case says 3-4.
    """
    check_range("new_generation_speedup", generation.speedup, low=1)
    new_generation_year = generation.year
    parity = min(1.0, generation.price_ratio / generation.speedup)
    market, num_accelerators = spec.market, spec.num_accelerators
    out: list[DepreciationRiskCase] = []
    for shock in (False, True):
        # ASSUMPTION: the old part's price drops to perf-per-$ parity in the arrival year.
        mult = tuple(parity if (shock and y >= new_generation_year) else 1.0
                     for y in range(1, horizon_years + 1))
        m = replace(market, price_multipliers=mult)
        for life in lives_years:
            t = replace(spec.tco, useful_life_years=float(life))
            p = neocloud_pnl(replace(spec, tco=t, market=m, years=horizon_years))
            # Economic life: the last year in which revenue still covers cash costs.
            econ = max((r.year for r in p.years
                        if r.revenue_usd >= r.cash_cost_of_revenue_usd), default=0)
            book = p.capex_usd - sum(r.depreciation_usd for r in p.years[:econ])
            residual = t.residual_value_frac * t.it_capex_usd * num_accelerators
            impairment = max(book - residual, 0.0) if econ < life else 0.0
            out.append(DepreciationRiskCase(
                label=f"{life}-year life, {'new generation in year ' + str(new_generation_year) if shock else 'no new generation'}",
                life_years=life, new_generation_year=new_generation_year if shock else None,
                net_income_first3_usd=sum(r.net_income_usd for r in p.years[:3]),
                cumulative_net_income_usd=sum(r.net_income_usd for r in p.years),
                impairment_usd=impairment, economic_life_years=econ,
                project_irr_frac=p.project_irr_frac))
    return tuple(out)

