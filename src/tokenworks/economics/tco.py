"""Total cost of ownership per accelerator-hour, broken down by component.

Components (all $ per installed accelerator-hour; divide by utilization for a sold hour):

- depreciation: (capex - residual) / life, straight line (accelerated schedules change the
  timing, not the lifetime total, and are shown by ``pnl``);
- financing: the capital charge at the weighted cost of capital (debt rate x debt share +
  equity hurdle x equity share) minus depreciation, i.e. interest plus the equity return;
- power: (accelerator draw at utilization + host overhead) x PUE x $/kWh;
- facility: colocation $/kW-month on provisioned IT kW, or owned DC capex per MW recovered
  over the DC life at the same cost of capital;
- maintenance: a yearly fraction of IT capex; staff: $ per accelerator-year.

Units: $, W, s; ``_usd_per_hour`` for hourly costs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from tokenworks.economics.catalog import check_param
from tokenworks.economics.finance import capital_recovery_factor, wacc_frac
from tokenworks.economics.power import accelerator_power_w
from tokenworks.errors import ConfigError, check_range
from tokenworks.units import HOUR, KW, MW, YEAR

HOURS_PER_YEAR = YEAR / HOUR
FacilityMode = Literal["colocation", "owned"]

# Finance-catalog parameters a TCO needs; any may be overridden.
TCO_PARAMS: tuple[str, ...] = (
    "useful_life_years", "residual_value_frac", "network_capex_frac",
    "storage_install_capex_frac", "debt_share_frac", "debt_rate_frac", "equity_hurdle_frac",
    "loan_term_years", "utilization_frac", "idle_power_frac", "pue",
    "electricity_usd_per_kwh", "colocation_usd_per_kw_month", "dc_capex_usd_per_mw",
    "dc_life_years", "maintenance_frac_per_year", "staff_usd_per_accelerator_year",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TcoSpec:
    """Everything a TCO needs, resolved (no None): user values or sourced defaults, resolved at
    the edge (``tokenworks.io.defaults.tco_spec``), which records them in ``defaults_used``."""

    accelerator: str
    server_capex_usd_per_accelerator: float
    tdp_w: float
    host_overhead_frac: float
    facility: FacilityMode = "colocation"
    useful_life_years: float
    residual_value_frac: float
    network_capex_frac: float
    storage_install_capex_frac: float
    debt_share_frac: float
    debt_rate_frac: float
    equity_hurdle_frac: float
    loan_term_years: float
    utilization_frac: float
    idle_power_frac: float
    pue: float
    electricity_usd_per_kwh: float
    colocation_usd_per_kw_month: float
    dc_capex_usd_per_mw: float
    dc_life_years: float
    maintenance_frac_per_year: float
    staff_usd_per_accelerator_year: float
    defaults_used: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Every spec obeys the finance catalog's valid ranges, however it was made (a flag, a
        # file, a sensitivity sweep's replace): one rule for a single run and a sweep.
        for name in TCO_PARAMS:
            check_param(name, getattr(self, name))
        check_range("server_capex_usd_per_accelerator", self.server_capex_usd_per_accelerator,
                    low=0, unit="$")
        if self.facility not in ("colocation", "owned"):
            raise ConfigError(f"facility = '{self.facility}' is not valid: use 'colocation' or "
                              f"'owned'.")

    @property
    def it_capex_usd(self) -> float:
        """Server share + networking + storage/installation, per accelerator."""
        return self.server_capex_usd_per_accelerator * (
            1.0 + self.network_capex_frac + self.storage_install_capex_frac)

    @property
    def provisioned_it_w(self) -> float:
        """IT power the facility must provide per accelerator (at TDP, with host overhead)."""
        return self.tdp_w * (1.0 + self.host_overhead_frac)

    @property
    def wacc_frac(self) -> float:
        # ASSUMPTION: pre-tax WACC for the capital charge (tax shield ignored in the TCO).
        return wacc_frac(debt_share_frac=self.debt_share_frac, debt_rate_frac=self.debt_rate_frac,
                         equity_hurdle_frac=self.equity_hurdle_frac)


@dataclass(frozen=True, slots=True, kw_only=True)
class TcoBreakdown:
    """TCO per installed accelerator-hour by component, plus derived totals."""

    accelerator: str
    capex_usd: float  # IT capex per accelerator
    depreciation_usd_per_hour: float
    financing_usd_per_hour: float
    financing_debt_usd_per_hour: float
    financing_equity_usd_per_hour: float
    power_usd_per_hour: float
    facility_usd_per_hour: float
    maintenance_usd_per_hour: float
    staff_usd_per_hour: float
    total_usd_per_hour: float  # per installed hour
    cash_opex_usd_per_hour: float  # power + facility + maintenance + staff
    utilization_frac: float
    breakeven_usd_per_sold_hour: float  # total / utilization
    average_power_w: float  # per accelerator incl. host, at the facility meter (x PUE)
    wacc_frac: float
    defaults_used: tuple[str, ...]
    sources: tuple[str, ...]

    def components(self) -> dict[str, float]:
        """Component name -> $ per installed accelerator-hour (sums to total)."""
        return {"depreciation": self.depreciation_usd_per_hour,
                "financing": self.financing_usd_per_hour,
                "power": self.power_usd_per_hour,
                "facility": self.facility_usd_per_hour,
                "maintenance": self.maintenance_usd_per_hour,
                "staff": self.staff_usd_per_hour}


def tco_per_accelerator_hour(inp: TcoSpec) -> TcoBreakdown:
    """Hourly TCO of one accelerator (see module docstring for each component)."""
    capex = inp.it_capex_usd
    life = inp.useful_life_years
    residual = inp.residual_value_frac * capex
    w = inp.wacc_frac
    depreciation_y = (capex - residual) / life
    # Capital charge: annuity on capex net of the residual's present value at the WACC.
    capital_y = (capex - residual / (1.0 + w) ** life) * capital_recovery_factor(w, life)
    financing_y = capital_y - depreciation_y
    debt_w = inp.debt_share_frac * inp.debt_rate_frac
    debt_part = financing_y * (debt_w / w) if w > 0 else 0.0
    # Power: accelerator draw at utilization + constant host overhead, times PUE.
    acc_w = inp.tdp_w * (inp.idle_power_frac + (1 - inp.idle_power_frac) * inp.utilization_frac)
    it_w = acc_w + inp.host_overhead_frac * inp.tdp_w
    facility_w = it_w * inp.pue
    power_h = facility_w / KW * inp.electricity_usd_per_kwh
    if inp.facility == "colocation":
        # Colocation rent is per kW of provisioned critical IT capacity per month.
        facility_y = inp.colocation_usd_per_kw_month * 12 * inp.provisioned_it_w / KW
    else:
        dc_capex = inp.dc_capex_usd_per_mw * inp.provisioned_it_w / MW
        facility_y = dc_capex * capital_recovery_factor(w, inp.dc_life_years)
    maint_y = inp.maintenance_frac_per_year * capex
    staff_y = inp.staff_usd_per_accelerator_year
    h = HOURS_PER_YEAR
    parts = dict(depreciation=depreciation_y / h, financing=financing_y / h, power=power_h,
                 facility=facility_y / h, maintenance=maint_y / h, staff=staff_y / h)
    total = sum(parts.values())
    if inp.utilization_frac <= 0:
        raise ConfigError("utilization_frac = 0: no hours are sold, so there is no break-even "
                          "price. Use a utilization in (0, 1].")
    return TcoBreakdown(
        accelerator=inp.accelerator, capex_usd=capex,
        depreciation_usd_per_hour=parts["depreciation"],
        financing_usd_per_hour=parts["financing"],
        financing_debt_usd_per_hour=debt_part / h,
        financing_equity_usd_per_hour=(financing_y - debt_part) / h,
        power_usd_per_hour=power_h, facility_usd_per_hour=parts["facility"],
        maintenance_usd_per_hour=parts["maintenance"], staff_usd_per_hour=parts["staff"],
        total_usd_per_hour=total,
        cash_opex_usd_per_hour=power_h + parts["facility"] + parts["maintenance"] + parts["staff"],
        utilization_frac=inp.utilization_frac,
        breakeven_usd_per_sold_hour=total / inp.utilization_frac,
        average_power_w=facility_w, wacc_frac=w,
        defaults_used=inp.defaults_used, sources=inp.sources,
    )


def accelerator_power_at(inp: TcoSpec) -> float:
    """Accelerator-only draw (W) at the inputs' utilization (for cross-checks with power.py)."""
    return accelerator_power_w(inp.accelerator, inp.utilization_frac,
                               idle_power_frac=inp.idle_power_frac)


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorCase:
    """Two identical servers: one cheaper to buy, one cheaper to finance."""

    cheap_build: TcoBreakdown
    cheap_finance: TcoBreakdown
    capex_gap_usd: float  # per accelerator, cheap_finance minus cheap_build
    rate_gap_frac: float  # cheap_build rate minus cheap_finance rate
    winner: str  # "cheap_finance" or "cheap_build"
    lifetime_saving_usd: float  # per accelerator over the useful life, for the winner


