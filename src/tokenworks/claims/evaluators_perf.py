"""Claim evaluators for inference performance: rooflines, decode floors, the estimator.

Two regimes, chosen per claim with ``params.calibration``:

* ``"ideal"``: the roofline at 100% of datasheet peak with no step overhead — the "raw
  hardware floor" many seed claims quote;
* ``"fitted"`` (default): the packaged calibration (achieved fractions of peak fitted on
  measured throughput), i.e. what tokenworks predicts an engine reaches.

Units: SI (s, bytes, FLOP, USD per token); ratios are plain numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tokenworks.api import Estimate, estimate
from tokenworks.claims.registry import Computed, Params, evaluator
from tokenworks.dtypes import get_dtype
from tokenworks.errors import CatalogError
from tokenworks.hardware import get_accelerator
from tokenworks.model import (
    attention_flops_per_pair,
    decode_flops_per_token,
    decode_intensity,
    expected_distinct_experts,
    forward_flops,
    gemm_arithmetic_intensity,
    get_model,
    kv_bytes_per_token,
    moe_saturation_tokens,
    prefill_flops,
    prefill_intensity,
    weight_bytes,
)
from tokenworks.perf import Calibration, StepCostModel, make_deployment, packaged_calibration
from tokenworks.units import GB, HOUR, MILLION, MS, TB, TERA

# Calibration with every efficiency at 1, no fixed times and a sharp knee: the pure roofline
# (the smooth maximum with k = 50 is within 1.4% of max(a, b)).
IDEAL = Calibration(gemm_compute_frac=1.0, gemm_compute_frac_lowp=1.0, gemm_compute_frac_fp4=1.0,
                    gemm_memory_frac=1.0, gemm_memory_frac_fp4=1.0, weight_only_memory_frac=1.0,
                    gemm_launch_s=0.0, gemm_sharpness=50.0, attention_memory_frac=1.0,
                    attention_launch_s=0.0, attention_per_seq_s=0.0, prefill_attention_frac=1.0,
                    prefill_attention_half_tokens=0.0, prefill_attention_launch_s=0.0,
                    moe_launch_s=0.0, elementwise_launch_s=0.0, comm_bus_frac=1.0,
                    comm_latency_s=0.0, internode_latency_s=0.0, p2p_latency_s=0.0,
                    step_overhead_s=0.0, per_seq_overhead_s=0.0, frontend_s=0.0,
                    source="ideal roofline (claims ledger)")

_ESTIMATE_KEYS = {"model", "hardware", "num_gpus", "tp", "pp", "ep", "weights_dtype", "kv_dtype",
                  "input_tokens", "output_tokens", "batch", "prefix_hit_frac",
                  "usd_per_gpu_hour", "gpu_memory_utilization_frac", "max_num_seqs"}


def _calibration(name: str) -> Calibration:
    if name == "ideal":
        return IDEAL
    if name == "fitted":
        return packaged_calibration()
    raise CatalogError(f"calibration '{name}' is not known; use 'ideal' or 'fitted'.")


def run_estimate(run: dict[str, Any], calibration: str) -> Estimate:
    """Call the estimator with a claim's ``run`` table (keys: estimate()'s arguments)."""
    bad = set(run) - _ESTIMATE_KEYS
    if bad:
        raise CatalogError(f"estimate run has unknown keys {sorted(bad)}; "
                           f"use {sorted(_ESTIMATE_KEYS)}.")
    kw = dict(run)
    model, hardware = kw.pop("model"), kw.pop("hardware")
    return estimate(model, hardware, calibration=_calibration(calibration), **kw)


def _cycle_s(e: Estimate) -> float:
    return e.batch_size * e.ttft_s + e.output_tokens * e.decode_step_time_s


def _mfu(e: Estimate) -> float:
    """Achieved model FLOP/s over the replica's dense peak in the compute dtype."""
    arch = get_model(e.model)
    acc = get_accelerator(e.hardware)
    mean_ctx = int(e.input_tokens + e.output_tokens / 2)
    flops = e.batch_size * (prefill_flops(arch, e.input_tokens)
                            + e.output_tokens * decode_flops_per_token(arch, mean_ctx))
    peak = acc.matmul_flops_per_s(e.compute_dtype) * e.tp * e.pp
    return flops / _cycle_s(e) / peak


