"""Economics commands: ``tco``, ``pnl``, ``fleet``, ``train``, ``power``, ``sensitivity``,
``capital``.

Inputs merge as sourced defaults < ``--scenario`` file (TOML/YAML) < ``--set key=value`` <
explicit flags. Every command prints which defaults it used, and ``--json`` prints one JSON
object. The commands render results from ``tokenworks.api.economics``; they compute nothing.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tokenworks.api import economics as api
from tokenworks.cli.render import console, fmt_count, fmt_usd, print_json, to_jsonable
from tokenworks.economics.scenario import merge, parse_set_options, read_scenario, validate_scenario
from tokenworks.units import DAY, MILLION, MW, MWH, YEAR

Scenario = Annotated[str | None, typer.Option("--scenario", help="TOML/YAML file of inputs (flat key = value).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override any input: --set pue=1.2 (repeatable).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
Acc = Annotated[str | None, typer.Option("--accelerator", "--hardware", "-H", help="Accelerator catalog name (default h100-sxm).")]


def _inputs(command: str, scenario: str | None, sets: list[str] | None, flags: dict) -> dict:
    layers = [read_scenario(scenario, command) if scenario else {},
              parse_set_options(sets, command),
              validate_scenario({k: v for k, v in flags.items() if v is not None}, command,
                                origin="flags")]
    return merge(*layers)


def _defaults(lines: list[str]) -> None:
    if lines:
        console.print("[bold]Defaults used[/] (override with flags, --set or --scenario):")
        for line in lines:
            console.print(f"  • {escape(line)}")


def _table(title: str, cols: list[str]) -> Table:
    t = Table(title=title, header_style="bold")
    for i, c in enumerate(cols):
        t.add_column(c, justify="left" if i == 0 else "right")
    return t


def _pct(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{x * 100:,.1f}%"


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
    scenario: Scenario = None, sets: SetOpt = None, as_json: Json = False,
) -> None:
    """TCO per accelerator-hour by component; optional cost per token and margin."""
    inputs = _inputs("tco", scenario, sets, dict(
        accelerator=accelerator, server_capex_usd_per_accelerator=capex_usd,
        utilization_frac=utilization, useful_life_years=life_years, debt_rate_frac=debt_rate,
        electricity_usd_per_kwh=electricity, pue=pue, facility=facility,
        output_tokens_per_s=tokens_per_s, model=model, input_tokens=input_tokens,
        output_tokens=output_tokens, prefix_hit_frac=prefix_hit, list_price=list_price,
        price_basis=price_basis))
    r = api.tco_report(inputs)
    if as_json:
        print_json(r)
        return
    b = r.breakdown
    console.print(f"[bold]TCO of one {b.accelerator}[/] (IT capex {fmt_usd(b.capex_usd)}, "
                  f"WACC {_pct(b.wacc_frac)}, {r.inputs.facility})")
    t = _table("$ per installed accelerator-hour", ["component", "$/h", "share"])
    for k, v in b.components().items():
        t.add_row(k, f"{v:.3f}", _pct(v / b.total_usd_per_hour))
    t.add_row("[bold]total[/]", f"[bold]{b.total_usd_per_hour:.3f}[/]", "100.0%")
    console.print(t)
    console.print(f"Break-even price per sold hour at {_pct(b.utilization_frac)} utilization: "
                  f"[bold]{fmt_usd(b.breakeven_usd_per_sold_hour)}[/]/h")
    if r.usd_per_million_tokens_at_throughput is not None:
        console.print(f"At {inputs['output_tokens_per_s']:g} tokens/s per accelerator: "
                      f"{fmt_usd(r.usd_per_million_tokens_at_throughput)} per million tokens")
    v = r.vendor_case
    console.print(f"Vendor financing: +{fmt_usd(v.capex_gap_usd)} capex per accelerator at "
                  f"{_pct(v.rate_gap_frac)} lower debt rate -> "
                  f"{v.cheap_finance.total_usd_per_hour:.3f} vs "
                  f"{v.cheap_build.total_usd_per_hour:.3f} $/h; winner: {v.winner} "
                  f"(saves {fmt_usd(v.lifetime_saving_usd)} per accelerator over its life)")
    if r.token_cost is not None:
        c = r.token_cost
        t = _table(f"Cost per token: [(1 - hit) x prefill + decode] / batch "
                   f"(batch {c.batch_size}, hit {_pct(c.prefix_hit_frac)})", ["term", "value"])
        t.add_row("replica $/h", f"{c.usd_per_hour:.2f}")
        t.add_row("prefill $ per batch (no hits)", f"{c.prefill_usd_full:.4f}")
        t.add_row("(1 - hit) x prefill $", f"{c.prefill_usd:.4f}")
        t.add_row("decode $ per batch", f"{c.decode_usd:.4f}")
        t.add_row("$ per request", f"{c.usd_per_request:.6f}")
        t.add_row("input $/M (uncached)", f"{c.input_usd_per_mtok:.3f}")
        t.add_row("cached input $/M", f"{c.cached_input_usd_per_mtok:.3f}")
        t.add_row("output $/M (decode only)", f"{c.output_usd_per_mtok:.3f}")
        t.add_row("all-in $/M output", f"{c.all_in_usd_per_output_mtok:.3f}")
        t.add_row("prefill share of time", _pct(c.prefill_time_frac))
        console.print(t)
    if r.margin is not None:
        m = r.margin
        console.print(f"At {r.list_price} list prices: revenue {m.revenue_usd_per_request:.5f} $ "
                      f"vs cost {m.cost_usd_per_request:.5f} $ per request -> margin "
                      f"[bold]{_pct(m.margin_frac)}[/] ({m.markup:.1f}x)")
    _defaults(r.defaults_used)


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
    scenario: Scenario = None, sets: SetOpt = None, as_json: Json = False,
) -> None:
    """Neocloud P&L over the fleet's life, returns, and depreciation risk."""
    inputs = _inputs("pnl", scenario, sets, dict(
        accelerator=accelerator, num_accelerators=num_accelerators,
        on_demand_usd_per_hour=price, utilization_frac=utilization,
        useful_life_years=life_years, years=years, depreciation_method=depreciation,
        debt_rate_frac=debt_rate, price_decline_frac_per_year=price_decline))
    r = api.pnl_report(inputs)
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
    t = _table("Yearly P&L ($M; GM = gross margin before / after depreciation)",
               ["yr", "util", "$/h", "rev", "GM", "GM-dep", "EBITDA", "EBITDA%", "NI", "cash"])
    for y in p.years:
        t.add_row(str(y.year), _pct(y.utilization_frac), f"{y.market_usd_per_hour:.2f}",
                  f"{y.revenue_usd / MILLION:,.1f}", _pct(y.gross_margin_frac),
                  _pct(y.gross_margin_after_depreciation_frac), f"{y.ebitda_usd / MILLION:,.1f}",
                  _pct(y.ebitda_margin_frac), f"{y.net_income_usd / MILLION:,.1f}",
                  f"{y.project_cash_flow_usd / MILLION:,.1f}")
    console.print(t)
    pb = "never" if p.payback_years is None else f"{p.payback_years:.2f} years"
    console.print(f"Project IRR {_pct(p.project_irr_frac)}, equity IRR {_pct(p.equity_irr_frac)}, "
                  f"NPV at {_pct(p.discount_rate_frac)}: {fmt_usd(p.npv_usd / MILLION)}M, "
                  f"payback {pb}")
    rep = r.market.repricings(len(p.years))
    if rep and r.market.reserved_share_frac > 0:
        steps = ", ".join(f"year {y}: ${a:.2f} -> ${b:.2f}" for y, a, b in rep)
        console.print(f"Reserved contracts ({r.market.contract_years}-year, "
                      f"{_pct(r.market.reserved_share_frac)} of sold hours) reprice to market at "
                      f"expiry: {steps} per hour, on a {r.inputs.useful_life_years:g}-year asset.")
    t = _table("Depreciation risk", ["case", "net income y1-3 ($M)", "cum. net income ($M)",
                                     "economic life", "impairment ($M)", "IRR"])
    for c in r.depreciation_risk:
        t.add_row(c.label, f"{c.net_income_first3_usd / MILLION:,.1f}",
                  f"{c.cumulative_net_income_usd / MILLION:,.1f}", f"{c.economic_life_years} y",
                  f"{c.impairment_usd / MILLION:,.1f}", _pct(c.project_irr_frac))
    console.print(t)
    _defaults(r.defaults_used)


