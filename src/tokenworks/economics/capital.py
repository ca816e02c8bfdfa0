"""Capital math from the seeds as parameterised models: revenue gap, capital ceiling, scenarios.

- Revenue gap (Sequoia / David Cahn, "AI's $600B Question", 2024): required end revenue =
  NVIDIA data-center revenue / GPU share of DC cost / (1 - end-user gross margin); with the
  defaults 150 / 0.5 / 0.5 = $600B.
- Deployable-capital ceiling (Doug O'Laughlin, "Capital Cycles and AI", 2025, as told by seed
  003): internal cash (CFO x years x reinvestment share) + off-balance-sheet SPVs (a multiple
  of internal cash) + corporate leverage (a multiple of one year's CFO).
- GPU-level returns: token revenue of an asset vs its price (the "$5M NVL72 -> $75M" claim).
Units: $ and $/year.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenworks.errors import check_range
from tokenworks.units import HOUR, MILLION, YEAR


@dataclass(frozen=True, slots=True, kw_only=True)
class RevenueGap:
    gpu_revenue_usd_per_year: float
    dc_cost_usd_per_year: float  # GPU revenue / GPU share of DC cost
    required_revenue_usd_per_year: float  # DC cost / (1 - margin)
    actual_ai_revenue_usd_per_year: float | None
    gap_usd_per_year: float | None


def revenue_gap(
    *,
    gpu_revenue_usd_per_year: float,
    gpu_share_of_dc_cost_frac: float = 0.5,
    end_user_gross_margin_frac: float = 0.5,
    actual_ai_revenue_usd_per_year: float | None = None,
) -> RevenueGap:
    """Cahn's method: revenue AI must earn to pay back a year of GPU spend at a margin."""
    check_range("gpu_revenue_usd_per_year", gpu_revenue_usd_per_year, low=0, unit="$/yr")
    check_range("gpu_share_of_dc_cost_frac", gpu_share_of_dc_cost_frac, low=0.01, high=1)
    check_range("end_user_gross_margin_frac", end_user_gross_margin_frac, low=0, high=0.99)
    dc = gpu_revenue_usd_per_year / gpu_share_of_dc_cost_frac
    req = dc / (1.0 - end_user_gross_margin_frac)
    gap = None if actual_ai_revenue_usd_per_year is None else req - actual_ai_revenue_usd_per_year
    return RevenueGap(gpu_revenue_usd_per_year=gpu_revenue_usd_per_year,
                      dc_cost_usd_per_year=dc, required_revenue_usd_per_year=req,
                      actual_ai_revenue_usd_per_year=actual_ai_revenue_usd_per_year,
                      gap_usd_per_year=gap)


@dataclass(frozen=True, slots=True, kw_only=True)
class CapitalCeiling:
    internal_usd: float
    spv_usd: float
    leverage_usd: float
    total_usd: float
    compute_usd: float  # split by the seed's 60 / 25 / 15
    power_usd: float
    construction_usd: float


def capital_ceiling(
    *,
    cfo_usd_per_year: float,
    years: float,
    reinvest_frac: float = 1.0,
    spv_multiple: float = 1.0,
    leverage_x_cfo: float = 1.0,
    split_compute_power_construction: tuple[float, float, float] = (0.60, 0.25, 0.15),
) -> CapitalCeiling:
    """Deployable capital: CFO x years x reinvest + SPVs (x internal) + leverage (x one CFO).

    Seed 003: ~$450B/yr x ~7 years ~ $3.15T internal, doubled by SPVs, plus 1x corporate
    leverage, "lands at ~$5.6-6.7 trillion"; split ~60% compute, ~25% power, ~15% construction.
    ASSUMPTION: "1x corporate leverage" is read as new debt equal to one year of CFO.
    """
    check_range("cfo_usd_per_year", cfo_usd_per_year, low=0, unit="$/yr")
    check_range("years", years, low=0)
    check_range("reinvest_frac", reinvest_frac, low=0, high=1)
    check_range("spv_multiple", spv_multiple, low=0)
    check_range("leverage_x_cfo", leverage_x_cfo, low=0)
    internal = cfo_usd_per_year * years * reinvest_frac
    spv = internal * spv_multiple
    lev = leverage_x_cfo * cfo_usd_per_year
    total = internal + spv + lev
    c, p, k = split_compute_power_construction
    return CapitalCeiling(internal_usd=internal, spv_usd=spv, leverage_usd=lev, total_usd=total,
                          compute_usd=c * total, power_usd=p * total, construction_usd=k * total)


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetReturn:
    asset_usd: float
    tokens_per_s: float
    utilization_frac: float
    usd_per_mtok: float
    years: float
    tokens: float
    revenue_usd: float
    revenue_multiple: float  # revenue / asset price