# Quantities derived from an Estimate (SI units).
DERIVED = {
    "mfu_frac": _mfu,
    "idle_compute_frac": lambda e: 1.0 - _mfu(e),
    "output_input_cost_ratio": lambda e: (e.usd_per_million_output_tokens
                                          / e.usd_per_million_input_tokens),
    "prefill_time_frac": lambda e: e.batch_size * e.ttft_s / _cycle_s(e),
    "usd_per_output_token": lambda e: e.usd_per_million_output_tokens / MILLION,
    "usd_per_input_token": lambda e: e.usd_per_million_input_tokens / MILLION,
    "decode_tokens_per_s_per_seq": lambda e: 1.0 / e.decode_step_time_s,
    "decode_tokens_per_s_per_gpu": lambda e: e.batch_size / e.decode_step_time_s / (e.tp * e.pp),
}


def estimate_value(e: Estimate, field: str) -> float:
    if field in DERIVED:
        return float(DERIVED[field](e))
    v = getattr(e, field, None)
    if not isinstance(v, int | float) or isinstance(v, bool):
        raise CatalogError(f"estimate field '{field}' is not a number; use an Estimate field "
                           f"or one of {sorted(DERIVED)}.")
    return float(v)


def _describe(e: Estimate) -> str:
    return (f"{e.model} {e.weights_dtype} on {e.tp * e.pp}× {e.hardware} (tp={e.tp}), "
            f"{e.input_tokens}+{e.output_tokens} tokens, batch {e.batch_size} "
            f"(max {e.max_concurrent_sequences}), step {e.decode_step_time_s / MS:.1f} ms, "
            f"${e.usd_per_gpu_hour:.2f}/GPU-h")


@evaluator("estimate_metric")
def estimate_metric(p: Params) -> Computed:
    """One field of ``estimate(**run)`` (or a derived one: mfu_frac, prefill_time_frac, ...)."""
    e = run_estimate(p.table("run"), p.str("calibration", "fitted"))
    field = p.str("field")
    v = estimate_value(e, field)
    return Computed(value=v, working=f"{_describe(e)} → {field} = {v:.4g}")


@evaluator("estimate_ratio")
def estimate_ratio(p: Params) -> Computed:
    """``field`` of ``estimate(**run)`` ÷ the same field of ``estimate(**base_run)``
    (``invert = true``: base ÷ run, for "k× reduction" claims; ``reduction = true``: 1 − run ÷ base)."""
    cal = p.str("calibration", "fitted")
    field = p.str("field")
    a = run_estimate(p.table("run"), cal)
    b = run_estimate(p.table("base_run"), cal)
    va, vb = estimate_value(a, field), estimate_value(b, field)
    if p.bool("reduction"):
        return Computed(value=1.0 - va / vb, working=(
            f"{field}: 1 − [{_describe(a)}] {va:.4g} ÷ [{_describe(b)}] {vb:.4g} = "
            f"{1 - va / vb:.1%}"))
    if p.bool("invert"):
        # A "k× reduction" claim: base ÷ new.
        return Computed(value=vb / va, working=(
            f"{field}: [{_describe(b)}] {vb:.4g} ÷ [{_describe(a)}] {va:.4g} = {vb / va:.2f}×"))
    return Computed(value=va / vb, working=(
        f"{field}: [{_describe(a)}] {va:.4g} ÷ [{_describe(b)}] {vb:.4g} = {va / vb:.2f}"))


