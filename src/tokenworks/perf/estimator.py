"""The analytic estimator: one deployment, one request shape, steady state (no pricing).

``estimate_performance`` answers "how fast, with how much memory": a memory plan as an engine
would make it, zero-load TTFT, TPOT at a batch, throughput, and which resource bounds each
phase. Pricing it (``$``/M tokens, power, J/token) is economics' job (``estimate_cost``).
Units: SI (s, bytes, tokens).

Steady state (continuous batching with chunked prefill, offline max load) is computed by
``steady_state``: a replica holding ``B`` sequences of ``I`` input and ``O`` output tokens
decodes one token for each per step and prefills, mixed into the same step, the ``B/O``
prompts that replace finished sequences (Orca, OSDI'22; Sarathi-Serve, OSDI'24), so

    output_tokens_per_s = B / step_s   (per replica),   TPOT = step_s.

The calibration fit (``benchmarks/calibrate.py``) uses the same function, so the fitted
efficiencies mean the same thing here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tokenworks.errors import ConfigError, InfeasibleError, check_range
from tokenworks.model import ModelArch, kv_bytes_per_token, param_counts, weight_bytes
from tokenworks.perf.calibration import Calibration
from tokenworks.perf.deployment import Deployment
from tokenworks.perf.engine import check_batch, check_engine_limits
from tokenworks.perf.memory import MemoryPlan, plan_memory
from tokenworks.perf.steady import steady_state, token_budget_batch
from tokenworks.perf.step import StepBreakdown, StepCostModel, causal_pairs

__all__ = ["DEFAULT_MAX_NUM_BATCHED_TOKENS", "DEFAULT_MAX_NUM_SEQS", "MAX_TOKENS",
           "PerfEstimate", "estimate_performance"]

# ASSUMPTION: "batch = max" is capped at 1,024 concurrent sequences, a typical engine limit
# (vLLM V1 default max_num_seqs is 1024 on datacenter GPUs for the OpenAI server; TensorRT-LLM
# max_batch_size defaults to 2048 in trtllm-bench). Overridable with max_num_seqs.
DEFAULT_MAX_NUM_SEQS = 1024
# ASSUMPTION: a step holds at most 8,192 tokens (decode + prefill chunks), the
# max_num_batched_tokens / max_num_tokens default of vLLM's throughput mode and of
# TensorRT-LLM's BuildConfig; it caps the steady-state batch (see perf.steady).
DEFAULT_MAX_NUM_BATCHED_TOKENS = 8192
MAX_TOKENS = 10_000_000
BatchLimit = Literal["requested", "kv_capacity", "max_num_seqs", "token_budget"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PerfEstimate:
    """The estimator's physics; every dimensional field carries its unit in its name."""

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
    batch_limited_by: BatchLimit
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
    # what limits each phase
    bound: dict[str, str]
    prefill_breakdown: dict[str, Any] = field(default_factory=dict)
    decode_breakdown: dict[str, Any] = field(default_factory=dict)
    # share of a steady step's time spent on the prompts it admits (prices input tokens)
    prefill_share_frac: float = 0.0
    # share of a steady step in roofline-bound work (not fixed overhead): sets GPU power
    busy_frac: float = 1.0


