"""Forward-pass FLOPs of one sequence: linear layers, attention scores, lm_head.

Units: FLOPs (one multiply-add = 2 FLOPs). Linear FLOPs are 2 × (active weights touched) per
token (Kaplan et al. 2020, arXiv:2001.08361 §2.1; Hoffmann et al. 2022, arXiv:2203.15556);
attention adds the QK^T and AV matmuls over the (query, key) pairs of causal attention.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tokenworks.errors import check_range
from tokenworks.model.arch import ModelArch
from tokenworks.model.params import (
    attention_layer_params,
    dense_ffn_layers_params,
    expert_params,
    recurrent_layers_params,
    shared_expert_params,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlopBreakdown:
    """FLOPs of one forward pass of one sequence."""

    linear: float  # projections, FFN/experts, router, recurrent-mixer projections (no lm_head)
    attention: float  # QK^T and AV over the attended (query, key) pairs
    lm_head: float
    total: float


def linear_params_by_kind(arch: ModelArch) -> dict[str, float]:
    """Matmul weights by kind (biases and norms left out): what each token multiplies against.

    Keys: 'attention' (all layers' Q/K/V/O), 'dense_ffn' (all dense layers), 'shared_experts'
    (all MoE layers), 'routed_expert_one' (one expert, one layer), 'router' (all MoE layers),
    'mamba' (all recurrent mixers' projections: Mamba and Gated DeltaNet layers), 'lm_head'
    (computed even when tied), and
    'num_moe_layers' (a count, for convenience). A fresh dict each call.
    """
    return dict(_linear_params_by_kind(arch))


# NOTE: memoised on the frozen ModelArch for performance (perf calls it per step shape).
@lru_cache(maxsize=256)
def _linear_params_by_kind(arch: ModelArch) -> tuple[tuple[str, float], ...]:
    n_attn = arch.num_attention_layers
    n_moe = arch.num_moe_layers
    router_one = arch.hidden_size * arch.moe.num_experts if arch.moe is not None else 0
    return tuple({
        "attention": n_attn * attention_layer_params(arch, with_extras=False),
        "dense_ffn": dense_ffn_layers_params(arch, with_bias=False),
        "shared_experts": n_moe * shared_expert_params(arch, with_bias=False),
        "routed_expert_one": expert_params(arch, with_bias=False) if n_moe else 0.0,
        "router": float(n_moe * router_one),
        "mamba": recurrent_layers_params(arch, with_extras=False),
        "lm_head": float(arch.vocab_size * arch.hidden_size),
        "num_moe_layers": float(n_moe),
    }.items())


def active_linear_params(arch: ModelArch) -> float:
    """Matmul weights one token multiplies against, lm_head excluded (top-k experts only)."""
    k = linear_params_by_kind(arch)
    top_k = arch.moe.num_experts_per_tok if arch.moe is not None else 0
    return (k["attention"] + k["dense_ffn"] + k["shared_experts"] + k["router"] + k["mamba"]
            + k["routed_expert_one"] * top_k * k["num_moe_layers"])


def attention_pairs(new_tokens: float, context_before: float = 0,
                    window: int | None = None) -> float:
    """(query, key) pairs scored when ``new_tokens`` follow ``context_before`` cached tokens.

    Token at 0-based position p attends to p + 1 keys (itself included), or min(p + 1, window).
    Closed form: S(C + T) - S(C) with S(n) = sum_{k=1..n} min(k, W). Works on numpy arrays.
    """
    t = np.asarray(new_tokens, dtype=float)
    c = np.asarray(context_before, dtype=float)

    def s(n: np.ndarray) -> np.ndarray:
        # Arithmetic series n(n+1)/2, flattened to W per key past the window.
        if window is None:
            return n * (n + 1) / 2
        w = float(window)
        return np.where(n <= w, n * (n + 1) / 2, w * (w + 1) / 2 + w * (n - w))

    out = s(c + t) - s(c)
    return float(out) if out.ndim == 0 else out  # type: ignore[return-value]


def attention_flops_per_pair(arch: ModelArch, *, absorbed: bool = False) -> float:
    """FLOPs per (query, key) pair in one attention layer: 2·H·d_qk (QK^T) + 2·H·d_v (AV).

    ``absorbed`` (MLA only) costs the weight-absorbed decode form, which scores on the
    kv_lora_rank + rope latent and sums over kv_lora_rank (arXiv:2405.04434 §2.1.2).
    """
    h = arch.num_attention_heads
    if arch.mla is not None:
        m = arch.mla
        if absorbed:
            return 2.0 * h * (m.kv_lora_rank + m.qk_rope_head_dim) + 2.0 * h * m.kv_lora_rank
        # ASSUMPTION: forward_flops costs MLA attention in its expanded form (qk = nope + rope,
        # v_head_dim), as in prefill; absorbed decode kernels score on the latent instead.
        return 2.0 * h * (m.qk_nope_head_dim + m.qk_rope_head_dim) + 2.0 * h * m.v_head_dim
    # Kaplan et al. 2020 (arXiv:2001.08361) Table 1: 2·n_ctx·d_attn per token per layer = 4·H·d_h
    # per (query, key) pair for scores plus weighted sum.
    return 4.0 * h * arch.head_dim


def forward_flops(arch: ModelArch, *, new_tokens: int, context_before: int = 0,
                  all_logits: bool = False) -> FlopBreakdown:
    """FLOPs for one sequence to process ``new_tokens`` after ``context_before`` cached tokens.

    ``all_logits`` computes the lm_head for every new token (training); by default only the
    last one, as an inference engine does.
    """
    check_range("new_tokens", new_tokens, low=0, unit="tokens")
    check_range("context_before", context_before, low=0, unit="tokens")
    linear = 2.0 * active_linear_params(arch) * new_tokens
    per_pair = attention_flops_per_pair(arch)
    n_full = sum(1 for layer in arch.layers if layer.mixer == "attention")
    n_slide = sum(1 for layer in arch.layers if layer.mixer == "sliding_attention")
    pairs = n_full * attention_pairs(new_tokens, context_before)
    if n_slide:
        pairs += n_slide * attention_pairs(new_tokens, context_before, arch.sliding_window_tokens)
    attention = per_pair * pairs
    # ASSUMPTION: inference computes logits only for the last position of a forward pass
    # (vLLM LogitsProcessor prunes hidden states to the sampled positions).
    logit_tokens = new_tokens if all_logits else min(new_tokens, 1)
    lm_head = 2.0 * arch.vocab_size * arch.hidden_size * logit_tokens
    # ASSUMPTION: Mamba selective-scan FLOPs (~ d_inner·N per token) are left out; they are
    # < 1% of the in/out projections for Jamba and Nemotron-H. Likewise the Gated DeltaNet
    # state update (~7·d_k·d_v per value head per token, arXiv:2412.06464): ~3% of one
    # Qwen3.5-397B linear-attention layer's projection FLOPs, ~1% of the whole forward.
    return FlopBreakdown(linear=linear, attention=attention, lm_head=lm_head,
                         total=linear + attention + lm_head)


def prefill_flops(arch: ModelArch, prompt_tokens: int) -> float:
    """FLOPs to prefill a prompt of ``prompt_tokens`` (logits for the last token only)."""
    return forward_flops(arch, new_tokens=prompt_tokens, context_before=0).total


def decode_flops_per_token(arch: ModelArch, context_tokens: int) -> float:
    """FLOPs to generate one token with ``context_tokens`` already in the KV cache."""
    return forward_flops(arch, new_tokens=1, context_before=context_tokens).total


def training_flops(arch: ModelArch, tokens: float) -> float:
    """Training compute ≈ 6·N·D with N the active non-embedding parameters incl. lm_head."""
    check_range("tokens", tokens, low=0, unit="tokens")
    n = active_linear_params(arch) + arch.vocab_size * arch.hidden_size
    # Kaplan et al. 2020 (arXiv:2001.08361) eq. 2.1 / Hoffmann et al. 2022: C ≈ 6·N·D
    # (forward 2ND + backward 4ND), attention FLOPs ignored.
    return 6.0 * n * tokens
