"""Parameter counts and weight bytes of a ``ModelArch``.

Counts are elements (parameters); bytes come from ``tokenworks.dtypes``. Each block is counted
from the module shapes of its transformers implementation, so totals land within 1% of the
published figures (tests/model/test_params.py). Units: parameters, bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tokenworks.dtypes import get_dtype
from tokenworks.model.arch import ModelArch


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamCounts:
    """Parameters by component. ``active`` = parameters one token touches (model-card sense)."""

    total: float
    active: float  # total minus the routed experts a token does not use (embeddings included)
    embedding: float  # token (and learned position) embedding tables
    lm_head: float  # 0 when tied to the embedding
    attention: float  # all mixer projections incl. biases, q/k norms, sinks
    dense_ffn: float
    routed_experts: float  # all routed experts, all MoE layers
    shared_experts: float
    active_routed_experts: float  # top-k routed experts, all MoE layers
    router: float
    mamba: float  # recurrent mixers: Mamba and Gated DeltaNet linear attention (no KV cache)
    norms: float
    num_expert_layers: int = 0
    num_experts: int = 0

    @property
    def per_expert(self) -> float:
        """Parameters of one routed expert in one layer (0 for dense models)."""
        if self.num_expert_layers == 0 or self.num_experts == 0:
            return 0.0
        return self.routed_experts / (self.num_expert_layers * self.num_experts)

    @property
    def expert_layers(self) -> int:
        return self.num_expert_layers

    @property
    def active_non_embedding(self) -> float:
        """Active parameters excluding the input embedding (the lm_head is kept)."""
        return self.active - self.embedding


def attention_layer_params(arch: ModelArch, *, with_extras: bool = True) -> float:
    """Parameters of one attention block (projections; biases, norms, sinks if ``with_extras``)."""
    d, h = arch.hidden_size, arch.num_attention_heads
    if arch.mla is not None:
        m = arch.mla
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        # DeepSeek-V2 (arXiv:2405.04434 §2.1.2): W_DQ, W_UQ (or W_Q), W_DKV + W_KR, W_UK + W_UV, W_O.
        q = d * h * qk if m.q_lora_rank is None else d * m.q_lora_rank + m.q_lora_rank * h * qk
        kv = d * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank * h * (m.qk_nope_head_dim
                                                                               + m.v_head_dim)
        o = h * m.v_head_dim * d
        norms = m.kv_lora_rank + (m.q_lora_rank or 0)  # q_a_layernorm, kv_a_layernorm
        return float(q + kv + o + (norms if with_extras else 0))
    hd, kvh = arch.head_dim, arch.num_kv_heads
    # Vaswani et al. 2017 / GQA (Ainslie et al. 2023, arXiv:2305.13245): W_Q, W_K, W_V, W_O.
    weights = d * h * hd + 2 * d * kvh * hd + h * hd * d
    if arch.attention_output_gate:
        # Qwen3-Next / Qwen3.5 gated attention: q_proj is d -> 2·h·hd, the query plus a sigmoid
        # gate on the attention output (mlx-lm / transformers Qwen3NextAttention).
        weights += d * h * hd
    if not with_extras:
        return float(weights)
    extras = 0
    if arch.attention_bias:
        extras += (h + 2 * kvh) * hd
    if arch.attention_out_bias:
        extras += d
    if arch.qk_norm:
        extras += 2 * hd
    if arch.attention_sinks:
        extras += h
    return float(weights + extras)


def ffn_params(arch: ModelArch, intermediate: int, *, gated: bool, with_bias: bool = True) -> float:
    """One FFN: gated (SwiGLU, Shazeer 2020 arXiv:2002.05202) has 3 d×I matrices, plain MLP 2."""
    d = arch.hidden_size
    mats = 3 if gated else 2
    bias = ((2 if gated else 1) * intermediate + d) if (arch.ffn_bias and with_bias) else 0
    return float(mats * d * intermediate + bias)


def mamba_layer_params(arch: ModelArch, *, with_extras: bool = True) -> float:
    """One Mamba mixer; projections only when ``with_extras`` is False."""
    m = arch.mamba
    if m is None:
        return 0.0
    d = arch.hidden_size
    if m.version == 1:
        di = m.expand * d
        # Mamba (arXiv:2312.00752) as in transformers JambaMambaMixer: in_proj d→2·di, conv1d,
        # x_proj di→dt_rank+2N, dt_proj dt_rank→di (+bias), A_log di×N, D di, out_proj di→d.
        proj = d * 2 * di + di * (m.dt_rank + 2 * m.d_state) + m.dt_rank * di + di * d
        extras = di * m.d_conv + di + di + di * m.d_state + di + m.dt_rank + 2 * m.d_state
        return float(proj + (extras if with_extras else 0))
    di = m.num_heads * m.head_dim
    conv_dim = di + 2 * m.n_groups * m.d_state
    # Mamba-2 (arXiv:2405.21060) as in transformers NemotronHMamba2Mixer: in_proj
    # d→2·di+2·G·N+nh, conv1d over conv_dim, dt_bias/A_log/D per head, gated norm di, out_proj.
    proj = d * (2 * di + 2 * m.n_groups * m.d_state + m.num_heads) + di * d
    extras = conv_dim * m.d_conv + conv_dim + 3 * m.num_heads + di
    return float(proj + (extras if with_extras else 0))


def linear_attention_layer_params(arch: ModelArch, *, with_extras: bool = True) -> float:
    """One Gated DeltaNet mixer; projections only when ``with_extras`` is False."""
    la = arch.linear_attention
    if la is None:
        return 0.0
    d = arch.hidden_size
    # Gated DeltaNet (arXiv:2412.06464) as in transformers / mlx-lm Qwen3NextGatedDeltaNet:
    # in_proj_qkvz d -> 2·key_dim + 2·value_dim (q, k, v and the output gate z), in_proj_ba
    # d -> 2·n_v (beta and the decay input a), out_proj value_dim -> d.
    proj = d * (2 * la.key_dim + 2 * la.value_dim) + d * 2 * la.num_value_heads + la.value_dim * d
    # Depthwise causal conv1d over q, k, v (no bias), dt_bias and A_log per value head, and the
    # gated RMSNorm over value_head_dim.
    extras = la.conv_dim * la.conv_kernel + 2 * la.num_value_heads + la.value_head_dim
    return float(proj + (extras if with_extras else 0))


def recurrent_layers_params(arch: ModelArch, *, with_extras: bool = True) -> float:
    """All recurrent mixers (Mamba and Gated DeltaNet layers) of the model."""
    n_mamba = sum(1 for layer in arch.layers if layer.mixer == "mamba")
    n_linear = sum(1 for layer in arch.layers if layer.mixer == "linear_attention")
    return (n_mamba * mamba_layer_params(arch, with_extras=with_extras)
            + n_linear * linear_attention_layer_params(arch, with_extras=with_extras))


def dense_ffn_layers_params(arch: ModelArch, *, with_bias: bool = True) -> float:
    """All dense FFN layers, each at its own width (DeciLM) or the model-wide one."""
    return sum(ffn_params(arch, arch.ffn_width(layer), gated=arch.ffn_gated, with_bias=with_bias)
               for layer in arch.layers if layer.ffn == "dense")


def expert_params(arch: ModelArch, *, with_bias: bool = True) -> float:
    """One routed expert of one layer."""
    if arch.moe is None:
        return 0.0
    return ffn_params(arch, arch.moe.expert_intermediate_size, gated=arch.moe.expert_gated,
                      with_bias=with_bias)


def shared_expert_params(arch: ModelArch, *, with_bias: bool = True) -> float:
    """All shared experts of one MoE layer (plus the Qwen2-MoE shared-expert gate)."""
    moe = arch.moe
    if moe is None or moe.num_shared_experts == 0:
        return 0.0
    one = ffn_params(arch, moe.shared_expert_intermediate_size, gated=moe.expert_gated,
                     with_bias=with_bias)
    gate = arch.hidden_size if moe.shared_expert_gate else 0
    return float(moe.num_shared_experts * one + gate)


def router_params(arch: ModelArch) -> float:
    """One MoE layer's router: Linear(hidden, E) (+E bias)."""
    if arch.moe is None:
        return 0.0
    e = arch.moe.num_experts
    return float(arch.hidden_size * e + (e if arch.moe.router_bias else 0))


