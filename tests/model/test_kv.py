"""KV-cache and SSM-state bytes: golden values with hand arithmetic."""

from __future__ import annotations

import pytest

from tokenworks.errors import ConfigError
from tokenworks.model import (
    get_model,
    kv_bytes_per_token,
    kv_bytes_per_token_by_layer_kind,
    kv_cache_bytes,
    ssm_state_bytes,
)


@pytest.mark.parametrize("name", ["llama-2-70b", "llama-3.1-70b", "llama-3.3-70b"])
def test_70b_gqa_kv(name):
    """80 layers × 2 (K,V) × 8 kv heads × 128 × 2 B = 327,680 B/token (Mooncake Table 1: 320 KB)."""
    assert kv_bytes_per_token(get_model(name), "bf16") == 80 * 2 * 8 * 128 * 2 == 327_680


def test_llama2_7b_mha_kv():
    """32 layers × 2 × 32 heads × 128 × 2 B = 524,288 B/token (MHA: kv heads = heads)."""
    assert kv_bytes_per_token(get_model("llama-2-7b"), "bf16") == 524_288


def test_deepseek_v3_mla_kv():
    """MLA caches c_KV + k_R: 61 layers × (512 + 64) × 2 B = 70,272 B/token."""
    assert kv_bytes_per_token(get_model("deepseek-v3"), "bf16") == 70_272
    assert kv_bytes_per_token(get_model("deepseek-v3"), "fp8") == 35_136


def test_mistral_cache_capped_at_window():
    """Mistral-7B v0.1: every layer slides over 4,096 tokens, so 8K context holds 4,096 tokens.

    Per token 32 × 2 × 8 × 128 × 2 B = 131,072 B; capped cache = 4,096 × 131,072 B.
    """
    arch = get_model("mistral-7b")
    assert kv_cache_bytes(arch, "bf16", 8192) == 4096 * 131_072
    assert kv_cache_bytes(arch, "bf16", 1000) == 1000 * 131_072


def test_gpt_oss_split_by_kind():
    """gpt-oss-120b: 18 full + 18 sliding(128) layers, each 2 × 8 × 64 × 2 B = 2,048 B/token."""
    arch = get_model("gpt-oss-120b")
    kinds = kv_bytes_per_token_by_layer_kind(arch, "bf16")
    assert kinds == {"attention": 18 * 2048.0, "sliding_attention": 18 * 2048.0}
    assert kv_cache_bytes(arch, "bf16", 10_000) == 18 * 2048 * 10_000 + 18 * 2048 * 128


def test_llama4_chunked_layers_modelled_as_sliding():
    """Llama-4 Scout: 36 of 48 layers chunked (8192), 12 global (every 4th)."""
    kinds = kv_bytes_per_token_by_layer_kind(get_model("llama-4-scout"), "bf16")
    per_layer = 2 * 8 * 128 * 2
    assert kinds == {"attention": 12.0 * per_layer, "sliding_attention": 36.0 * per_layer}


def test_jamba_only_attention_layers_cache():
    """Jamba: 4 attention layers × 2 × 8 × 128 × 2 B = 16,384 B/token; Mamba layers add none."""
    arch = get_model("jamba-v0.1")
    assert kv_bytes_per_token(arch, "bf16") == 16_384


def test_jamba_ssm_state():
    """28 Mamba-1 layers × (conv 8192 × 3 + state 8192 × 16) × 2 B = 8,716,288 B per sequence."""
    assert ssm_state_bytes(get_model("jamba-v0.1")) == 28 * (8192 * 3 + 8192 * 16) * 2
    assert ssm_state_bytes(get_model("llama-3.1-8b")) == 0.0


def test_negative_context_rejected():
    with pytest.raises(ConfigError, match="context_tokens"):
        kv_cache_bytes(get_model("llama-3.1-8b"), "bf16", -1)


def test_unknown_kv_dtype():
    with pytest.raises(ConfigError, match="fp7"):
        kv_bytes_per_token(get_model("llama-3.1-8b"), "fp7")


def test_nemotron_h_state_and_kv():
    """Nemotron-H-8B: 4 attention blocks × 2 × 8 × 128 × 2 B = 16,384 B/token KV;
    24 Mamba-2 blocks × (conv (8192 + 2·8·128) × 3 + state 128 heads × 64 × 128) × 2 B."""
    arch = get_model("nemotron-h-8b")
    assert kv_bytes_per_token(arch, "bf16") == 16_384
    assert ssm_state_bytes(arch) == 24 * ((8192 + 2048) * 3 + 128 * 64 * 128) * 2


def test_new_models_kv_per_token():
    """bf16 KV per token: GLM-4.5-Air 46 × 2·8·128·2 B = 188,416; Qwen3-Coder-480B
    62 × 2·8·128·2 = 253,952; Kimi K2 (MLA) 61 × (512 + 64)·2 = 70,272; Nemotron-Ultra: only
    its 64 attention blocks cache, 64 × 2·8·128·2 = 262,144 (162 × that if every block did)."""
    assert kv_bytes_per_token(get_model("glm-4.5-air"), "bf16") == 188_416
    assert kv_bytes_per_token(get_model("qwen3-coder-480b-a35b"), "bf16") == 253_952
    assert kv_bytes_per_token(get_model("kimi-k2-instruct"), "bf16") == 70_272
    assert kv_bytes_per_token(get_model("llama-3.1-nemotron-ultra-253b"), "bf16") == 262_144
    assert ssm_state_bytes(get_model("glm-4.5-air")) == 0.0
