"""Hybrid recurrent families (model/hybrid.py): Qwen3-Next / Qwen3.5 Gated DeltaNet layout,
parameters and recurrent state; Jamba and Nemotron-H are covered in test_config/test_kv."""

from __future__ import annotations

import pytest

from tokenworks.errors import ConfigError
from tokenworks.model import (
    arch_from_config,
    decode_flops_per_token,
    get_model,
    kv_bytes_per_token,
    kv_cache_bytes,
    linear_params_by_kind,
    param_counts,
    ssm_state_bytes,
)
from tokenworks.model.params import attention_layer_params, linear_attention_layer_params

# A small Qwen3-Next text config (the keys of transformers Qwen3NextConfig), no layer_types.
TINY_NEXT = {
    "architectures": ["Qwen3NextForCausalLM"], "model_type": "qwen3_next", "hidden_size": 256,
    "num_hidden_layers": 8, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
    "intermediate_size": 512, "moe_intermediate_size": 128, "shared_expert_intermediate_size": 128,
    "num_experts": 8, "num_experts_per_tok": 2, "linear_num_key_heads": 2,
    "linear_num_value_heads": 4, "linear_key_head_dim": 32, "linear_value_head_dim": 32,
    "linear_conv_kernel_dim": 4, "vocab_size": 1000, "max_position_embeddings": 4096,
}


def test_qwen35_layout():
    """Qwen3.5-397B-A17B: 60 layers, full attention every 4th (15), Gated DeltaNet in the other
    45, every layer MoE with a gated shared expert; gated attention, q/k norm, vision apart."""
    arch = get_model("qwen3.5-397b-a17b")
    assert [layer.mixer for layer in arch.layers[:4]] == ["linear_attention"] * 3 + ["attention"]
    assert arch.count_layers() == {("linear_attention", "moe"): 45, ("attention", "moe"): 15}
    assert arch.num_attention_layers == 15 and arch.num_recurrent_layers == 45
    la = arch.linear_attention
    assert (la.num_key_heads, la.num_value_heads, la.key_head_dim, la.value_head_dim,
            la.conv_kernel) == (16, 64, 128, 128, 4)
    assert (arch.num_attention_heads, arch.num_kv_heads, arch.head_dim) == (32, 2, 256)
    assert arch.attention_output_gate and arch.qk_norm and not arch.attention_bias
    assert arch.moe.num_experts == 512 and arch.moe.num_experts_per_tok == 10
    assert arch.moe.shared_expert_gate and arch.moe.shared_expert_intermediate_size == 1024
    assert arch.vocab_size == 248_320 and not arch.tie_word_embeddings
    assert arch.num_mtp_layers == 1 and arch.ignored_params > 0


def test_gated_deltanet_layer_params():
    """One Qwen3.5-397B Gated DeltaNet layer (d = 4096, key_dim = 16·128 = 2048,
    value_dim = 64·128 = 8192, conv_dim = 2·2048 + 8192 = 12,288):
    in_proj_qkvz 4096·(2·2048 + 2·8192) = 83,886,080; in_proj_ba 4096·2·64 = 524,288;
    out_proj 8192·4096 = 33,554,432 -> projections 117,964,800; conv 12,288·4 = 49,152,
    dt_bias + A_log 2·64 = 128, gated norm 128 -> 118,014,208."""
    arch = get_model("qwen3.5-397b-a17b")
    assert linear_attention_layer_params(arch, with_extras=False) == 117_964_800
    assert linear_attention_layer_params(arch) == 118_014_208
    assert param_counts(arch).mamba == 45 * 118_014_208
    assert linear_params_by_kind(arch)["mamba"] == 45 * 117_964_800


def test_gated_attention_params():
    """Qwen3.5 full attention with the output gate: q_proj 4096 -> 2·32·256 = 67,108,864,
    k/v 2·4096·2·256 = 4,194,304, o 8192·4096 = 33,554,432, q/k norm 2·256 = 512."""
    arch = get_model("qwen3.5-397b-a17b")
    assert attention_layer_params(arch) == 67_108_864 + 4_194_304 + 33_554_432 + 512


def test_qwen35_kv_and_recurrent_state():
    """KV: only the 15 full-attention layers cache, 15·2·2·256·2 B = 30,720 B/token.
    State per sequence: 45 layers × (64 heads·128·128 + 12,288 conv channels·3) × 2 B
    = 45 × 1,085,440 × 2 = 97,689,600 B, whatever the context."""
    arch = get_model("qwen3.5-397b-a17b")
    assert kv_bytes_per_token(arch, "bf16") == 30_720
    assert ssm_state_bytes(arch, "bf16") == 97_689_600
    assert ssm_state_bytes(arch, "fp8") == 97_689_600 / 2
    assert kv_cache_bytes(arch, "bf16", 100_000) == 30_720 * 100_000


def test_linear_layers_add_no_attention_pairs():
    """Decode cost grows with context through the 15 attention layers only: 1,000 more tokens
    add 15 layers × 1,000 pairs × 4·32·256 FLOPs."""
    arch = get_model("qwen3.5-397b-a17b")
    grow = decode_flops_per_token(arch, 2000) - decode_flops_per_token(arch, 1000)
    assert grow == pytest.approx(15 * 1000 * 4 * 32 * 256)


def test_qwen3_next_interval_default_and_dense_layers():
    """Without layer_types, full attention sits at (i + 1) % full_attention_interval == 0
    (default 4); mlp_only_layers get the dense FFN of intermediate_size."""
    arch = arch_from_config(dict(TINY_NEXT, mlp_only_layers=[0]), name="tiny-next")
    assert [layer.mixer for layer in arch.layers] == ["linear_attention"] * 3 + ["attention"] + (
        ["linear_attention"] * 3 + ["attention"])
    assert [layer.ffn for layer in arch.layers[:2]] == ["dense", "moe"]
    assert arch.intermediate_size == 512 and arch.architecture == "Qwen3NextForCausalLM"
    dense = arch_from_config(dict(TINY_NEXT, num_experts=0), name="tiny-dense")
    assert dense.moe is None and all(layer.ffn == "dense" for layer in dense.layers)


def test_qwen35_text_config_model_type_fallback():
    """A text-only Qwen3.5 config found by model_type alone parses like the wrapped one."""
    cfg = {k: v for k, v in TINY_NEXT.items() if k != "architectures"}
    arch = arch_from_config(dict(cfg, model_type="qwen3_5_moe_text"), name="t")
    assert arch.architecture == "Qwen3_5MoeForCausalLM" and arch.num_recurrent_layers == 6


@pytest.mark.parametrize("bad,match", [
    (dict(layer_types=["linear_attention"] * 7), "layer_types"),
    (dict(layer_types=["linear_attention"] * 7 + ["sliding_attention"]), "unknown kinds"),
    (dict(linear_num_value_heads=3), "multiple"),
])
def test_qwen3_next_config_errors_name_the_key(bad, match):
    with pytest.raises(ConfigError, match=match):
        arch_from_config(dict(TINY_NEXT, **bad), name="bad")


def test_missing_linear_key_is_named():
    cfg = {k: v for k, v in TINY_NEXT.items() if k != "linear_key_head_dim"}
    with pytest.raises(ConfigError, match="linear_key_head_dim"):
        arch_from_config(cfg, name="bad")
