"""``tokenworks plan`` (the cheapest deployment that meets the SLO) and ``tokenworks runs``
(stored plans and their simulations: list, show, compare, export).

Renders ``PlanResult`` (display units: ms, $/M output tokens); ``--json`` prints
``PlanResult.to_dict()``. Latency flags are milliseconds; the plan file uses seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tokenworks.api.plan import default_db_path, plan
from tokenworks.cli.render import (
    ReportOpt,
    check_report_path,
    console,
    fmt_s,
    print_json,
    table,
    write_report_file,
)
from tokenworks.errors import ConfigError, InfeasibleError
from tokenworks.io.store import ResultStore
from tokenworks.planner import PlannedCandidate, PlanResult
from tokenworks.units import MS

_err = Console(stderr=True, highlight=False)
NUM_SHOWN = 8


def _csv(value: str | None, cast=str, flag: str = "") -> list | None:
    if value is None:
        return None
    try:
        return [cast(v.strip()) for v in value.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} {value[:40]!r} must be a comma-separated list of "
                          f"{'whole numbers, e.g. 1,2,4,8' if cast is int else 'values'}."
                          ) from None


def _ms(x: float | None) -> float | None:
    return None if x is None else x * MS


def plan_command(
    spec: Annotated[Path | None, typer.Argument(help="Plan file (.yaml, .yml or .toml); or give flags.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model catalog name.")] = None,
    input_tokens: Annotated[int | None, typer.Option("--input-tokens")] = None,
    output_tokens: Annotated[int | None, typer.Option("--output-tokens")] = None,
    rate: Annotated[float | None, typer.Option("--rate", help="Demand, requests/s (none: rank by capacity).")] = None,
    tokens_per_day: Annotated[float | None, typer.Option("--output-tokens-per-day", help="Demand as output tokens/day.")] = None,
    ttft_ms: Annotated[float | None, typer.Option("--ttft-slo-ms")] = None,
    tpot_ms: Annotated[float | None, typer.Option("--tpot-slo-ms")] = None,
    e2e_ms: Annotated[float | None, typer.Option("--e2e-slo-ms")] = None,
    percentile: Annotated[str | None, typer.Option("--percentile", help="p50, p90 (default) or p99.")] = None,
    num_gpus: Annotated[int | None, typer.Option("--num-gpus", help="GPU budget (max GPUs).")] = None,
    hardware: Annotated[str | None, typer.Option("--hardware", help="Comma list of accelerators.")] = None,
    prefill_hardware: Annotated[str | None, typer.Option("--prefill-hardware", help="Comma list for disaggregated prefill pools.")] = None,
    vendors: Annotated[str | None, typer.Option("--vendors", help="Comma list, e.g. nvidia,amd.")] = None,
    weights_dtype: Annotated[str | None, typer.Option("--weights-dtype", help="Comma list, e.g. bf16,fp8 (default: the checkpoint's format).")] = None,
    kv_dtype: Annotated[str | None, typer.Option("--kv-dtype", help="Comma list.")] = None,
    tp: Annotated[str | None, typer.Option("--tp", help="Comma list, e.g. 1,2,4,8.")] = None,
    modes: Annotated[str | None, typer.Option("--modes", help="aggregated,disaggregated")] = None,
    objective: Annotated[str | None, typer.Option("--objective", help="cost, gpus, power, goodput_per_usd.")] = None,
    pricing: Annotated[str | None, typer.Option("--pricing", help="rental (default) or tco.")] = None,
    max_power_mw: Annotated[float | None, typer.Option("--max-power-mw")] = None,
    max_usd_per_hour: Annotated[float | None, typer.Option("--max-usd-per-hour")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="Candidates to simulate.")] = None,
    num_requests: Annotated[int | None, typer.Option("--num-requests", help="Requests per simulation.")] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    engine: Annotated[str | None, typer.Option("--engine", "-e", help="Serving engine: vllm (default), sglang, trtllm.")] = None,
    backend: Annotated[str, typer.Option("--backend", help="local (default), ray or serial.")] = "local",
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes (default: all cores).")] = None,
    address: Annotated[str | None, typer.Option("--address", help="Ray cluster address (host:port).")] = None,
    db: Annotated[Path | None, typer.Option("--db", help="Results database (default: beside the plan file).")] = None,
    no_db: Annotated[bool, typer.Option("--no-db", help="Do not store results.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    report: ReportOpt = None,
) -> None:
    """The cheapest deployment that meets the SLO: screened analytically, confirmed by
    simulation, explained."""
    if spec is None and model is None:
        raise ConfigError("give a plan file (tokenworks plan PLAN.yaml) or at least --model, "
                          "--input-tokens, --output-tokens and an SLO flag.")
    check_report_path(report)
    pct = percentile
    overrides: dict[str, Any] = {
        "model": model, "objective": objective, "pricing": pricing, "seed": seed,
        "engine": engine,
        "demand": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                   "rate_per_s": rate, "output_tokens_per_day": tokens_per_day},
        "slo": {"ttft_s": _ms(ttft_ms), "tpot_s": _ms(tpot_ms), "e2e_s": _ms(e2e_ms),
                "percentile": pct},
        "search": {"hardware": _csv(hardware), "prefill_hardware": _csv(prefill_hardware),
                   "vendors": _csv(vendors), "weights_dtypes": _csv(weights_dtype),
                   "kv_dtypes": _csv(kv_dtype), "tp": _csv(tp, int, "--tp"), "modes": _csv(modes)},
        "budget": {"max_gpus": num_gpus, "max_usd_per_hour": max_usd_per_hour,
                   "max_power_mw": max_power_mw},
        "simulation": {"top_k": top_k, "num_requests": num_requests},
    }
    if db is None and spec is not None and not no_db:
        db = default_db_path(spec)
    if no_db:
        db = None
    show_bar = not quiet and not as_json and sys.stderr.isatty()
    if show_bar:
        with Progress(TextColumn("[bold]simulating candidates[/]"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=_err,
                      transient=True) as bar:
            task = bar.add_task("plan", total=None)
            result = plan(spec, overrides=overrides, backend=backend, workers=workers,
                          address=address, db=db,
                          progress=lambda d, n: bar.update(task, completed=d, total=n))
    else:
        result = plan(spec, overrides=overrides, backend=backend, workers=workers,
                      address=address, db=db)
    if as_json:
        print_json(result.to_dict())
    else:
        render_plan(result)
        if db is not None:
            console.print(f"[dim]stored as run {result.run_id} in {db} "
                          f"(tokenworks runs show {result.run_id} --db {db})[/]")
    write_report_file(report, result, quiet=as_json)
    if not result.feasible:
        raise InfeasibleError("no configuration meets the SLO; the closest candidates and what "
                              "would be needed are listed above.")


def _lat(p: PlannedCandidate, key: str) -> str:
    v = p.latency_s.get(key)
    return "—" if v is None else fmt_s(v)


def render_plan(r: PlanResult) -> None:
    q = r.question
    d = q["demand"]
    shape = ", ".join(f"{c['input_tokens']:,} in / {c['output_tokens']:,} out"
                      + (f" ({c['share_frac']:.0%})" if len(d["classes"]) > 1 else "")
                      for c in d["classes"][:4])
    slo = ", ".join(f"{t['metric'].upper()} {t['percentile']} ≤ {fmt_s(t['limit_s'])}"
                    for t in q["slo"])
    rate = "capacity per unit" if d["rate_per_s"] is None else f"{d['rate_per_s']:g} req/s"
    console.print(f"[bold]{escape(r.name)}[/]: {q['model']}, {shape}, {rate}; SLO {slo}; "
                  f"objective {q['objective']} ({q['pricing']} prices)")
    s = r.screen
    console.print(f"screened {s['num_candidates']:,} configurations analytically "
                  f"({s['num_feasible_analytic']:,} meet the SLO on paper) in "
                  f"{r.timings.get('screen_s', 0):.2f} s; simulated {s['num_simulated']}; "
                  f"total {r.timings.get('total_s', 0):.1f} s")
    t = table("Top configurations (simulated, best first)",
              ["#", "configuration", "GPUs", "$/M out tok", "tok/s/GPU", "tok/s/user",
               "TTFT p90", "TPOT p90", "E2E p90", "meets SLO", "binding"])
    for p in r.candidates[:NUM_SHOWN]:
        t.add_row(str(p.rank), escape(f"{p.units}× {p.label}"), str(p.num_gpus),
                  "—" if p.usd_per_million_output_tokens == float("inf")
                  else f"{p.usd_per_million_output_tokens:,.3f}",
                  f"{p.output_tokens_per_s_per_gpu:,.0f}",
                  f"{p.output_tokens_per_s_per_user:,.1f}", _lat(p, "ttft_p90"),
                  _lat(p, "tpot_p90"), _lat(p, "e2e_p90"), "yes" if p.meets_slo else "no",
                  escape(p.binding))
    console.print(t)
    if r.explanation is not None:
        for line in r.explanation.lines:
            console.print(f"  • {escape(line)}")
    for line in r.diagnosis:
        console.print(f"  [yellow]•[/] {escape(line)}")
    front = r.pareto_throughput_interactivity
    if front:
        f = table("Pareto front: tokens/s/GPU vs tokens/s/user (analytic, aggregated)",
                  ["configuration", "tok/s/user", "tok/s/GPU"])
        step = max(1, len(front) // 10)
        for pt in front[::step]:
            f.add_row(escape(pt["label"]), f"{pt['output_tokens_per_s_per_user']:,.1f}",
                      f"{pt['output_tokens_per_s_per_gpu']:,.0f}")
        console.print(f)
    if r.pareto_cost_latency:
        key = next(k for k in r.pareto_cost_latency[0] if k.endswith("_s"))
        f = table(f"Pareto front: cost vs {key.removesuffix('_s').replace('_', ' ')} "
                  f"(simulated)", ["configuration", key.removesuffix("_s"), "$/M out tok"])
        for pt in r.pareto_cost_latency:
            f.add_row(escape(pt["label"]), fmt_s(pt[key]),
                      f"{pt['usd_per_million_output_tokens']:,.3f}")
        console.print(f)


# ---------------------------------------------------------------------------------------------
# runs

runs_app = typer.Typer(help="Stored plans and their simulations: list, show, compare, export.",
                       no_args_is_help=False, invoke_without_command=True)
DbOpt = Annotated[Path, typer.Option("--db", help="Results database (NAME.plans.duckdb).")]


@runs_app.callback()
def runs_default(ctx: typer.Context,
                 db: Annotated[Path | None, typer.Option("--db", help="Results database.")] = None,
                 as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the stored runs (the default), or show, compare and export them."""
    if ctx.invoked_subcommand is None:
        if db is None:
            raise ConfigError("give --db FILE (a plan writes NAME.plans.duckdb beside its file).")
        runs_list(db, as_json)


