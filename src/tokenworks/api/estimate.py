"""The analytic estimator: one deployment, one request shape, steady state.

``estimate(...)`` answers "what does a token cost, how fast, on which hardware": a memory plan
as an engine would make it, zero-load TTFT, TPOT at a batch, throughput, $/M tokens and J/token,
and which resource bounds each phase. Units: SI inside (s, bytes, W, J, USD); display units only
in the CLI.

Steady state (continuous batching with chunked prefill, offline max load) is computed by
``tokenworks.perf.steady_state``: a replica holding ``B`` sequences of ``I`` input and ``O``
output tokens decodes one token for each per step and prefills, mixed into the same step, the
``B/O`` prompts that replace finished sequences (Orca, OSDI'22; Sarathi-Serve, OSDI'24), so

    output_tokens_per_s = B / step_s   (per replica),   TPOT = step_s.

The calibration fit (``benchmarks/calibrate.py``) uses the same function, so the fitted
efficiencies mean the same thing here. Input tokens are priced by the prefill share of the
step's time, output tokens by the rest (the seeds' prefill/decode cost decomposition).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tokenworks.economics.power import accelerator_power_w
from tokenworks.economics.token_cost import default_usd_per_gpu_hour, usd_per_million_tokens
from tokenworks.errors import ConfigError, InfeasibleError, check_range
from tokenworks.hardware import Accelerator, get_accelerator
from tokenworks.model import ModelArch, get_model, kv_bytes_per_token, param_counts, weight_bytes
from tokenworks.perf import (
    Calibration,
    MemoryPlan,
    StepCostModel,
    causal_pairs,
    load_calibration,
    make_deployment,
    plan_memory,
    steady_state,
    token_budget_batch,
)
from tokenworks.units import HOUR, MILLION

# ASSUMPTION: "batch = max" is capped at 1,024 concurrent sequences, a typical engine limit
# (vLLM V1 default max_num_seqs is 1024 on datacenter GPUs for the OpenAI server; TensorRT-LLM
# max_batch_size defaults to 2048 in trtllm-bench). Overridable with max_num_seqs.
DEFAULT_MAX_NUM_SEQS = 1024
# ASSUMPTION: a step holds at most 8,192 tokens (decode + prefill chunks), the
# max_num_batched_tokens / max_num_tokens default of vLLM's throughput mode and of
# TensorRT-LLM's BuildConfig; it caps the steady-state batch (see perf.steady).
DEFAULT_MAX_NUM_BATCHED_TOKENS = 8192
MAX_TOKENS = 10_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimate:
    """The estimator's answer; every dimensional field carries its unit in its name."""

    model: str
    hardware: str
    num_gpus: int
    num_replicas: int
    tp: int
    pp: int
    ep: int
    weights_dtype: str
    kv_dtype: str
    compute_dtype: str
    input_tokens: int
    output_tokens: int
    prefix_hit_frac: float
    # memory plan
    params_total: float
    params_active: float
    weight_bytes: float
    weight_bytes_per_gpu: float
    kv_bytes_per_token: float
    memory: dict[str, Any]
    max_concurrent_sequences: int
    # the batch
    batch_size: int
    batch_limited_by: Literal["requested", "kv_capacity", "max_num_seqs", "token_budget"]
    # latency
    ttft_s: float
    prefill_tokens_per_s: float
    decode_step_time_s: float
    tpot_s: float
    e2e_s: float
    # throughput
    output_tokens_per_s: float
    total_tokens_per_s: float
    output_tokens_per_s_per_gpu: float
    # money and energy
    usd_per_gpu_hour: float | None  # None: no price known (edge devices); pass one
    price_source: str
    usd_per_million_output_tokens: float | None
    usd_per_million_input_tokens: float | None
    usd_per_million_tokens_blended: float | None
    gpu_power_w: float
    energy_per_output_token_j: float
    # what limits each phase
    bound: dict[str, str]
    prefill_breakdown: dict[str, Any] = field(default_factory=dict)
    decode_breakdown: dict[str, Any] = field(default_factory=dict)
    defaults_used: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _positive_int(name: str, value: int, *, fix: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{name} = {value!r} must be an integer. {fix}")
    check_range(name, value, low=1, high=MAX_TOKENS, unit="", fix=fix)
    return value


def estimate(
    model: str | ModelArch,
    hardware: str | Accelerator,
    *,
    num_gpus: int | None = None,
    tp: int = 1,
    pp: int = 1,
    ep: int = 1,
    weights_dtype: str = "bf16",
    kv_dtype: str | None = None,
    input_tokens: int = 2048,
    output_tokens: int = 256,
    batch: int | Literal["max"] = "max",
    prefix_hit_frac: float = 0.0,
    usd_per_gpu_hour: float | None = None,
    gpu_memory_utilization_frac: float = 0.9,
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS,
    max_num_batched_tokens: int = DEFAULT_MAX_NUM_BATCHED_TOKENS,
    calibration: Calibration | str | None = None,
) -> Estimate:
    """Estimate latency, throughput, cost and energy for one deployment and request shape."""
    defaults: list[str] = []
    arch = get_model(model) if isinstance(model, str) else model
    acc = get_accelerator(hardware) if isinstance(hardware, str) else hardware
    _positive_int("input_tokens", input_tokens, fix="Give the prompt length in tokens, e.g. 2048.")
    _positive_int("output_tokens", output_tokens, fix="Give the output length in tokens, e.g. 256.")
    _positive_int("max_num_seqs", max_num_seqs, fix="Use e.g. 256 or 1024.")
    _positive_int("max_num_batched_tokens", max_num_batched_tokens, fix="Use e.g. 8192.")
    check_range("prefix_hit_frac", prefix_hit_frac, low=0.0, high=1.0, high_inclusive=False,
                fix="It is the fraction of prompt tokens served from the prefix cache.")
    check_range("gpu_memory_utilization_frac", gpu_memory_utilization_frac, low=0.05, high=1.0,
                fix="vLLM's default is 0.9.")
    if usd_per_gpu_hour is not None:
        check_range("usd_per_gpu_hour", usd_per_gpu_hour, low=0.0, low_inclusive=False, high=1000.0,
                    unit="$/GPU-h", fix="Give a rental or TCO price per GPU-hour, e.g. 2.5.")
    seq_len = input_tokens + output_tokens
    if seq_len > arch.max_context_tokens:
        raise ConfigError(
            f"input_tokens + output_tokens = {seq_len} exceeds {arch.name}'s context window of "
            f"{arch.max_context_tokens} tokens. Shorten the prompt or the output."
        )
    kv_dtype = kv_dtype or weights_dtype_default_kv(weights_dtype, defaults)
    replica_gpus = tp * pp
    if num_gpus is None:
        num_gpus = replica_gpus
    else:
        _positive_int("num_gpus", num_gpus, fix="Give the number of accelerators, e.g. 8.")
    if num_gpus % replica_gpus:
        raise ConfigError(
            f"num_gpus = {num_gpus} is not a multiple of tp × pp = {tp} × {pp} = {replica_gpus}. "
            f"Each replica uses tp × pp GPUs; pick num_gpus in multiples of {replica_gpus}."
        )
    num_replicas = num_gpus // replica_gpus
    dep = make_deployment(arch, acc, tp=tp, pp=pp, ep=ep, weights_dtype=weights_dtype,
                          kv_dtype=kv_dtype)
    cal = calibration if isinstance(calibration, Calibration) else load_calibration(calibration)
    if calibration is None:
        defaults.append("calibration: packaged fit (data/calibration.toml)")
    plan: MemoryPlan = plan_memory(arch, dep, gpu_memory_utilization_frac=gpu_memory_utilization_frac,
                                   max_seq_len_tokens=seq_len, max_num_seqs=max_num_seqs,
                                   max_num_batched_tokens=max_num_batched_tokens)
    if plan.max_concurrent_sequences < 1:
        raise InfeasibleError(
            f"{arch.name} on {replica_gpus}× {acc.name} (tp={tp}, pp={pp}) leaves KV room for "
            f"{plan.kv_capacity_tokens} tokens, less than one {seq_len}-token sequence. "
            f"Use more GPUs (larger tp), fp8 weights/KV, or shorter sequences."
        )
    cached = round(prefix_hit_frac * input_tokens)
    if batch == "max":
        # Ties go to the first: the engine limits before the physical KV capacity.
        limits = {
            "max_num_seqs": max_num_seqs,
            "token_budget": token_budget_batch(max_num_batched_tokens=max_num_batched_tokens,
                                               input_tokens=input_tokens,
                                               output_tokens=output_tokens, cached_tokens=cached),
            "kv_capacity": plan.max_concurrent_sequences,
        }
        limited = min(limits, key=lambda k: limits[k])  # type: ignore[assignment]
        batch_size = limits[limited]
    else:
        if isinstance(batch, str):
            raise ConfigError(f"batch = {batch!r} must be a positive integer or 'max'.")
        _positive_int("batch", batch, fix="Give a positive integer or 'max'.")
        if batch > plan.max_concurrent_sequences:
            raise InfeasibleError(
                f"batch = {batch} sequences of {seq_len} tokens need "
                f"{batch * seq_len:,} KV tokens; {arch.name} on {replica_gpus}× {acc.name} holds "
                f"{plan.kv_capacity_tokens:,} (max batch {plan.max_concurrent_sequences}). "
                f"Use --batch {plan.max_concurrent_sequences} or max, more GPUs, or fp8 KV."
            )
        batch_size = batch
        limited = "requested"

    cost = StepCostModel(arch, dep, cal)
    ttft_s = float(cost.prefill_time_s(input_tokens, cached_tokens=cached,
                                       chunk_tokens=max_num_batched_tokens))
    ss = steady_state(cost, batch=batch_size, input_tokens=input_tokens,
                      output_tokens=output_tokens, cached_tokens=cached)
    tpot_s = ss.step_time_s
    decode_step_s = ss.decode_only_step_s
    out_tps = ss.output_tokens_per_s * num_replicas
    total_tps = out_tps * (input_tokens + output_tokens) / output_tokens

    price: float | None = usd_per_gpu_hour
    if price is None:
        try:
            price, price_source = default_usd_per_gpu_hour(acc)
            defaults.append(f"usd_per_gpu_hour = {price:.2f} ({price_source})")
        except ConfigError:
            price_source = "no public rental price in the catalogs; pass --usd-per-gpu-hour"
            defaults.append(f"usd_per_gpu_hour: none ({price_source})")
    else:
        price_source = "user input"
    usd_per_m_in = usd_per_m_out = usd_per_m_blended = None
    if price is not None:
        replica_usd_per_s = price * replica_gpus / HOUR
        # Split each steady step's GPU time: the prefill share prices the B/O prompts admitted
        # per step (input tokens), the rest prices the B output tokens (the seeds' decomposition).
        step_usd = replica_usd_per_s * tpot_s
        prompts_per_step = batch_size / output_tokens
        usd_per_m_in = (step_usd * ss.prefill_share_frac / (prompts_per_step * input_tokens)
                        * MILLION)
        usd_per_m_out = step_usd * (1.0 - ss.prefill_share_frac) / batch_size * MILLION
        usd_per_m_blended = usd_per_million_tokens(price * num_gpus, total_tps)

    # The prefill bound is that of its first chunk (TTFT runs the prompt in chunks of the budget).
    chunk = max(min(input_tokens - cached, max_num_batched_tokens), 1)
    pre = cost.breakdown(num_prefill_tokens=chunk, prefill_attention_pairs=causal_pairs(chunk, cached),
                         prefill_kv_tokens=cached + chunk)
    dec = ss.breakdown
    # ASSUMPTION: a saturated replica draws power in proportion to the share of each step its
    # roofline-bound work occupies (op time excluding the fixed per-step overhead), between the
    # idle floor and TDP (economics.power).
    gpu_power_w = accelerator_power_w(acc, min(max(_busy_frac(dec), 0.0), 1.0))
    energy_per_out_j = gpu_power_w * replica_gpus * tpot_s / batch_size

    pc = param_counts(arch)
    bound = {"prefill": pre.bound, "decode": dec.bound,
             "batch": "capacity" if limited == "kv_capacity" else limited}
    return Estimate(
        model=arch.name, hardware=acc.name, num_gpus=num_gpus, num_replicas=num_replicas,
        tp=tp, pp=pp, ep=ep, weights_dtype=weights_dtype, kv_dtype=kv_dtype,
        compute_dtype=dep.compute_dtype or weights_dtype,
        input_tokens=input_tokens, output_tokens=output_tokens, prefix_hit_frac=prefix_hit_frac,
        params_total=pc.total, params_active=pc.active,
        weight_bytes=weight_bytes(arch, weights_dtype), weight_bytes_per_gpu=plan.weight_bytes_per_gpu,
        kv_bytes_per_token=kv_bytes_per_token(arch, kv_dtype), memory=asdict(plan),
        max_concurrent_sequences=plan.max_concurrent_sequences,
        batch_size=batch_size, batch_limited_by=limited,
        ttft_s=ttft_s, prefill_tokens_per_s=(input_tokens - cached) / ttft_s if ttft_s > 0 else 0.0,
        decode_step_time_s=decode_step_s, tpot_s=tpot_s,
        e2e_s=ttft_s + output_tokens * tpot_s,
        output_tokens_per_s=out_tps, total_tokens_per_s=total_tps,
        output_tokens_per_s_per_gpu=out_tps / num_gpus,
        usd_per_gpu_hour=price, price_source=price_source,
        usd_per_million_output_tokens=usd_per_m_out, usd_per_million_input_tokens=usd_per_m_in,
        usd_per_million_tokens_blended=usd_per_m_blended,
        gpu_power_w=gpu_power_w, energy_per_output_token_j=energy_per_out_j,
        bound=bound, prefill_breakdown=asdict(pre), decode_breakdown=asdict(dec),
        defaults_used=defaults,
    )


def weights_dtype_default_kv(weights_dtype: str, defaults: list[str]) -> str:
    """KV precision when none is given: the engine default is the activation dtype (bf16)."""
    # ASSUMPTION: with no --kv-dtype the KV cache is bf16 (vLLM kv_cache_dtype="auto" uses the
    # model's activation dtype), except that fp8 weights imply an fp8 KV cache as in the
    # TensorRT-LLM and MLPerf FP8 recipes.
    kv = "fp8" if weights_dtype in ("fp8", "fp4", "nvfp4", "mxfp4") else "bf16"
    defaults.append(f"kv_dtype = {kv} (default for {weights_dtype} weights)")
    return kv


def _busy_frac(bd: Any) -> float:
    """Share of a step spent in roofline-bound op groups (not in fixed per-step overhead)."""
    if bd.time_s <= 0:
        return 0.0
    return sum(op.time_s for op in bd.ops if op.bound != "overhead") / bd.time_s


