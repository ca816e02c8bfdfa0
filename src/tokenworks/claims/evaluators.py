"""Claim evaluators for memory and architecture: weights, KV cache, attention variants, params.

Each evaluator recomputes one kind of seed claim with ``tokenworks.model`` and
``tokenworks.hardware`` and returns SI units (bytes, plain ratios, parameter counts) with a
one-line working in display units. Registered in ``registry.EVALUATORS`` on import.
"""

from __future__ import annotations

from dataclasses import replace

from tokenworks.claims.registry import Computed, Params, evaluator
from tokenworks.dtypes import get_dtype
from tokenworks.errors import CatalogError
from tokenworks.hardware import get_accelerator
from tokenworks.model import (
    ModelArch,
    get_model,
    kv_bytes_per_token,
    kv_cache_bytes,
    param_counts,
    weight_bytes,
)
from tokenworks.units import GB, KB, MB


def _kv_shape(arch: ModelArch) -> str:
    if arch.mla is not None:
        m = arch.mla
        return (f"{arch.num_attention_layers} layers × (latent {m.kv_lora_rank} + rope "
                f"{m.qk_rope_head_dim}) elements")
    return (f"{arch.num_attention_layers} layers × 2 × {arch.num_kv_heads} KV heads × "
            f"{arch.head_dim} dims")


@evaluator("kv_cache_bytes")
def kv_cache(p: Params) -> Computed:
    """KV bytes of ``batch`` sequences of ``context_tokens`` each (Pope et al. 2022, §2)."""
    arch = get_model(p.str("model"))
    dtype = p.str("kv_dtype")
    ctx = p.int("context_tokens")
    batch = p.int("batch", 1)
    per_tok = kv_bytes_per_token(arch, dtype)
    total = batch * kv_cache_bytes(arch, dtype, ctx)
    return Computed(value=total, working=(
        f"{arch.name}: {_kv_shape(arch)} × {get_dtype(dtype).bytes:g} B ({dtype}) = "
        f"{per_tok / KB:,.1f} KB/token × {ctx:,} tokens × batch {batch} = {total / GB:,.1f} GB"))


@evaluator("weight_bytes")
def weights(p: Params) -> Computed:
    """Weight bytes of a model at a precision (embeddings bf16 below 16-bit, as engines do)."""
    arch = get_model(p.str("model"))
    dtype = p.str("dtype")
    wb = weight_bytes(arch, dtype)
    pc = param_counts(arch)
    return Computed(value=wb, working=(
        f"{arch.name}: {pc.total / 1e9:.2f} B params at {dtype} "
        f"({get_dtype(dtype).bits:g} bits for linear layers) = {wb / GB:.1f} GB"))


@evaluator("kv_dtype_ratio")
def kv_dtype_ratio(p: Params) -> Computed:
    """KV bytes per token at ``kv_dtype`` ÷ at ``base_kv_dtype`` (scale overhead included)."""
    arch = get_model(p.str("model"))
    a, b = p.str("kv_dtype"), p.str("base_kv_dtype")
    ka, kb = kv_bytes_per_token(arch, a), kv_bytes_per_token(arch, b)
    return Computed(value=ka / kb, working=(
        f"{arch.name}: {ka / KB:,.1f} KB/token at {a} ({get_dtype(a).bits:g} bits) ÷ "
        f"{kb / KB:,.1f} KB/token at {b} ({get_dtype(b).bits:g} bits) = {ka / kb:.3f}"))


def _variant(arch: ModelArch, kind: str) -> ModelArch:
    """The same model with another attention layout: 'mha', 'mqa', or 'actual'."""
    if kind == "actual":
        return arch
    if kind == "mha":
        # MHA: one K/V head per query head (Vaswani et al. 2017). For MLA models the MHA
        # equivalent caches full per-head keys (nope + rope dims) and values.
        if arch.mla is not None:
            m = arch.mla
            head = (m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim) / 2.0
            return replace(arch, mla=None, num_kv_heads=arch.num_attention_heads,
                           head_dim=int(head))
        return replace(arch, num_kv_heads=arch.num_attention_heads)
    if kind == "mqa":
        # MQA: a single shared K/V head (Shazeer 2019, arXiv:1911.02150).
        return replace(arch, mla=None, num_kv_heads=1)
    raise CatalogError(f"attention variant '{kind}' is not known; use actual, mha or mqa.")


