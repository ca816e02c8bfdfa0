"""Capital math from the seeds as parameterised models: the revenue a capex requires
(Sequoia/Cahn), the deployable-capital ceiling, asset token-revenue multiples, scenarios.

Split out of ``tokenworks.api.economics``; inputs are flat dicts as there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
)
from tokenworks.errors import ConfigError, check_range

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
