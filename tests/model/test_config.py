"""config.json parsing: supported families, errors that name the key/architecture."""

from __future__ import annotations

import json

import pytest

from tokenworks.catalog import data_path
from tokenworks.errors import ConfigError, UnsupportedArchitectureError
from tokenworks.model import SUPPORTED, arch_from_config, get_model, load_config_file, param_counts
from tokenworks.model.catalog import model_entries
from tokenworks.model.config import MODEL_TYPES

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
    assert arch.attention_kind == "mla" and arch.native_linear_dtype == "fp8_block"


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


def test_qwen2_sliding_window_ignored_when_disabled():
    """Qwen2.5 configs set sliding_window (131072) with use_sliding_window false: full attention."""
    cfg = dict(TINY_LLAMA, architectures=["Qwen2ForCausalLM"], model_type="qwen2",
               sliding_window=128, use_sliding_window=False, max_window_layers=0)
    arch = arch_from_config(cfg, name="q")
    assert arch.sliding_window_tokens is None
    assert all(layer.mixer == "attention" for layer in arch.layers)
    for name in ("qwen2.5-7b", "qwen2.5-14b", "qwen2.5-32b", "qwen2.5-72b"):
        arch = get_model(name)
        assert arch.sliding_window_tokens is None, name
        assert all(layer.mixer == "attention" for layer in arch.layers), name
        assert arch.attention_bias and not arch.attention_out_bias and not arch.qk_norm, name
        assert arch.max_context_tokens == 32_768 and not arch.tie_word_embeddings, name


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


def test_qwen3_coder_layout():
    """Qwen3-Coder-480B-A35B: Qwen3-MoE, 62 all-MoE layers of 160 experts (2,560), top-8,
    no shared expert, GQA 96/8 x 128 with per-head q/k norm."""
    arch = get_model("qwen3-coder-480b-a35b")
    assert arch.count_layers() == {("attention", "moe"): 62}
    assert (arch.num_attention_heads, arch.num_kv_heads, arch.head_dim) == (96, 8, 128)
    assert arch.moe.num_experts == 160 and arch.moe.num_shared_experts == 0 and arch.qk_norm
    assert arch.sliding_window_tokens is None and arch.max_context_tokens == 262_144


def test_kimi_k2_is_deepseek_v3_shaped():
    """Kimi K2: MLA like DeepSeek-V3 but 64 heads, 384 routed experts, 1 dense layer first,
    FP8 checkpoint, no MTP module; model_type kimi_k2 also resolves without architectures."""
    arch = get_model("kimi-k2-instruct")
    assert arch.attention_kind == "mla" and arch.mla.kv_lora_rank == 512
    assert [layer.ffn for layer in arch.layers[:2]] == ["dense", "moe"]
    assert arch.num_moe_layers == 60 and arch.moe.num_experts == 384
    assert arch.moe.num_shared_experts == 1 and arch.moe.router_bias
    assert arch.native_linear_dtype == "fp8_block" and arch.num_mtp_layers == 0
    raw = json.loads(data_path("models/kimi-k2.json").read_text())
    del raw["architectures"]
    assert arch_from_config(raw, name="k").architecture == "DeepseekV3ForCausalLM"


def test_glm45_air_layout():
    """GLM-4.5-Air: 1 dense layer (10,944) then 45 MoE (128 x 1,408, top-8, 1 shared of
    1,408); q/k/v biases without an o bias; no q/k norm; router score-correction bias."""
    arch = get_model("glm-4.5-air")
    assert [layer.ffn for layer in arch.layers[:2]] == ["dense", "moe"]
    assert arch.num_moe_layers == 45 and arch.intermediate_size == 10_944
    assert arch.moe.expert_intermediate_size == 1408 and arch.moe.num_shared_experts == 1
    assert arch.moe.router_bias and not arch.moe.shared_expert_gate
    assert arch.attention_bias and not arch.attention_out_bias and not arch.qk_norm
    assert (arch.num_attention_heads, arch.num_kv_heads, arch.head_dim) == (96, 8, 128)
    assert arch.num_mtp_layers == 1


def test_glm45_355b_shape_counts():
    """GLM-4.5 (355B-A32B), not catalogued (no verbatim config.json in the stored sources):
    a config with the shapes NVIDIA-NeMo/Megatron-Bridge docs/models/glm/glm45.md lists (92
    layers, 3 dense of 12,288 then 89 MoE of 160 x 1,536 top-8 + 1 shared, 5,120 wide, GQA
    96/8 x 128, QK norm, vocab 151,552) parses to 352.8B total (published 355B, -0.6%; the
    checkpoint's MTP layer is not counted) and 32.9B active without the input embedding
    (published 32B, +2.7%, within one unit of '32B')."""
    cfg = dict(architectures=["Glm4MoeForCausalLM"], model_type="glm4_moe", hidden_size=5120,
               num_hidden_layers=92, num_attention_heads=96, num_key_value_heads=8, head_dim=128,
               intermediate_size=12288, moe_intermediate_size=1536, n_routed_experts=160,
               n_shared_experts=1, num_experts_per_tok=8, first_k_dense_replace=3,
               attention_bias=True, use_qk_norm=True, num_nextn_predict_layers=1,
               vocab_size=151552, max_position_embeddings=131072, tie_word_embeddings=False)
    pc = param_counts(arch_from_config(cfg, name="glm-4.5"))
    assert pc.total == pytest.approx(355e9, rel=0.01)
    assert pc.active_non_embedding == pytest.approx(32e9, rel=1 / 32)


