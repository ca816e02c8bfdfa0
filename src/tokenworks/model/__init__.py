"""tokenworks.model: model catalog, config.json parser and model math (params, KV, FLOPs).

Units: parameters (elements), bytes, FLOPs, tokens. Public names are listed in ``__all__``.
"""

from tokenworks.model.arch import (
    LayerSpec,
    LinearAttentionSpec,
    MambaSpec,
    MlaSpec,
    ModelArch,
    MoeSpec,
)
from tokenworks.model.catalog import ModelEntry, get_model, list_models, model_entries
from tokenworks.model.config import SUPPORTED, arch_from_config, load_config_file
from tokenworks.model.flops import (
    FlopBreakdown,
    active_linear_params,
    attention_flops_per_pair,
    attention_pairs,
    decode_flops_per_token,
    forward_flops,
    linear_params_by_kind,
    prefill_flops,
    training_flops,
)
from tokenworks.model.intensity import (
    decode_intensity,
    forward_intensity,
    gemm_arithmetic_intensity,
    prefill_intensity,
)
from tokenworks.model.kv import (
    kv_bytes_per_token,
    kv_bytes_per_token_by_layer_kind,
    kv_cache_bytes,
    ssm_state_bytes,
)
from tokenworks.model.moe import expected_distinct_experts, moe_saturation_tokens
from tokenworks.model.params import ParamCounts, native_weight_bytes, param_counts, weight_bytes

__all__ = [
    "SUPPORTED",
    "FlopBreakdown",
    "LayerSpec",
    "LinearAttentionSpec",
    "MambaSpec",
    "MlaSpec",
    "ModelArch",
    "ModelEntry",
    "MoeSpec",
    "ParamCounts",
    "active_linear_params",
    "arch_from_config",
    "attention_flops_per_pair",
    "attention_pairs",
    "decode_flops_per_token",
    "decode_intensity",
    "expected_distinct_experts",
    "forward_flops",
    "forward_intensity",
    "gemm_arithmetic_intensity",
    "get_model",
    "kv_bytes_per_token",
    "kv_bytes_per_token_by_layer_kind",
    "kv_cache_bytes",
    "linear_params_by_kind",
    "list_models",
    "load_config_file",
    "model_entries",
    "moe_saturation_tokens",
    "native_weight_bytes",
    "param_counts",
    "prefill_flops",
    "prefill_intensity",
    "ssm_state_bytes",
    "training_flops",
    "weight_bytes",
]
