"""Forward FLOPs: linear 2·N·T, causal attention pairs, lm_head; closed forms vs brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenworks.model import (
    active_linear_params,
    attention_pairs,
    decode_flops_per_token,
    forward_flops,
    get_model,
    linear_params_by_kind,
    param_counts,
    prefill_flops,
    training_flops,
)


def _brute_pairs(t: int, c: int, w: int | None) -> int:
    return sum(min(p + 1, w) if w else p + 1 for p in range(c, c + t))


def test_pairs_small_cases():
    """T=4 from empty: 1+2+3+4 = 10; one token after 2: 3 keys; window 2: 1+2+2+2 = 7."""
    assert attention_pairs(4, 0) == 10
    assert attention_pairs(1, 2) == 3
    assert attention_pairs(4, 0, window=2) == 7


@given(t=st.integers(0, 300), c=st.integers(0, 300), w=st.one_of(st.none(), st.integers(1, 200)))
def test_pairs_closed_form_matches_sum(t, c, w):
    assert attention_pairs(t, c, w) == pytest.approx(_brute_pairs(t, c, w))


def test_pairs_vectorised():
    out = attention_pairs(np.array([1, 1, 1]), np.array([0, 10, 100]), window=50)
    assert list(out) == [1, 11, 50]


def test_llama2_7b_prefill_golden():
    """Llama-2-7B, 1,024-token prompt.

    linear = 2 × 32·(4·4096² + 3·4096·11008) × 1024 = 2 × 6,476,005,376 × 1024
    attention = 32 layers × 4·32·128 FLOPs/pair × (1024·1025/2 = 524,800 pairs)
    lm_head = 2 × 32000 × 4096 (last token only)
    """
    arch = get_model("llama-2-7b")
    f = forward_flops(arch, new_tokens=1024)
    assert f.linear == 2 * 6_476_005_376 * 1024
    assert f.attention == 32 * 4 * 32 * 128 * 524_800
    assert f.lm_head == 2 * 32000 * 4096
    assert f.total == f.linear + f.attention + f.lm_head
    assert prefill_flops(arch, 1024) == f.total


def test_prefill_is_2nt_plus_attention():
    """Prefill ≈ 2·N·T (N = non-embedding params) + the quadratic attention term."""
    arch = get_model("llama-3.1-70b")
    pc = param_counts(arch)
    t = 2048
    f = forward_flops(arch, new_tokens=t)
    n_non_emb = pc.total - pc.embedding - pc.lm_head
    assert f.linear == pytest.approx(2 * n_non_emb * t, rel=0.001)  # norms are the 0.001
    assert f.attention == 80 * 4 * 64 * 128 * t * (t + 1) / 2


def test_decode_grows_linearly_in_context():
    arch = get_model("llama-3.1-8b")
    d0, d1, d2 = (decode_flops_per_token(arch, c) for c in (0, 1000, 2000))
    assert d1 - d0 == pytest.approx(d2 - d1)
    assert d1 - d0 == pytest.approx(32 * 4 * 32 * 128 * 1000)


def test_sliding_layers_flatten_decode():
    """Mistral-7B: past the 4,096 window decode cost stops growing."""
    arch = get_model("mistral-7b")
    assert decode_flops_per_token(arch, 10_000) == decode_flops_per_token(arch, 20_000)
    assert decode_flops_per_token(arch, 100) < decode_flops_per_token(arch, 4000)


def test_moe_linear_uses_top_k():
    """Mixtral-8x7B active linear = attention + 2 of 8 experts + router, per layer."""
    arch = get_model("mixtral-8x7b")
    k = linear_params_by_kind(arch)
    assert k["num_moe_layers"] == 32
    assert k["routed_expert_one"] == 3 * 4096 * 14336
    expected = k["attention"] + k["router"] + 2 * 32 * k["routed_expert_one"]
    assert active_linear_params(arch) == expected


def test_mla_flops_per_pair_uses_qk_and_v_dims():
    """DeepSeek-V3 prefill pair: 2·128·(128+64) + 2·128·128 FLOPs per layer."""
    arch = get_model("deepseek-v3")
    f = forward_flops(arch, new_tokens=10)
    assert f.attention == 61 * (2 * 128 * 192 + 2 * 128 * 128) * 55


def test_training_flops_6nd():
    arch = get_model("llama-3.1-8b")
    n = active_linear_params(arch) + 128256 * 4096
    assert training_flops(arch, 1e12) == 6 * n * 1e12


def test_all_logits_for_training_style_forward():
    arch = get_model("llama-3.1-8b")
    assert forward_flops(arch, new_tokens=8, all_logits=True).lm_head == 8 * 2 * 128256 * 4096


def test_mla_absorbed_pair_cost():
    """Absorbed MLA decode: 2·128·(512+64) + 2·128·512 per pair; dense models ignore the flag."""
    from tokenworks.model import attention_flops_per_pair

    assert attention_flops_per_pair(get_model("deepseek-v3"), absorbed=True) == (
        2 * 128 * 576 + 2 * 128 * 512)
    llama = get_model("llama-3.1-8b")
    assert attention_flops_per_pair(llama, absorbed=True) == attention_flops_per_pair(llama)


def test_deci_no_op_blocks_add_no_flops():
    """Nemotron-Ultra decode: linear FLOPs are 2 × the matmul weights of the blocks that exist
    (attention in 64 blocks, FFNs at their own widths in 81); attention pairs only in the 64."""
    arch = get_model("llama-3.1-nemotron-ultra-253b")
    kinds = linear_params_by_kind(arch)
    widths = sum(layer.intermediate_size for layer in arch.layers if layer.ffn == "dense")
    assert kinds["dense_ffn"] == 3 * 16384 * widths
    assert kinds["attention"] == 64 * (2 * 16384 * 16384 + 2 * 16384 * 8 * 128)
    grow = decode_flops_per_token(arch, 2000) - decode_flops_per_token(arch, 1000)
    assert grow == pytest.approx(64 * 1000 * 4 * 128 * 128)
