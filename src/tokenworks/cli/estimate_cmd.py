"""``tokenworks estimate``: the analytic answer for one deployment and request shape."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tokenworks.api.estimate import Estimate, estimate
from tokenworks.cli.render import (
    ReportOpt,
    check_report_path,
    console,
    err_console,
    fmt_bytes,
    fmt_count,
    fmt_gib,
    fmt_s,
    fmt_usd,
    print_json,
    write_report_file,
)
from tokenworks.errors import ConfigError, check_range
from tokenworks.io.calibration import read_calibration
from tokenworks.perf.deployment import make_spec_decode
from tokenworks.perf.engine import DEFAULT_ENGINE

# The built-in default scenario: the question the README asks.
DEFAULT_MODEL = "llama-3.1-70b"
DEFAULT_HARDWARE = "h200"
DEFAULT_TP = 8
DEFAULT_WEIGHTS = "fp8"


def _parse_batch(value: str) -> int | str:
    if value.strip().lower() == "max":
        return "max"
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"--batch {value!r} must be a positive integer or 'max'.") from None


def estimate_command(
    model: Annotated[str, typer.Option("--model", "-m", help="Catalog model name or path to a config.json.")] = DEFAULT_MODEL,
    hardware: Annotated[str, typer.Option("--hardware", "-H", help="Accelerator catalog name.")] = DEFAULT_HARDWARE,
    num_gpus: Annotated[int | None, typer.Option("--num-gpus", "-n", help="Accelerators in total (replicas = n / (tp×dp×pp)). Default: one replica.")] = None,
    tp: Annotated[int | None, typer.Option(help="Tensor-parallel size per replica (default: 8 for the built-in scenario, else the smallest that fits).")] = None,
    pp: Annotated[int, typer.Option(help="Pipeline-parallel size per replica.")] = 1,
    ep: Annotated[int, typer.Option(help="Expert-parallel size (MoE): experts placed whole on ep of a stage's tp×dp GPUs.")] = 1,
    dp: Annotated[int, typer.Option(help="Data-parallel attention ranks per replica (MoE; needs --ep tp×dp), e.g. SGLang --enable-dp-attention.")] = 1,
    weights_dtype: Annotated[str | None, typer.Option("--weights-dtype", help="bf16, fp16, fp8, fp8_block, int8, int4, fp4, nvfp4, mxfp4 (default: fp8 for the built-in scenario, else the checkpoint's own format: bf16/fp16, FP8 block-scaled for DeepSeek and Kimi, MXFP4 experts for gpt-oss).")] = None,
    kv_dtype: Annotated[str | None, typer.Option("--kv-dtype", help="KV-cache precision (default: the engine's: bf16; TensorRT-LLM fp8 with 8/4-bit weights).")] = None,
    input_tokens: Annotated[int, typer.Option("--input-tokens", "-i", help="Prompt tokens per request.")] = 2048,
    output_tokens: Annotated[int, typer.Option("--output-tokens", "-o", help="Output tokens per request.")] = 256,
    batch: Annotated[str, typer.Option("--batch", "-b", help="Concurrent sequences per replica, or 'max' (largest that fits).")] = "max",
    prefix_hit: Annotated[float, typer.Option("--prefix-hit", help="Fraction of prompt tokens served from the prefix cache (0–1).")] = 0.0,
    usd_per_gpu_hour: Annotated[float | None, typer.Option("--usd-per-gpu-hour", help="Price per GPU-hour (default: catalog rental price).")] = None,
    engine: Annotated[str, typer.Option("--engine", "-e", help="Serving engine whose defaults, overheads and calibration apply: vllm, sglang, trtllm.")] = DEFAULT_ENGINE,
    tpot_slo_ms: Annotated[float | None, typer.Option("--tpot-slo-ms", help="TPOT target (ms): with --batch max, the largest batch that meets it.")] = None,
    ttft_slo_ms: Annotated[float | None, typer.Option("--ttft-slo-ms", help="TTFT target at the chosen load (ms): with --batch max, the largest batch that meets it.")] = None,
    sweep: Annotated[bool, typer.Option("--sweep", help="Add the latency–throughput curve across batch sizes (1, 2, 4, … max).")] = False,
    gpu_memory_utilization: Annotated[float | None, typer.Option("--gpu-memory-utilization", help="Fraction of device memory the engine may use (default: the engine's, e.g. vLLM 0.9).")] = None,
    max_num_seqs: Annotated[int | None, typer.Option("--max-num-seqs", help="Engine cap on concurrent sequences per replica (default: the engine's on this part).")] = None,
    max_num_batched_tokens: Annotated[int | None, typer.Option("--max-num-batched-tokens", help="Engine cap on tokens per step, decode + prefill chunks (default: the engine's on this part).")] = None,
    calibration: Annotated[str | None, typer.Option("--calibration", help="Calibration TOML (from `tokenworks calibrate`).")] = None,
    spec: Annotated[str | None, typer.Option("--spec", help="Speculative decoding: mtp, eagle, draft or ngram.")] = None,
    spec_tokens: Annotated[int | None, typer.Option("--spec-tokens", help="Drafted tokens per step (default: 3 for mtp and eagle).")] = None,
    spec_acceptance: Annotated[float | None, typer.Option("--spec-acceptance", help="Chance one drafted token is accepted (0–1).")] = None,
    spec_acceptance_length: Annotated[float | None, typer.Option("--spec-acceptance-length", help="Mean tokens per step (the engines' acceptance length), instead of --spec-acceptance.")] = None,
    draft_model: Annotated[str | None, typer.Option("--draft-model", help="Draft model for --spec draft (catalog name or config.json).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    report: ReportOpt = None,
) -> None:
    """Estimate latency, throughput, $/M tokens and J/token for one deployment.

    With no options it answers the built-in default scenario: Llama-3.1-70B on 8× H200 at
    FP8 (TP8) under vLLM, 2,048 input / 256 output tokens, the largest batch that fits. Add
    --tpot-slo-ms / --ttft-slo-ms for the largest batch that meets a latency target, and
    --sweep for the latency–throughput curve.
    """
    scenario = model == DEFAULT_MODEL and hardware == DEFAULT_HARDWARE
    if tp is None and scenario:
        tp = DEFAULT_TP
    if weights_dtype is None:
        weights_dtype = DEFAULT_WEIGHTS if scenario else None  # None: the checkpoint's format
    check_report_path(report)
    cal = read_calibration(calibration) if calibration is not None else None
    sd = None
    if spec is not None:
        sd = make_spec_decode(spec, num_tokens=spec_tokens, acceptance_rate=spec_acceptance,
                              acceptance_length=spec_acceptance_length, draft_model=draft_model)
    elif any(v is not None for v in (spec_tokens, spec_acceptance, spec_acceptance_length,
                                     draft_model)):
        raise ConfigError("--spec-tokens, --spec-acceptance, --spec-acceptance-length and "
                          "--draft-model need --spec (mtp, eagle, draft or ngram).")
    est = estimate(
        model, hardware, num_gpus=num_gpus, tp=tp, pp=pp, ep=ep, dp=dp, spec=sd,
        weights_dtype=weights_dtype,
        kv_dtype=kv_dtype, input_tokens=input_tokens, output_tokens=output_tokens,
        batch=_parse_batch(batch), prefix_hit_frac=prefix_hit, usd_per_gpu_hour=usd_per_gpu_hour,
        engine=engine, gpu_memory_utilization_frac=gpu_memory_utilization,
        max_num_seqs=max_num_seqs, max_num_batched_tokens=max_num_batched_tokens,
        calibration=cal, tpot_slo_s=_ms(tpot_slo_ms, "--tpot-slo-ms"),
        ttft_slo_s=_ms(ttft_slo_ms, "--ttft-slo-ms"), sweep=sweep,
    )
    if as_json:
        print_json(est.to_dict())
    else:
        render_estimate(est)
    write_report_file(report, est, quiet=as_json, model=model, calibration=cal,
                      max_num_batched_tokens=max_num_batched_tokens)


def _ms(value: float | None, flag: str) -> float | None:
    if value is None:
        return None
    check_range(flag, value, low=0.0, low_inclusive=False, high=3_600_000.0, unit="ms",
                fix="Give the target in milliseconds, e.g. 50.")
    return value / 1e3


def render_estimate(e: Estimate) -> None:
    m = e.memory
    console.print(
        f"[bold]{e.model}[/] on [bold]{e.num_gpus}× {e.hardware}[/] "
        f"(tp={e.tp}, pp={e.pp}, ep={e.ep}{f', dp={e.dp}' if e.dp > 1 else ''}; {e.num_replicas} replica{'s' if e.num_replicas > 1 else ''}), "
        f"{e.engine}, weights {e.weights_dtype}, KV {e.kv_dtype}, "
        f"{e.input_tokens:,} in / {e.output_tokens:,} out"
    )
    mem = Table(title="Memory plan (per GPU)", show_header=True, header_style="bold")
    mem.add_column("item")
    mem.add_column("value", justify="right")
    mem.add_column("note")
    mem.add_row("HBM", fmt_gib(m["gpu_memory_bytes"]), "")
    mem.add_row("usable", fmt_gib(m["usable_bytes_per_gpu"]),
                f"gpu_memory_utilization = {m['gpu_memory_utilization_frac']:.2f}")
    mem.add_row("weights", fmt_gib(m["weight_bytes_per_gpu"]),
                f"{fmt_count(e.params_total)} params ({fmt_count(e.params_active)} active), "
                f"{fmt_gib(e.weight_bytes)} total")
    mem.add_row("activation workspace", fmt_gib(m["activation_bytes_per_gpu"]), "")
    mem.add_row("engine overhead", fmt_gib(m["engine_overhead_bytes_per_gpu"]), "CUDA graphs, comm buffers, context")
    mem.add_row("KV cache", fmt_gib(m["kv_bytes_per_gpu"]),
                f"{m['kv_capacity_tokens']:,} tokens = {m['num_kv_blocks']:,} blocks of {m['kv_block_size_tokens']}")
    mem.add_row("KV per token", fmt_bytes(e.kv_bytes_per_token), "whole model, all layers")
    mem.add_row("max concurrent sequences", f"{e.max_concurrent_sequences:,}",
                f"at {e.input_tokens + e.output_tokens:,} tokens each")
    console.print(mem)
    perf = Table(title="Performance", show_header=True, header_style="bold")
    perf.add_column("metric")
    perf.add_column("value", justify="right")
    perf.add_column("bound / note")
    perf.add_row("batch (per replica)", f"{e.batch_size:,}", f"limited by {e.batch_limited_by}")
    perf.add_row("TTFT at zero load", fmt_s(e.ttft_s),
                 f"prefill {e.bound['prefill']}-bound; front end {fmt_s(e.frontend_s)}")
    perf.add_row("TTFT at this batch", fmt_s(e.ttft_at_batch_s),
                 "waits for the running step; chunks share steps with decodes")
    perf.add_row("decode step", fmt_s(e.decode_step_time_s), f"decode {e.bound['decode']}-bound")
    perf.add_row("TPOT at this batch", fmt_s(e.tpot_s),
                 f"incl. prompt chunks; {1 / e.tpot_s:,.1f} tokens/s per user")
    perf.add_row("output tokens/s", f"{e.output_tokens_per_s:,.0f}",
                 f"{e.output_tokens_per_s_per_gpu:,.0f} per GPU")
    perf.add_row("total tokens/s", f"{e.total_tokens_per_s:,.0f}", "input + output")
    console.print(perf)
    if e.slo:
        parts = []
        for key, label in (("tpot", "TPOT"), ("ttft", "TTFT")):
            target = e.slo.get(f"{key}_slo_s")
            if target is not None:
                ok = "met" if e.slo[f"{key}_met"] else "[red]missed[/]"
                parts.append(f"{label} ≤ {target * 1e3:g} ms {ok}")
        console.print("SLO: " + ", ".join(parts) + f" at batch {e.batch_size}")
    if e.curve:
        curve = Table(title="Latency–throughput curve (per replica batch)", header_style="bold")
        for col in ("batch", "TPOT", "TTFT", "tok/s per user", "output tok/s", "per GPU"):
            curve.add_column(col, justify="right")
        for p in e.curve:
            mark = "*" if p.batch == e.batch_size else ""
            curve.add_row(f"{p.batch:,}{mark}", fmt_s(p.tpot_s), fmt_s(p.ttft_s),
                          f"{p.tokens_per_s_per_user:,.1f}", f"{p.output_tokens_per_s:,.0f}",
                          f"{p.output_tokens_per_s_per_gpu:,.0f}")
        console.print(curve)
    money = Table(title="Cost and energy", show_header=True, header_style="bold")
    money.add_column("metric")
    money.add_column("value", justify="right")
    money.add_column("note")
    def usd(x: float | None) -> str:
        return "—" if x is None else fmt_usd(x)

    money.add_row("price per GPU-hour", usd(e.usd_per_gpu_hour), e.price_source)
    money.add_row("$ / M input tokens", usd(e.usd_per_million_input_tokens), "prefill share of step time")
    money.add_row("$ / M output tokens", usd(e.usd_per_million_output_tokens), "decode share of step time")
    money.add_row("GPU power", f"{e.gpu_power_w:,.0f} W", "per GPU, at the decode utilization")
    money.add_row("energy per output token", f"{e.energy_per_output_token_j:,.2f} J", "GPU power × GPUs / output tokens/s")
    console.print(money)
    for note in e.notes:
        err_console.print(f"[yellow]note:[/] {note}")
    if e.defaults_used:
        console.print("[dim]defaults used: " + "; ".join(e.defaults_used) + "[/]")


def register(app: typer.Typer) -> None:
    app.command("estimate")(estimate_command)
