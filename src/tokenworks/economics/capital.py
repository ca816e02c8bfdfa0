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
    gpu_share_of_dc_cost_frac: float,
    end_user_gross_margin_frac: float,
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
    reinvest_frac: float,
    spv_multiple: float,
    leverage_x_cfo: float,
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


# Capital inputs with a sourced default in data/finance.toml (input -> catalog param, whose
# valid range checks a user's value).
CAPITAL_CATALOG_PARAMS: dict[str, str] = {
    "gpu_revenue_usd_per_year": "nvidia_dc_revenue_run_rate_usd",
    "gpu_share_of_dc_cost_frac": "gpu_share_of_dc_cost_frac",
    "end_user_gross_margin_frac": "end_user_gross_margin_frac",
    "cfo_usd_per_year": "hyperscaler_cfo_usd_per_year",
    "years": "capital_horizon_years",
}
# ASSUMPTION: seed 003's $6T reconstruction reinvests all cash flow, doubles it with SPVs and
# adds 1x leverage; these multipliers have no catalog entry, so they default to that reading.
SEED_MULTIPLIERS: dict[str, tuple[float, float, str]] = {  # value, valid high, meaning
    "reinvest_frac": (1.0, 1.0, "share of cash flow reinvested"),
    "spv_multiple": (1.0, 10.0, "off-balance-sheet SPV capital per $ of internal capital"),
    "leverage_x_cfo": (1.0, 10.0, "new corporate debt in years of cash flow"),
}
ASSET_KEYS = ("asset_usd", "tokens_per_s", "usd_per_mtok")


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetSpec:
    """An asset whose token revenue is compared with its price."""

    asset_usd: float
    tokens_per_s: float
    usd_per_mtok: float
    utilization_frac: float
    years: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CapitalSpec:
    """One capital case (e.g. bull, base or bear), resolved."""

    name: str
    gpu_revenue_usd_per_year: float
    gpu_share_of_dc_cost_frac: float
    end_user_gross_margin_frac: float
    cfo_usd_per_year: float
    years: float
    reinvest_frac: float
    spv_multiple: float
    leverage_x_cfo: float
    actual_ai_revenue_usd_per_year: float | None = None
    asset: AssetSpec | None = None

    def __post_init__(self) -> None:
        from tokenworks.economics.catalog import finance_param

        for key, param in CAPITAL_CATALOG_PARAMS.items():
            p = finance_param(param)
            check_range(key, getattr(self, key), low=p.valid_low, high=p.valid_high,
                        unit=p.unit, fix=f"Default is {p.value:g} {p.unit} ({p.source_title}, "
                        f"{p.as_of}).")
        for key, (_, high, _) in SEED_MULTIPLIERS.items():
            check_range(key, getattr(self, key), low=0, high=high)
        if self.actual_ai_revenue_usd_per_year is not None:
            check_range("actual_ai_revenue_usd_per_year", self.actual_ai_revenue_usd_per_year,
                        low=0, unit="$/year", fix="Give the AI revenue actually earned per year, "
                        "or leave it out.")

    def inputs(self) -> dict[str, float]:
        """Every input of the case, resolved, in report order."""
        out = {k: float(getattr(self, k)) for k in (*CAPITAL_CATALOG_PARAMS, *SEED_MULTIPLIERS)}
        if self.actual_ai_revenue_usd_per_year is not None:
            out["actual_ai_revenue_usd_per_year"] = float(self.actual_ai_revenue_usd_per_year)
        if self.asset is not None:
            a = self.asset
            out.update(asset_usd=a.asset_usd, tokens_per_s=a.tokens_per_s,
                       usd_per_mtok=a.usd_per_mtok, utilization_frac=a.utilization_frac,
                       asset_years=a.years)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class CapitalCase:
    name: str
    inputs: dict[str, float]  # every capital input, resolved
    gap: RevenueGap
    ceiling: CapitalCeiling
    years_of_gap_covered: float  # ceiling / yearly gap (or required revenue if no actual)
    asset: AssetReturn | None  # token revenue multiple of one asset, when asked for


def capital_case(spec: CapitalSpec) -> CapitalCase:
    """Revenue gap, capital ceiling, the years of gap the ceiling covers, and the asset's
    token revenue multiple (when an asset is given)."""
    c = capital_ceiling(cfo_usd_per_year=spec.cfo_usd_per_year, years=spec.years,
                        reinvest_frac=spec.reinvest_frac, spv_multiple=spec.spv_multiple,
                        leverage_x_cfo=spec.leverage_x_cfo)
    g = revenue_gap(gpu_revenue_usd_per_year=spec.gpu_revenue_usd_per_year,
                    gpu_share_of_dc_cost_frac=spec.gpu_share_of_dc_cost_frac,
                    end_user_gross_margin_frac=spec.end_user_gross_margin_frac,
                    actual_ai_revenue_usd_per_year=spec.actual_ai_revenue_usd_per_year)
    yearly_gap = g.gap_usd_per_year if g.gap_usd_per_year else g.required_revenue_usd_per_year
    a = spec.asset
    asset = None if a is None else token_revenue_multiple(
        asset_usd=a.asset_usd, tokens_per_s=a.tokens_per_s, usd_per_mtok=a.usd_per_mtok,
        utilization_frac=a.utilization_frac, years=a.years)
    return CapitalCase(name=spec.name, inputs=spec.inputs(), gap=g, ceiling=c,
                       years_of_gap_covered=(c.total_usd / yearly_gap if yearly_gap > 0
                                             else float("inf")), asset=asset)