def test_deci_ultra_layout():
    """Llama-3.1-Nemotron-Ultra-253B: 162 DeciLM blocks = 64 attention + FFN, 17 FFN only and
    81 identity (both no-op, left out); n_heads_in_group 16 -> 128 / 16 = 8 KV heads; FFN
    widths from ffn_mult: int(2·0.4875·16384/3) = 5,324 -> 5,376 (next multiple of 256)."""
    arch = get_model("llama-3.1-nemotron-ultra-253b")
    raw = json.loads(data_path("models/llama-3.1-nemotron-ultra-253b.json").read_text())
    assert raw["num_hidden_layers"] == 162 and arch.num_layers == 81
    assert arch.count_layers() == {("attention", "dense"): 64, ("none", "dense"): 17}
    assert arch.num_kv_heads == 8 and arch.head_dim == 128 and arch.attention_kind == "gqa"
    assert arch.layers[0].intermediate_size == 5376
    widths = sorted({layer.intermediate_size for layer in arch.layers})
    assert widths[0] == 5376 and widths[-1] == 425_984  # ffn_mult 39.0 -> 425,984
    assert ("identity", "81 of 162 blocks are no-op in both attention and FFN and left out") \
        in arch.extra


DECI = {
    "architectures": ["DeciLMForCausalLM"], "model_type": "nemotron-nas", "hidden_size": 256,
    "num_attention_heads": 4, "num_hidden_layers": 3, "vocab_size": 1000,
    "max_position_embeddings": 512, "intermediate_size": None, "num_key_value_heads": None,
    "block_configs": [
        {"attention": {"n_heads_in_group": 2, "no_op": False},
         "ffn": {"ffn_mult": 1.0, "no_op": False}},
        {"attention": {"n_heads_in_group": None, "no_op": True},
         "ffn": {"ffn_mult": 3.0, "no_op": False}},
        {"attention": {"n_heads_in_group": None, "no_op": True},
         "ffn": {"ffn_mult": None, "no_op": True}},
    ],
}


def test_deci_small_params_hand_count():
    """Tiny DeciLM: widths int(2·1.0·256/3) = 170 -> 256 and int(2·3.0·256/3) = 512; KV heads
    4 / 2 = 2 of 64. Params: embed + lm_head 2·1000·256 = 512,000; attention 256·256 +
    2·256·128 + 256·256 = 196,608; FFNs 3·256·(256 + 512) = 589,824; norms (1 block with 2, 1
    with 1, identity none, + final) = 4·256 = 1,024. Total 1,299,456."""
    arch = arch_from_config(DECI, name="tiny-deci")
    assert [layer.intermediate_size for layer in arch.layers] == [256, 512]
    assert arch.num_kv_heads == 2 and arch.num_layers == 2
    assert param_counts(arch).total == 512_000 + 196_608 + 589_824 + 1_024


@pytest.mark.parametrize("block,match", [
    ({"attention": {"replace_with_linear": True, "no_op": False}, "ffn": {"ffn_mult": 1.0}},
     "replace_with_linear"),
    ({"attention": {"n_heads_in_group": 4, "no_op": False}, "ffn": {"ffn_mult": 1.0}},
     "n_heads_in_group"),
    ({"attention": {"n_heads_in_group": 2, "window_length": 128}, "ffn": {"ffn_mult": 1.0}},
     "window_length"),
])
def test_deci_blocks_tokenworks_cannot_model_are_refused(block, match):
    cfg = dict(DECI, block_configs=[DECI["block_configs"][0], block, DECI["block_configs"][2]])
    with pytest.raises(UnsupportedArchitectureError, match=match) as e:
        arch_from_config(cfg, name="odd-deci")
    assert "odd-deci" in str(e.value) and "\n" not in str(e.value)


def test_new_model_types_resolve_without_architectures():
    for model_type, arch in (("glm4_moe", "Glm4MoeForCausalLM"),
                             ("nemotron-nas", "DeciLMForCausalLM"),
                             ("qwen3_vl", "Qwen3VLForConditionalGeneration")):
        assert MODEL_TYPES[model_type] == arch and arch in SUPPORTED
