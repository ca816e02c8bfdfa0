"""The public API of tokenworks.model is pinned: perf, api and economics code against it."""

from __future__ import annotations

import tokenworks.model as model

EXPECTED = {
    "SUPPORTED", "FlopBreakdown", "LayerSpec", "LinearAttentionSpec", "MambaSpec", "MlaSpec",
    "ModelArch", "ModelEntry",
    "MoeSpec", "ParamCounts", "active_linear_params", "arch_from_config",
    "attention_flops_per_pair", "attention_pairs", "decode_flops_per_token", "decode_intensity",
    "expected_distinct_experts", "forward_flops", "forward_intensity",
    "gemm_arithmetic_intensity", "get_model", "kv_bytes_per_token",
    "kv_bytes_per_token_by_layer_kind", "kv_cache_bytes", "linear_params_by_kind", "list_models",
    "load_config_file", "model_entries", "moe_saturation_tokens", "native_weight_bytes",
    "param_counts", "prefill_flops", "prefill_intensity", "ssm_state_bytes", "training_flops",
    "weight_bytes",
}


def test_all_is_pinned():
    assert set(model.__all__) == EXPECTED
    for name in model.__all__:
        assert hasattr(model, name), name


def test_linear_params_keys():
    kinds = model.linear_params_by_kind(model.get_model("llama-3.1-8b"))
    assert set(kinds) == {"attention", "dense_ffn", "shared_experts", "routed_expert_one",
                          "router", "mamba", "lm_head", "num_moe_layers"}