@evaluator("measured_vs_estimate")
def measured_vs_estimate(p: Params) -> Computed:
    """A vendor-measured per-user speed (tokens/s) ÷ tokenworks' per-sequence decode speed."""
    measured = p.float("measured_tokens_per_s")
    e = run_estimate(p.table("run"), p.str("calibration", "fitted"))
    ours = 1.0 / e.decode_step_time_s
    return Computed(value=measured / ours, working=(
        f"{measured:,.0f} tok/s claimed ÷ {ours:,.0f} tok/s per sequence from [{_describe(e)}] "
        f"= {measured / ours:.1f}×"))


@evaluator("ridge_point")
def ridge_point(p: Params) -> Computed:
    """Dense peak FLOP/s ÷ HBM bytes/s (Williams et al. 2009, roofline ridge)."""
    acc = get_accelerator(p.str("hardware"))
    prec = p.str("precision")
    flops = acc.dense_flops_per_s(prec)
    r = flops / acc.memory_bytes_per_s
    return Computed(value=r, working=(
        f"{acc.name}: {flops / TERA:,.1f} TFLOPS dense {prec} ÷ "
        f"{acc.memory_bytes_per_s / TB:.2f} TB/s = {r:.0f} FLOP/byte"))


@evaluator("decode_floor")
def decode_floor(p: Params) -> Computed:
    """Weight-streaming floor of one decode step: weight bytes ÷ (num_gpus × HBM bandwidth).

    ``metric``: ``step_s``, ``tokens_per_s`` (one sequence), or ``usd_per_token`` at ``batch``
    sequences sharing the step and ``usd_per_gpu_hour`` per GPU.
    """
    arch = get_model(p.str("model"))
    acc = get_accelerator(p.str("hardware"))
    n = p.int("num_gpus", 1)
    dtype = p.str("dtype")
    wb = weight_bytes(arch, dtype)
    # The seed's cost formula: time per output token = model bytes ÷ memory bandwidth.
    step = wb / (n * acc.memory_bytes_per_s)
    head = (f"{wb / GB:.1f} GB ({arch.name}, {dtype}) ÷ {n} × "
            f"{acc.memory_bytes_per_s / TB:.2f} TB/s = {step / MS:.1f} ms/step")
    metric = p.str("metric")
    if metric == "step_s":
        return Computed(value=step, working=head)
    if metric == "tokens_per_s":
        return Computed(value=1.0 / step, working=f"{head} → {1 / step:.1f} tokens/s")
    if metric == "usd_per_token":
        batch = p.int("batch", 1)
        price = p.float("usd_per_gpu_hour")
        usd = n * price / HOUR * step / batch
        return Computed(value=usd, working=(
            f"{head}; {n} × ${price:.2f}/h × step ÷ batch {batch} = "
            f"${usd * MILLION:.3f}/M tokens"))
    raise CatalogError(f"decode_floor metric '{metric}' must be step_s, tokens_per_s or "
                       f"usd_per_token.")


@evaluator("decode_step_cost")
def decode_step_cost(p: Params) -> Computed:
    """$ per output token of one decode step of ``batch`` sequences at mean context
    ``context_tokens``: num_gpus × $/GPU-hour × step time ÷ batch, on the step cost model.

    Terms: the step's op groups (whatever ``StepCostModel.breakdown`` reports: weight
    streaming, attention/KV reads, collectives, overhead), each priced the same way, so a
    claim's ``seed_includes`` names the ones the seed counted and the ledger names the
    dominant one of the rest."""
    arch = get_model(p.str("model"))
    acc = get_accelerator(p.str("hardware"))
    tp = p.int("tp", 1)
    dtype = p.str("dtype")
    batch, ctx = p.int("batch"), p.int("context_tokens")
    price = p.float("usd_per_gpu_hour")
    dep = make_deployment(arch, acc, tp=tp, weights_dtype=dtype, kv_dtype=dtype)
    cost = StepCostModel(arch, dep, _calibration(p.str("calibration", "fitted")))
    bd = cost.breakdown(num_decode_seqs=batch, decode_kv_tokens=batch * ctx)
    usd_per_s = tp * price / HOUR / batch
    terms = tuple((o.name, o.time_s * usd_per_s) for o in bd.ops if o.time_s > 0)
    parts = ", ".join(f"{o.name} {o.time_s / MS:.2f} ms" for o in bd.ops if o.time_s > 0)
    return Computed(value=bd.time_s * usd_per_s, terms=terms, working=(
        f"{arch.name} {dtype} on {tp}× {acc.name}, batch {batch} at {ctx:,} tokens of context: "
        f"step {bd.time_s / MS:.2f} ms ({parts}); {tp} × ${price:.2f}/h × step ÷ {batch} = "
        f"${bd.time_s * usd_per_s * MILLION:.3f}/M tokens"))