@evaluator("kv_layout_ratio")
def kv_layout_ratio(p: Params) -> Computed:
    """KV per token of layout ``numerator`` ÷ layout ``denominator`` (mha / mqa / actual).

    With ``as_reduction = true`` returns 1 − ratio (the fraction saved).
    """
    arch = get_model(p.str("model"))
    num, den = p.str("numerator"), p.str("denominator")
    dtype = p.str("kv_dtype", "bf16")
    kn = kv_bytes_per_token(_variant(arch, num), dtype)
    kd = kv_bytes_per_token(_variant(arch, den), dtype)
    ratio = kn / kd
    if p.bool("as_reduction"):
        return Computed(value=1.0 - ratio, working=(
            f"{arch.name}: {num} {kn / KB:,.1f} KB/token vs {den} {kd / KB:,.1f} KB/token "
            f"→ reduction 1 − {ratio:.4f} = {100 * (1 - ratio):.1f}% ({1 / ratio:.0f}× smaller)"))
    return Computed(value=ratio, working=(
        f"{arch.name} ({arch.num_attention_heads} query heads, {arch.num_kv_heads} KV heads): "
        f"{num} {kn / KB:,.1f} KB/token ÷ {den} {kd / KB:,.1f} KB/token = {ratio:.1f}×"))


@evaluator("param_count")
def params_count(p: Params) -> Computed:
    """Total or active parameters counted from the architecture (not the model card)."""
    arch = get_model(p.str("model"))
    kind = p.str("kind")
    pc = param_counts(arch)
    if kind not in ("total", "active"):
        raise CatalogError(f"param_count kind '{kind}' must be 'total' or 'active'.")
    v = pc.total if kind == "total" else pc.active
    return Computed(value=v, working=(
        f"{arch.name}: counted from config.json: total {pc.total / 1e9:.1f} B, "
        f"active per token {pc.active / 1e9:.1f} B"))


@evaluator("free_memory_after_weights")
def free_memory(p: Params) -> Computed:
    """num_gpus × HBM − weight bytes (no engine reserve: the seed's own accounting)."""
    arch = get_model(p.str("model"))
    acc = get_accelerator(p.str("hardware"))
    n = p.int("num_gpus")
    dtype = p.str("dtype")
    wb = weight_bytes(arch, dtype)
    free = n * acc.memory_bytes - wb
    return Computed(value=free, working=(
        f"{n} × {acc.memory_bytes / GB:.0f} GB ({acc.name}) − {wb / GB:.1f} GB weights "
        f"({arch.name}, {dtype}) = {free / GB:.1f} GB"))


@evaluator("kv_transfer")
def kv_transfer(p: Params) -> Computed:
    """KV bytes a prefill node ships to a decode node for one prompt, or the bit rate at a
    request rate (``metric = "bytes" | "bytes_per_s"``; Splitwise/DistServe KV hand-off)."""
    arch = get_model(p.str("model"))
    dtype = p.str("kv_dtype")
    prompt = p.int("prompt_tokens")
    per_req = kv_cache_bytes(arch, dtype, prompt)
    if p.str("metric") == "bytes":
        return Computed(value=per_req, working=(
            f"{arch.name}: {kv_bytes_per_token(arch, dtype) / MB:.3f} MB/token × {prompt} tokens "
            f"= {per_req / GB:.3f} GB per request"))
    rate = p.float("requests_per_s")
    bps = per_req * rate
    return Computed(value=bps, working=(
        f"{per_req / GB:.3f} GB/request × {rate:g} req/s = {bps / GB:.2f} GB/s = "
        f"{bps * 8 / 1e9:.1f} Gbit/s"))
