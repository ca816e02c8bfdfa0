"""Sizing and energy: ``fleet``, ``train``, ``power``.

Inputs merge as sourced defaults < ``--scenario`` file (TOML/YAML) < ``--set key=value`` <
explicit flags (``io.economics``); every command lists the defaults it used and ``--json``
prints one JSON object. The commands render results from ``tokenworks.api.economics``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tokenworks.api.economics import fleet_report, power_report, train_report
from tokenworks.cli.render import (
    Acc,
    Json,
    ReportOpt,
    ScenarioOpt,
    SetOpt,
    check_report_path,
    console,
    fmt_count,
    fmt_pct,
    fmt_usd,
    print_defaults,
    print_json,
    table,
    to_jsonable,
    write_report_file,
)
from tokenworks.io.economics import question
from tokenworks.units import DAY, MS, MW, MWH, YEAR


def fleet_command(
    model: Annotated[str | None, typer.Option("--model", "-m")] = None,
    accelerator: Acc = None,
    tp: Annotated[int | None, typer.Option("--tp")] = None,
    demand_tps: Annotated[float | None, typer.Option("--demand-tokens-per-s", help="Average output tokens/s.")] = None,
    demand_tpd: Annotated[float | None, typer.Option("--demand-tokens-per-day", help="Output tokens per day.")] = None,
    demand_rps: Annotated[float | None, typer.Option("--demand-requests-per-s", help="Requests/s of the --input/--output-tokens shape.")] = None,
    tpot_slo_ms: Annotated[float | None, typer.Option("--tpot-slo-ms", help="Time-per-output-token SLO (ms): shrinks the batch.")] = None,
    ttft_slo_ms: Annotated[float | None, typer.Option("--ttft-slo-ms", help="Zero-load TTFT SLO (ms).")] = None,
    input_tokens: Annotated[int | None, typer.Option("--input-tokens", "-i")] = None,
    output_tokens: Annotated[int | None, typer.Option("--output-tokens", "-o")] = None,
    peak: Annotated[float | None, typer.Option("--peak-to-average", help="Provision for peak / average demand.")] = None,
    grid: Annotated[str | None, typer.Option("--grid", help="Grid for carbon (us, world, france, ...).")] = None,
    budget_mw: Annotated[float | None, typer.Option("--power-budget-mw", help="Also: what a facility of this MW can serve.")] = None,
    facility: Annotated[str | None, typer.Option("--facility", help="colocation or owned.")] = None,
    scenario: ScenarioOpt = None, sets: SetOpt = None, as_json: Json = False,
    report: ReportOpt = None,
) -> None:
    """Size a fleet for a token demand: accelerators, racks, MW, capex, opex, $/M tokens.

    A scenario file may give a length mix instead of one shape: request_mix = [{input_tokens =
    512, output_tokens = 128, share = 0.6}, ...] (shares of requests, summing to 1).
    """
    check_report_path(report)
    q = question("fleet", scenario=scenario, sets=sets, flags=dict(
        model=model, accelerator=accelerator, tp=tp, demand_output_tokens_per_s=demand_tps,
        demand_output_tokens_per_day=demand_tpd, demand_requests_per_s=demand_rps,
        tpot_slo_s=None if tpot_slo_ms is None else tpot_slo_ms * MS,
        ttft_slo_s=None if ttft_slo_ms is None else ttft_slo_ms * MS, input_tokens=input_tokens,
        output_tokens=output_tokens, peak_to_average=peak, grid=grid, power_budget_mw=budget_mw,
        facility=facility))
    r = fleet_report(q)
    write_report_file(report, r, quiet=as_json)
    if as_json:
        print_json(r)
        return
    p, pw = r.plan, r.plan.power
    if r.classes:
        t = table("Request classes (each sized at the SLOs for its share of requests)",
                   ["in/out", "share", "req/s", "batch", "TPOT ms", "tok/s/rep", "replicas",
                    "accel.", "util", "fac. MW", "$/M out"])
        for c in r.classes:
            cp, e = c.plan, c.estimate
            t.add_row(f"{c.input_tokens}/{c.output_tokens}", fmt_pct(c.share_frac),
                      f"{c.requests_per_s:,.1f}", str(e.batch_size), f"{e.tpot_s * 1e3:.1f}",
                      f"{cp.output_tokens_per_s_per_replica:,.0f}", f"{cp.num_replicas:,}",
                      f"{cp.num_accelerators:,}", fmt_pct(cp.utilization_frac),
                      f"{cp.power.facility_power_provisioned_w / MW:,.2f}",
                      f"{cp.usd_per_million_output_tokens:.3f}")
        t.add_row("[bold]total[/]", "100.0%", f"{sum(c.requests_per_s for c in r.classes):,.1f}",
                  "", "", f"{p.output_tokens_per_s_per_replica:,.0f}", f"{p.num_replicas:,}",
                  f"{p.num_accelerators:,}", fmt_pct(p.utilization_frac),
                  f"{pw.facility_power_provisioned_w / MW:,.2f}",
                  f"{p.usd_per_million_output_tokens:.3f}")
        console.print(t)
    t = table(f"Fleet for {fmt_count(p.demand_output_tokens_per_s)} output tokens/s "
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
    t.add_row("average utilization", fmt_pct(p.utilization_frac))
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
    print_defaults(r.defaults_used)


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
    scenario: ScenarioOpt = None, sets: SetOpt = None, as_json: Json = False,
    report: ReportOpt = None,
) -> None:
    """Training run: 6·N·D FLOPs, days at an MFU, GPU-hours, cost, energy, carbon."""
    check_report_path(report)
    q = question("train", scenario=scenario, sets=sets, flags=dict(
        model=model, accelerator=accelerator, active_params=active_params, tokens=tokens,
        num_accelerators=num_accelerators, mfu_frac=mfu, usd_per_gpu_hour=usd_per_gpu_hour,
        grid=grid, compute_flops=compute_flops))
    r = train_report(q)
    write_report_file(report, r, quiet=as_json)
    if as_json:
        print_json(r)
        return
    x = r.run
    t = table(f"Training {fmt_count(x.active_params)} active params on "
               f"{fmt_count(x.tokens)} tokens", ["item", "value"])
    t.add_row("FLOPs (6·N·D)", f"{x.flops:.3e}")
    t.add_row("cluster", f"{x.num_accelerators:,} x {x.accelerator} at {fmt_pct(x.mfu_frac)} MFU "
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
    print_defaults(r.defaults_used)


def power_command(
    accelerator: Acc = None,
    num_accelerators: Annotated[int | None, typer.Option("--num-accelerators", "--num-gpus", "-n")] = None,
    utilization: Annotated[float | None, typer.Option("--utilization", help="Busy fraction (0-1).")] = None,
    pue: Annotated[float | None, typer.Option("--pue")] = None,
    grid: Annotated[str | None, typer.Option("--grid")] = None,
    tokens_per_s: Annotated[float | None, typer.Option("--tokens-per-s", help="Fleet tokens/s, for J/token.")] = None,
    system: Annotated[str | None, typer.Option("--system", help="System catalog entry (node/rack).")] = None,
    scenario: ScenarioOpt = None, sets: SetOpt = None, as_json: Json = False,
    report: ReportOpt = None,
) -> None:
    """Power, energy, carbon and water of a deployment."""
    check_report_path(report)
    q = question("power", scenario=scenario, sets=sets, flags=dict(
        accelerator=accelerator, num_accelerators=num_accelerators, utilization_frac=utilization,
        pue=pue, grid=grid, tokens_per_s=tokens_per_s, system=system))
    rep, defaults = power_report(q)
    write_report_file(report, rep, quiet=as_json, defaults_used=defaults)
    if as_json:
        print_json({"power": to_jsonable(rep), "defaults_used": defaults})
        return
    t = table(f"Power of {rep.num_accelerators:,} x {rep.accelerator} at "
               f"{fmt_pct(rep.utilization_frac)} utilization", ["item", "value"])
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
    print_defaults(defaults)


def register(app: typer.Typer) -> None:
    """Add the sizing and energy commands to the app."""
    app.command("fleet")(fleet_command)
    app.command("train")(train_command)
    app.command("power")(power_command)