def fleet_command(
    model: Annotated[str | None, typer.Option("--model", "-m")] = None,
    accelerator: Acc = None,
    tp: Annotated[int | None, typer.Option("--tp")] = None,
    demand_tps: Annotated[float | None, typer.Option("--demand-tokens-per-s", help="Average output tokens/s.")] = None,
    demand_tpd: Annotated[float | None, typer.Option("--demand-tokens-per-day", help="Output tokens per day.")] = None,
    demand_rps: Annotated[float | None, typer.Option("--demand-requests-per-s", help="Requests/s of the --input/--output-tokens shape.")] = None,
    tpot_slo: Annotated[float | None, typer.Option("--tpot-slo-s", help="Time-per-output-token SLO (s): shrinks the batch.")] = None,
    ttft_slo: Annotated[float | None, typer.Option("--ttft-slo-s", help="Zero-load TTFT SLO (s).")] = None,
    input_tokens: Annotated[int | None, typer.Option("--input-tokens", "-i")] = None,
    output_tokens: Annotated[int | None, typer.Option("--output-tokens", "-o")] = None,
    peak: Annotated[float | None, typer.Option("--peak-to-average", help="Provision for peak / average demand.")] = None,
    grid: Annotated[str | None, typer.Option("--grid", help="Grid for carbon (us, world, france, ...).")] = None,
    budget_mw: Annotated[float | None, typer.Option("--power-budget-mw", help="Also: what a facility of this MW can serve.")] = None,
    facility: Annotated[str | None, typer.Option("--facility", help="colocation or owned.")] = None,
    scenario: Scenario = None, sets: SetOpt = None, as_json: Json = False,
) -> None:
    """Size a fleet for a token demand: accelerators, racks, MW, capex, opex, $/M tokens.

    A scenario file may give a length mix instead of one shape: request_mix = [{input_tokens =
    512, output_tokens = 128, share = 0.6}, ...] (shares of requests, summing to 1).
    """
    inputs = _inputs("fleet", scenario, sets, dict(
        model=model, accelerator=accelerator, tp=tp, demand_output_tokens_per_s=demand_tps,
        demand_output_tokens_per_day=demand_tpd, demand_requests_per_s=demand_rps,
        tpot_slo_s=tpot_slo, ttft_slo_s=ttft_slo, input_tokens=input_tokens,
        output_tokens=output_tokens, peak_to_average=peak, grid=grid, power_budget_mw=budget_mw,
        facility=facility))
    r = api.fleet_report(inputs)
    if as_json:
        print_json(r)
        return
    p, pw = r.plan, r.plan.power
    if r.classes:
        t = _table("Request classes (each sized at the SLOs for its share of requests)",
                   ["in/out", "share", "req/s", "batch", "TPOT ms", "tok/s/rep", "replicas",
                    "accel.", "util", "fac. MW", "$/M out"])
        for c in r.classes:
            cp, e = c.plan, c.estimate
            t.add_row(f"{c.input_tokens}/{c.output_tokens}", _pct(c.share_frac),
                      f"{c.requests_per_s:,.1f}", str(e.batch_size), f"{e.tpot_s * 1e3:.1f}",
                      f"{cp.output_tokens_per_s_per_replica:,.0f}", f"{cp.num_replicas:,}",
                      f"{cp.num_accelerators:,}", _pct(cp.utilization_frac),
                      f"{cp.power.facility_power_provisioned_w / MW:,.2f}",
                      f"{cp.usd_per_million_output_tokens:.3f}")
        t.add_row("[bold]total[/]", "100.0%", f"{sum(c.requests_per_s for c in r.classes):,.1f}",
                  "", "", f"{p.output_tokens_per_s_per_replica:,.0f}", f"{p.num_replicas:,}",
                  f"{p.num_accelerators:,}", _pct(p.utilization_frac),
                  f"{pw.facility_power_provisioned_w / MW:,.2f}",
                  f"{p.usd_per_million_output_tokens:.3f}")
        console.print(t)
    t = _table(f"Fleet for {fmt_count(p.demand_output_tokens_per_s)} output tokens/s "
               f"({fmt_count(p.demand_output_tokens_per_s * DAY)}/day)", ["item", "value"])
    t.add_row("per replica" + (" (mix average)" if r.classes else ""),
              f"{p.output_tokens_per_s_per_replica:,.0f} tok/s on "
              f"{p.accelerators_per_replica} x {p.accelerator}")
    if r.estimate is not None:
        e = r.estimate
        t.add_row("replica batch / TPOT / TTFT", f"{e.batch_size} / {e.tpot_s * 1e3:.1f} ms / "
                  f"{e.ttft_s * 1e3:.0f} ms ({e.model}, {e.input_tokens} in, {e.output_tokens} out)")
    t.add_row("replicas / accelerators", f"{p.num_replicas:,} / {p.num_accelerators:,}")
    t.add_row("nodes / racks", f"{pw.num_nodes:,} / {pw.num_racks:,} ({pw.cooling})")
    t.add_row("average utilization", _pct(p.utilization_frac))
    t.add_row("IT MW (provisioned)", f"{pw.it_power_provisioned_w / MW:,.2f}")
    t.add_row("facility MW (provisioned, x PUE)", f"{pw.facility_power_provisioned_w / MW:,.2f}")
    t.add_row("IT capex", fmt_usd(p.it_capex_usd))
    if p.dc_capex_usd:
        t.add_row("DC capex", fmt_usd(p.dc_capex_usd))
    t.add_row("annual cash opex", fmt_usd(p.annual_cash_opex_usd))
    t.add_row("annual TCO", fmt_usd(p.annual_tco_usd))
    t.add_row("$ per million output tokens", f"{p.usd_per_million_output_tokens:.3f}")
    t.add_row("energy per output token", f"{p.energy_per_output_token_j:.2f} J")
    t.add_row("annual energy", f"{pw.annual_energy_j / MWH:,.0f} MWh")
    t.add_row(f"annual carbon ({pw.grid})", f"{pw.annual_carbon_g / 1e6:,.0f} tCO2")
    t.add_row("annual on-site water", f"{pw.annual_water_l / 1e6:,.1f} ML")
    console.print(t)
    if r.power_budget is not None:
        b = r.power_budget
        console.print(f"A {b.facility_power_w / MW:g} MW facility holds {b.num_accelerators:,} "
                      f"accelerators ({b.num_replicas:,} replicas) serving "
                      f"{fmt_count(b.output_tokens_per_s)} output tokens/s "
                      f"({fmt_count(b.output_tokens_per_day)}/day) at full load.")
    _defaults(r.defaults_used)


