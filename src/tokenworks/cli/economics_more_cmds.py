"""Economics commands, continued: ``sensitivity`` and ``capital``.

Same conventions as ``economics_cmds``: inputs merge defaults < --scenario < --set < flags,
every output lists the defaults used, ``--json`` prints one object; nothing is computed here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import typer
import yaml

from tokenworks.api import economics as api
from tokenworks.cli.economics_cmds import (
    Acc,
    Json,
    Scenario,
    SetOpt,
    _defaults,
    _inputs,
    _pct,
    _table,
)
from tokenworks.cli.render import console, fmt_count, fmt_usd, print_json
from tokenworks.economics.scenario import validate_scenario
from tokenworks.errors import ConfigError, ScenarioError


def _num(x: float) -> str:
    """A metric value: 3 decimals, thousands separators for large ones, n/a for NaN."""
    if x != x:
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1e5 else f"{x:.3f}"


def _axis(spec: str | None) -> tuple[str, list[float]] | None:
    if spec is None:
        return None
    if "=" not in spec:
        raise ConfigError(f"grid axis {spec!r} must look like name=v1,v2,v3 "
                          f"(e.g. utilization_frac=0.3,0.5,0.7).")
    name, vals = spec.split("=", 1)
    try:
        return name.strip(), [float(v) for v in vals.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"grid axis {spec!r}: values must be numbers.") from None


def sensitivity_command(
    metric: Annotated[str, typer.Option("--metric", help="TCO: tco_usd_per_hour, breakeven_usd_per_sold_hour, project_npv_usd_per_accelerator; P&L (inputs as for pnl): npv_usd, irr_frac, equity_irr_frac, payback_years.")] = "tco_usd_per_hour",
    vary: Annotated[list[str] | None, typer.Option("--vary", help="Input to vary (repeatable; default all).")] = None,
    low: Annotated[float, typer.Option("--low", help="Low multiplier.")] = 0.8,
    high: Annotated[float, typer.Option("--high", help="High multiplier.")] = 1.2,
    grid_x: Annotated[str | None, typer.Option("--grid-x", help="name=v1,v2,... for a two-way grid.")] = None,
    grid_y: Annotated[str | None, typer.Option("--grid-y", help="name=v1,v2,...")] = None,
    accelerator: Acc = None,
    scenario: Scenario = None, sets: SetOpt = None, as_json: Json = False,
) -> None:
    """Tornado (one-at-a-time) and two-way grid sensitivity of a TCO or P&L metric."""
    command = "pnl" if metric in api.PNL_METRICS else "tco"
    inputs = _inputs(command, scenario, sets, dict(accelerator=accelerator))
    gx, gy = _axis(grid_x), _axis(grid_y)
    if (gx is None) != (gy is None):
        raise ConfigError("a two-way grid needs both --grid-x and --grid-y.")
    r = api.sensitivity_report(inputs, metric=metric, vary=vary, low_mult=low, high_mult=high,
                               grid_x=gx, grid_y=gy)
    if as_json:
        print_json(r)
        return
    t = _table(f"Tornado: {r.metric} (base {_num(r.base)}), inputs x{low:g} / x{high:g}",
               ["input", "base", "low -> metric", "high -> metric", "swing"])
    for row in r.tornado:
        t.add_row(row.input, f"{row.base_value:g}",
                  f"{row.low_value:g} -> {_num(row.metric_at_low)}",
                  f"{row.high_value:g} -> {_num(row.metric_at_high)}", _num(row.swing))
    console.print(t)
    if r.grid is not None:
        g = r.grid
        t = _table(f"{r.metric}: {g.y_input} (rows) x {g.x_input} (columns)",
                   [g.y_input] + [f"{x:g}" for x in g.x_values])
        for y, row in zip(g.y_values, g.metric, strict=True):
            t.add_row(f"{y:g}", *[_num(v) for v in row])
        console.print(t)
    _defaults(r.defaults_used)


def _money(x: float | None) -> str:
    """Large dollar amounts as $B / $T (negatives keep their sign); None as n/a."""
    if x is None:
        return "n/a"
    if x != x or abs(x) == float("inf"):
        return "n/a"
    return ("-$" if x < 0 else "$") + fmt_count(abs(x))


def read_named_scenarios(path: str, command: str) -> dict[str, dict]:
    """A TOML/YAML file of named tables (bull, base, bear), each validated for ``command``."""
    p = Path(path)
    try:
        text = p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"scenarios file {p} does not exist.") from None
    try:
        raw = (yaml.safe_load(text) if p.suffix.lower() in (".yaml", ".yml")
               else tomllib.loads(text.decode())) or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise ScenarioError(f"scenarios file {p} could not be parsed: {e}".splitlines()[0]) from e
    flat = [k for k, v in raw.items() if not isinstance(v, dict)] if isinstance(raw, dict) else []
    if not isinstance(raw, dict) or not raw or flat:
        raise ScenarioError(f"scenarios file {p} must hold one table per named scenario (e.g. "
                            f"bull, base, bear), each with inputs as keys"
                            + (f"; {', '.join(flat)} are not tables." if flat else "."))
    return {str(name): validate_scenario(table, command, origin=f"{p}, scenario '{name}'")
            for name, table in raw.items()}


def capital_command(
    gpu_revenue: Annotated[float | None, typer.Option("--gpu-revenue-usd-per-year", help="Data-center GPU revenue $/year (Cahn: NVIDIA run-rate).")] = None,
    gpu_share: Annotated[float | None, typer.Option("--gpu-share", help="GPUs' share of total data-center cost (0-1).")] = None,
    margin: Annotated[float | None, typer.Option("--margin", help="End-user gross margin the buyers need (0-0.99).")] = None,
    actual: Annotated[float | None, typer.Option("--actual-ai-revenue-usd-per-year", help="AI revenue actually earned $/year: gives the gap.")] = None,
    cfo: Annotated[float | None, typer.Option("--cfo-usd-per-year", help="Cash from operations $/year.")] = None,
    years: Annotated[float | None, typer.Option("--years", help="Years of reinvested cash flow.")] = None,
    reinvest: Annotated[float | None, typer.Option("--reinvest", help="Share of cash flow reinvested (0-1).")] = None,
    spv: Annotated[float | None, typer.Option("--spv-multiple", help="Off-balance-sheet SPV $ per $ of internal capital.")] = None,
    leverage: Annotated[float | None, typer.Option("--leverage-x-cfo", help="New corporate debt in years of cash flow.")] = None,
    asset_usd: Annotated[float | None, typer.Option("--asset-usd", help="Asset price ($) for the token revenue multiple.")] = None,
    tokens_per_s: Annotated[float | None, typer.Option("--tokens-per-s", help="Asset throughput (tokens/s).")] = None,
    usd_per_mtok: Annotated[float | None, typer.Option("--usd-per-mtok", help="Token price ($ per million).")] = None,
    utilization: Annotated[float | None, typer.Option("--utilization", help="Asset utilization (0-1).")] = None,
    asset_years: Annotated[float | None, typer.Option("--asset-years", help="Years of token revenue.")] = None,
    scenarios: Annotated[str | None, typer.Option("--scenarios", help="TOML/YAML of named scenarios ([bull], [base], [bear]) printed side by side.")] = None,
    scenario: Scenario = None, sets: SetOpt = None, as_json: Json = False,
) -> None:
    """Capital math: the revenue a year of GPU spend needs (Cahn) and the capital ceiling."""
    inputs = _inputs("capital", scenario, sets, dict(
        gpu_revenue_usd_per_year=gpu_revenue, gpu_share_of_dc_cost_frac=gpu_share,
        end_user_gross_margin_frac=margin, actual_ai_revenue_usd_per_year=actual,
        cfo_usd_per_year=cfo, years=years, reinvest_frac=reinvest, spv_multiple=spv,
        leverage_x_cfo=leverage, asset_usd=asset_usd, tokens_per_s=tokens_per_s,
        usd_per_mtok=usd_per_mtok, utilization_frac=utilization, asset_years=asset_years))
    named = read_named_scenarios(scenarios, "capital") if scenarios else None
    r = api.capital_report(inputs, scenarios=named)
    if as_json:
        print_json(r)
        return
    cs = r.cases
    t = _table("Capital math" + (" by scenario" if named else ""),
               ["item"] + [c.name for c in cs])

    def row(label: str, fn) -> None:
        t.add_row(label, *[fn(c) for c in cs])

    row("GPU data-center revenue /yr", lambda c: _money(c.gap.gpu_revenue_usd_per_year))
    row("GPU share of DC cost s", lambda c: _pct(c.inputs["gpu_share_of_dc_cost_frac"]))
    row("data-center cost /yr (÷ s)", lambda c: _money(c.gap.dc_cost_usd_per_year))
    row("end-user gross margin m", lambda c: _pct(c.inputs["end_user_gross_margin_frac"]))
    row("[bold]revenue required /yr[/] ÷(1−m)",
        lambda c: _money(c.gap.required_revenue_usd_per_year))
    row("actual AI revenue /yr", lambda c: _money(c.gap.actual_ai_revenue_usd_per_year))
    row("[bold]revenue gap /yr[/]", lambda c: _money(c.gap.gap_usd_per_year))
    row("cash flow /yr", lambda c: _money(c.inputs["cfo_usd_per_year"]))
    row("x years x reinvested share", lambda c: (
        f"{c.inputs['years']:g} x {_pct(c.inputs['reinvest_frac'])}"))
    row("internal capital", lambda c: _money(c.ceiling.internal_usd))
    row("+ off-balance-sheet SPVs", lambda c: _money(c.ceiling.spv_usd))
    row("+ corporate leverage", lambda c: _money(c.ceiling.leverage_usd))
    row("[bold]= deployable capital ceiling[/]", lambda c: _money(c.ceiling.total_usd))
    row("  compute (60%)", lambda c: _money(c.ceiling.compute_usd))
    row("  power (25%)", lambda c: _money(c.ceiling.power_usd))
    row("  construction (15%)", lambda c: _money(c.ceiling.construction_usd))
    row("years of the gap it covers", lambda c: (
        "n/a" if c.years_of_gap_covered == float("inf") else f"{c.years_of_gap_covered:.1f}"))
    if any(c.asset is not None for c in cs):
        row("asset price", lambda c: fmt_usd(c.asset.asset_usd) if c.asset else "n/a")
        row("token revenue over its years", lambda c: (
            f"{fmt_usd(c.asset.revenue_usd)} ({c.asset.years:g} y at "
            f"{_pct(c.asset.utilization_frac)})" if c.asset else "n/a"))
        row("[bold]revenue multiple[/]", lambda c: (
            f"{c.asset.revenue_multiple:.1f}x" if c.asset else "n/a"))
    console.print(t)
    if all(c.gap.gap_usd_per_year is None for c in cs):
        console.print("(give --actual-ai-revenue-usd-per-year for the gap; years covered are "
                      "then of the gap, else of the required revenue)")
    _defaults(r.defaults_used)


def register(app: typer.Typer) -> None:
    app.command("sensitivity")(sensitivity_command)
    app.command("capital")(capital_command)
