"""Sensitivity of TCO and P&L metrics: one-at-a-time tornado and two-way grids.

Split out of ``tokenworks.api.economics``; inputs are flat dicts as there.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, make_dataclass
from typing import Any

from tokenworks.api.economics import (
    MARKET_PARAMS,
    _describe,
    _pnl_parts,
    build_tco_inputs,
)
from tokenworks.economics.catalog import (
    resolve_params,
)
from tokenworks.economics.pnl import (
    Pnl,
)
from tokenworks.economics.sensitivity import (
    SENSITIVITY_METRICS,
    Grid2,
    TornadoRow,
    grid2,
    tornado,
)
from tokenworks.economics.tco import (
    TCO_PARAMS,
)
from tokenworks.economics.token_cost import (
    default_usd_per_gpu_hour,
)
from tokenworks.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class SensitivityReport:
    metric: str
    base: float
    tornado: tuple[TornadoRow, ...]
    grid: Grid2 | None
    defaults_used: list[str] = field(default_factory=list)


# Every numeric input of the P&L, as one flat frozen dataclass the sensitivity tools can vary.
PNL_SENSITIVITY_INPUTS: tuple[str, ...] = (
    *TCO_PARAMS, "server_capex_usd_per_accelerator", *MARKET_PARAMS, "on_demand_usd_per_hour",
    "take_or_pay_frac", "num_accelerators")
_PNL_INT_INPUTS = ("ramp_years", "contract_years", "num_accelerators")
PnlSensitivityInputs = make_dataclass(
    "PnlSensitivityInputs",
    [(n, int if n in _PNL_INT_INPUTS else float) for n in PNL_SENSITIVITY_INPUTS],
    frozen=True, slots=True, kw_only=True)
# Varied when --vary is not given: the P&L drivers the seeds argue about.
PNL_SENSITIVITY_DEFAULT_VARY: tuple[str, ...] = (
    "on_demand_usd_per_hour", "utilization_frac", "utilization_year1_frac",
    "price_decline_frac_per_year", "server_capex_usd_per_accelerator", "useful_life_years",
    "debt_rate_frac", "electricity_usd_per_kwh", "colocation_usd_per_kw_month",
    "reserved_discount_frac", "discount_rate_frac")


def _nan_if_none(x: float | None) -> float:
    return float("nan") if x is None else float(x)


# P&L metrics (name -> Pnl -> float); a payback or IRR that does not exist is NaN.
PNL_METRICS: dict[str, Callable[[Pnl], float]] = {
    "npv_usd": lambda p: p.npv_usd,
    "irr_frac": lambda p: _nan_if_none(p.project_irr_frac),
    "equity_irr_frac": lambda p: _nan_if_none(p.equity_irr_frac),
    "payback_years": lambda p: _nan_if_none(p.payback_years),
}


def pnl_sensitivity_inputs(inputs: dict[str, Any]) -> Any:
    """The resolved numeric P&L inputs (overrides, else sourced defaults) as one spec."""
    t = build_tco_inputs(inputs)
    vals, _ = resolve_params(MARKET_PARAMS, {k: inputs.get(k) for k in MARKET_PARAMS})
    price = inputs.get("on_demand_usd_per_hour")
    if price is None:
        price, _ = default_usd_per_gpu_hour(t.accelerator)
    base = {**{k: getattr(t, k) for k in (*TCO_PARAMS, "server_capex_usd_per_accelerator")},
            **vals, "on_demand_usd_per_hour": float(price),
            "take_or_pay_frac": float(inputs.get("take_or_pay_frac", 0.0)),
            "num_accelerators": int(inputs.get("num_accelerators") or 1024)}
    return PnlSensitivityInputs(**{k: (int(v) if k in _PNL_INT_INPUTS else float(v))
                                   for k, v in base.items()})


def sensitivity_report(
    inputs: dict[str, Any],
    *,
    metric: str = "tco_usd_per_hour",
    vary: list[str] | None = None,
    low_mult: float = 0.8,
    high_mult: float = 1.2,
    grid_x: tuple[str, list[float]] | None = None,
    grid_y: tuple[str, list[float]] | None = None,
) -> SensitivityReport:
    """Tornado and an optional two-way grid of a TCO metric (over TCO inputs) or a P&L metric
    (``PNL_METRICS``, over every numeric P&L input; ``inputs`` are then P&L inputs)."""
    if metric in PNL_METRICS:
        spec = pnl_sensitivity_inputs(inputs)
        get = PNL_METRICS[metric]

        def fn(s: Any) -> float:
            return get(_pnl_parts({**inputs, **asdict(s)})[2])

        names = vary or list(PNL_SENSITIVITY_DEFAULT_VARY)
        t, _, _, lines = _pnl_parts(inputs)
        described = _describe(t, lines)
    elif metric in SENSITIVITY_METRICS:
        spec = build_tco_inputs(inputs)
        fn = SENSITIVITY_METRICS[metric]
        names = vary or [n for n in (*TCO_PARAMS, "server_capex_usd_per_accelerator")
                         if n not in ("loan_term_years",)]
        described = _describe(spec)
    else:
        raise ConfigError(f"metric '{metric}' is not known. Valid: "
                          f"{', '.join([*SENSITIVITY_METRICS, *PNL_METRICS])}.")
    base, rows = tornado(spec, fn, names, low_mult=low_mult, high_mult=high_mult)
    g = None
    if grid_x is not None and grid_y is not None:
        g = grid2(spec, fn, x_input=grid_x[0], x_values=grid_x[1], y_input=grid_y[0],
                  y_values=grid_y[1])
    return SensitivityReport(metric=metric, base=base, tornado=rows, grid=g,
                             defaults_used=described)


# Capital-math inputs with a sourced default in data/finance.toml (input -> catalog param).