# NOTE: memoised on the frozen (hashable) ModelArch for performance: planners call this per
# candidate deployment.
@lru_cache(maxsize=256)
def param_counts(arch: ModelArch) -> ParamCounts:
    """Count every parameter of ``arch`` by component (MTP modules and vision towers excluded)."""
    d = arch.hidden_size
    n_attn = arch.num_attention_layers
    n_moe = arch.num_moe_layers
    emb = float(arch.vocab_size * d + arch.num_position_embeddings * d)
    lm_head = 0.0 if arch.tie_word_embeddings else float(arch.vocab_size * d)
    attention = n_attn * attention_layer_params(arch)
    mamba = recurrent_layers_params(arch)
    dense_ffn = dense_ffn_layers_params(arch)
    moe = arch.moe
    num_experts = moe.num_experts if moe is not None and n_moe else 0
    routed = n_moe * num_experts * expert_params(arch)
    active_routed = n_moe * (moe.num_experts_per_tok if num_experts else 0) * expert_params(arch)
    shared = n_moe * shared_expert_params(arch)
    router = n_moe * router_params(arch)
    # RMSNorm has a weight per channel; LayerNorm a weight and a bias (Ba et al. 2016). A layer
    # norms each block it has (a no-op DeciLM block has none), plus one final norm.
    per_norm = 2 * d if arch.norm_bias else d
    blocks = sum(min(arch.norms_per_layer, (layer.mixer != "none") + (layer.ffn != "none"))
                 for layer in arch.layers)
    norms = float((blocks + 1) * per_norm)
    total = emb + lm_head + attention + mamba + dense_ffn + routed + shared + router + norms
    active = total - routed + active_routed
    return ParamCounts(
        total=total, active=active, embedding=emb, lm_head=lm_head, attention=attention,
        dense_ffn=dense_ffn, routed_experts=routed, shared_experts=shared,
        active_routed_experts=active_routed, router=router, mamba=mamba, norms=norms,
        num_expert_layers=n_moe if num_experts else 0, num_experts=num_experts,
    )