def train_command(
    model: Annotated[str | None, typer.Option("--model", "-m")] = None,
    accelerator: Acc = None,
    active_params: Annotated[float | None, typer.Option("--active-params", help="Active parameters (overrides --model).")] = None,
    tokens: Annotated[float | None, typer.Option("--tokens", help="Training tokens (default Chinchilla 20/param).")] = None,
    num_accelerators: Annotated[int | None, typer.Option("--num-accelerators", "--num-gpus", "-n")] = None,
    mfu: Annotated[float | None, typer.Option("--mfu", help="Model FLOPs utilization (0-1).")] = None,
    usd_per_gpu_hour: Annotated[float | None, typer.Option("--usd-per-gpu-hour")] = None,
    grid: Annotated[str | None, typer.Option("--grid")] = None,
    compute_flops: Annotated[float | None, typer.Option("--compute-flops", help="Budget for the Chinchilla-optimal size.")] = None,
    scenario: Scenario = None, sets: SetOpt = None, as_json: Json = False,
) -> None:
    """Training run: 6·N·D FLOPs, days at an MFU, GPU-hours, cost, energy, carbon."""
    inputs = _inputs("train", scenario, sets, dict(
        model=model, accelerator=accelerator, active_params=active_params, tokens=tokens,
        num_accelerators=num_accelerators, mfu_frac=mfu, usd_per_gpu_hour=usd_per_gpu_hour,
        grid=grid, compute_flops=compute_flops))
    r = api.train_report(inputs)
    if as_json:
        print_json(r)
        return
    x = r.run
    t = _table(f"Training {fmt_count(x.active_params)} active params on "
               f"{fmt_count(x.tokens)} tokens", ["item", "value"])
    t.add_row("FLOPs (6·N·D)", f"{x.flops:.3e}")
    t.add_row("cluster", f"{x.num_accelerators:,} x {x.accelerator} at {_pct(x.mfu_frac)} MFU "
              f"({x.precision}, {x.peak_flops_per_s / 1e12:,.0f} TFLOP/s dense peak)")
    t.add_row("wall time", f"{x.days:,.1f} days")
    t.add_row("accelerator-hours", f"{fmt_count(x.accelerator_hours)}")
    t.add_row("cost", f"{fmt_usd(x.cost_usd)} at {fmt_usd(x.usd_per_accelerator_hour)}/h")
    t.add_row("energy (facility)", f"{x.energy_mwh:,.0f} MWh")
    t.add_row(f"carbon ({r.grid})", f"{r.carbon_g / 1e6:,.0f} tCO2")
    c = r.chinchilla
    t.add_row("Chinchilla-optimal for this compute",
              f"{fmt_count(c.params)} params on {fmt_count(c.tokens)} tokens")
    console.print(t)
    _defaults(r.defaults_used)


