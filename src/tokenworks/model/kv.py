"""KV-cache and SSM-state sizes per token and per sequence.

Units: bytes. Widths from ``tokenworks.dtypes``. Attention layers cache keys and values for
every token (sliding-window layers only the last ``sliding_window_tokens``); MLA caches one
compressed latent plus the decoupled RoPE key; recurrent layers (Mamba, Gated DeltaNet linear
attention) keep a constant-size state per sequence instead.
"""

from __future__ import annotations

from tokenworks.dtypes import get_dtype
from tokenworks.errors import check_range
from tokenworks.model.arch import ModelArch


def kv_elements_per_token_per_layer(arch: ModelArch) -> int:
    """Cached elements per token in one attention layer."""
    if arch.mla is not None:
        # DeepSeek-V2 (arXiv:2405.04434 §2.1.4, Table 1): cache c_KV (d_c) and k^R (d_h^R) only.
        return arch.mla.kv_lora_rank + arch.mla.qk_rope_head_dim
    # MHA/GQA/MQA (Ainslie et al. 2023, arXiv:2305.13245): K and V, n_kv heads × head_dim each.
    return 2 * arch.num_kv_heads * arch.head_dim


def kv_bytes_per_token_by_layer_kind(arch: ModelArch, kv_dtype: str) -> dict[str, float]:
    """KV bytes per token summed over layers of each kind: 'attention', 'sliding_attention'."""
    width = get_dtype(kv_dtype).bytes
    per_layer = kv_elements_per_token_per_layer(arch) * width
    out = {"attention": 0.0, "sliding_attention": 0.0}
    for layer in arch.layers:
        if layer.mixer in out:
            out[layer.mixer] += per_layer
    return out


def kv_bytes_per_token(arch: ModelArch, kv_dtype: str) -> float:
    """KV bytes one token adds across all attention layers (sliding ones included; recurrent 0)."""
    return sum(kv_bytes_per_token_by_layer_kind(arch, kv_dtype).values())


def kv_cache_bytes(arch: ModelArch, kv_dtype: str, context_tokens: int) -> float:
    """KV bytes of one sequence holding ``context_tokens`` (sliding layers capped at the window)."""
    check_range("context_tokens", context_tokens, low=0, unit="tokens",
                fix="Pass the number of tokens in the sequence (prompt + generated).")
    kinds = kv_bytes_per_token_by_layer_kind(arch, kv_dtype)
    window = arch.sliding_window_tokens
    sliding_tokens = context_tokens if window is None else min(context_tokens, window)
    return kinds["attention"] * context_tokens + kinds["sliding_attention"] * sliding_tokens


def ssm_state_bytes(arch: ModelArch, dtype: str = "bf16") -> float:
    """Recurrent state of one sequence over all Mamba and Gated DeltaNet layers (conv + state),
    constant in context."""
    width = get_dtype(dtype).bytes
    return (_mamba_state_elements(arch) + _linear_attention_state_elements(arch)) * width


def _mamba_state_elements(arch: ModelArch) -> float:
    m = arch.mamba
    n_mamba = sum(1 for layer in arch.layers if layer.mixer == "mamba")
    if m is None or n_mamba == 0:
        return 0.0
    if m.version == 1:
        di = m.expand * arch.hidden_size
        conv_dim = di
        # Mamba-1 (arXiv:2312.00752 §3.3): h_t is d_inner × N per sequence.
        ssm = di * m.d_state
    else:
        di = m.num_heads * m.head_dim
        conv_dim = di + 2 * m.n_groups * m.d_state
        # Mamba-2 (arXiv:2405.21060): state is heads × head_dim × N.
        ssm = m.num_heads * m.head_dim * m.d_state
    # ASSUMPTION: the causal conv keeps its last d_conv - 1 inputs (vLLM MambaStateShapeCalculator);
    # conv and SSM state both stored in ``dtype``.
    conv = conv_dim * (m.d_conv - 1)
    return float(n_mamba * (conv + ssm))


def _linear_attention_state_elements(arch: ModelArch) -> float:
    la = arch.linear_attention
    n_linear = sum(1 for layer in arch.layers if layer.mixer == "linear_attention")
    if la is None or n_linear == 0:
        return 0.0
    # Gated DeltaNet (arXiv:2412.06464 §2-3): each value head carries a d_k × d_v state matrix
    # S_t; the causal conv over q, k, v keeps its last conv_kernel - 1 inputs (vLLM
    # MambaStateShapeCalculator.gated_delta_net_state_shape: (K-1, conv_dim) + (n_v, d_k, d_v)).
    # ASSUMPTION: the state is held in ``dtype`` like Mamba's; Qwen3.5 configs name
    # mamba_ssm_dtype float32, which would double the state part if an engine kept it.
    state = la.num_value_heads * la.key_head_dim * la.value_head_dim
    conv = la.conv_dim * (la.conv_kernel - 1)
    return float(n_linear * (state + conv))
