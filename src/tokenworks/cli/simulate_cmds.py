"""``tokenworks simulate SCENARIO``: run a scenario file through the serving simulator.

Renders the summary as a table (display units: ms, $/Mtok) or one JSON object with
``--json``; ``--out`` writes the per-request records (.parquet, .csv or .json by extension),
``--trace-out`` a Chrome/Perfetto trace of request lifetimes and ``--report`` an HTML report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tokenworks.api import SimulationResult, simulate
from tokenworks.cli.render import (
    ReportOpt,
    check_report_path,
    console,
    err_console,
    fmt_s,
    print_json,
    write_report_file,
)
from tokenworks.files import check_output_path
from tokenworks.serving.result import REQUEST_FORMATS
from tokenworks.units import KWH

_err = err_console


def simulate_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (.yaml, .yml or .toml).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write per-request records (.parquet, .csv or .json).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the scenario's seed.")] = None,
    max_requests: Annotated[int | None, typer.Option("--max-requests", help="Cap the number of requests (sessions for multi-turn traffic).")] = None,
    trace_out: Annotated[Path | None, typer.Option("--trace-out", help="Write a Chrome/Perfetto trace (JSON): request lifetimes and every engine step.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    report: ReportOpt = None,
) -> None:
    """Simulate a deployment serving a workload or trace; report latency, throughput, cost."""
    # Outputs are checked before the run, so a bad path never costs a finished simulation.
    if out is not None:
        check_output_path(out, what="--out", suffixes=REQUEST_FORMATS)
    if trace_out is not None:
        check_output_path(trace_out, what="--trace-out", suffixes=(".json",))
    check_report_path(report)
    # A report draws per-replica utilization over time from the engine steps.
    record = report is not None or trace_out is not None
    show_bar = not quiet and not as_json and sys.stderr.isatty()
    if show_bar:
        with Progress(TextColumn("[bold]simulating[/]"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("requests"), TimeElapsedColumn(), console=_err,
                      transient=True) as bar:
            task = bar.add_task("sim", total=None)

            def progress(done: int, expected: int) -> None:
                bar.update(task, completed=done, total=expected)

            result = simulate(scenario, seed=seed, progress=progress, max_requests=max_requests,
                              record_steps=record)
    else:
        result = simulate(scenario, seed=seed, max_requests=max_requests, record_steps=record)
    if out is not None:
        result.write_requests(out)
    if trace_out is not None:
        result.write_chrome_trace(trace_out)
    if as_json:
        print_json(result.summary)
    else:
        render_summary(result)
        if out is not None:
            console.print(f"[dim]per-request records written to {out}[/]")
        if trace_out is not None:
            console.print(f"[dim]Chrome trace written to {trace_out}[/]")
    for w in result.warnings:
        _err.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    write_report_file(report, result, quiet=as_json)


def _ms(x: float | None) -> str:
    return "—" if x is None else fmt_s(x)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def render_summary(result: SimulationResult) -> None:
    s: dict[str, Any] = result.summary
    console.print(f"[bold]{s['scenario']}[/]: {s['model']}, {s['num_gpus']} GPUs, seed {s['seed']}")
    lat = Table(title="Latency", header_style="bold")
    for col in ("metric", "mean", "p50", "p90", "p99"):
        lat.add_column(col, justify="right" if col != "metric" else "left")
    for key, label in (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "E2E"),
                       ("queued_s", "queueing")):
        st = s[key]
        lat.add_row(label, *(_ms(st[k]) for k in ("mean", "p50", "p90", "p99")))
    console.print(lat)
    t = Table(title="Throughput, cache, cost", header_style="bold")
    t.add_column("metric")
    t.add_column("value", justify="right")
    rows = [
        ("requests (completed / total)", f"{s['num_completed']:,} / {s['num_requests']:,}"),
        ("rejected / unfinished", f"{s['num_rejected']:,} / {s['num_unfinished']:,}"),
        ("duration", fmt_s(s["duration_s"])),
        ("output tokens/s", f"{s['output_tokens_per_s']:,.0f}"),
        ("requests/s", f"{s['requests_per_s']:,.2f}"),
        ("goodput (req/s within SLO)", f"{s['goodput_requests_per_s']:,.2f}"),
        ("SLO attainment", _pct(s["slo_attainment_frac"])),
        ("prefix hit (tokens)", _pct(s["prefix_hit_frac"])),
    ]
    for tier, frac in s["tier_hit_frac"].items():
        rows.append((f"  hit from {tier}", _pct(frac)))
    rows += [
        ("preemptions", f"{s['num_preemptions']:,}"),
        ("peak queue (requests)", f"{s['queue']['max_outstanding']:,}"),
        ("$ per GPU-hour", "—" if s["usd_per_gpu_hour"] is None
         else f"{s['usd_per_gpu_hour']:.2f}"),
        ("$ per million output tokens", "—" if s["usd_per_million_output_tokens"] is None
         else f"{s['usd_per_million_output_tokens']:,.3f}"),
        ("energy (accelerators)", f"{s['energy_j'] / KWH:,.2f} kWh"),
        ("J per output token", "—" if s["joules_per_output_token"] is None
         else f"{s['joules_per_output_token']:.2f}"),
    ]
    if "kv_transfer" in s:
        kt = s["kv_transfer"]
        rows.append(("KV transfers (mean time)", f"{kt['num_transfers']:,} ({_ms(kt['mean_time_s'])})"))
    if "sessions" in s:
        ss = s["sessions"]
        rows += [("sessions completed", f"{ss['num_sessions_completed']:,}"),
                 ("session latency p50", _ms(ss["session_latency_s"]["p50"])),
                 ("time in tools / LLM", f"{_pct(ss['tool_time_frac'])} / {_pct(ss['llm_time_frac'])}")]
        if ss.get("cpu_pool_utilization_frac") is not None:
            rows.append(("CPU pool utilization", _pct(ss["cpu_pool_utilization_frac"])))
    for k, v in rows:
        t.add_row(k, v)
    console.print(t)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the app."""
    app.command("simulate")(simulate_command)