def token_revenue_multiple(
    *,
    asset_usd: float,
    tokens_per_s: float,
    usd_per_mtok: float,
    utilization_frac: float,
    years: float,
) -> AssetReturn:
    """Token revenue an asset earns over ``years`` relative to its price (gross, before costs)."""
    check_range("asset_usd", asset_usd, low=0, low_inclusive=False, unit="$")
    check_range("tokens_per_s", tokens_per_s, low=0, unit="tok/s")
    check_range("usd_per_mtok", usd_per_mtok, low=0, unit="$/Mtok")
    check_range("utilization_frac", utilization_frac, low=0, high=1)
    check_range("years", years, low=0)
    tokens = tokens_per_s * utilization_frac * years * YEAR
    rev = tokens / MILLION * usd_per_mtok
    return AssetReturn(asset_usd=asset_usd, tokens_per_s=tokens_per_s,
                       utilization_frac=utilization_frac, usd_per_mtok=usd_per_mtok, years=years,
                       tokens=tokens, revenue_usd=rev, revenue_multiple=rev / asset_usd)


def breakeven_tokens_per_s(*, usd_per_hour: float, usd_per_mtok: float) -> float:
    """Throughput at which token revenue equals an hourly cost."""
    check_range("usd_per_mtok", usd_per_mtok, low=0, low_inclusive=False, unit="$/Mtok")
    return usd_per_hour / HOUR / (usd_per_mtok / MILLION)


@dataclass(frozen=True, slots=True, kw_only=True)
class CapitalScenario:
    name: str
    ceiling: CapitalCeiling
    gap: RevenueGap
    years_of_gap_covered: float  # ceiling / yearly revenue gap


def compare_capital_scenarios(scenarios: dict[str, dict[str, float]]) -> tuple[CapitalScenario, ...]:
    """Ceiling and revenue gap for named scenarios; each dict holds the keyword arguments of
    ``capital_ceiling`` and ``revenue_gap`` (keys are routed by name)."""
    ceiling_keys = {"cfo_usd_per_year", "years", "reinvest_frac", "spv_multiple", "leverage_x_cfo"}
    gap_keys = {"gpu_revenue_usd_per_year", "gpu_share_of_dc_cost_frac",
                "end_user_gross_margin_frac", "actual_ai_revenue_usd_per_year"}
    out = []
    for name, kw in scenarios.items():
        unknown = set(kw) - ceiling_keys - gap_keys
        if unknown:
            from tokenworks.errors import ConfigError

            raise ConfigError(f"scenario '{name}': unknown key(s) {sorted(unknown)}; valid: "
                              f"{', '.join(sorted(ceiling_keys | gap_keys))}.")
        c = capital_ceiling(**{k: v for k, v in kw.items() if k in ceiling_keys})
        g = revenue_gap(**{k: v for k, v in kw.items() if k in gap_keys})
        yearly_gap = g.gap_usd_per_year if g.gap_usd_per_year else g.required_revenue_usd_per_year
        out.append(CapitalScenario(name=name, ceiling=c, gap=g,
                                   years_of_gap_covered=(c.total_usd / yearly_gap
                                                         if yearly_gap > 0 else float("inf"))))
    return tuple(out)
