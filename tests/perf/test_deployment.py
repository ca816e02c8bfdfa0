"""Deployment validation: the rules and their one-line fixes."""

from __future__ import annotations

import pytest

from tokenworks.errors import ConfigError
from tokenworks.hardware import get_accelerator
from tokenworks.model.catalog import get_model
from tokenworks.perf import derive_compute_dtype, make_deployment
from tokenworks.perf.deployment import is_weight_only


def test_tp_must_divide_heads() -> None:
    m = get_model("llama-3.1-70b")  # 64 attention heads, 8 KV heads
    with pytest.raises(ConfigError, match=r"tp = 3 does not divide .* 64 attention heads"):
        make_deployment(m, "h100-sxm", tp=3)


def test_kv_heads_replicate_when_tp_exceeds_them() -> None:
    m = get_model("llama-3.1-70b")
    d = make_deployment(m, "h100-sxm", tp=16)  # 16 > 8 KV heads: replicated, allowed
    assert d.num_gpus == 16
    assert d.tp_crosses_scaleup_domain  # 16 > 8-GPU NVLink domain
    assert d.tp_link_bytes_per_s == get_accelerator("h100-sxm").scaleout_bytes_per_s


def test_pp_and_ep_rules() -> None:
    dense = get_model("llama-3.1-8b")
    with pytest.raises(ConfigError, match="pp = 33 exceeds"):
        make_deployment(dense, "h100-sxm", pp=33)
    with pytest.raises(ConfigError, match="needs a mixture-of-experts"):
        make_deployment(dense, "h100-sxm", ep=2)
    moe = get_model("mixtral-8x7b")  # 8 experts
    with pytest.raises(ConfigError, match="ep = 8 does not divide the tp × dp = 4 GPUs"):
        make_deployment(moe, "h100-sxm", tp=4, ep=8)
    assert make_deployment(moe, "h100-sxm", tp=8, ep=8).ep == 8
    with pytest.raises(ConfigError, match="whole number"):
        make_deployment(dense, "h100-sxm", tp=0)


def test_unknown_dtype_is_config_error() -> None:
    with pytest.raises(ConfigError, match="datatype 'fp9'"):
        make_deployment(get_model("llama-3.1-8b"), "h100-sxm", weights_dtype="fp9")


def test_derived_compute_dtype() -> None:
    h100, a100 = get_accelerator("h100-sxm"), get_accelerator("a100-80g-sxm")
    assert derive_compute_dtype(h100, "fp8") == "fp8"
    assert derive_compute_dtype(a100, "fp8") == "bf16"  # no FP8 tensor cores on Ampere
    # FP4 weights on Hopper are dequantised to 16-bit inside the kernel (W4A16), not run as FP8
    assert derive_compute_dtype(h100, "nvfp4") == "bf16"
    assert derive_compute_dtype(h100, "mxfp4") == "bf16"
    assert derive_compute_dtype(get_accelerator("b200"), "nvfp4") == "fp4"
    assert derive_compute_dtype(h100, "int4") == "bf16"  # W4A16 weight-only
    d = make_deployment(get_model("llama-3.1-8b"), "h100-sxm", weights_dtype="fp8")
    assert d.compute_dtype is None and d.matmul_dtype == "fp8"
    m = get_model("llama-3.1-8b")
    assert not is_weight_only(d)
    assert is_weight_only(make_deployment(m, "h100-sxm", weights_dtype="mxfp4"))
    assert is_weight_only(make_deployment(m, "a100-80g-sxm", weights_dtype="fp8"))  # W8A16
    assert not is_weight_only(make_deployment(m, "b200", weights_dtype="nvfp4"))
