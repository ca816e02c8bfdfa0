"""The analytic estimator: one deployment, one request shape, steady state (no pricing).

``estimate_performance`` answers "how fast, with how much memory": a memory plan as an engine
would make it, zero-load TTFT, TPOT at a batch, throughput, and which resource bounds each
phase. Pricing it (``$``/M tokens, power, J/token) is economics' job (``estimate_cost``).
Units: SI (s, bytes, tokens).

The replica at a batch is ``perf.steady.steady_state``: continuous batching with chunked
prefill (Orca, OSDI'22; Sarathi-Serve, OSDI'24), TPOT the mean step, TTFT its front end, wait
and prompt chunks, throughput by Little's law. The batch is the largest the engine's limits and
the KV cache allow ("max load"), the one asked for, or the largest meeting a TPOT/TTFT target;
``sweep`` adds the latency–throughput curve across batch sizes. Engine settings default per
engine and accelerator (``perf.engine.engine_defaults``). The calibration fit
(``benchmarks/calibrate.py``) uses the same functions, so the fitted coefficients mean the same
thing here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tokenworks.errors import ConfigError, InfeasibleError, check_range
from tokenworks.model import ModelArch, kv_bytes_per_token, param_counts, weight_bytes
from tokenworks.perf.calibration import Calibration
from tokenworks.perf.deployment import Deployment
from tokenworks.perf.engine import (
    DEFAULT_ENGINE,
    check_batch,
    check_engine,
    check_engine_limits,
    check_engine_support,
    engine_defaults,
)
from tokenworks.perf.memory import MemoryPlan, plan_memory
from tokenworks.perf.steady import SteadyState, prefill_time_s, steady_state, token_budget_batch
from tokenworks.perf.step import StepBreakdown, StepCostModel, causal_pairs

__all__ = ["INTERACTIVE_TPOT_S", "MAX_TOKENS", "CurvePoint", "PerfEstimate",
           "estimate_performance"]

MAX_TOKENS = 10_000_000
# ASSUMPTION: above 100 ms per output token (10 tokens/s per user, about a fast reader's pace)
# an operating point is a batch/offline one, not an interactive one; the estimate says so.
INTERACTIVE_TPOT_S = 0.100
BatchLimit = Literal["requested", "kv_capacity", "max_num_seqs", "token_budget", "tpot_slo",
                     "ttft_slo"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CurvePoint:
    """One point of the latency–throughput curve: the replicas at ``batch`` sequences each."""

    batch: int
    tpot_s: float
    ttft_s: float
    e2e_s: float
    output_tokens_per_s: float  # all replicas
    output_tokens_per_s_per_gpu: float
    tokens_per_s_per_user: float  # 1 / TPOT


@dataclass(frozen=True, slots=True, kw_only=True)
class PerfEstimate:
    """The estimator's physics; every dimensional field carries its unit in its name."""

    model: str
    hardware: str
    engine: str
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
    # the engine settings used (the user's, or the engine's defaults on this part)
    max_num_seqs: int
    max_num_batched_tokens: int
    gpu_memory_utilization_frac: float
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
    ttft_s: float  # zero load: front end + the prompt's prefill alone
    frontend_s: float
    ttft_at_batch_s: float  # at batch_size running sequences
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
    # latency–throughput curve across batch sizes (with sweep=True or an SLO)
    curve: tuple[CurvePoint, ...] = ()
    # the SLO asked for and whether the chosen batch meets it
    slo: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    dp: int = 1  # data-parallel attention ranks per replica
    # speculative decoding: method, num_tokens, acceptance_rate, tokens_per_step, source
    speculative: dict[str, Any] = field(default_factory=dict)
    decoding_batch: int = 0  # sequences decoding per step (< batch_size when the budget binds)


