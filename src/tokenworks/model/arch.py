"""Model architecture spec: the transformer (and SSM) shape tokenworks does its math on.

``ModelArch`` is a frozen description of one model, built from a Hugging Face ``config.json``
by ``tokenworks.model.config``. Layers are listed one by one (``LayerSpec``) so hybrids
(Jamba, Nemotron-H, Qwen3.5's Gated DeltaNet + attention), interleaved sliding windows
(gpt-oss, Llama-4 chunked attention), dense-then-MoE stacks (DeepSeek-V3's first 3 dense
layers) and per-layer FFN widths (DeciLM / Llama-Nemotron NAS blocks) need no special cases
downstream. Counts are plain integers; no units here beyond element counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from tokenworks.errors import ConfigError

# "mamba" and "linear_attention" are the recurrent mixers: a fixed-size state per sequence
# instead of a KV cache (kv.ssm_state_bytes), their projections in ParamCounts.mamba.
Mixer = Literal["attention", "sliding_attention", "linear_attention", "mamba", "none"]
Ffn = Literal["dense", "moe", "none"]
AttentionKind = Literal["mha", "gqa", "mqa", "mla"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerSpec:
    """One decoder layer: its token mixer and its feed-forward block."""

    mixer: Mixer
    ffn: Ffn
    # Width of this layer's dense FFN when it differs from ModelArch.intermediate_size
    # (DeciLM NAS blocks each pick their own ffn_mult); None: the model-wide width.
    intermediate_size: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MlaSpec:
    """Multi-head latent attention (DeepSeek-V2, arXiv:2405.04434 section 2.1)."""

    q_lora_rank: int | None  # None: queries projected directly (DeepSeek-V2-Lite)
    kv_lora_rank: int  # compressed latent c_KV width cached per token
    qk_nope_head_dim: int
    qk_rope_head_dim: int  # decoupled RoPE key width, also cached per token
    v_head_dim: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MoeSpec:
    """Mixture-of-experts feed-forward (routed experts plus optional shared experts)."""

    num_experts: int  # routed experts per MoE layer
    num_experts_per_tok: int  # top-k
    expert_intermediate_size: int
    num_shared_experts: int = 0
    shared_expert_intermediate_size: int = 0  # per shared expert
    expert_gated: bool = True  # SwiGLU (3 matrices) vs 2-matrix MLP
    router_bias: bool = False  # router logits bias (gpt-oss) or score-correction bias (DeepSeek-V3)
    shared_expert_gate: bool = False  # Qwen2-MoE: sigmoid gate Linear(hidden, 1) on the shared expert


@dataclass(frozen=True, slots=True, kw_only=True)
class MambaSpec:
    """Selective state-space mixer (Mamba arXiv:2312.00752; Mamba-2 arXiv:2405.21060)."""

    version: int  # 1 or 2
    d_state: int
    d_conv: int
    expand: int
    num_heads: int = 0  # Mamba-2 heads (0 for Mamba-1)
    head_dim: int = 0
    n_groups: int = 1
    dt_rank: int = 0  # Mamba-1 dt projection rank


@dataclass(frozen=True, slots=True, kw_only=True)
class LinearAttentionSpec:
    """Gated DeltaNet linear attention (Yang, Kautz, Hatamizadeh, arXiv:2412.06464), as in
    Qwen3-Next / Qwen3.5: per value head a d_k x d_v state matrix updated by the gated delta
    rule, a short causal conv over q, k, v, and an output gate."""

    num_key_heads: int  # linear_num_key_heads (q and k heads)
    num_value_heads: int  # linear_num_value_heads (v heads; one state matrix each)
    key_head_dim: int
    value_head_dim: int
    conv_kernel: int  # linear_conv_kernel_dim

    @property
    def key_dim(self) -> int:
        return self.num_key_heads * self.key_head_dim

    @property
    def value_dim(self) -> int:
        return self.num_value_heads * self.value_head_dim

    @property
    def conv_dim(self) -> int:
        """Channels of the causal conv: q, k and v concatenated."""
        return 2 * self.key_dim + self.value_dim


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelArch:
    """Shape of a decoder-only language model; enough to count params, FLOPs and KV bytes."""

    name: str
    architecture: str  # HF "architectures"[0], e.g. "LlamaForCausalLM"
    vocab_size: int
    hidden_size: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int  # dense FFN width (dense layers)
    ffn_gated: bool  # SwiGLU/GeGLU: 3 matrices; plain MLP: 2
    layers: tuple[LayerSpec, ...]
    tie_word_embeddings: bool
    max_context_tokens: int
    sliding_window_tokens: int | None = None  # window of "sliding_attention" layers
    mla: MlaSpec | None = None
    moe: MoeSpec | None = None
    mamba: MambaSpec | None = None
    linear_attention: LinearAttentionSpec | None = None  # spec of "linear_attention" layers
    attention_bias: bool = False  # q/k/v projection biases (Qwen2, gpt-oss)
    attention_out_bias: bool = False  # o_proj bias (gpt-oss, GPT-3)
    ffn_bias: bool = False  # biases on FFN / expert matrices (GPT-3, gpt-oss experts)
    qk_norm: bool = False  # per-head RMSNorm on q and k with weights (Qwen3)
    attention_output_gate: bool = False  # q_proj also emits a sigmoid gate per head (Qwen3-Next)
    attention_sinks: bool = False  # one learned sink logit per head (gpt-oss)
    norm_bias: bool = False  # LayerNorm with bias (GPT-2/3) instead of RMSNorm
    num_position_embeddings: int = 0  # learned absolute position table rows (GPT-2/3)
    # Pre-mixer + pre-FFN norms; 1 for single-block layers (Nemotron-H). A layer whose mixer
    # or FFN is "none" has no norm for it (DeciLM no-op blocks), so it holds at most this many.
    norms_per_layer: int = 2
    native_dtype: str = "bf16"  # torch_dtype of the checkpoint (embeddings, norms)
    native_linear_dtype: str | None = None  # checkpoint linear weights if quantised (DeepSeek fp8)
    native_expert_dtype: str | None = None  # routed experts if quantised apart (gpt-oss mxfp4)
    num_mtp_layers: int = 0  # multi-token-prediction modules (DeepSeek, GLM, Qwen3.5), not counted
    ignored_params: float = 0.0  # towers not modelled (vision encoders), for comparison only
    published_params_total: float | None = None  # from the model card, for checking
    published_params_active: float | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())  # notes (e.g. ignored towers)

    def __post_init__(self) -> None:
        # A model imported from any config.json is checked like a catalog entry: sizes are
        # positive, heads group evenly, and the layer list is not empty.
        where = f"model {self.name}"
        for key in ("vocab_size", "hidden_size", "head_dim", "max_context_tokens"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{where}: {key} = {v!r} must be a whole number >= 1; check the "
                                  f"config.json.")
        if self.intermediate_size < 0:
            raise ConfigError(f"{where}: intermediate_size = {self.intermediate_size} must be "
                              f">= 0; check the config.json.")
        if not self.layers:
            raise ConfigError(f"{where}: it has no layers (num_hidden_layers = 0); check the "
                              f"config.json.")
        if any(layer.mixer in ("attention", "sliding_attention") for layer in self.layers):
            h, kv = self.num_attention_heads, self.num_kv_heads
            if h < 1 or kv < 1:
                raise ConfigError(f"{where}: num_attention_heads = {h} and num_key_value_heads "
                                  f"= {kv} must both be >= 1 for a model with attention layers.")
            if self.mla is None and h % kv:
                raise ConfigError(f"{where}: {h} attention heads do not split into groups of "
                                  f"{kv} key/value heads (grouped-query attention needs "
                                  f"num_attention_heads divisible by num_key_value_heads).")

    @property
    def checkpoint_weights_dtype(self) -> str:
        """The weights' format as the checkpoint ships them, what an engine serves by default:
        MXFP4 (experts) for gpt-oss, FP8 for DeepSeek/Kimi (block-scaled), else ``native_dtype``."""
        return self.native_expert_dtype or self.native_linear_dtype or self.native_dtype

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def attention_kind(self) -> AttentionKind:
        if self.mla is not None:
            return "mla"
        if self.num_kv_heads == self.num_attention_heads:
            return "mha"
        if self.num_kv_heads == 1:
            return "mqa"
        return "gqa"

    @property
    def is_moe(self) -> bool:
        return self.moe is not None and any(layer.ffn == "moe" for layer in self.layers)

    def count_layers(self) -> Counter[tuple[str, str]]:
        """How many layers of each (mixer, ffn) kind; math iterates over this, not layers."""
        return Counter((layer.mixer, layer.ffn) for layer in self.layers)

    @property
    def num_attention_layers(self) -> int:
        return sum(1 for layer in self.layers if layer.mixer in ("attention", "sliding_attention"))

    @property
    def num_recurrent_layers(self) -> int:
        """Layers with a fixed-size recurrent state (Mamba, Gated DeltaNet), no KV cache."""
        return sum(1 for layer in self.layers if layer.mixer in ("mamba", "linear_attention"))

    def ffn_width(self, layer: LayerSpec) -> int:
        """Dense FFN width of ``layer`` (its own when it sets one, else the model-wide one)."""
        own = layer.intermediate_size
        return self.intermediate_size if own is None else own

    @property
    def num_moe_layers(self) -> int:
        return sum(1 for layer in self.layers if layer.ffn == "moe")
