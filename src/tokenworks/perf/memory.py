"""Memory plan of one replica, the way vLLM sizes its KV cache.

vLLM's worker (``determine_num_available_blocks`` / ``determine_available_memory``) takes
``total GPU memory × gpu_memory_utilization``, subtracts the loaded weights, the peak
activation memory of a profiling forward pass with ``max_num_batched_tokens`` dummy tokens,
and non-torch memory (CUDA context, NCCL, CUDA graphs), and gives the rest to the paged KV
cache in blocks of ``block_size`` tokens. With data-parallel attention (``dp`` > 1) each rank
keeps the KV of its own sequences: the replica holds ``dp`` times one rank's sequences, and
the token budget is shared by the ranks. Units: bytes, tokens, counts; per-GPU fields are
per GPU, capacities (``kv_capacity_tokens``, ``num_kv_blocks``,
``max_concurrent_sequences``) are the replica's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tokenworks.dtypes import get_dtype
from tokenworks.errors import ConfigError, InfeasibleError, check_range
from tokenworks.hardware import list_accelerators
from tokenworks.model.arch import ModelArch
from tokenworks.perf.deployment import Deployment, make_deployment
from tokenworks.perf.shape import ACT_DTYPE, sharded_shape
from tokenworks.units import GB, GIB


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryPlan:
    """Per-GPU memory budget of one replica (bytes) and the KV capacity it leaves."""

    gpu_memory_bytes: float
    gpu_memory_utilization_frac: float
    usable_bytes_per_gpu: float
    weight_bytes_per_gpu: float
    activation_bytes_per_gpu: float
    engine_overhead_bytes_per_gpu: float
    kv_bytes_per_gpu: float
    kv_bytes_per_token_per_gpu: float
    kv_capacity_tokens: int
    kv_block_size_tokens: int
    num_kv_blocks: int
    max_concurrent_sequences: int
    max_seq_len_tokens: int


# Accelerators whose weights live in on-chip SRAM, scheduled by a compiler (no GPU runtime).
SRAM_DATAFLOW_KINDS = ("lpu", "wafer")


def engine_overhead_bytes(dep: Deployment) -> float:
    """Non-torch memory per GPU: CUDA context, NCCL buffers, CUDA graphs.

    vLLM logs report ``non_torch_memory takes 0.33–0.39 GiB`` on single GPUs
    (github:vllm-project/vllm issues #14452, #11251) and ``CUDA graph takes ~0.4–0.6 GiB``
    (vllm-project/vllm PR #5515, gpustack/runner PR #251: "Estimated CUDA graph memory 0.36 GiB").
    """
    if dep.accelerator.kind in SRAM_DATAFLOW_KINDS:
        # ASSUMPTION: a statically compiled dataflow chip (Groq LPU, Cerebras WSE) keeps no
        # runtime context, graphs or collective buffers in its on-chip memory.
        return 0.0
    # ASSUMPTION: 0.4 GiB context + 0.6 GiB CUDA graphs = 1.0 GiB per GPU, plus 0.5 GiB of
    # NCCL buffers when the replica spans more than one GPU.
    return 1.0 * GIB + (0.5 * GIB if dep.num_gpus > 1 else 0.0)


def activation_bytes(model: ModelArch, dep: Deployment, *, max_num_batched_tokens: int,
                     max_num_seqs: int) -> float:
    """Peak activation workspace per GPU of vLLM's profiling run.

    The profile run pushes ``max_num_batched_tokens`` tokens through the model and samples
    ``min(max_num_seqs, tokens)`` rows of fp32 logits (vLLM ``profile_run`` /
    ``_dummy_sampler_run``). Peak per layer: the residual stream, q/k/v, and the FFN's gate+up
    output (top-k experts' for MoE).
    """
    ab = get_dtype(ACT_DTYPE).bytes
    fp32 = get_dtype("fp32").bytes
    h, tp = model.hidden_size, dep.tp
    qkv = (model.num_attention_heads + 2 * model.num_kv_heads) * model.head_dim
    inter = model.intermediate_size
    if model.moe is not None and model.is_moe:
        m = model.moe
        inter = max(inter, m.num_experts_per_tok * m.expert_intermediate_size
                    + m.num_shared_experts * m.shared_expert_intermediate_size)
    # ASSUMPTION: peak = a few live tensors of one layer (2 residual copies, qkv, 2·I gate/up)
    # in bf16, sharded by tp except the residual; PyTorch frees layer outputs as it goes.
    per_token = (2.0 * h + (qkv + 2.0 * inter) / tp) * ab
    # ASSUMPTION: with data-parallel attention the replica's token budget is shared by its dp
    # ranks, each profiling its share.
    tokens = max(max_num_batched_tokens // dep.dp, 1)
    logits = min(max_num_seqs, tokens) * model.vocab_size * fp32
    return tokens * per_token + logits


def _fits(model: ModelArch, dep: Deployment, usable: float, reserve: float) -> bool:
    return sharded_shape(model, dep).weight_bytes_per_gpu + reserve < usable


def _suggestion(model: ModelArch, dep: Deployment, usable: float, reserve: float) -> str:
    """Smallest tp×pp (same dtype), a narrower dtype at the same split, or a bigger part."""
    acc = dep.accelerator
    options: list[str] = []
    heads, kv = model.num_attention_heads, max(model.num_kv_heads, 1)
    tps = [t for t in (1, 2, 4, 8, 16, 32, 64) if heads % t == 0
           and (model.mla is not None or kv % t == 0 or t % kv == 0)]
    best = None
    # Powers of two, widest tp first (TP inside the scale-up domain beats extra stages).
    for n in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        for t in sorted(tps, reverse=True):
            if n % t or n // t > model.num_layers or t > max(acc.scaleup_domain_size, 1):
                continue
            cand = make_deployment(model, acc, tp=t, pp=n // t, weights_dtype=dep.weights_dtype,
                                   kv_dtype=dep.kv_dtype)
            if _fits(model, cand, usable, reserve):
                best = cand
                break
        if best is not None:
            break
    if best is not None and best.num_gpus > dep.num_gpus:
        options.append(f"tp={best.tp}, pp={best.pp} ({best.num_gpus} GPUs)"
                       if best.pp > 1 else f"tp >= {best.tp}")
    for w in ("fp8", "nvfp4" if acc.supports("fp4") else "int4"):
        if w == dep.weights_dtype:
            continue
        cand = make_deployment(model, acc, tp=dep.tp, pp=dep.pp, weights_dtype=w,
                               kv_dtype=dep.kv_dtype)
        if _fits(model, cand, usable, reserve):
            options.append(f"{w} weights at tp={dep.tp}, pp={dep.pp}")
            break
    bigger = sorted((a for a in list_accelerators() if a.memory_bytes > acc.memory_bytes
                     and a.vendor == acc.vendor and a.scaleup_domain_size > 1),
                    key=lambda a: (a.memory_bytes, a.launch_date))[:3]
    if bigger:
        options.append(f"a larger-memory accelerator ({', '.join(a.name for a in bigger)})")
    return "Try " + ", ".join(options) + "." if options else "Use more GPUs."


def smallest_tp(model: ModelArch, acc, *, weights_dtype: str, kv_dtype: str,
                gpu_memory_utilization_frac: float = 0.9, max_seq_len_tokens: int = 4096,
                max_num_batched_tokens: int = 8192, max_num_seqs: int = 256) -> int | None:
    """The smallest tensor-parallel size (a power of two that splits the heads, inside the
    scale-up domain) at which ``model`` fits on ``acc`` with room for one sequence of
    ``max_seq_len_tokens``; None when none does."""
    heads, kv = model.num_attention_heads, max(model.num_kv_heads, 1)
    for t in (1, 2, 4, 8, 16, 32, 64):
        if t > max(acc.scaleup_domain_size, 1) or (model.num_attention_layers and heads % t):
            continue
        if model.mla is None and model.num_attention_layers and kv % t and t % kv:
            continue
        dep = make_deployment(model, acc, tp=t, weights_dtype=weights_dtype, kv_dtype=kv_dtype)
        try:
            plan_memory(model, dep, gpu_memory_utilization_frac=gpu_memory_utilization_frac,
                        max_seq_len_tokens=max_seq_len_tokens,
                        max_num_batched_tokens=max_num_batched_tokens, max_num_seqs=max_num_seqs)
        except InfeasibleError:
            continue
        return t
    return None


def plan_memory(
    model: ModelArch,
    deployment: Deployment,
    *,
    gpu_memory_utilization_frac: float = 0.9,
    kv_block_size_tokens: int = 16,
    max_seq_len_tokens: int,
    max_num_batched_tokens: int = 8192,
    max_num_seqs: int = 1024,
) -> MemoryPlan:
    """Split each GPU's memory into weights, activations, overhead and paged KV cache.

    Raises ``InfeasibleError`` (with the smallest split or precision that fits) when the
    weights do not fit, or when no sequence of ``max_seq_len_tokens`` fits in what is left.
    """
    check_range("gpu_memory_utilization_frac", gpu_memory_utilization_frac, low=0.0, high=1.0,
                low_inclusive=False, fix="Use e.g. 0.9 (vLLM's default).")
    for name, v in (("kv_block_size_tokens", kv_block_size_tokens),
                    ("max_seq_len_tokens", max_seq_len_tokens),
                    ("max_num_batched_tokens", max_num_batched_tokens),
                    ("max_num_seqs", max_num_seqs)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} = {v!r} is invalid: it must be a whole number >= 1.")
    dep, acc = deployment, deployment.accelerator
    shape = sharded_shape(model, dep)
    usable = acc.memory_bytes * gpu_memory_utilization_frac
    act = activation_bytes(model, dep, max_num_batched_tokens=max_num_batched_tokens,
                           max_num_seqs=max_num_seqs)
    overhead = engine_overhead_bytes(dep)
    weights = shape.weight_bytes_per_gpu
    if weights + act + overhead >= usable:
        total_w = weights * dep.num_gpus
        msg = (f"{model.name} weights need {total_w / GB:.1f} GB at {dep.weights_dtype} "
               f"({weights / GB:.1f} GB per GPU); {dep.num_gpus}× {acc.name} offer "
               f"{usable / GB:.1f} GB usable each ({acc.memory_bytes / GIB:.0f} GiB × "
               f"{gpu_memory_utilization_frac:.2f}) of which {(act + overhead) / GB:.1f} GB go "
               f"to activations and engine overhead, at {dep.layout}. ")
        raise InfeasibleError(msg + _suggestion(model, dep, usable, act + overhead))
    kv_budget = usable - weights - act - overhead
    # Per stage: a GPU holds 1/pp of the layers' KV (a drafter's on the last stage).
    full = shape.kv_bytes_per_token_full_per_gpu / dep.pp + shape.draft_kv_bytes_per_token_per_gpu
    sliding = shape.kv_bytes_per_token_sliding_per_gpu / dep.pp
    ssm = shape.ssm_state_bytes_per_seq_per_gpu / dep.pp
    per_token = full + sliding
    window = shape.sliding_window_tokens
    seq_tokens_sliding = max_seq_len_tokens if window is None else min(max_seq_len_tokens, window)
    # ASSUMPTION: sliding-window layers keep only the window per sequence (vLLM hybrid KV
    # cache manager frees blocks that fall out of the window); Mamba state is one fixed slot.
    per_seq = (full * _round_up(max_seq_len_tokens, kv_block_size_tokens)
               + sliding * _round_up(seq_tokens_sliding, kv_block_size_tokens) + ssm)
    if per_seq > kv_budget:
        raise InfeasibleError(
            f"{model.name} leaves {kv_budget / GB:.2f} GB per GPU for KV cache on "
            f"{dep.num_gpus}× {acc.name} ({dep.layout}), but one "
            f"{max_seq_len_tokens}-token sequence needs {per_seq / GB:.2f} GB. Reduce "
            f"max_seq_len_tokens, use fp8 KV cache, or add GPUs.")
    dp = dep.dp
    if per_token > 0:
        num_blocks = int(kv_budget // (per_token * kv_block_size_tokens)) * dp
        capacity_tokens = num_blocks * kv_block_size_tokens
    else:  # attention-free model: no paged KV
        num_blocks, capacity_tokens = 0, 0
    max_seqs = min(max_num_seqs, int(kv_budget // per_seq) * dp) if per_seq > 0 \
        else max_num_seqs
    return MemoryPlan(
        gpu_memory_bytes=acc.memory_bytes,
        gpu_memory_utilization_frac=gpu_memory_utilization_frac,
        usable_bytes_per_gpu=usable,
        weight_bytes_per_gpu=weights,
        activation_bytes_per_gpu=act,
        engine_overhead_bytes_per_gpu=overhead,
        kv_bytes_per_gpu=kv_budget,
        kv_bytes_per_token_per_gpu=per_token,
        kv_capacity_tokens=capacity_tokens,
        kv_block_size_tokens=kv_block_size_tokens,
        num_kv_blocks=num_blocks,
        max_concurrent_sequences=max_seqs,
        max_seq_len_tokens=max_seq_len_tokens,
    )


def _round_up(n: int, block: int) -> int:
    return int(math.ceil(n / block) * block)