def _positive_int(name: str, value: int, *, fix: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{name} = {value!r} must be an integer. {fix}")
    check_range(name, value, low=1, high=MAX_TOKENS, unit="", fix=fix)
    return value


def estimate_performance(
    model: ModelArch,
    deployment: Deployment,
    *,
    engine: str = DEFAULT_ENGINE,
    num_replicas: int = 1,
    input_tokens: int = 2048,
    output_tokens: int = 256,
    batch: int | Literal["max"] = "max",
    prefix_hit_frac: float = 0.0,
    gpu_memory_utilization_frac: float | None = None,
    max_num_seqs: int | None = None,
    max_num_batched_tokens: int | None = None,
    calibration: Calibration | None = None,
    tpot_slo_s: float | None = None,
    ttft_slo_s: float | None = None,
    sweep: bool = False,
) -> PerfEstimate:
    """Memory plan, latency and throughput of ``num_replicas`` replicas of ``deployment``
    running ``engine`` on requests of ``input_tokens``/``output_tokens`` at ``batch`` (or the
    largest that fits: ``"max"``; with ``tpot_slo_s``/``ttft_slo_s``, the largest that meets
    them). Engine settings left as None take the engine's defaults on this accelerator."""
    arch, dep, acc = model, deployment, deployment.accelerator
    engine = check_engine(engine)
    defaults = engine_defaults(engine, acc)
    max_num_seqs = defaults.max_num_seqs if max_num_seqs is None else max_num_seqs
    max_num_batched_tokens = (defaults.max_num_batched_tokens if max_num_batched_tokens is None
                              else max_num_batched_tokens)
    gpu_memory_utilization_frac = (defaults.gpu_memory_utilization_frac
                                   if gpu_memory_utilization_frac is None
                                   else gpu_memory_utilization_frac)
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
    for name, v in (("tpot_slo_s", tpot_slo_s), ("ttft_slo_s", ttft_slo_s)):
        if v is not None:
            check_range(name, v, low=0.0, high=3600.0, low_inclusive=False, unit="s",
                        fix="Give the latency target in seconds, e.g. 0.05.")
    seq_len = input_tokens + output_tokens
    if seq_len > arch.max_context_tokens:
        raise ConfigError(
            f"input_tokens + output_tokens = {seq_len} exceeds {arch.name}'s context window of "
            f"{arch.max_context_tokens} tokens. Shorten the prompt or the output."
        )
    tp, pp, replica_gpus = dep.tp, dep.pp, dep.num_gpus
    plan: MemoryPlan = plan_memory(arch, dep, gpu_memory_utilization_frac=gpu_memory_utilization_frac,
                                   kv_block_size_tokens=defaults.block_size_tokens,
                                   max_seq_len_tokens=seq_len, max_num_seqs=max_num_seqs,
                                   max_num_batched_tokens=max_num_batched_tokens)
    if plan.max_concurrent_sequences < 1:
        raise InfeasibleError(
            f"{arch.name} on {replica_gpus}× {acc.name} ({dep.layout}) leaves KV room for "
            f"{plan.kv_capacity_tokens} tokens, less than one {seq_len}-token sequence. "
            f"Use more GPUs (larger tp), fp8 weights/KV, or shorter sequences."
        )
    cached = round(prefix_hit_frac * input_tokens)
    support_notes = check_engine_support(engine, dep)
    cost = StepCostModel(arch, dep, calibration, engine=engine,
                         max_num_batched_tokens=max_num_batched_tokens)

    def at(b: int) -> SteadyState:
        return steady_state(cost, batch=b, input_tokens=input_tokens, output_tokens=output_tokens,
                            cached_tokens=cached, max_num_batched_tokens=max_num_batched_tokens)

    limited: BatchLimit
    limits = {
        "max_num_seqs": max_num_seqs,
        "token_budget": token_budget_batch(max_num_batched_tokens=max_num_batched_tokens,
                                           input_tokens=input_tokens,
                                           output_tokens=output_tokens, cached_tokens=cached),
        "kv_capacity": plan.max_concurrent_sequences,
    }
    # Ties go to the first: the engine limits before the physical KV capacity.
    cap_limit = min(limits, key=lambda k: limits[k])
    cap = limits[cap_limit]
    slo_given = tpot_slo_s is not None or ttft_slo_s is not None
    if batch == "max":
        limited, batch_size = cap_limit, cap  # type: ignore[assignment]
        if slo_given:
            batch_size, limited = _largest_meeting(at, cap, cap_limit, tpot_slo_s, ttft_slo_s,
                                                   arch.name, acc.name, replica_gpus)
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

    ss = at(batch_size)
    new = input_tokens - cached
    frontend_s = cost.calibration.frontend_s
    ttft_s = frontend_s + prefill_time_s(cost, new_tokens=new, cached_tokens=cached,
                                         chunk_tokens=cost.rank_chunk_tokens
                                         or max_num_batched_tokens)
    tpot_s = ss.step_time_s
    out_tps = ss.output_tokens_per_s * num_replicas
    total_tps = out_tps * (input_tokens + output_tokens) / output_tokens
    num_gpus = replica_gpus * num_replicas

    # The prefill bound is that of its first chunk (TTFT runs the prompt in chunks of the budget).
    chunk = max(min(new, max_num_batched_tokens), 1)
    pre = cost.breakdown(num_prefill_tokens=chunk, prefill_attention_pairs=causal_pairs(chunk, cached),
                         prefill_kv_tokens=cached + chunk)
    dec = ss.breakdown
    curve: tuple[CurvePoint, ...] = ()
    if sweep or slo_given:
        pts = sorted({b for b in _sweep_batches(cap)} | {batch_size})
        curve = tuple(_point(at(b), num_replicas, num_gpus) for b in pts)
    slo: dict[str, Any] = {}
    if slo_given:
        slo = {"tpot_slo_s": tpot_slo_s, "ttft_slo_s": ttft_slo_s,
               "tpot_met": tpot_slo_s is None or tpot_s <= tpot_slo_s,
               "ttft_met": ttft_slo_s is None or ss.ttft_s <= ttft_slo_s}
    notes = list(support_notes)
    if ss.decoding < ss.batch:
        notes.append(
            f"batch {batch_size} needs more prompt tokens per step than max_num_batched_tokens "
            f"= {max_num_batched_tokens} leaves: every step is full, only {ss.decoding} "
            f"sequences decode at once and the rest wait for their prefill (raise the budget or "
            f"lower the batch).")
    spec = dep.spec
    if spec is not None:
        notes.append(
            f"speculative decoding ({spec.method}, {spec.num_tokens} drafts, acceptance "
            f"{spec.acceptance_rate:.2f}: {spec.tokens_per_step:.2f} tokens per step; "
            f"{spec.source}): TPOT and throughput are per accepted token.")
    if tpot_s > INTERACTIVE_TPOT_S:
        notes.append(
            f"batch {batch_size} gives TPOT {tpot_s * 1e3:.0f} ms ({1 / tpot_s:.1f} tokens/s per "
            f"user): a {'max-throughput (offline)' if limited != 'requested' else 'batch'} "
            "operating point, not an interactive one. Set a TPOT target (--tpot-slo-ms, e.g. 50) "
            "or see the latency–throughput curve (--sweep).")
    pc = param_counts(arch)
    bound = {"prefill": pre.bound, "decode": dec.bound,
             "batch": "capacity" if limited == "kv_capacity" else limited}
    return PerfEstimate(
        model=arch.name, hardware=acc.name, engine=engine, num_gpus=num_gpus,
        num_replicas=num_replicas, tp=tp, pp=pp, ep=dep.ep, weights_dtype=dep.weights_dtype,
        kv_dtype=dep.kv_dtype, compute_dtype=dep.matmul_dtype,
        input_tokens=input_tokens, output_tokens=output_tokens, prefix_hit_frac=prefix_hit_frac,
        max_num_seqs=max_num_seqs, max_num_batched_tokens=max_num_batched_tokens,
        gpu_memory_utilization_frac=gpu_memory_utilization_frac,
        params_total=pc.total, params_active=pc.active,
        weight_bytes=weight_bytes(arch, dep.weights_dtype),
        weight_bytes_per_gpu=plan.weight_bytes_per_gpu,
        kv_bytes_per_token=kv_bytes_per_token(arch, dep.kv_dtype), memory=asdict(plan),
        max_concurrent_sequences=plan.max_concurrent_sequences,
        batch_size=batch_size, batch_limited_by=limited,
        ttft_s=ttft_s, frontend_s=frontend_s, ttft_at_batch_s=ss.ttft_s,
        prefill_tokens_per_s=new / (ttft_s - frontend_s) if ttft_s > frontend_s else 0.0,
        decode_step_time_s=ss.decode_only_step_s, tpot_s=tpot_s,
        e2e_s=ss.e2e_s,
        output_tokens_per_s=out_tps, total_tokens_per_s=total_tps,
        output_tokens_per_s_per_gpu=out_tps / num_gpus,
        bound=bound, prefill_breakdown=asdict(pre), decode_breakdown=asdict(dec),
        prefill_share_frac=ss.prefill_share_frac,
        busy_frac=min(max(_busy_frac(dec), 0.0), 1.0),
        curve=curve, slo=slo, notes=tuple(notes), dp=dep.dp,
        speculative={} if spec is None else {
            "method": spec.method, "num_tokens": spec.num_tokens,
            "acceptance_rate": spec.acceptance_rate, "tokens_per_step": spec.tokens_per_step,
            "draft_model": spec.draft_model, "source": spec.source},
        decoding_batch=ss.decoding,
    )


def _sweep_batches(cap: int) -> list[int]:
    out, b = [], 1
    while b < cap:
        out.append(b)
        b *= 2
    out.append(cap)
    return out


def _point(ss: SteadyState, replicas: int, gpus: int) -> CurvePoint:
    out = ss.output_tokens_per_s * replicas
    return CurvePoint(batch=ss.batch, tpot_s=ss.step_time_s, ttft_s=ss.ttft_s, e2e_s=ss.e2e_s,
                      output_tokens_per_s=out, output_tokens_per_s_per_gpu=out / gpus,
                      tokens_per_s_per_user=1.0 / ss.step_time_s if ss.step_time_s > 0 else 0.0)


def _largest_meeting(at, cap: int, cap_limit: str, tpot_slo: float | None,
                     ttft_slo: float | None, model: str, hardware: str, gpus: int
                     ) -> tuple[int, BatchLimit]:
    """The largest batch up to ``cap`` whose TPOT and TTFT meet the targets (both grow with the
    batch, so a bisection finds it), and which target (or cap) stops it there."""

    def fails(b: int) -> str | None:
        ss = at(b)
        if tpot_slo is not None and ss.step_time_s > tpot_slo:
            return "tpot_slo"
        if ttft_slo is not None and ss.ttft_s > ttft_slo:
            return "ttft_slo"
        return None

    first = fails(1)
    if first is not None:
        ss = at(1)
        what = (f"TPOT {ss.step_time_s * 1e3:.1f} ms > {tpot_slo * 1e3:.1f} ms"
                if first == "tpot_slo" else f"TTFT {ss.ttft_s * 1e3:.0f} ms > "
                f"{ttft_slo * 1e3:.0f} ms")  # type: ignore[operator]
        raise InfeasibleError(
            f"no batch meets the target: even one sequence of {model} on {gpus}× {hardware} "
            f"gives {what} (the weights alone take {ss.breakdown.op('gemm').time_s * 1e3:.1f} ms "
            "to stream each step). Use more GPUs (larger tp), fp8/fp4 weights, a faster part, "
            "or a looser target.")
    if fails(cap) is None:
        return cap, cap_limit  # type: ignore[return-value]
    lo, hi = 1, cap  # lo meets, hi fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fails(mid) is None:
            lo = mid
        else:
            hi = mid
    return lo, fails(hi)  # type: ignore[return-value]


def _busy_frac(bd: StepBreakdown) -> float:
    """Share of a step spent in roofline-bound op groups (not in fixed per-step overhead)."""
    if bd.time_s <= 0:
        return 0.0
    return sum(op.time_s for op in bd.ops if op.bound != "overhead") / bd.time_s