def power_command(
    accelerator: Acc = None,
    num_accelerators: Annotated[int | None, typer.Option("--num-accelerators", "--num-gpus", "-n")] = None,
    utilization: Annotated[float | None, typer.Option("--utilization", help="Busy fraction (0-1).")] = None,
    pue: Annotated[float | None, typer.Option("--pue")] = None,
    grid: Annotated[str | None, typer.Option("--grid")] = None,
    tokens_per_s: Annotated[float | None, typer.Option("--tokens-per-s", help="Fleet tokens/s, for J/token.")] = None,
    system: Annotated[str | None, typer.Option("--system", help="System catalog entry (node/rack).")] = None,
    scenario: Scenario = None, sets: SetOpt = None, as_json: Json = False,
) -> None:
    """Power, energy, carbon and water of a deployment."""
    inputs = _inputs("power", scenario, sets, dict(
        accelerator=accelerator, num_accelerators=num_accelerators, utilization_frac=utilization,
        pue=pue, grid=grid, tokens_per_s=tokens_per_s, system=system))
    rep, defaults = api.power_report(inputs)
    if as_json:
        print_json({"power": to_jsonable(rep), "defaults_used": defaults})
        return
    t = _table(f"Power of {rep.num_accelerators:,} x {rep.accelerator} at "
               f"{_pct(rep.utilization_frac)} utilization", ["item", "value"])
    t.add_row("per accelerator (average)", f"{rep.accelerator_power_w:,.0f} W")
    t.add_row("per node (average)", f"{rep.node_power_w / 1e3:,.2f} kW "
              f"({rep.accelerators_per_node} accelerators)")
    t.add_row("nodes / racks", f"{rep.num_nodes:,} / {rep.num_racks:,}")
    t.add_row("rack power (provisioned)", f"{rep.rack_power_w / 1e3:,.1f} kW, {rep.cooling}")
    t.add_row("critical IT (average / provisioned)",
              f"{rep.it_power_w / MW:,.2f} / {rep.it_power_provisioned_w / MW:,.2f} MW")
    t.add_row(f"facility at PUE {rep.pue:g}",
              f"{rep.facility_power_w / MW:,.2f} / {rep.facility_power_provisioned_w / MW:,.2f} MW")
    t.add_row("annual energy", f"{rep.annual_energy_j / MWH:,.0f} MWh")
    t.add_row(f"annual carbon ({rep.grid}, {rep.carbon_g_per_kwh:g} g/kWh)",
              f"{rep.annual_carbon_g / 1e6:,.0f} tCO2")
    t.add_row("annual on-site water", f"{rep.annual_water_l / 1e6:,.1f} ML")
    if rep.energy_per_token_j is not None:
        t.add_row("energy per token (facility)", f"{rep.energy_per_token_j:.3f} J")
    console.print(t)
    console.print(f"(a year is {YEAR / DAY:.0f} days)")
    _defaults(defaults)


def register(app: typer.Typer) -> None:
    """Add the economics commands to the app."""
    app.command("tco")(tco_command)
    app.command("pnl")(pnl_command)
    app.command("fleet")(fleet_command)
    app.command("train")(train_command)
    app.command("power")(power_command)