@runs_app.command("list")
def runs_list(db: DbOpt, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every stored run, oldest first."""
    with ResultStore(db, read_only=True) as store:
        rows = store.runs()
    if as_json:
        print_json(rows)
        return
    t = table(f"Runs in {db}", ["run", "kind", "name", "created", "status", "simulations"])
    for r in rows:
        t.add_row(r["run_id"], r["kind"], escape(r["name"]), str(r["created_at"])[:19],
                  r["status"], str(r["num_results"]))
    console.print(t)


@runs_app.command("show")
def runs_show(run: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).")],
              db: DbOpt, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One run: its recommendation, candidates and simulations."""
    with ResultStore(db, read_only=True) as store:
        info = store.run(run)
        sims = store.results_table(info["run_id"]).to_pylist()
    if as_json:
        print_json({**info, "simulations": sims})
        return
    res = info["result"] or {}
    console.print(f"[bold]run {info['run_id']}[/] ({info['kind']}, {escape(info['name'])}, "
                  f"{info['status']})")
    rec = res.get("recommendation")
    if rec:
        console.print(f"recommendation: {rec['units']}× {escape(rec['label'])}, "
                      f"{rec['num_gpus']} GPUs, "
                      f"${rec['usd_per_million_output_tokens']:,.3f} per M output tokens")
    for line in (res.get("explanation") or {}).get("lines", []) + res.get("diagnosis", []):
        console.print(f"  • {escape(line)}")
    t = table("Simulations", ["configuration", "kind", "GPUs", "capacity req/s", "TTFT p90",
                              "TPOT p90", "binding"])
    for s in sims:
        t.add_row(escape(s["label"]), s["kind"], str(s["unit_gpus"]),
                  f"{s['capacity_rate_per_s']:.3g}",
                  "—" if s["ttft_p90_s"] is None else fmt_s(s["ttft_p90_s"]),
                  "—" if s["tpot_p90_s"] is None else fmt_s(s["tpot_p90_s"]),
                  escape(s["binding"]))
    console.print(t)


@runs_app.command("compare")
def runs_compare(a: Annotated[str, typer.Argument()], b: Annotated[str, typer.Argument()],
                 db: DbOpt, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Two runs' recommendations side by side."""
    with ResultStore(db, read_only=True) as store:
        runs = [store.run(a), store.run(b)]
    recs = [(r["result"] or {}).get("recommendation") or {} for r in runs]
    keys = ("label", "units", "num_gpus", "usd_per_million_output_tokens",
            "output_tokens_per_s_per_gpu", "output_tokens_per_s_per_user", "ttft_p90_s",
            "tpot_p90_s", "e2e_p90_s", "binding")
    if as_json:
        print_json({r["run_id"]: {k: rec.get(k) for k in keys}
                    for r, rec in zip(runs, recs, strict=True)})
        return
    t = table("Recommendations", ["", runs[0]["run_id"], runs[1]["run_id"]])
    for k in keys:
        t.add_row(k, *(escape(str(rec.get(k, "—"))) for rec in recs))
    console.print(t)


@runs_app.command("export")
def runs_export(run: Annotated[str, typer.Argument()], db: DbOpt,
                out: Annotated[Path, typer.Option("--out", "-o", help=".parquet or .csv")]) -> None:
    """A run's simulations to Parquet or CSV."""
    from tokenworks.files import check_output_path, writing_atomically

    check_output_path(out, what="--out", suffixes=(".parquet", ".csv"))
    with ResultStore(db, read_only=True) as store:
        tab = store.results_table(run)
    with writing_atomically(out) as tmp:
        if out.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(tab, tmp)
        else:
            import pyarrow.csv as pacsv

            pacsv.write_csv(tab, tmp)
    console.print(f"{tab.num_rows} simulations written to {out}")


def register(app: typer.Typer) -> None:
    """Add ``plan`` and ``runs`` to the app."""
    app.command("plan")(plan_command)
    app.add_typer(runs_app, name="runs")

