"""Hugging Face ``config.json`` → ``ModelArch``: the one parser of model shapes.

Reads the keys the transformers configuration classes define (LlamaConfig, MistralConfig,
MixtralConfig, Qwen2/Qwen3(Moe)Config, Qwen3-VL, DeepseekV3Config (also Kimi K2),
Glm4MoeConfig, GptOssConfig, Llama4TextConfig, DeciLM (Llama-Nemotron NAS), GPT2Config) and
lays the model out layer by layer; the hybrid recurrent families (Jamba, Nemotron-H,
Qwen3-Next / Qwen3.5) are in ``tokenworks.model.hybrid``. Counts only: no units here.
Anything not listed in ``SUPPORTED`` raises ``UnsupportedArchitectureError``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokenworks.errors import ConfigError, UnsupportedArchitectureError
from tokenworks.files import read_text
from tokenworks.model.arch import LayerSpec, MlaSpec, ModelArch, MoeSpec
from tokenworks.model.config_keys import (
    TORCH_DTYPES,
    Cfg,
    attention_mixers,
    common,
    layer_count,
    text_cfg,
)
from tokenworks.model.hybrid import jamba, nemotron_h, qwen3_next
from tokenworks.model.vision import llama4_vision_params, qwen3_vl_vision_params


def _dense_family(c: Cfg, *, name: str, architecture: str) -> ModelArch:
    """Llama, Mistral, Qwen2, Qwen3: every layer attention + gated dense FFN."""
    n = layer_count(c)
    mix, window = attention_mixers(c, n)
    qwen2 = architecture.startswith("Qwen2")
    qwen3 = architecture.startswith("Qwen3")
    return common(
        c, name=name, architecture=architecture,
        layers=[LayerSpec(mixer=m, ffn="dense") for m in mix],  # type: ignore[arg-type]
        sliding_window_tokens=window,
        # Qwen2 always has q/k/v biases and no o bias (transformers Qwen2Attention).
        attention_bias=True if qwen2 else bool(c.get("attention_bias", False)),
        attention_out_bias=False if qwen2 else bool(c.get("attention_bias", False)),
        ffn_bias=bool(c.get("mlp_bias", False)), qk_norm=qwen3,
        native_linear_dtype=_fp8_checkpoint(c.get("quantization_config", {}) or {}),
    )


def _moe_family(c: Cfg, *, name: str, architecture: str) -> ModelArch:
    """Mixtral, Qwen2-MoE, Qwen3-MoE: attention + routed experts (optionally a shared one)."""
    n = layer_count(c)
    mix, window = attention_mixers(c, n)
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
    return common(c, name=name, architecture=architecture, layers=layers, moe=moe,
                  sliding_window_tokens=window, qk_norm=architecture.startswith("Qwen3"),
                  attention_bias=architecture.startswith("Qwen2"))


def _deepseek(c: Cfg, *, name: str, architecture: str) -> ModelArch:
    """DeepSeek-V2/V3/R1: MLA attention, first_k_dense_replace dense layers, then MoE."""
    n = layer_count(c)
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
    return common(
        c, name=name, architecture=architecture,
        layers=[LayerSpec(mixer="attention", ffn="moe" if m else "dense") for m in is_moe],
        mla=mla, moe=moe, num_kv_heads=heads,
        head_dim=mla.qk_nope_head_dim + mla.qk_rope_head_dim,
        native_linear_dtype=_fp8_checkpoint(quant),
        num_mtp_layers=int(c.get("num_nextn_predict_layers", 0)),
        extra=(("mtp", f"{c.get('num_nextn_predict_layers', 0)} MTP module(s) not counted"),),
    )


def _fp8_checkpoint(quant: dict) -> str | None:
    """An FP8 checkpoint's format: 128×128 block-scaled when the config gives
    ``weight_block_size`` (DeepSeek-V3/R1, Kimi-K2), else per-tensor."""
    if quant.get("quant_method") != "fp8":
        return None
    return "fp8_block" if quant.get("weight_block_size") else "fp8"


def _gpt_oss(c: Cfg, *, name: str, architecture: str) -> ModelArch:
    """gpt-oss: alternating sliding(128)/full attention, sinks, biases, MXFP4 experts."""
    n = layer_count(c)
    mix, window = attention_mixers(c, n)
    moe = MoeSpec(num_experts=int(c.req("num_local_experts")),
                  num_experts_per_tok=int(c.req("num_experts_per_tok", "experts_per_token")),
                  expert_intermediate_size=int(c.req("intermediate_size")), router_bias=True)
    quant = c.get("quantization_config", {}) or {}
    return common(
        c, name=name, architecture=architecture,
        layers=[LayerSpec(mixer=m, ffn="moe") for m in mix],  # type: ignore[arg-type]
        moe=moe, sliding_window_tokens=window, attention_bias=True, attention_out_bias=True,
        ffn_bias=True, attention_sinks=True,
        native_expert_dtype="mxfp4" if quant.get("quant_method") == "mxfp4" else None,
    )


def _llama4(c: Cfg, *, name: str, architecture: str) -> ModelArch:
    """Llama-4 (text tower): MoE every ``interleave_moe_layer_step``, chunked attention."""
    t = Cfg(c.raw["text_config"], c.source) if "text_config" in c.raw else c
    n = layer_count(t)
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
    return common(
        t, name=name, architecture=architecture, layers=layers, moe=moe,
        intermediate_size=int(t.get("intermediate_size_mlp", inter)),
        sliding_window_tokens=int(chunk) if chunk else None,
        native_dtype=TORCH_DTYPES.get(str(c.get("torch_dtype", "bfloat16")), "bf16"),
        ignored_params=llama4_vision_params(c.raw.get("vision_config"), int(t.req("hidden_size"))),
        extra=(("ignored", "vision tower and projector not counted"),)
        if "vision_config" in c.raw else (),
    )


def _qwen3_vl(c: Cfg, *, name: str, architecture: str) -> ModelArch:
    """Qwen3-VL: the text model is a Qwen3 (dense) or Qwen3-MoE decoder under ``text_config``
    (mlx-lm qwen3_vl.py builds it with the plain qwen3 model); DeepStack only adds visual
    features to early hidden states, no text weights. The vision tower and its mergers are
    counted apart (``ignored_params``)."""
    moe = architecture == "Qwen3VLMoeForConditionalGeneration"
    text = (_moe_family if moe else _dense_family)(
        text_cfg(c), name=name, architecture="Qwen3MoeForCausalLM" if moe else "Qwen3ForCausalLM")
    return dataclasses.replace(
        text, architecture=architecture,
        ignored_params=qwen3_vl_vision_params(c.raw.get("vision_config")),
        extra=(("ignored", "vision tower and mergers counted apart (ignored_params)"),),
    )


def _glm4_moe(c: Cfg, *, name: str, architecture: str) -> ModelArch:
    """GLM-4.5 / 4.6 (Glm4MoeForCausalLM): GQA with q/k/v biases (no o bias) and optional
    per-head q/k RMSNorm, ``first_k_dense_replace`` dense layers, then MoE whose shared
    experts form one MLP of n_shared x moe_intermediate_size and whose sigmoid router carries
    a score-correction bias (transformers / mlx-lm Glm4MoeDecoderLayer, Glm4MoeMoE, MoEGate)."""
    n = layer_count(c)
    first_dense = int(c.get("first_k_dense_replace", 0))
    inter = int(c.req("moe_intermediate_size"))
    moe = MoeSpec(num_experts=int(c.req("n_routed_experts")),
                  num_experts_per_tok=int(c.req("num_experts_per_tok")),
                  expert_intermediate_size=inter,
                  num_shared_experts=int(c.get("n_shared_experts", 0)),
                  shared_expert_intermediate_size=inter, router_bias=True)
    quant = c.get("quantization_config", {}) or {}
    mtp = int(c.get("num_nextn_predict_layers", 0))
    return common(
        c, name=name, architecture=architecture,
        layers=[LayerSpec(mixer="attention", ffn="moe" if i >= first_dense else "dense")
                for i in range(n)],
        moe=moe, attention_out_bias=False, qk_norm=bool(c.get("use_qk_norm", False)),
        native_linear_dtype=_fp8_checkpoint(quant),
        num_mtp_layers=mtp, extra=(("mtp", f"{mtp} MTP layer(s) not counted"),),
    )


def _deci_ffn_width(ffn_mult: float, hidden: int) -> int:
    """DeciLM FFN width: int(2·ffn_mult·d/3) rounded up to a multiple of 256 (Megatron-LM
    heterogeneous MLPConfig.ffn_mult_to_intermediate_size; mlx-lm nemotron-nas.py)."""
    width = int(2 * ffn_mult * hidden / 3)
    return -(-width // 256) * 256


def _deci(c: Cfg, *, name: str, architecture: str) -> ModelArch:
    """Llama-Nemotron NAS models (DeciLMForCausalLM, model_type nemotron-nas): Llama-3.1 blocks
    whose attention or FFN may be absent (``no_op``: no weights, no norm) and whose FFN width
    is set per block by ``ffn_mult``. Blocks with both halves no-op are the identity and are
    left out of ``layers``; blocks replaced by a linear layer are not modelled."""
    blocks = c.req("block_configs")
    n = layer_count(c)
    if len(blocks) != n:
        raise ConfigError(f"block_configs has {len(blocks)} entries but num_hidden_layers = {n} "
                          f"in {c.source}; they must match.")
    hidden, heads = int(c.req("hidden_size")), int(c.req("num_attention_heads"))
    layers, groups = [], set()
    for i, block in enumerate(blocks):
        att, ffn = block.get("attention") or {}, block.get("ffn") or {}
        odd = [f"{part}.{key}" for part, sub in (("attention", att), ("ffn", ffn))
               for key in ("replace_with_linear", "sparsify", "window_length", "num_sink_tokens")
               if sub.get(key)]
        if odd:
            raise UnsupportedArchitectureError(
                f"model '{name}': DeciLM block {i} sets {', '.join(odd)} ({c.source}); tokenworks "
                f"models full attention, no-op and per-block FFN widths only.")
        if att.get("no_op") and ffn.get("no_op"):
            continue
        if not att.get("no_op"):
            groups.add(int(att["n_heads_in_group"]))
        width = None if ffn.get("no_op") else _deci_ffn_width(float(ffn["ffn_mult"]), hidden)
        layers.append(LayerSpec(mixer="none" if att.get("no_op") else "attention",
                                ffn="none" if ffn.get("no_op") else "dense",
                                intermediate_size=width))
    if len(groups) != 1:
        raise UnsupportedArchitectureError(
            f"model '{name}': DeciLM attention blocks use n_heads_in_group {sorted(groups)} "
            f"({c.source}); tokenworks models one KV-head count per model.")
    widths = [layer.intermediate_size or 0 for layer in layers if layer.ffn == "dense"]
    return common(
        c, name=name, architecture=architecture, layers=layers,
        num_kv_heads=heads // groups.pop(),
        # ASSUMPTION: the model-wide DeciLM FFN width (read by perf for activation traffic) is
        # the mean of the blocks' widths; parameters and FLOPs use each block's own width.
        intermediate_size=round(sum(widths) / len(widths)) if widths else 0,
        attention_out_bias=bool(c.get("attention_bias", False)),
        ffn_bias=bool(c.get("mlp_bias", False)),
        extra=(("identity", f"{n - len(layers)} of {n} blocks are no-op in both attention and "
                            f"FFN and left out"),),
    )


def _gpt(c: Cfg, *, name: str, architecture: str) -> ModelArch:
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
        native_dtype=TORCH_DTYPES.get(str(c.get("torch_dtype", "float32")), "fp32"),
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
    "Qwen3VLForConditionalGeneration": _qwen3_vl, "Qwen3VLMoeForConditionalGeneration": _qwen3_vl,
    "Glm4MoeForCausalLM": _glm4_moe, "DeciLMForCausalLM": _deci,
    "JambaForCausalLM": jamba, "NemotronHForCausalLM": nemotron_h,
    "Qwen3NextForCausalLM": qwen3_next, "Qwen3_5ForConditionalGeneration": qwen3_next,
    "Qwen3_5MoeForConditionalGeneration": qwen3_next, "Qwen3_5ForCausalLM": qwen3_next,
    "Qwen3_5MoeForCausalLM": qwen3_next,
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
    "kimi_k2": "DeepseekV3ForCausalLM", "qwen3_vl": "Qwen3VLForConditionalGeneration",
    "qwen3_vl_moe": "Qwen3VLMoeForConditionalGeneration", "glm4_moe": "Glm4MoeForCausalLM",
    "nemotron-nas": "DeciLMForCausalLM", "qwen3_next": "Qwen3NextForCausalLM",
    "qwen3_5": "Qwen3_5ForConditionalGeneration",
    "qwen3_5_moe": "Qwen3_5MoeForConditionalGeneration",
    "qwen3_5_text": "Qwen3_5ForCausalLM", "qwen3_5_moe_text": "Qwen3_5MoeForCausalLM",
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
    return SUPPORTED[arch](Cfg(config, source), name=name, architecture=arch)


def load_config_file(path: str | Path) -> ModelArch:
    """Parse a ``config.json`` (or a directory holding one); the model is named after it."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "config.json"
    text = read_text(p, what="model config", fix="Pass a catalog model name, a config.json "
                     "file or a directory that holds one.")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"model config {p} is not valid JSON: {e}.") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"model config {p} must be a JSON object (a Hugging Face config.json).")
    stem = p.parent.name if p.name == "config.json" else p.stem
    return arch_from_config(raw, name=stem.lower() or "model", source=str(p))
