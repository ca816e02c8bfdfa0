"""Economics layer: TCO, cost per token, P&L, power, fleets, training, capital, sensitivity.

Takes frozen specs (``TcoSpec``, ``MarketSpec``, ``PnlSpec``, ``FleetSpec``, ``CapitalSpec``,
...) whose defaults were resolved at the edge (``tokenworks.io.defaults``) from the sourced
catalogs ``data/prices.toml``, ``data/finance.toml`` and ``data/grids.toml``, and plain results
(tokens/s, W, $/h), so it prices an analytic estimate and a simulation alike. See
docs/economics.md.
"""

from tokenworks.economics.capital import (
    CapitalSpec,
    capital_case,
    capital_ceiling,
    revenue_gap,
    token_revenue_multiple,
)
from tokenworks.economics.estimate_cost import Estimate, price_estimate
from tokenworks.economics.finance import (
    annuity_payment_usd,
    depreciation_schedule_usd,
    irr_frac,
    loan_schedule,
    npv_usd,
    payback_years,
    wacc_frac,
)
from tokenworks.economics.fleet import FleetSpec, capacity_for_power_budget, plan_fleet, size_fleet
from tokenworks.economics.pnl import (
    MarketSpec,
    NewGeneration,
    PnlSpec,
    depreciation_risk,
    neocloud_pnl,
)
from tokenworks.economics.power import (
    accelerator_power_w,
    cooling_class,
    deployment_power,
    energy_per_token_j,
)
from tokenworks.economics.run_cost import run_cost
from tokenworks.economics.sensitivity import METRICS, SensitivitySpec, grid2, sensitivity, tornado
from tokenworks.economics.tco import (
    TcoSpec,
    tco_per_accelerator_hour,
    vendor_financing_case,
)
from tokenworks.economics.token_cost import (
    default_usd_per_gpu_hour,
    margin_at_list_price,
    split_gpu_hour,
    token_cost,
    usd_per_million_tokens,
)
from tokenworks.economics.training import chinchilla_optimal, training_flops, training_run

__all__ = [
    "METRICS",
    "CapitalSpec",
    "Estimate",
    "FleetSpec",
    "MarketSpec",
    "NewGeneration",
    "PnlSpec",
    "SensitivitySpec",
    "TcoSpec",
    "accelerator_power_w",
    "annuity_payment_usd",
    "capacity_for_power_budget",
    "capital_case",
    "capital_ceiling",
    "chinchilla_optimal",
    "cooling_class",
    "default_usd_per_gpu_hour",
    "deployment_power",
    "depreciation_risk",
    "depreciation_schedule_usd",
    "energy_per_token_j",
    "grid2",
    "irr_frac",
    "loan_schedule",
    "margin_at_list_price",
    "neocloud_pnl",
    "npv_usd",
    "payback_years",
    "plan_fleet",
    "price_estimate",
    "revenue_gap",
    "run_cost",
    "sensitivity",
    "size_fleet",
    "split_gpu_hour",
    "tco_per_accelerator_hour",
    "token_cost",
    "token_revenue_multiple",
    "tornado",
    "training_flops",
    "training_run",
    "usd_per_million_tokens",
    "vendor_financing_case",
    "wacc_frac",
]
