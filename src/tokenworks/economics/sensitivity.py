"""Sensitivity analysis over any input of a frozen-dataclass spec: tornado and two-way grids.

A metric is any function ``spec -> float``. Inputs are varied with ``dataclasses.replace``, so
every numeric field of the spec is a valid input, and every varied spec is validated as a
single run's would be (a value outside its valid range gives NaN, never a silent number).
``METRICS`` is the one table of named metrics: those of a ``TcoSpec`` (its $/h, its
break-even price, the NPV of renting it) and those of a fleet's P&L (NPV, IRRs, payback), the
latter varied over ``PnlInputs``, the flat numeric view of a ``PnlSpec``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, make_dataclass, replace
from typing import Any, TypeVar

from tokenworks.economics.pnl import Pnl, PnlSpec, neocloud_pnl
from tokenworks.economics.tco import TCO_PARAMS, TcoSpec, tco_per_accelerator_hour
from tokenworks.errors import ConfigError, TokenworksError

S = TypeVar("S")


def _numeric_fields(spec: object) -> list[str]:
    return [f.name for f in fields(spec)
            if isinstance(getattr(spec, f.name), (int, float))
            and not isinstance(getattr(spec, f.name), bool)]


def _check_names(spec: object, names: Sequence[str]) -> None:
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
    if not 0.0 < low_mult < high_mult:
        raise ConfigError(f"low multiplier {low_mult:g} and high multiplier {high_mult:g}: they "
                          f"must satisfy 0 < low < high (e.g. --low 0.8 --high 1.2).")
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


def _eval(spec: S, metric: Callable[[S], float], name: str, value: float) -> float:
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


# ---------------------------------------------------------------------------------------------
# The named metrics


MARKET_INPUTS = ("price_decline_frac_per_year", "utilization_year1_frac", "ramp_years",
                 "reserved_share_frac", "reserved_discount_frac", "contract_years",
                 "spot_share_frac", "spot_discount_frac")
ACCOUNTING_INPUTS = ("tax_rate_frac", "sga_frac_of_revenue", "discount_rate_frac")
# Every numeric input of the P&L, as one flat frozen dataclass the sensitivity tools can vary.
PNL_INPUTS: tuple[str, ...] = (
    *TCO_PARAMS, "server_capex_usd_per_accelerator", *MARKET_INPUTS, *ACCOUNTING_INPUTS,
    "on_demand_usd_per_hour", "take_or_pay_frac", "num_accelerators")
_INT_INPUTS = ("ramp_years", "contract_years", "num_accelerators")
PnlInputs = make_dataclass(
    "PnlInputs", [(n, int if n in _INT_INPUTS else float) for n in PNL_INPUTS],
    frozen=True, slots=True, kw_only=True)
# Varied when --vary is not given: the P&L drivers the seeds argue about.
PNL_DEFAULT_VARY: tuple[str, ...] = (
    "on_demand_usd_per_hour", "utilization_frac", "utilization_year1_frac",
    "price_decline_frac_per_year", "server_capex_usd_per_accelerator", "useful_life_years",
    "debt_rate_frac", "electricity_usd_per_kwh", "colocation_usd_per_kw_month",
    "reserved_discount_frac", "discount_rate_frac")
TCO_DEFAULT_VARY: tuple[str, ...] = tuple(
    n for n in (*TCO_PARAMS, "server_capex_usd_per_accelerator") if n != "loan_term_years")


def flatten(spec: PnlSpec) -> Any:
    """The numeric inputs of a P&L as one flat ``PnlInputs``."""
    t, m = spec.tco, spec.market
    values = {**{k: getattr(t, k) for k in (*TCO_PARAMS, "server_capex_usd_per_accelerator")},
              **{k: getattr(m, k) for k in MARKET_INPUTS},
              **{k: getattr(spec, k) for k in ACCOUNTING_INPUTS},
              "on_demand_usd_per_hour": m.on_demand_usd_per_hour,
              "take_or_pay_frac": m.take_or_pay_frac, "num_accelerators": spec.num_accelerators}
    return PnlInputs(**{k: (int(v) if k in _INT_INPUTS else float(v))
                        for k, v in values.items()})


def unflatten(flat: Any, base: PnlSpec) -> PnlSpec:
    """``base`` with every input of ``flat`` (validated like a single run's)."""
    tco = replace(base.tco, **{k: getattr(flat, k)
                               for k in (*TCO_PARAMS, "server_capex_usd_per_accelerator")})
    market = replace(base.market, **{k: getattr(flat, k) for k in MARKET_INPUTS},
                     on_demand_usd_per_hour=flat.on_demand_usd_per_hour,
                     take_or_pay_frac=flat.take_or_pay_frac,
                     utilization_mature_frac=tco.utilization_frac)
    return replace(base, tco=tco, market=market,
                   num_accelerators=flat.num_accelerators,
                   **{k: getattr(flat, k) for k in ACCOUNTING_INPUTS})


def _nan_if_none(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def _rented_npv(t: TcoSpec, context: PnlSpec | None) -> float:
    """Project NPV per accelerator ($) of renting ``t`` at the market of ``context`` with its
    utilization flat from year one (100 accelerators, to keep the rounding small).

    NPV rather than IRR: for a project that never pays back, IRR is not monotonic in its
    inputs (a larger salvage value weighs enormously at a -50% rate).
    """
    if context is None:
        raise ConfigError("project_npv_usd_per_accelerator needs a market (a rental price).")
    m = replace(context.market, utilization_year1_frac=t.utilization_frac,
                utilization_mature_frac=t.utilization_frac)
    return neocloud_pnl(replace(context, tco=t, market=m, num_accelerators=100)).npv_usd / 100


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """A named metric: of a ``TcoSpec`` (kind "tco") or of ``PnlInputs`` (kind "pnl"), given
    the P&L ``context`` the question resolved (its market, accounting and fleet)."""

    kind: str
    of: Callable[[object, PnlSpec | None], float]
    needs_market: bool = True


def _pnl_metric(get: Callable[[Pnl], float]) -> Metric:
    def of(flat: object, ctx: PnlSpec | None) -> float:
        assert ctx is not None  # P&L metrics are asked with their P&L (SensitivitySpec)
        return get(neocloud_pnl(unflatten(flat, ctx)))
    return Metric(kind="pnl", of=of)


METRICS: dict[str, Metric] = {
    "tco_usd_per_hour": Metric(
        kind="tco", of=lambda t, ctx: tco_per_accelerator_hour(t).total_usd_per_hour,
        needs_market=False),
    "breakeven_usd_per_sold_hour": Metric(
        kind="tco", of=lambda t, ctx: tco_per_accelerator_hour(t).breakeven_usd_per_sold_hour,
        needs_market=False),
    "project_npv_usd_per_accelerator": Metric(kind="tco", of=_rented_npv),
    "npv_usd": _pnl_metric(lambda p: p.npv_usd),
    "irr_frac": _pnl_metric(lambda p: _nan_if_none(p.project_irr_frac)),
    "equity_irr_frac": _pnl_metric(lambda p: _nan_if_none(p.equity_irr_frac)),
    "payback_years": _pnl_metric(lambda p: _nan_if_none(p.payback_years)),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SensitivitySpec:
    """A sensitivity question: the metric, the TCO and (for metrics that need a market) the
    P&L it is varied around, and what to vary how."""

    metric: str
    tco: TcoSpec
    context: PnlSpec | None = None
    vary: tuple[str, ...] | None = None  # None: the metric's usual drivers
    low_mult: float = 0.8
    high_mult: float = 1.2
    grid_x: tuple[str, tuple[float, ...]] | None = None
    grid_y: tuple[str, tuple[float, ...]] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SensitivityResult:
    metric: str
    base: float
    tornado: tuple[TornadoRow, ...]
    grid: Grid2 | None


def sensitivity(spec: SensitivitySpec) -> SensitivityResult:
    """Tornado and, when both axes are given, a two-way grid of ``spec.metric``."""
    m = METRICS.get(spec.metric)
    if m is None:
        raise ConfigError(f"metric '{spec.metric}' is not known. Valid: {', '.join(METRICS)}.")
    ctx = spec.context
    if m.needs_market and ctx is None:
        raise ConfigError(f"metric '{spec.metric}' needs a market (a rental price and the "
                          f"P&L inputs); give them.")
    base: object = spec.tco if m.kind == "tco" or ctx is None else flatten(ctx)
    names = list(spec.vary) if spec.vary else list(
        TCO_DEFAULT_VARY if m.kind == "tco" else PNL_DEFAULT_VARY)

    def fn(s: object) -> float:
        return m.of(s, ctx)

    value, rows = tornado(base, fn, names, low_mult=spec.low_mult, high_mult=spec.high_mult)
    g = None
    if spec.grid_x is not None and spec.grid_y is not None:
        g = grid2(base, fn, x_input=spec.grid_x[0], x_values=spec.grid_x[1],
                  y_input=spec.grid_y[0], y_values=spec.grid_y[1])
    return SensitivityResult(metric=spec.metric, base=value, tornado=rows, grid=g)