def _crossover(intensity, ridge: float) -> int:
    """Smallest integer batch with intensity(batch) >= ridge (intensity increasing)."""
    hi = 1
    while intensity(hi) < ridge:
        hi *= 2
        if hi > 10_000_000:
            raise CatalogError("no batch up to 10M tokens crosses the ridge point.")
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if intensity(mid) < ridge else (lo, mid)
    return hi


@evaluator("ffn_crossover_batch")
def ffn_crossover_batch(p: Params) -> Computed:
    """Decode batch at which the FFN up-projection GEMM (B×d)·(d×f) reaches the ridge point."""
    arch = get_model(p.str("model"))
    acc = get_accelerator(p.str("hardware"))
    prec = p.str("precision")
    width = p.float("bytes_per_element")
    ridge = acc.dense_flops_per_s(prec) / acc.memory_bytes_per_s
    d, f = arch.hidden_size, arch.intermediate_size
    b = _crossover(lambda m: gemm_arithmetic_intensity(m, d, f, width), ridge)
    return Computed(value=float(b), working=(
        f"{acc.name} ridge {ridge:.0f} FLOP/byte ({prec}); GEMM (B×{d})·({d}×{f}) at "
        f"{width:g} B/element: intensity 2·B·d·f/(w·(B·d + d·f + B·f)) ≥ ridge first at B = {b}"))


@evaluator("moe_expert_crossover_batch")
def moe_expert_crossover_batch(p: Params) -> Computed:
    """Decode batch at which routed-expert GEMMs reach the ridge point.

    Expert FLOPs 2·B·k·P_e over bytes E_hit(B)·P_e·w, with E_hit the expected distinct experts.
    """
    arch = get_model(p.str("model"))
    acc = get_accelerator(p.str("hardware"))
    prec = p.str("precision")
    width = p.float("bytes_per_element")
    if arch.moe is None:
        raise CatalogError(f"{arch.name} has no MoE layers.")
    e, k = arch.moe.num_experts, arch.moe.num_experts_per_tok
    ridge = acc.dense_flops_per_s(prec) / acc.memory_bytes_per_s

    def intensity(b: int) -> float:
        return 2.0 * b * k / (float(expected_distinct_experts(e, k, b)) * width)

    b = _crossover(intensity, ridge)
    sat = moe_saturation_tokens(e, k, 0.95)
    return Computed(value=float(b), working=(
        f"{arch.name}: {e} experts, top-{k}; 95% of experts are touched by {sat:.0f} tokens, "
        f"after which intensity ≈ 2·B·k/(E·w) = B/{e * width / (2 * k):.0f}; crosses the "
        f"{acc.name} {prec} ridge {ridge:.0f} FLOP/byte at B = {b}"))


@evaluator("prefill_intensity")
def prefill_intensity_eval(p: Params) -> Computed:
    arch = get_model(p.str("model"))
    n = p.int("prompt_tokens")
    dtype = p.str("dtype")
    v = prefill_intensity(arch, n, dtype)
    return Computed(value=v, working=(
        f"{arch.name} {dtype}: linear FLOPs of a {n:,}-token prefill per weight byte read = "
        f"{v:,.0f} FLOP/byte"))


