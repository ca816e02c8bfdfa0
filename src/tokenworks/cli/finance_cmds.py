"""Money over an asset's life: ``tco``, ``pnl``, ``sensitivity``, ``capital``.

Inputs merge as sourced defaults < ``--scenario`` file (TOML/YAML) < ``--set key=value`` <
explicit flags (``io.economics``). Every command prints which defaults it used, and ``--json``
prints one JSON object. The commands render results from ``tokenworks.api.economics``; they
compute nothing.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tokenworks.api.economics import capital_report, pnl_report, sensitivity_report, tco_report
from tokenworks.cli.render import (
    Acc,
    Json,
    ReportOpt,
    ScenarioOpt,
    SetOpt,
    check_report_path,
    console,
    fmt_metric,
    fmt_money,
    fmt_pct,
    fmt_usd,
    print_defaults,
    print_json,
    table,
    to_jsonable,
    write_report_file,
)
from tokenworks.errors import ConfigError
from tokenworks.io.economics import question, read_named_scenarios
from tokenworks.units import MILLION


def tco_command(
    accelerator: Acc = None,
    capex_usd: Annotated[float | None, typer.Option("--capex-usd", help="Server capex per accelerator ($).")] = None,
    utilization: Annotated[float | None, typer.Option("--utilization", help="Fraction of hours sold (0-1).")] = None,
    life_years: Annotated[float | None, typer.Option("--life-years", help="Useful life (years).")] = None,
    debt_rate: Annotated[float | None, typer.Option("--debt-rate", help="Debt interest rate (fraction, e.g. 0.12).")] = None,
    electricity: Annotated[float | None, typer.Option("--electricity-usd-per-kwh", help="$/kWh.")] = None,
    pue: Annotated[float | None, typer.Option("--pue", help="Power usage effectiveness (>= 1).")] = None,
    facility: Annotated[str | None, typer.Option("--facility", help="colocation or owned.")] = None,
    tokens_per_s: Annotated[float | None, typer.Option("--output-tokens-per-s", help="Tokens/s per accelerator: also print $/M tokens.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Price tokens of this model (runs the estimator).")] = None,
    input_tokens: Annotated[int | None, typer.Option("--input-tokens", "-i")] = None,
    output_tokens: Annotated[int | None, typer.Option("--output-tokens", "-o")] = None,
    prefix_hit: Annotated[float | None, typer.Option("--prefix-hit", help="Prefix-cache hit fraction (0-1).")] = None,
    list_price: Annotated[str | None, typer.Option("--list-price", help="API price entry for the margin, e.g. deepseek-r1-api.")] = None,
    price_basis: Annotated[str | None, typer.Option("--price-basis", help="tco (break-even $/sold hour) or rental.")] = None,
    scenario: ScenarioOpt = None, sets: SetOpt = None, as_json: Json = False,
    report: ReportOpt = None,
) -> None:
    """TCO per accelerator-hour by component; optional cost per token and margin."""
    check_report_path(report)
    q = question("tco", scenario=scenario, sets=sets, flags=dict(
        accelerator=accelerator, server_capex_usd_per_accelerator=capex_usd,
        utilization_frac=utilization, useful_life_years=life_years, debt_rate_frac=debt_rate,
        electricity_usd_per_kwh=electricity, pue=pue, facility=facility,
        output_tokens_per_s=tokens_per_s, model=model, input_tokens=input_tokens,
        output_tokens=output_tokens, prefix_hit_frac=prefix_hit, list_price=list_price,
        price_basis=price_basis))
    r = tco_report(q)
    write_report_file(report, r, quiet=as_json, price_basis=q.price_basis)
    if as_json:
        print_json(r)
        return
    b = r.breakdown
    console.print(f"[bold]TCO of one {b.accelerator}[/] (IT capex {fmt_usd(b.capex_usd)}, "
                  f"WACC {fmt_pct(b.wacc_frac)}, {r.inputs.facility})")
    t = table("$ per installed accelerator-hour", ["component", "$/h", "share"])
    for k, v in b.components().items():
        t.add_row(k, f"{v:.3f}", fmt_pct(v / b.total_usd_per_hour))
    t.add_row("[bold]total[/]", f"[bold]{b.total_usd_per_hour:.3f}[/]", "100.0%")
    console.print(t)
    console.print(f"Break-even price per sold hour at {fmt_pct(b.utilization_frac)} utilization: "
                  f"[bold]{fmt_usd(b.breakeven_usd_per_sold_hour)}[/]/h")
    if r.usd_per_million_tokens_at_throughput is not None:
        console.print(f"At {q.output_tokens_per_s:g} tokens/s per accelerator: "
                      f"{fmt_usd(r.usd_per_million_tokens_at_throughput)} per million tokens")
    v = r.vendor_case
    console.print(f"Vendor financing: +{fmt_usd(v.capex_gap_usd)} capex per accelerator at "
                  f"{fmt_pct(v.rate_gap_frac)} lower debt rate -> "
                  f"{v.cheap_finance.total_usd_per_hour:.3f} vs "
                  f"{v.cheap_build.total_usd_per_hour:.3f} $/h; winner: {v.winner} "
                  f"(saves {fmt_usd(v.lifetime_saving_usd)} per accelerator over its life)")
    if r.token_cost is not None:
        c = r.token_cost
        t = table(f"Cost per token: [(1 - hit) x prefill + decode] / batch "
                   f"(batch {c.batch_size}, hit {fmt_pct(c.prefix_hit_frac)})", ["term", "value"])
        t.add_row("replica $/h", f"{c.usd_per_hour:.2f}")
        t.add_row("prefill $ per batch (no hits)", f"{c.prefill_usd_full:.4f}")
        t.add_row("(1 - hit) x prefill $", f"{c.prefill_usd:.4f}")
        t.add_row("decode $ per batch", f"{c.decode_usd:.4f}")
        t.add_row("$ per request", f"{c.usd_per_request:.6f}")
        t.add_row("input $/M (uncached)", f"{c.input_usd_per_mtok:.3f}")
        t.add_row("cached input $/M", f"{c.cached_input_usd_per_mtok:.3f}")
        t.add_row("output $/M (decode only)", f"{c.output_usd_per_mtok:.3f}")
        t.add_row("all-in $/M output", f"{c.all_in_usd_per_output_mtok:.3f}")
        t.add_row("prefill share of time", fmt_pct(c.prefill_time_frac))
        console.print(t)
    if r.margin is not None:
        m = r.margin
        console.print(f"At {r.list_price} list prices: revenue {m.revenue_usd_per_request:.5f} $ "
                      f"vs cost {m.cost_usd_per_request:.5f} $ per request -> margin "
                      f"[bold]{fmt_pct(m.margin_frac)}[/] ({m.markup:.1f}x)")
    print_defaults(r.defaults_used)


def pnl_command(
    accelerator: Acc = None,
    num_accelerators: Annotated[int | None, typer.Option("--num-accelerators", "--num-gpus", "-n")] = None,
    price: Annotated[float | None, typer.Option("--price", help="On-demand $/GPU-hour in year 1.")] = None,
    utilization: Annotated[float | None, typer.Option("--utilization", help="Mature utilization (0-1).")] = None,
    life_years: Annotated[float | None, typer.Option("--life-years")] = None,
    years: Annotated[int | None, typer.Option("--years", help="Horizon (default: useful life).")] = None,
    depreciation: Annotated[str | None, typer.Option("--depreciation", help="straight_line, double_declining, sum_of_years.")] = None,
    debt_rate: Annotated[float | None, typer.Option("--debt-rate")] = None,
    price_decline: Annotated[float | None, typer.Option("--price-decline", help="Yearly rental price decline (fraction).")] = None,
    scenario: ScenarioOpt = None, sets: SetOpt = None, as_json: Json = False,
    report: ReportOpt = None,
) -> None:
    """Neocloud P&L over the fleet's life, returns, and depreciation risk."""
    check_report_path(report)
    q = question("pnl", scenario=scenario, sets=sets, flags=dict(
        accelerator=accelerator, num_accelerators=num_accelerators,
        on_demand_usd_per_hour=price, utilization_frac=utilization,
        useful_life_years=life_years, years=years, depreciation_method=depreciation,
        debt_rate_frac=debt_rate, price_decline_frac_per_year=price_decline))
    r = pnl_report(q)
    write_report_file(report, r, quiet=as_json)
    if as_json:
        doc = to_jsonable(r)
        for y, row in zip(r.pnl.years, doc["pnl"]["years"], strict=True):
            row.update(gross_margin_frac=y.gross_margin_frac,
                       gross_margin_after_depreciation_frac=y.gross_margin_after_depreciation_frac,
                       ebitda_margin_frac=y.ebitda_margin_frac, net_margin_frac=y.net_margin_frac)
        print_json(doc)
        return
    p = r.pnl
    console.print(f"[bold]P&L of {p.num_accelerators:,} x {r.inputs.accelerator}[/] "
                  f"(capex {fmt_usd(p.capex_usd)}; {p.depreciation_method} depreciation)")
    t = table("Yearly P&L ($M; GM = gross margin before / after depreciation)",
               ["yr", "util", "$/h", "rev", "GM", "GM-dep", "EBITDA", "EBITDA%", "NI", "cash"])
    for y in p.years:
        t.add_row(str(y.year), fmt_pct(y.utilization_frac), f"{y.market_usd_per_hour:.2f}",
                  f"{y.revenue_usd / MILLION:,.1f}", fmt_pct(y.gross_margin_frac),
                  fmt_pct(y.gross_margin_after_depreciation_frac), f"{y.ebitda_usd / MILLION:,.1f}",
                  fmt_pct(y.ebitda_margin_frac), f"{y.net_income_usd / MILLION:,.1f}",
                  f"{y.project_cash_flow_usd / MILLION:,.1f}")
    console.print(t)
    pb = "never" if p.payback_years is None else f"{p.payback_years:.2f} years"
    console.print(f"Project IRR {fmt_pct(p.project_irr_frac)}, equity IRR {fmt_pct(p.equity_irr_frac)}, "
                  f"NPV at {fmt_pct(p.discount_rate_frac)}: {fmt_usd(p.npv_usd / MILLION)}M, "
                  f"payback {pb}")
    rep = r.market.repricings(len(p.years))
    if rep and r.market.reserved_share_frac > 0:
        steps = ", ".join(f"year {y}: ${a:.2f} -> ${b:.2f}" for y, a, b in rep)
        console.print(f"Reserved contracts ({r.market.contract_years}-year, "
                      f"{fmt_pct(r.market.reserved_share_frac)} of sold hours) reprice to market at "
                      f"expiry: {steps} per hour, on a {r.inputs.useful_life_years:g}-year asset.")
    t = table("Depreciation risk", ["case", "net income y1-3 ($M)", "cum. net income ($M)",
                                     "economic life", "impairment ($M)", "IRR"])
    for c in r.depreciation_risk:
        t.add_row(c.label, f"{c.net_income_first3_usd / MILLION:,.1f}",
                  f"{c.cumulative_net_income_usd / MILLION:,.1f}", f"{c.economic_life_years} y",
                  f"{c.impairment_usd / MILLION:,.1f}", fmt_pct(c.project_irr_frac))
    console.print(t)
    print_defaults(r.defaults_used)


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
    scenario: ScenarioOpt = None, sets: SetOpt = None, as_json: Json = False,
    report: ReportOpt = None,
) -> None:
    """Tornado (one-at-a-time) and two-way grid sensitivity of a TCO or P&L metric."""
    check_report_path(report)
    q = question("pnl", scenario=scenario, sets=sets, flags=dict(accelerator=accelerator))
    gx, gy = _axis(grid_x), _axis(grid_y)
    if (gx is None) != (gy is None):
        raise ConfigError("a two-way grid needs both --grid-x and --grid-y.")
    r = sensitivity_report(q, metric=metric, vary=vary, low_mult=low, high_mult=high,
                           grid_x=gx, grid_y=gy)
    write_report_file(report, r, quiet=as_json)
    if as_json:
        print_json(r)
        return
    t = table(f"Tornado: {r.metric} (base {fmt_metric(r.base)}), inputs x{low:g} / x{high:g}",
               ["input", "base", "low -> metric", "high -> metric", "swing"])
    for row in r.tornado:
        t.add_row(row.input, f"{row.base_value:g}",
                  f"{row.low_value:g} -> {fmt_metric(row.metric_at_low)}",
                  f"{row.high_value:g} -> {fmt_metric(row.metric_at_high)}", fmt_metric(row.swing))
    console.print(t)
    if r.grid is not None:
        g = r.grid
        t = table(f"{r.metric}: {g.y_input} (rows) x {g.x_input} (columns)",
                   [g.y_input] + [f"{x:g}" for x in g.x_values])
        for y, row in zip(g.y_values, g.metric, strict=True):
            t.add_row(f"{y:g}", *[fmt_metric(v) for v in row])
        console.print(t)
    print_defaults(r.defaults_used)


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
    scenarios: Annotated[str | None, typer.Option("--scenarios", help="TOML/YAML of named scenarios (tables bull, base, bear ...) printed side by side.")] = None,
    scenario: ScenarioOpt = None, sets: SetOpt = None, as_json: Json = False,
    report: ReportOpt = None,
) -> None:
    """Capital math: the revenue a year of GPU spend needs (Cahn) and the capital ceiling."""
    check_report_path(report)
    q = question("capital", scenario=scenario, sets=sets, flags=dict(
        gpu_revenue_usd_per_year=gpu_revenue, gpu_share_of_dc_cost_frac=gpu_share,
        end_user_gross_margin_frac=margin, actual_ai_revenue_usd_per_year=actual,
        cfo_usd_per_year=cfo, years=years, reinvest_frac=reinvest, spv_multiple=spv,
        leverage_x_cfo=leverage, asset_usd=asset_usd, tokens_per_s=tokens_per_s,
        usd_per_mtok=usd_per_mtok, utilization_frac=utilization, asset_years=asset_years))
    named = read_named_scenarios(scenarios, "capital") if scenarios else None
    r = capital_report(q, scenarios=named)
    write_report_file(report, r, quiet=as_json)
    if as_json:
        print_json(r)
        return
    cs = r.cases
    t = table("Capital math" + (" by scenario" if named else ""),
               ["item"] + [c.name for c in cs])

    def row(label: str, fn) -> None:
        t.add_row(label, *[fn(c) for c in cs])

    row("GPU data-center revenue /yr", lambda c: fmt_money(c.gap.gpu_revenue_usd_per_year))
    row("GPU share of DC cost s", lambda c: fmt_pct(c.inputs["gpu_share_of_dc_cost_frac"]))
    row("data-center cost /yr (÷ s)", lambda c: fmt_money(c.gap.dc_cost_usd_per_year))
    row("end-user gross margin m", lambda c: fmt_pct(c.inputs["end_user_gross_margin_frac"]))
    row("[bold]revenue required /yr[/] ÷(1−m)",
        lambda c: fmt_money(c.gap.required_revenue_usd_per_year))
    row("actual AI revenue /yr", lambda c: fmt_money(c.gap.actual_ai_revenue_usd_per_year))
    row("[bold]revenue gap /yr[/]", lambda c: fmt_money(c.gap.gap_usd_per_year))
    row("cash flow /yr", lambda c: fmt_money(c.inputs["cfo_usd_per_year"]))
    row("x years x reinvested share", lambda c: (
        f"{c.inputs['years']:g} x {fmt_pct(c.inputs['reinvest_frac'])}"))
    row("internal capital", lambda c: fmt_money(c.ceiling.internal_usd))
    row("+ off-balance-sheet SPVs", lambda c: fmt_money(c.ceiling.spv_usd))
    row("+ corporate leverage", lambda c: fmt_money(c.ceiling.leverage_usd))
    row("[bold]= deployable capital ceiling[/]", lambda c: fmt_money(c.ceiling.total_usd))
    row("  compute (60%)", lambda c: fmt_money(c.ceiling.compute_usd))
    row("  power (25%)", lambda c: fmt_money(c.ceiling.power_usd))
    row("  construction (15%)", lambda c: fmt_money(c.ceiling.construction_usd))
    row("years of the gap it covers", lambda c: (
        "n/a" if c.years_of_gap_covered == float("inf") else f"{c.years_of_gap_covered:.1f}"))
    if any(c.asset is not None for c in cs):
        row("asset price", lambda c: fmt_usd(c.asset.asset_usd) if c.asset else "n/a")
        row("token revenue over its years", lambda c: (
            f"{fmt_usd(c.asset.revenue_usd)} ({c.asset.years:g} y at "
            f"{fmt_pct(c.asset.utilization_frac)})" if c.asset else "n/a"))
        row("[bold]revenue multiple[/]", lambda c: (
            f"{c.asset.revenue_multiple:.1f}x" if c.asset else "n/a"))
    console.print(t)
    if all(c.gap.gap_usd_per_year is None for c in cs):
        console.print("(give --actual-ai-revenue-usd-per-year for the gap; years covered are "
                      "then of the gap, else of the required revenue)")
    print_defaults(r.defaults_used)


def register_tco_pnl(app: typer.Typer) -> None:
    """Add ``tco`` and ``pnl`` to the app."""
    app.command("tco")(tco_command)
    app.command("pnl")(pnl_command)


def register_what_ifs(app: typer.Typer) -> None:
    """Add ``sensitivity`` and ``capital`` to the app."""
    app.command("sensitivity")(sensitivity_command)
    app.command("capital")(capital_command)
