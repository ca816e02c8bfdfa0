"""Sensitivity analysis over any input of a frozen-dataclass spec: tornado and two-way grids.

A metric is any function ``spec -> float`` (e.g. TCO $/h, P&L IRR). Inputs are varied with
``dataclasses.replace``, so every numeric field of the spec is a valid input. Results are
plain tables (lists of rows) that the CLI prints and ``--json`` dumps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from tokenworks.errors import ConfigError, TokenworksError

S = TypeVar("S")


def _numeric_fields(spec: Any) -> list[str]:
    return [f.name for f in fields(spec)
            if isinstance(getattr(spec, f.name), (int, float))
            and not isinstance(getattr(spec, f.name), bool)]


def _check_names(spec: Any, names: Sequence[str]) -> None:
    valid = _numeric_fields(spec)
    bad = [n for n in names if n not in valid]
    if bad:
        raise ConfigError(f"cannot vary {bad}: not numeric inputs of {type(spec).__name__}. "
                          f"Valid: {', '.join(valid)}.")


@dataclass(frozen=True, slots=True, kw_only=True)
class TornadoRow:
    input: str
    base_value: float
    low_value: float
    high_value: float
    metric_at_low: float
    metric_at_high: float
    swing: float  # |metric_at_high - metric_at_low|


def tornado(
    spec: S,
    metric: Callable[[S], float],
    names: Sequence[str] | None = None,
    *,
    low_mult: float = 0.8,
    high_mult: float = 1.2,
    clamp: dict[str, tuple[float, float]] | None = None,
) -> tuple[float, tuple[TornadoRow, ...]]:
    """One-at-a-time sensitivity: (base metric, rows sorted by swing, largest first).

    Each input is scaled by ``low_mult`` and ``high_mult`` (clamped to ``clamp[name]`` if
    given; names ending in ``_frac`` are clamped to [0, 1] by default). An input whose variation makes the metric invalid
    (e.g. a TokenworksError) is reported with NaN rather than hidden.
    """
    names = list(names) if names is not None else _numeric_fields(spec)
    _check_names(spec, names)
    base = metric(spec)
    rows = []
    for n in names:
        v = float(getattr(spec, n))
        lo, hi = v * low_mult, v * high_mult
        bounds = (clamp or {}).get(n, (0.0, 1.0) if n.endswith("_frac") else None)
        if bounds is not None:
            a, b = bounds
            lo, hi = min(max(lo, a), b), min(max(hi, a), b)
        m_lo, m_hi = _eval(spec, metric, n, lo), _eval(spec, metric, n, hi)
        rows.append(TornadoRow(input=n, base_value=v, low_value=lo, high_value=hi,
                               metric_at_low=m_lo, metric_at_high=m_hi,
                               swing=abs(m_hi - m_lo)))
    rows.sort(key=lambda r: (-(r.swing if r.swing == r.swing else -1.0), r.input))
    return base, tuple(rows)


def _eval(spec: Any, metric: Callable[[Any], float], name: str, value: float) -> float:
    cur = getattr(spec, name)
    v: float | int = round(value) if isinstance(cur, int) and not isinstance(cur, bool) else value
    try:
        return float(metric(replace(spec, **{name: v})))
    except TokenworksError:
        return float("nan")


@dataclass(frozen=True, slots=True, kw_only=True)
class Grid2:
    x_input: str
    y_input: str
    x_values: tuple[float, ...]
    y_values: tuple[float, ...]
    metric: tuple[tuple[float, ...], ...]  # metric[i_y][i_x]


def grid2(
    spec: S,
    metric: Callable[[S], float],
    *,
    x_input: str,
    x_values: Sequence[float],
    y_input: str,
    y_values: Sequence[float],
) -> Grid2:
    """Two-way grid: the metric for every (x, y) pair, rows by y, columns by x."""
    _check_names(spec, [x_input, y_input])
    if not x_values or not y_values:
        raise ConfigError("grid2 needs at least one x value and one y value.")
    table = []
    for y in y_values:
        row = []
        for x in x_values:
            try:
                row.append(float(metric(replace(spec, **{x_input: x, y_input: y}))))
            except TokenworksError:
                row.append(float("nan"))
        table.append(tuple(row))
    return Grid2(x_input=x_input, y_input=y_input, x_values=tuple(x_values),
                 y_values=tuple(y_values), metric=tuple(table))


# Metrics of a TcoInputs the CLI can rank inputs by (name -> function).
def _tco_total(t: Any) -> float:
    from tokenworks.economics.tco import tco_per_accelerator_hour

    return tco_per_accelerator_hour(t).total_usd_per_hour


def _breakeven(t: Any) -> float:
    from tokenworks.economics.tco import tco_per_accelerator_hour

    return tco_per_accelerator_hour(t).breakeven_usd_per_sold_hour


def _project_npv(t: Any) -> float:
    """Project NPV per accelerator ($), rented at the catalog price with market defaults.

    NPV rather than IRR: for a project that never pays back, IRR is not monotonic in its
    inputs (a larger salvage value weighs enormously at a -50% rate).
    """
    from tokenworks.economics.catalog import finance_default
    from tokenworks.economics.pnl import MarketInputs, neocloud_pnl
    from tokenworks.economics.token_cost import default_usd_per_gpu_hour

    price, _ = default_usd_per_gpu_hour(t.accelerator)
    m = MarketInputs(on_demand_usd_per_hour=price,
                     price_decline_frac_per_year=finance_default("price_decline_frac_per_year"),
                     utilization_year1_frac=t.utilization_frac,
                     utilization_mature_frac=t.utilization_frac)
    return neocloud_pnl(t, m, num_accelerators=100).npv_usd / 100


SENSITIVITY_METRICS: dict[str, Callable[[Any], float]] = {
    "tco_usd_per_hour": _tco_total,
    "breakeven_usd_per_sold_hour": _breakeven,
    "project_npv_usd_per_accelerator": _project_npv,
}
