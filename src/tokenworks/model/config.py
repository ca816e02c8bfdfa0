"""Hugging Face ``config.json`` → ``ModelArch``: the one parser of model shapes.

Reads the keys the transformers configuration classes define (LlamaConfig, MistralConfig,
MixtralConfig, Qwen2/Qwen3(Moe)Config, DeepseekV3Config, GptOssConfig, Llama4TextConfig,
JambaConfig, NemotronHConfig, GPT2Config) and lays the model out layer by layer. Counts only:
no units here. Anything not listed in ``SUPPORTED`` raises ``UnsupportedArchitectureError``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokenworks.catalog import read_json
from tokenworks.errors import ConfigError, UnsupportedArchitectureError
from tokenworks.model.arch import LayerSpec, MambaSpec, MlaSpec, ModelArch, MoeSpec

_TORCH_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32", "half": "fp16"}


class _Cfg:
    """Key access that names the missing key and the file it was read from."""

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.raw, self.source = raw, source or "<config dict>"

    def req(self, *keys: str) -> Any:
        for k in keys:
            if self.raw.get(k) is not None:
                return self.raw[k]
        raise ConfigError(
            f"config.json key '{keys[0]}' is missing in {self.source}; it is required for "
            f"'{self.raw.get('model_type', '?')}' models. Add it or use the model's original config."
        )

    def get(self, key: str, default: Any = None) -> Any:
        v = self.raw.get(key)
        return default if v is None else v


def _common(c: _Cfg, *, name: str, architecture: str, layers: list[LayerSpec],
            **overrides: Any) -> ModelArch:
    """Fields every transformer config spells the same way; ``overrides`` win."""
    heads = int(c.req("num_attention_heads"))
    hidden = int(c.req("hidden_size"))
    dtype = _TORCH_DTYPES.get(str(c.get("torch_dtype", "bfloat16")), "bf16")
    fields: dict[str, Any] = dict(
        name=name, architecture=architecture, vocab_size=int(c.req("vocab_size")),
        hidden_size=hidden, num_attention_heads=heads,
        num_kv_heads=int(c.get("num_key_value_heads", heads)),
        head_dim=int(c.get("head_dim", c.get("attention_head_dim", hidden // heads))),
        intermediate_size=int(c.req("intermediate_size")), ffn_gated=True, layers=tuple(layers),
        tie_word_embeddings=bool(c.get("tie_word_embeddings", False)),
        max_context_tokens=int(c.req("max_position_embeddings")), native_dtype=dtype,
        attention_bias=bool(c.get("attention_bias", False)),
    )
    fields.update(overrides)
    return ModelArch(**fields)


def _num_layers(c: _Cfg) -> int:
    n = int(c.req("num_hidden_layers"))
    if n < 1:
        raise ConfigError(f"num_hidden_layers = {n} in {c.source}; it must be >= 1.")
    return n


def _mixers(c: _Cfg, n: int) -> tuple[list[str], int | None]:
    """Per-layer attention kind from ``layer_types`` or a model-wide ``sliding_window``."""
    window = c.get("sliding_window")
    types = c.get("layer_types")
    if types:
        if len(types) != n:
            raise ConfigError(f"layer_types has {len(types)} entries but num_hidden_layers = {n} "
                              f"in {c.source}; they must match.")
        mix = ["sliding_attention" if t == "sliding_attention" else "attention" for t in types]
        return mix, (int(window) if window and "sliding_attention" in mix else None)
    if window and c.get("use_sliding_window", True):
        # Qwen2 config: sliding only for layers >= max_window_layers (transformers Qwen2Config).
        first = int(c.get("max_window_layers", 0)) if "use_sliding_window" in c.raw else 0
        mix = ["sliding_attention" if i >= first else "attention" for i in range(n)]
        return mix, (int(window) if "sliding_attention" in mix else None)
    return ["attention"] * n, None


def _dense_family(c: _Cfg, *, name: str, architecture: str) -> ModelArch:
    """Llama, Mistral, Qwen2, Qwen3: every layer attention + gated dense FFN."""
    n = _num_layers(c)
    mix, window = _mixers(c, n)
    qwen2 = architecture.startswith("Qwen2")
    qwen3 = architecture.startswith("Qwen3")
    return _common(
        c, name=name, architecture=architecture,
        layers=[LayerSpec(mixer=m, ffn="dense") for m in mix],  # type: ignore[arg-type]
        sliding_window_tokens=window,
        # Qwen2 always has q/k/v biases and no o bias (transformers Qwen2Attention).
        attention_bias=True if qwen2 else bool(c.get("attention_bias", False)),
        attention_out_bias=False if qwen2 else bool(c.get("attention_bias", False)),
        ffn_bias=bool(c.get("mlp_bias", False)), qk_norm=qwen3,
    )


def _moe_family(c: _Cfg, *, name: str, architecture: str) -> ModelArch:
    """Mixtral, Qwen2-MoE, Qwen3-MoE: attention + routed experts (optionally a shared one)."""
    n = _num_layers(c)
    mix, window = _mixers(c, n)
    num_experts = int(c.req("num_local_experts", "num_experts"))
    if architecture == "MixtralForCausalLM":
        expert_inter = int(c.req("intermediate_size"))
        moe_layer = [True] * n
    else:
        # transformers Qwen2MoeDecoderLayer: MoE unless in mlp_only_layers, every sparse step.
        expert_inter = int(c.req("moe_intermediate_size"))
        step = int(c.get("decoder_sparse_step", 1))
        dense_only = set(c.get("mlp_only_layers", []))
        moe_layer = [i not in dense_only and (i + 1) % step == 0 for i in range(n)]
    shared = int(c.get("shared_expert_intermediate_size", 0))
    moe = MoeSpec(num_experts=num_experts, num_experts_per_tok=int(c.req("num_experts_per_tok")),
                  expert_intermediate_size=expert_inter, num_shared_experts=1 if shared else 0,
                  shared_expert_intermediate_size=shared, shared_expert_gate=bool(shared))
    layers = [LayerSpec(mixer=m, ffn="moe" if e else "dense")  # type: ignore[arg-type]
              for m, e in zip(mix, moe_layer, strict=True)]
    return _common(c, name=name, architecture=architecture, layers=layers, moe=moe,
                   sliding_window_tokens=window, qk_norm=architecture.startswith("Qwen3"),
                   attention_bias=architecture.startswith("Qwen2"))


def _deepseek(c: _Cfg, *, name: str, architecture: str) -> ModelArch:
    """DeepSeek-V2/V3/R1: MLA attention, first_k_dense_replace dense layers, then MoE."""
    n = _num_layers(c)
    q_lora = c.get("q_lora_rank")
    mla = MlaSpec(q_lora_rank=None if q_lora is None else int(q_lora),
                  kv_lora_rank=int(c.req("kv_lora_rank")),
                  qk_nope_head_dim=int(c.req("qk_nope_head_dim")),
                  qk_rope_head_dim=int(c.req("qk_rope_head_dim")),
                  v_head_dim=int(c.req("v_head_dim")))
    routed = c.get("n_routed_experts")
    first_dense = int(c.get("first_k_dense_replace", 0))
    freq = int(c.get("moe_layer_freq", 1))
    # transformers DeepseekV3DecoderLayer / DeepSeek modeling_deepseek.py: MoE iff
    # n_routed_experts and layer_idx >= first_k_dense_replace and layer_idx % moe_layer_freq == 0.
    is_moe = [bool(routed) and i >= first_dense and i % freq == 0 for i in range(n)]
    moe = None
    if routed:
        inter = int(c.req("moe_intermediate_size"))
        n_shared = int(c.get("n_shared_experts", 0))
        moe = MoeSpec(num_experts=int(routed), num_experts_per_tok=int(c.req("num_experts_per_tok")),
                      expert_intermediate_size=inter, num_shared_experts=n_shared,
                      shared_expert_intermediate_size=inter,
                      router_bias=c.get("topk_method") == "noaux_tc")
    quant = c.get("quantization_config", {}) or {}
    heads = int(c.req("num_attention_heads"))
    return _common(
        c, name=name, architecture=architecture,
        layers=[LayerSpec(mixer="attention", ffn="moe" if m else "dense") for m in is_moe],
        mla=mla, moe=moe, num_kv_heads=heads,
        head_dim=mla.qk_nope_head_dim + mla.qk_rope_head_dim,
        native_linear_dtype="fp8" if quant.get("quant_method") == "fp8" else None,
        num_mtp_layers=int(c.get("num_nextn_predict_layers", 0)),
        extra=(("mtp", f"{c.get('num_nextn_predict_layers', 0)} MTP module(s) not counted"),),
    )


def _gpt_oss(c: _Cfg, *, name: str, architecture: str) -> ModelArch:
    """gpt-oss: alternating sliding(128)/full attention, sinks, biases, MXFP4 experts."""
    n = _num_layers(c)
    mix, window = _mixers(c, n)
    moe = MoeSpec(num_experts=int(c.req("num_local_experts")),
                  num_experts_per_tok=int(c.req("num_experts_per_tok", "experts_per_token")),
                  expert_intermediate_size=int(c.req("intermediate_size")), router_bias=True)
    quant = c.get("quantization_config", {}) or {}
    return _common(
        c, name=name, architecture=architecture,
        layers=[LayerSpec(mixer=m, ffn="moe") for m in mix],  # type: ignore[arg-type]
        moe=moe, sliding_window_tokens=window, attention_bias=True, attention_out_bias=True,
        ffn_bias=True, attention_sinks=True,
        native_expert_dtype="mxfp4" if quant.get("quant_method") == "mxfp4" else None,
    )


def _llama4(c: _Cfg, *, name: str, architecture: str) -> ModelArch:
    """Llama-4 (text tower): MoE every ``interleave_moe_layer_step``, chunked attention."""
    t = _Cfg(c.raw["text_config"], c.source) if "text_config" in c.raw else c
    n = _num_layers(t)
    step = int(t.get("interleave_moe_layer_step", 1))
    moe_layers = t.get("moe_layers")
    if moe_layers is None:
        # transformers Llama4TextConfig: moe_layers = range(step-1, n, step).
        moe_layers = list(range(step - 1, n, step)) if step > 0 else []
    moe_set = set(moe_layers)
    interval = int(t.get("no_rope_layer_interval", 4))
    no_rope = t.get("no_rope_layers") or [int((i + 1) % interval != 0) for i in range(n)]
    chunk = t.get("attention_chunk_size")
    # ASSUMPTION: Llama-4 chunked attention (RoPE layers, 3 of 4) is modelled as a sliding
    # window of attention_chunk_size tokens: same KV cap, an upper bound on attended keys.
    mix = ["sliding_attention" if chunk and no_rope[i] else "attention" for i in range(n)]
    inter = int(t.req("intermediate_size"))
    moe = MoeSpec(num_experts=int(t.req("num_local_experts")),
                  num_experts_per_tok=int(t.req("num_experts_per_tok")),
                  expert_intermediate_size=inter, num_shared_experts=1,
                  shared_expert_intermediate_size=inter)
    layers = [LayerSpec(mixer=m, ffn="moe" if i in moe_set else "dense")  # type: ignore[arg-type]
              for i, m in enumerate(mix)]
    return _common(
        t, name=name, architecture=architecture, layers=layers, moe=moe,
        intermediate_size=int(t.get("intermediate_size_mlp", inter)),
        sliding_window_tokens=int(chunk) if chunk else None,
        native_dtype=_TORCH_DTYPES.get(str(c.get("torch_dtype", "bfloat16")), "bf16"),
        ignored_params=_llama4_vision_params(c.raw.get("vision_config"), int(t.req("hidden_size"))),
        extra=(("ignored", "vision tower and projector not counted"),)
        if "vision_config" in c.raw else (),
    )


def _llama4_vision_params(vc: dict[str, Any] | None, text_hidden: int) -> float:
    """Llama-4 vision encoder + adapter + projector parameters (module shapes of transformers
    Llama4VisionModel / Llama4MultiModalProjector); only compared with published totals."""
    if not vc:
        return 0.0
    d, inter = int(vc["hidden_size"]), int(vc["intermediate_size"])
    patch, image = int(vc["patch_size"]), int(vc["image_size"])
    n_pos = (image // patch) ** 2 + 1
    layer = 4 * (d * d + d) + (d * inter + inter) + (inter * d + d) + 4 * d  # attn, MLP, 2 LN
    stem = int(vc.get("num_channels", 3)) * patch * patch * d + d + n_pos * d + 4 * d
    adapter = inter * int(vc["projector_input_dim"]) + int(vc["projector_input_dim"]) * int(
        vc["projector_output_dim"])
    projector = int(vc["vision_output_dim"]) * text_hidden
    return float(int(vc["num_hidden_layers"]) * layer + stem + adapter + projector)


def _jamba(c: _Cfg, *, name: str, architecture: str) -> ModelArch:
    """Jamba: Mamba-1 layers with one attention layer per period; MoE every other layer."""
    n = _num_layers(c)
    a_per, a_off = int(c.get("attn_layer_period", 8)), int(c.get("attn_layer_offset", 4))
    e_per, e_off = int(c.get("expert_layer_period", 2)), int(c.get("expert_layer_offset", 1))
    num_experts = int(c.req("num_experts"))
    # transformers JambaConfig.layers_block_type / layers_num_experts.
    layers = [LayerSpec(mixer="attention" if i % a_per == a_off else "mamba",
                        ffn="moe" if num_experts > 1 and i % e_per == e_off else "dense")
              for i in range(n)]
    hidden = int(c.req("hidden_size"))
    mamba = MambaSpec(version=1, d_state=int(c.get("mamba_d_state", 16)),
                      d_conv=int(c.get("mamba_d_conv", 4)), expand=int(c.get("mamba_expand", 2)),
                      dt_rank=int(c.get("mamba_dt_rank", -(-hidden // 16))))
    moe = MoeSpec(num_experts=num_experts, num_experts_per_tok=int(c.req("num_experts_per_tok")),
                  expert_intermediate_size=int(c.req("intermediate_size")))
    return _common(c, name=name, architecture=architecture, layers=layers, mamba=mamba, moe=moe)


def _nemotron_h(c: _Cfg, *, name: str, architecture: str) -> ModelArch:
    """Nemotron-H: one block per pattern character: M Mamba-2, * attention, - MLP, E MoE."""
    pattern = str(c.req("hybrid_override_pattern"))
    kinds = {"M": LayerSpec(mixer="mamba", ffn="none"), "*": LayerSpec(mixer="attention", ffn="none"),
             "-": LayerSpec(mixer="none", ffn="dense"), "E": LayerSpec(mixer="none", ffn="moe")}
    bad = sorted(set(pattern) - set(kinds))
    if bad:
        raise ConfigError(f"hybrid_override_pattern has unknown block kinds {bad} in {c.source}; "
                          f"supported: M (Mamba-2), * (attention), - (MLP), E (MoE).")
    hidden = int(c.req("hidden_size"))
    nh, hd = int(c.req("mamba_num_heads")), int(c.req("mamba_head_dim"))
    mamba = MambaSpec(version=2, d_state=int(c.req("ssm_state_size")),
                      d_conv=int(c.get("conv_kernel", 4)), expand=max(1, nh * hd // hidden),
                      num_heads=nh, head_dim=hd, n_groups=int(c.get("n_groups", 1)))
    moe = None
    if "E" in pattern:
        shared = int(c.get("moe_shared_expert_intermediate_size", 0))
        moe = MoeSpec(num_experts=int(c.req("n_routed_experts")),
                      num_experts_per_tok=int(c.req("num_experts_per_tok")),
                      expert_intermediate_size=int(c.req("moe_intermediate_size")),
                      num_shared_experts=1 if shared else 0, shared_expert_intermediate_size=shared,
                      expert_gated=False, router_bias=True)
    # Nemotron-H MLP is squared-ReLU, up + down (arXiv:2504.03624 section 2.1): not gated.
    return _common(c, name=name, architecture=architecture, layers=[kinds[k] for k in pattern],
                   mamba=mamba, moe=moe, ffn_gated=False, norms_per_layer=1,
                   attention_bias=bool(c.get("attention_bias", False)),
                   attention_out_bias=bool(c.get("attention_bias", False)),
                   ffn_bias=bool(c.get("mlp_bias", False)))


def _gpt(c: _Cfg, *, name: str, architecture: str) -> ModelArch:
    """GPT-2/GPT-3 form: LayerNorm, biases everywhere, learned positions, tied embeddings."""
    n = int(c.req("n_layer"))
    d = int(c.req("n_embd"))
    heads = int(c.req("n_head"))
    positions = int(c.req("n_positions"))
    # ASSUMPTION: GPT-3's alternating locally banded sparse attention (arXiv:2005.14165 §2.1)
    # is modelled as dense attention; it changes attention FLOPs, not parameters or KV bytes.
    return ModelArch(
        name=name, architecture=architecture, vocab_size=int(c.req("vocab_size")), hidden_size=d,
        num_attention_heads=heads, num_kv_heads=heads, head_dim=d // heads,
        intermediate_size=int(c.get("n_inner", 4 * d)), ffn_gated=False,
        layers=tuple(LayerSpec(mixer="attention", ffn="dense") for _ in range(n)),
        tie_word_embeddings=bool(c.get("tie_word_embeddings", True)), max_context_tokens=positions,
        attention_bias=True, attention_out_bias=True, ffn_bias=True, norm_bias=True,
        num_position_embeddings=positions,
        native_dtype=_TORCH_DTYPES.get(str(c.get("torch_dtype", "float32")), "fp32"),
    )


_Parser = Callable[..., ModelArch]

# architectures[0] -> parser; model_type is the fallback key.
SUPPORTED: dict[str, _Parser] = {
    "LlamaForCausalLM": _dense_family, "MistralForCausalLM": _dense_family,
    "Qwen2ForCausalLM": _dense_family, "Qwen3ForCausalLM": _dense_family,
    "MixtralForCausalLM": _moe_family, "Qwen2MoeForCausalLM": _moe_family,
    "Qwen3MoeForCausalLM": _moe_family,
    "DeepseekV2ForCausalLM": _deepseek, "DeepseekV3ForCausalLM": _deepseek,
    "GptOssForCausalLM": _gpt_oss,
    "Llama4ForConditionalGeneration": _llama4, "Llama4ForCausalLM": _llama4,
    "JambaForCausalLM": _jamba, "NemotronHForCausalLM": _nemotron_h,
    "GPT2LMHeadModel": _gpt, "GPT3LMHeadModel": _gpt,
}
MODEL_TYPES: dict[str, str] = {
    "llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM", "mixtral": "MixtralForCausalLM",
    "qwen2_moe": "Qwen2MoeForCausalLM", "qwen3_moe": "Qwen3MoeForCausalLM",
    "deepseek_v2": "DeepseekV2ForCausalLM", "deepseek_v3": "DeepseekV3ForCausalLM",
    "gpt_oss": "GptOssForCausalLM", "llama4": "Llama4ForConditionalGeneration",
    "llama4_text": "Llama4ForCausalLM", "jamba": "JambaForCausalLM",
    "nemotron_h": "NemotronHForCausalLM", "gpt2": "GPT2LMHeadModel", "gpt3": "GPT3LMHeadModel",
}


def arch_from_config(config: dict[str, Any], *, name: str, source: str = "") -> ModelArch:
    """Build a ``ModelArch`` from a parsed Hugging Face ``config.json``.

    ``source`` (a file path or URL) only feeds error messages.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"config for model '{name}' ({source or 'dict'}) must be a JSON object, "
                          f"got {type(config).__name__}.")
    archs = config.get("architectures") or []
    model_type = str(config.get("model_type", ""))
    arch = next((a for a in archs if a in SUPPORTED), None)
    if arch is None and not archs:
        arch = MODEL_TYPES.get(model_type)
    if arch is None:
        what = archs[0] if archs else (model_type or "<no architectures/model_type>")
        raise UnsupportedArchitectureError(
            f"model '{name}' uses architecture '{what}', which tokenworks does not model. "
            f"Supported: {', '.join(SUPPORTED)}."
        )
    return SUPPORTED[arch](_Cfg(config, source), name=name, architecture=arch)


def load_config_file(path: str | Path) -> ModelArch:
    """Parse a ``config.json`` (or a directory holding one); the model is named after it."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "config.json"
    if not p.exists():
        raise ConfigError(f"model config {p} does not exist. Pass a catalog model name, a "
                          f"config.json file or a directory that holds one.")
    raw = read_json(p)
    stem = p.parent.name if p.name == "config.json" else p.stem
    return arch_from_config(raw, name=stem.lower() or "model", source=str(p))