def table_dtype(dtype: str, embedding_dtype: str | None) -> str:
    if embedding_dtype is not None:
        return embedding_dtype
    # ASSUMPTION: below 16-bit weights, embeddings, lm_head, norms and routers stay bf16
    # (vLLM FP8/AWQ/GPTQ and ModelOpt checkpoints leave them unquantised by default).
    return "bf16" if get_dtype(dtype).bits < 16 else dtype


def weight_bytes(arch: ModelArch, dtype: str, *, embedding_dtype: str | None = None) -> float:
    """Bytes of all weights with linear layers in ``dtype``.

    Embeddings, lm_head, norms and routers use ``embedding_dtype`` (default: bf16 when ``dtype``
    is narrower than 16 bits, else ``dtype``).
    """
    pc = param_counts(arch)
    wide = get_dtype(table_dtype(dtype, embedding_dtype)).bytes
    narrow = get_dtype(dtype).bytes
    tables = pc.embedding + pc.lm_head + pc.norms + pc.router
    return (pc.total - tables) * narrow + tables * wide


def native_weight_bytes(arch: ModelArch) -> float:
    """Bytes of the checkpoint as shipped (e.g. gpt-oss MXFP4 experts + bf16 rest, DeepSeek fp8)."""
    pc = param_counts(arch)
    base = get_dtype(arch.native_dtype).bytes
    linear = get_dtype(arch.native_linear_dtype or arch.native_dtype).bytes
    expert = get_dtype(arch.native_expert_dtype or arch.native_linear_dtype
                       or arch.native_dtype).bytes
    tables = pc.embedding + pc.lm_head + pc.norms + pc.router
    rest = pc.total - tables - pc.routed_experts
    return tables * base + rest * linear + pc.routed_experts * expert