def _positive_int(name: str, value: int, *, fix: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{name} = {value!r} must be an integer. {fix}")
    check_range(name, value, low=1, high=MAX_TOKENS, unit="", fix=fix)
    return value


def estimate_performance(
    model: ModelArch,
    deployment: Deployment,
    *,
    num_replicas: int = 1,
    input_tokens: int = 2048,
    output_tokens: int = 256,
    batch: int | Literal["max"] = "max",
    prefix_hit_frac: float = 0.0,
    gpu_memory_utilization_frac: float = 0.9,
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS,
    max_num_batched_tokens: int = DEFAULT_MAX_NUM_BATCHED_TOKENS,
    calibration: Calibration | None = None,
) -> PerfEstimate:
    """Memory plan, latency and throughput of ``num_replicas`` replicas of ``deployment``
    serving requests of ``input_tokens``/``output_tokens`` at ``batch`` (or the largest that
    fits: ``"max"``)."""
    arch, dep, acc = model, deployment, deployment.accelerator
    _positive_int("input_tokens", input_tokens, fix="Give the prompt length in tokens, e.g. 2048.")
    _positive_int("output_tokens", output_tokens, fix="Give the output length in tokens, e.g. 256.")
    _positive_int("max_num_seqs", max_num_seqs, fix="Use e.g. 256 or 1024.")
    _positive_int("max_num_batched_tokens", max_num_batched_tokens, fix="Use e.g. 8192.")
    check_engine_limits(max_num_seqs=max_num_seqs, max_num_batched_tokens=max_num_batched_tokens)
    _positive_int("num_replicas", num_replicas, fix="Give the number of replicas, e.g. 1.")
    check_range("prefix_hit_frac", prefix_hit_frac, low=0.0, high=1.0, high_inclusive=False,
                fix="It is the fraction of prompt tokens served from the prefix cache.")
    check_range("gpu_memory_utilization_frac", gpu_memory_utilization_frac, low=0.05, high=1.0,
                fix="vLLM's default is 0.9.")
    seq_len = input_tokens + output_tokens
    if seq_len > arch.max_context_tokens:
        raise ConfigError(
            f"input_tokens + output_tokens = {seq_len} exceeds {arch.name}'s context window of "
            f"{arch.max_context_tokens} tokens. Shorten the prompt or the output."
        )
    tp, pp, replica_gpus = dep.tp, dep.pp, dep.num_gpus
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
    limited: BatchLimit
    if batch == "max":
        # Ties go to the first: the engine limits before the physical KV capacity.
        limits = {
            "max_num_seqs": max_num_seqs,
            "token_budget": token_budget_batch(max_num_batched_tokens=max_num_batched_tokens,
                                               input_tokens=input_tokens,
                                               output_tokens=output_tokens, cached_tokens=cached),
            "kv_capacity": plan.max_concurrent_sequences,
        }
        limited = min(limits, key=lambda k: limits[k])  # type: ignore[assignment,return-value]
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
        check_batch(batch, max_num_seqs=max_num_seqs, max_num_batched_tokens=max_num_batched_tokens)
        batch_size = batch
        limited = "requested"

    cost = StepCostModel(arch, dep, calibration)
    ttft_s = float(cost.prefill_time_s(input_tokens, cached_tokens=cached,
                                       chunk_tokens=max_num_batched_tokens))
    ss = steady_state(cost, batch=batch_size, input_tokens=input_tokens,
                      output_tokens=output_tokens, cached_tokens=cached)
    tpot_s = ss.step_time_s
    decode_step_s = ss.decode_only_step_s
    out_tps = ss.output_tokens_per_s * num_replicas
    total_tps = out_tps * (input_tokens + output_tokens) / output_tokens

    # The prefill bound is that of its first chunk (TTFT runs the prompt in chunks of the budget).
    chunk = max(min(input_tokens - cached, max_num_batched_tokens), 1)
    pre = cost.breakdown(num_prefill_tokens=chunk, prefill_attention_pairs=causal_pairs(chunk, cached),
                         prefill_kv_tokens=cached + chunk)
    dec = ss.breakdown
    pc = param_counts(arch)
    bound = {"prefill": pre.bound, "decode": dec.bound,
             "batch": "capacity" if limited == "kv_capacity" else limited}
    num_gpus = replica_gpus * num_replicas
    return PerfEstimate(
        model=arch.name, hardware=acc.name, num_gpus=num_gpus, num_replicas=num_replicas,
        tp=tp, pp=pp, ep=dep.ep, weights_dtype=dep.weights_dtype, kv_dtype=dep.kv_dtype,
        compute_dtype=dep.compute_dtype or dep.weights_dtype,
        input_tokens=input_tokens, output_tokens=output_tokens, prefix_hit_frac=prefix_hit_frac,
        params_total=pc.total, params_active=pc.active,
        weight_bytes=weight_bytes(arch, dep.weights_dtype),
        weight_bytes_per_gpu=plan.weight_bytes_per_gpu,
        kv_bytes_per_token=kv_bytes_per_token(arch, dep.kv_dtype), memory=asdict(plan),
        max_concurrent_sequences=plan.max_concurrent_sequences,
        batch_size=batch_size, batch_limited_by=limited,
        ttft_s=ttft_s, prefill_tokens_per_s=(input_tokens - cached) / ttft_s if ttft_s > 0 else 0.0,
        decode_step_time_s=decode_step_s, tpot_s=tpot_s,
        e2e_s=ttft_s + output_tokens * tpot_s,
        output_tokens_per_s=out_tps, total_tokens_per_s=total_tps,
        output_tokens_per_s_per_gpu=out_tps / num_gpus,
        bound=bound, prefill_breakdown=asdict(pre), decode_breakdown=asdict(dec),
        prefill_share_frac=ss.prefill_share_frac,
        busy_frac=min(max(_busy_frac(dec), 0.0), 1.0),
    )


def _busy_frac(bd: StepBreakdown) -> float:
    """Share of a step spent in roofline-bound op groups (not in fixed per-step overhead)."""
    if bd.time_s <= 0:
        return 0.0
    return sum(op.time_s for op in bd.ops if op.bound != "overhead") / bd.time_s
