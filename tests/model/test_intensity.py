"""Arithmetic intensity: GEMM closed form and whole-forward FLOPs per weight byte."""

from __future__ import annotations

import pytest

from tokenworks.errors import ConfigError
from tokenworks.model import (
    decode_intensity,
    gemm_arithmetic_intensity,
    get_model,
    prefill_intensity,
)


def test_gemm_square():
    """n×n×n at 2 B: 2n³ / (2·3n²) = n/3."""
    assert gemm_arithmetic_intensity(3000, 3000, 3000, 2) == pytest.approx(1000.0)


def test_gemv_is_about_one_flop_per_byte_at_bf16():
    """m=1: 2k·n / (2·(k + kn + n)) ≈ 1 FLOP/byte."""
    assert gemm_arithmetic_intensity(1, 8192, 8192, 2) == pytest.approx(1.0, rel=1e-3)


def test_dense_decode_intensity_is_batch_at_bf16():
    """Dense bf16 decode: 2·N·B FLOPs over 2·N bytes ⇒ B FLOPs/byte."""
    arch = get_model("llama-3.1-70b")
    assert decode_intensity(arch, 1, "bf16") == pytest.approx(1.0, rel=1e-3)
    assert decode_intensity(arch, 64, "bf16") == pytest.approx(64.0, rel=1e-3)
    assert decode_intensity(arch, 64, "fp8") > decode_intensity(arch, 64, "bf16")


def test_moe_decode_intensity_below_dense_at_small_batch():
    """Small batches touch few experts; intensity per weight byte rises as experts saturate."""
    arch = get_model("deepseek-v3")
    i1, i8, i256 = (decode_intensity(arch, b, "fp8") for b in (1, 8, 256))
    assert i1 < i8 < i256
    assert prefill_intensity(arch, 4096, "fp8") > i256


def test_bad_gemm_shape():
    with pytest.raises(ConfigError, match="m = 0"):
        gemm_arithmetic_intensity(0, 1, 1, 2)