@evaluator("decode_intensity")
def decode_intensity_eval(p: Params) -> Computed:
    arch = get_model(p.str("model"))
    b = p.int("batch")
    dtype = p.str("dtype")
    v = decode_intensity(arch, b, dtype)
    return Computed(value=v, working=(
        f"{arch.name} {dtype}: decode step of batch {b}: linear FLOPs per weight byte = "
        f"{v:.2f} FLOP/byte"))


@evaluator("attention_decode_intensity")
def attention_decode_intensity(p: Params) -> Computed:
    """Decode attention FLOPs per KV byte read: independent of batch and context length."""
    arch = get_model(p.str("model"))
    dtype = p.str("kv_dtype")
    per_layer_bytes = kv_bytes_per_token(arch, dtype) / arch.num_attention_layers
    flops = attention_flops_per_pair(arch)
    v = flops / per_layer_bytes
    return Computed(value=v, working=(
        f"{arch.name}: {flops:,.0f} FLOPs per (query, cached token) pair per layer ÷ "
        f"{per_layer_bytes:,.0f} B of K+V per token per layer = {v:.1f} FLOP/byte "
        f"(= {arch.num_attention_heads}/{arch.num_kv_heads} query heads per KV head)"))


@evaluator("attention_flops_ratio")
def attention_flops_ratio(p: Params) -> Computed:
    """Attention-score FLOPs of a prefill of ``long_tokens`` ÷ of ``short_tokens`` (causal)."""
    arch = get_model(p.str("model"))
    a, b = p.int("long_tokens"), p.int("short_tokens")
    fa, fb = forward_flops(arch, new_tokens=a), forward_flops(arch, new_tokens=b)
    ratio = fa.attention / fb.attention
    return Computed(value=ratio, working=(
        f"{arch.name}: attention FLOPs {fa.attention:.3g} at {a:,} tokens ÷ {fb.attention:.3g} at "
        f"{b:,} = {ratio:.2f}×; whole prefill {fa.total:.3g} ÷ {fb.total:.3g} = "
        f"{fa.total / fb.total:.2f}× (linear layers grow only 2×)"))


@evaluator("kv_cache_speedup")
def kv_cache_speedup(p: Params) -> Computed:
    """Generation time without a KV cache (re-prefill the whole sequence for every new token)
    ÷ time with it (one prefill, then decode steps), batch 1, on the roofline step model."""
    arch = get_model(p.str("model"))
    acc = get_accelerator(p.str("hardware"))
    dtype = p.str("dtype")
    prompt, out = p.int("prompt_tokens"), p.int("output_tokens")
    dep = make_deployment(arch, acc, tp=p.int("tp", 1), weights_dtype=dtype, kv_dtype=dtype)
    cost = StepCostModel(arch, dep, _calibration(p.str("calibration", "fitted")))
    # NOTE: 17 sample points integrated by the trapezoid rule instead of `out` calls, for
    # performance; both integrands are smooth in the position i.
    xs = np.linspace(0, out - 1, 17)
    no_cache = np.array([cost.prefill_time_s(prompt + int(i)) for i in xs])
    step = np.array([float(cost.decode_step_time_s(1, prompt + int(i))) for i in xs])
    t_no = float(np.trapezoid(no_cache, xs)) + float(no_cache[-1])
    t_yes = cost.prefill_time_s(prompt) + float(np.trapezoid(step, xs)) + float(step[-1])
    return Computed(value=t_no / t_yes, working=(
        f"{arch.name} {dtype} on {acc.name}, {prompt}+{out} tokens: re-prefill every step "
        f"{t_no:.2f} s vs prefill + {out} decode steps {t_yes:.2f} s = {t_no / t_yes:.1f}×"))