def vendor_financing_case(
    base: TcoSpec,
    *,
    capex_premium_usd_per_server: float,
    rate_discount_frac: float,
    accelerators_per_server: int = 8,
) -> VendorCase:
    """Dell vs Supermicro (seed 003): pricier server with cheaper vendor debt vs the reverse.

    ``base`` is the cheap-build server financed at third-party rates. The cheap-finance
    server costs ``capex_premium_usd_per_server`` more (seed: Supermicro builds $5,000-10,000
    cheaper) and borrows ``rate_discount_frac`` lower (seed: 2-3 points).
    """
    disc = check_range("rate_discount_frac", rate_discount_frac, low=0, high=base.debt_rate_frac)
    check_range("capex_premium_usd_per_server", capex_premium_usd_per_server, low=0, unit="$")
    premium = capex_premium_usd_per_server / accelerators_per_server
    build = tco_per_accelerator_hour(base)
    fin_in = replace(base, server_capex_usd_per_accelerator=(
        base.server_capex_usd_per_accelerator + premium),
        debt_rate_frac=max(base.debt_rate_frac - disc, 0.0))
    fin = tco_per_accelerator_hour(fin_in)
    diff_h = build.total_usd_per_hour - fin.total_usd_per_hour
    return VendorCase(cheap_build=build, cheap_finance=fin, capex_gap_usd=premium,
                      rate_gap_frac=disc,
                      winner="cheap_finance" if diff_h > 0 else "cheap_build",
                      lifetime_saving_usd=abs(diff_h) * HOURS_PER_YEAR * base.useful_life_years)
