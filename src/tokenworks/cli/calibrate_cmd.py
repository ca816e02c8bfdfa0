"""``tokenworks calibrate``: fit the step-time calibration to your own serving measurements."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tokenworks.api import ServingSetup, calibrate, load_calibration, save_calibration
from tokenworks.cli.render import console, err_console, fmt_s, print_json
from tokenworks.files import check_output_path
from tokenworks.io.measurements import read_measurements
from tokenworks.perf.engine import DEFAULT_ENGINE
from tokenworks.perf.fit import DEFAULT_PARAMS, CalibrationFit


def calibrate_command(
    measurements: Annotated[Path, typer.Argument(help="The measured requests: a `vllm bench serve --save-result --save-detailed` JSON, a GuideLLM benchmarks.json, or a CSV with the columns arrival_s, input_tokens, output_tokens, ttft_s, e2e_s (time columns may be given in ms as arrival_ms, ttft_ms, e2e_ms; optional: run, and prefix_id with prefix_tokens for requests that share a prompt prefix). Rows with 0 output tokens are skipped.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Catalog model name or config.json path.")],
    hardware: Annotated[str, typer.Option("--hardware", "-H", help="Accelerator catalog name.")],
    engine: Annotated[str, typer.Option("--engine", "-e", help="The serving engine that was measured: vllm, sglang, trtllm (its defaults and overheads are the starting point).")] = DEFAULT_ENGINE,
    tp: Annotated[int, typer.Option(help="Tensor-parallel size of the measured replica.")] = 1,
    pp: Annotated[int, typer.Option(help="Pipeline-parallel size.")] = 1,
    num_replicas: Annotated[int, typer.Option("--num-replicas", help="Replicas behind the load balancer.")] = 1,
    weights_dtype: Annotated[str, typer.Option("--weights-dtype", help="bf16, fp8, int4, ...")] = "bf16",
    kv_dtype: Annotated[str | None, typer.Option("--kv-dtype", help="KV-cache dtype (default: bf16, the engines' auto).")] = None,
    max_num_batched_tokens: Annotated[int | None, typer.Option("--max-num-batched-tokens", help="Engine token budget per step (default: the engine's on this part).")] = None,
    max_num_seqs: Annotated[int | None, typer.Option("--max-num-seqs", help="Engine batch cap (default: the engine's on this part).")] = None,
    gpu_memory_utilization: Annotated[float | None, typer.Option("--gpu-memory-utilization", help="Fraction of device memory the engine used (default: the engine's).")] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Scheduler policy of the replay: decode_first (vLLM, TensorRT-LLM) or prefill_first (SGLang); default: the engine's.")] = None,
    prefix_cache: Annotated[str | None, typer.Option("--prefix-cache", help="Prefix cache of the replay: none or lru_blocks (default: lru_blocks when the file has prefix_id columns, else none).")] = None,
    kv_offload_gb: Annotated[float, typer.Option("--kv-offload-gb", help="Host memory the engine offloaded KV to, GB (vLLM --kv-offloading-size, LMCache); 0: none.")] = 0.0,
    format: Annotated[str, typer.Option("--format", help="auto, vllm, guidellm or csv.")] = "auto",
    params: Annotated[str, typer.Option("--params", help="Comma-separated parameters to fit.")] = ",".join(DEFAULT_PARAMS),
    base: Annotated[Path | None, typer.Option("--base", help="Calibration TOML to start from (default: the packaged one).")] = None,
    max_requests: Annotated[int | None, typer.Option("--max-requests", help="Use the first N requests of each run.")] = None,
    max_evaluations: Annotated[int, typer.Option("--max-evaluations", help="Simulator replays the fit may use.")] = 60,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 0,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the fitted calibration TOML here (for `estimate --calibration` and the scenario key `calibration`).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Replay measured requests through the simulator, fit the engine's overheads (per step,
    per sequence, front end) and the GEMM rate, report each parameter's uncertainty and the
    error before and after, and optionally write the calibration file."""
    if out is not None:
        check_output_path(out, what="--out", suffixes=(".toml",))
    meas = read_measurements(measurements, format=format)
    setup = ServingSetup(model=model, hardware=hardware, engine=engine, tp=tp, pp=pp,
                         num_replicas=num_replicas, weights_dtype=weights_dtype,
                         kv_dtype=kv_dtype, max_num_batched_tokens=max_num_batched_tokens,
                         max_num_seqs=max_num_seqs,
                         gpu_memory_utilization_frac=gpu_memory_utilization, policy=policy,
                         prefix_cache=prefix_cache, kv_offload_gb=kv_offload_gb)
    setup.check()
    fit = calibrate(meas, setup, base=load_calibration(base) if base is not None else None,
                    params=[p.strip() for p in params.split(",") if p.strip()],
                    max_requests=max_requests, max_evaluations=max_evaluations, seed=seed)
    written = str(save_calibration(fit.calibration, out)) if out is not None else None
    if as_json:
        print_json(fit.to_dict() | {"calibration_file": written})
        return
    render_fit(fit, written)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def render_fit(fit: CalibrationFit, written: str | None) -> None:
    for note in fit.notes:
        if "sits on its" in note:
            err_console.print(f"[yellow]warning:[/] {note}")
        else:
            console.print(f"[dim]{note}[/]")
    err = Table(title="Per-request median |replayed / measured − 1| (a replay of the measured "
                "arrivals and lengths; not simulate's percentiles)", header_style="bold")
    err.add_column("metric")
    err.add_column("before", justify="right")
    err.add_column("after", justify="right")
    for label, attr in (("TTFT", "ttft_frac"), ("TPOT", "tpot_frac"), ("E2E", "e2e_frac"),
                        ("step time", "step_frac")):
        b, a = getattr(fit.error_before, attr), getattr(fit.error_after, attr)
        if b is not None or a is not None:
            err.add_row(label, _pct(b), _pct(a))
    console.print(err)
    par = Table(title="Fitted parameters", header_style="bold")
    par.add_column("parameter")
    par.add_column("base", justify="right")
    par.add_column("fitted", justify="right")
    par.add_column("± 1σ", justify="right")
    base = dict(fit.base)
    sig = dict(fit.uncertainty)
    for name, value in fit.fitted:
        show = fmt_s if name.endswith("_s") else (lambda v: f"{v:.3f}")
        s = sig.get(name)
        band = f"×/÷ {s:.2f}" if s is not None else "–"
        par.add_row(name, show(base[name]), show(value), band)
    console.print(par)
    console.print(f"{fit.num_evaluations} simulator replays in {fit.wall_s:.1f} s.")
    if written:
        console.print(f"wrote [bold]{written}[/]: use it with `tokenworks estimate --calibration "
                      f"{written}` or the scenario key `calibration = \"{written}\"`.")


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_command)