@evaluator("sram_decode_bound")
def sram_decode_bound(p: Params) -> Computed:
    """Batch-1 ceiling of a weights-in-SRAM machine: every weight byte is read once per token
    from on-chip SRAM, layers pipelined across chips: tokens/s ≤ SRAM bandwidth ÷ weight bytes."""
    arch = get_model(p.str("model"))
    acc = get_accelerator(p.str("hardware"))
    dtype = p.str("dtype")
    if acc.sram_bytes is None or acc.sram_bytes_per_s is None:
        raise CatalogError(f"{acc.name} has no SRAM figures in the catalog.")
    wb = weight_bytes(arch, dtype)
    chips = math.ceil(wb / acc.sram_bytes)
    rate = acc.sram_bytes_per_s / wb
    return Computed(value=rate, working=(
        f"{arch.name} {dtype}: {wb / GB:.1f} GB of weights need ≥ {chips} × "
        f"{acc.sram_bytes / 1e6:.0f} MB {acc.name} chips; each streams its shard at "
        f"{acc.sram_bytes_per_s / TB:,.0f} TB/s once per token, in sequence → "
        f"≤ {rate:,.0f} tokens/s per sequence"))


@evaluator("bandwidth_ratio")
def bandwidth_ratio(p: Params) -> Computed:
    """Aggregate memory bandwidth of ``num`` × ``hardware`` ÷ ``base_num`` × ``base_hardware``."""
    a, b = get_accelerator(p.str("hardware")), get_accelerator(p.str("base_hardware"))
    na, nb = p.int("num", 1), p.int("base_num", 1)
    ra, rb = na * a.memory_bytes_per_s, nb * b.memory_bytes_per_s
    return Computed(value=ra / rb, working=(
        f"{na} × {a.name} {ra / TB:,.0f} TB/s ÷ {nb} × {b.name} {rb / TB:,.1f} TB/s = "
        f"{ra / rb:,.0f}×"))


@evaluator("edge_max_params")
def edge_max_params(p: Params) -> Computed:
    """Largest model (parameters) a device decodes at ≥ ``min_tokens_per_s`` at batch 1 whose
    weights fit in ``memory_frac`` of its memory; decode reads every weight once per token.

    ``also_hardware`` + ``example_params`` add, to the working, the bandwidth-bound speed of an
    example model on other catalog devices (or that it does not fit).
    """
    acc = get_accelerator(p.str("hardware"))
    dtype = p.str("dtype")
    rate = p.float("min_tokens_per_s")
    mem_frac = p.float("memory_frac")
    bpp = get_dtype(dtype).bytes
    by_bw = acc.memory_bytes_per_s / rate / bpp
    by_mem = acc.memory_bytes * mem_frac / bpp
    n = min(by_bw, by_mem)
    ops_needed = 2.0 * n * rate
    npu = acc.dense_flops_per_s("int8") if acc.supports("int8") else float("nan")
    work = (f"{acc.name}: {acc.memory_bytes_per_s / GB:.0f} GB/s ÷ {rate:g} tok/s ÷ {bpp:.3f} "
            f"B/param = {by_bw / 1e9:.1f} B params; memory {acc.memory_bytes / GB:.0f} GB × "
            f"{mem_frac:g} → {by_mem / 1e9:.1f} B; compute needed 2·N·rate = "
            f"{ops_needed / TERA:.2f} TOPS of {npu / TERA:.0f} NPU TOPS")
    if p.has("also_hardware"):
        ex = p.float("example_params")
        parts = []
        for name in p.strs("also_hardware"):
            other = get_accelerator(name)
            wb = ex * bpp
            if wb > other.memory_bytes * mem_frac:
                parts.append(f"{name}: does not fit ({wb / GB:.1f} GB > {mem_frac:g} × "
                             f"{other.memory_bytes / GB:.0f} GB)")
            else:
                parts.append(f"{name}: {other.memory_bytes_per_s / wb:.1f} tok/s")
        work += f". A {ex / 1e9:g}B {dtype} model elsewhere: " + "; ".join(parts)
    return Computed(value=n, working=work)
