"""config.json parsing: supported families, errors that name the key/architecture."""

from __future__ import annotations

import json

import pytest

from tokenworks.catalog import data_path
from tokenworks.errors import ConfigError, UnsupportedArchitectureError
from tokenworks.model import SUPPORTED, arch_from_config, get_model, load_config_file, param_counts
from tokenworks.model.catalog import model_entries

TINY_LLAMA = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256,
    "intermediate_size": 688, "num_attention_heads": 4, "num_key_value_heads": 2,
    "num_hidden_layers": 3, "vocab_size": 1000, "max_position_embeddings": 512,
}


def test_load_from_tmp_dir(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(TINY_LLAMA))
    arch = load_config_file(tmp_path)
    assert arch.name == tmp_path.name.lower()
    assert (arch.num_layers, arch.num_kv_heads, arch.head_dim) == (3, 2, 64)
    assert arch.attention_kind == "gqa"
    assert get_model(str(tmp_path / "config.json")).num_layers == 3


def test_unsupported_architecture_named():
    cfg = dict(TINY_LLAMA, architectures=["MysteryForCausalLM"], model_type="mystery")
    with pytest.raises(UnsupportedArchitectureError, match="MysteryForCausalLM") as e:
        arch_from_config(cfg, name="x")
    assert "LlamaForCausalLM" in str(e.value)  # lists what is supported
    assert "\n" not in str(e.value)


def test_missing_key_names_key_and_file(tmp_path):
    cfg = {k: v for k, v in TINY_LLAMA.items() if k != "vocab_size"}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match="vocab_size") as e:
        load_config_file(path)
    assert str(path) in str(e.value)


def test_missing_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file("/nonexistent/dir")


def test_model_type_fallback_without_architectures():
    cfg = {k: v for k, v in TINY_LLAMA.items() if k != "architectures"}
    assert arch_from_config(cfg, name="t").architecture == "LlamaForCausalLM"


def test_every_catalog_config_is_supported():
    for e in model_entries():
        raw = json.loads(data_path(f"models/{e.config}").read_text())
        archs = raw.get("architectures") or []
        assert any(a in SUPPORTED for a in archs), e.name


def test_deepseek_layout():
    """first_k_dense_replace = 3 dense layers, then 58 MoE layers with 1 shared expert."""
    arch = get_model("deepseek-v3")
    assert [layer.ffn for layer in arch.layers[:4]] == ["dense", "dense", "dense", "moe"]
    assert arch.num_moe_layers == 58 and arch.moe.num_shared_experts == 1
    assert arch.attention_kind == "mla" and arch.native_linear_dtype == "fp8"


def test_llama4_maverick_interleave():
    """interleave_moe_layer_step = 2: layers 1, 3, 5, … are MoE; dense layers use 16,384."""
    arch = get_model("llama-4-maverick")
    assert [layer.ffn for layer in arch.layers[:4]] == ["dense", "moe", "dense", "moe"]
    assert arch.intermediate_size == 16384 and arch.moe.expert_intermediate_size == 8192
    assert [layer.mixer for layer in arch.layers[:4]] == ["sliding_attention"] * 3 + ["attention"]


def test_gpt_oss_alternates_and_ships_mxfp4():
    arch = get_model("gpt-oss-20b")
    assert [layer.mixer for layer in arch.layers[:2]] == ["sliding_attention", "attention"]
    assert arch.sliding_window_tokens == 128
    assert arch.native_expert_dtype == "mxfp4" and arch.attention_sinks


def test_qwen3_no_sliding_window_when_disabled():
    arch = get_model("qwen3-8b")
    assert arch.sliding_window_tokens is None and arch.qk_norm
    assert all(layer.mixer == "attention" for layer in arch.layers)


def test_qwen2_sliding_from_max_window_layers():
    cfg = dict(TINY_LLAMA, architectures=["Qwen2ForCausalLM"], model_type="qwen2",
               sliding_window=128, use_sliding_window=True, max_window_layers=2)
    arch = arch_from_config(cfg, name="q")
    assert [layer.mixer for layer in arch.layers] == ["attention", "attention", "sliding_attention"]
    assert arch.attention_bias and not arch.attention_out_bias


def test_jamba_layout():
    """attn every 8 from offset 4; MoE every 2 from offset 1."""
    arch = get_model("jamba-v0.1")
    assert arch.layers[4].mixer == "attention" and arch.layers[0].mixer == "mamba"
    assert arch.layers[1].ffn == "moe" and arch.layers[0].ffn == "dense"
    assert arch.count_layers()[("attention", "dense")] == 4


def test_nemotron_h_pattern():
    cfg = {"architectures": ["NemotronHForCausalLM"], "model_type": "nemotron_h",
           "hidden_size": 256, "intermediate_size": 1024, "num_attention_heads": 4,
           "num_key_value_heads": 2, "head_dim": 64, "vocab_size": 1000,
           "max_position_embeddings": 512, "hybrid_override_pattern": "M-M*-",
           "num_hidden_layers": 5, "mamba_num_heads": 8, "mamba_head_dim": 64,
           "ssm_state_size": 32, "n_groups": 2, "conv_kernel": 4}
    arch = arch_from_config(cfg, name="nh")
    assert [(layer.mixer, layer.ffn) for layer in arch.layers] == [
        ("mamba", "none"), ("none", "dense"), ("mamba", "none"), ("attention", "none"),
        ("none", "dense")]
    assert not arch.ffn_gated and arch.mamba.version == 2
    with pytest.raises(ConfigError, match="hybrid_override_pattern"):
        arch_from_config(dict(cfg, hybrid_override_pattern="MX"), name="nh")


def test_layer_types_length_mismatch():
    cfg = dict(TINY_LLAMA, layer_types=["full_attention"])
    with pytest.raises(ConfigError, match="layer_types"):
        arch_from_config(cfg, name="t")


def test_deepseek_v2_lite_without_q_lora():
    """DeepSeek-V2-Lite (q_lora_rank null, 2 shared experts, first layer dense): 15.7B total,
    2.4B activated (arXiv:2405.04434 appendix B); the activated figure excludes the input
    embedding (2.45B computed)."""
    cfg = dict(architectures=["DeepseekV2ForCausalLM"], model_type="deepseek_v2",
               hidden_size=2048, num_hidden_layers=27, num_attention_heads=16,
               num_key_value_heads=16, kv_lora_rank=512, q_lora_rank=None, qk_nope_head_dim=128,
               qk_rope_head_dim=64, v_head_dim=128, moe_intermediate_size=1408,
               n_routed_experts=64, n_shared_experts=2, num_experts_per_tok=6,
               first_k_dense_replace=1, moe_layer_freq=1, intermediate_size=10944,
               vocab_size=102400, max_position_embeddings=163840)
    arch = arch_from_config(cfg, name="v2-lite")
    assert arch.mla.q_lora_rank is None and arch.num_moe_layers == 26
    pc = param_counts(arch)
    assert pc.total == pytest.approx(15.7e9, rel=0.01)
    assert pc.active_non_embedding == pytest.approx(2.4e9, rel=0.1 / 2.4)


def test_qwen2_moe_shared_expert():
    """Qwen1.5-MoE-A2.7B: 60 experts top-4 + a gated shared expert of 5632; 14.3B total,
    2.7B activated (Qwen blog "Qwen1.5-MoE", 2024-03-28)."""
    cfg = dict(architectures=["Qwen2MoeForCausalLM"], model_type="qwen2_moe", hidden_size=2048,
               num_hidden_layers=24, num_attention_heads=16, num_key_value_heads=16,
               intermediate_size=5632, moe_intermediate_size=1408,
               shared_expert_intermediate_size=5632, num_experts=60, num_experts_per_tok=4,
               decoder_sparse_step=1, vocab_size=151936, max_position_embeddings=8192)
    arch = arch_from_config(cfg, name="qwen1.5-moe")
    assert arch.moe.shared_expert_gate and arch.attention_bias
    pc = param_counts(arch)
    assert pc.total == pytest.approx(14.3e9, rel=0.01)
    assert pc.active == pytest.approx(2.7e9, rel=0.02)
