"""Memory plan: vLLM-style KV sizing, infeasibility messages."""

from __future__ import annotations

import pytest

from tokenworks.errors import InfeasibleError
from tokenworks.model.catalog import get_model
from tokenworks.model.params import weight_bytes
from tokenworks.perf import make_deployment, plan_memory


def test_kv_capacity_llama31_8b_h100_hand_arithmetic() -> None:
    """Llama-3.1-8B, 1× H100 (80 GiB of HBM), bf16, utilization 0.9, 8192 batched tokens.

    usable   = 80 × 2**30 × 0.9                              = 77,309,411,328 B
    weights  = 8,030,261,248 params × 2 B                    = 16,060,522,496 B
    act      = 8192 tok × (2·4096 + (32+2·8)·128 + 2·14336) × 2 B = 704,643,072 B
               + logits 1024 × 128,256 × 4 B                 =   525,336,576 B
    overhead = 1 GiB (single GPU)                             = 1,073,741,824 B
    KV left  = 77,309,411,328 − 16,060,522,496 − 1,229,979,648 − 1,073,741,824
             = 58,945,167,360 B
    per tok  = 32 layers × 2 (K,V) × 8 heads × 128 × 2 B      = 131,072 B
    blocks   = floor(58,945,167,360 / (131,072 × 16)) = 28,107 → 449,712 tokens
    max seqs at 8192 tokens = floor(58,945,167,360 / (131,072 × 8192)) = 54
    """
    m = get_model("llama-3.1-8b")
    p = plan_memory(m, make_deployment(m, "h100-sxm"), max_seq_len_tokens=8192)
    assert p.weight_bytes_per_gpu == pytest.approx(weight_bytes(m, "bf16"))
    assert p.weight_bytes_per_gpu == 16_060_522_496
    assert p.activation_bytes_per_gpu == 704_643_072 + 525_336_576
    assert p.kv_bytes_per_token_per_gpu == 131_072
    assert p.num_kv_blocks == 28_107
    assert p.kv_capacity_tokens == 449_712
    assert p.max_concurrent_sequences == 54


def test_tp_splits_weights_and_kv() -> None:
    m = get_model("llama-3.1-70b")
    p2 = plan_memory(m, make_deployment(m, "h100-sxm", tp=2, weights_dtype="fp8"),
                     max_seq_len_tokens=4096)
    p4 = plan_memory(m, make_deployment(m, "h100-sxm", tp=4, weights_dtype="fp8"),
                     max_seq_len_tokens=4096)
    assert p4.weight_bytes_per_gpu == pytest.approx(p2.weight_bytes_per_gpu / 2)
    assert p4.kv_bytes_per_token_per_gpu == pytest.approx(p2.kv_bytes_per_token_per_gpu / 2)
    assert p4.kv_capacity_tokens > 2 * p2.kv_capacity_tokens  # more room per GPU after weights


def test_sliding_window_sequences_pack_tighter() -> None:
    m = get_model("gpt-oss-120b")  # alternating 128-token sliding and full attention layers
    d = make_deployment(m, "h100-sxm", tp=4)
    p = plan_memory(m, d, max_seq_len_tokens=32768)
    full_only = p.kv_bytes_per_gpu // (p.kv_bytes_per_token_per_gpu * 32768)
    assert p.max_concurrent_sequences > full_only


def test_405b_bf16_on_one_h100_is_infeasible_with_suggestion() -> None:
    m = get_model("llama-3.1-405b")
    with pytest.raises(InfeasibleError) as e:
        plan_memory(m, make_deployment(m, "h100-sxm"), max_seq_len_tokens=4096)
    msg = str(e.value)
    assert msg.startswith("llama-3.1-405b weights need 811.")
    assert "77.3 GB usable each (80 GiB × 0.90)" in msg
    assert "Try tp=8, pp=2 (16 GPUs)" in msg
    assert "h200" in msg and "\n" not in msg


def test_no_room_for_one_sequence() -> None:
    m = get_model("llama-3.1-8b")
    with pytest.raises(InfeasibleError, match="one 1000000-token sequence needs"):
        plan_memory(m, make_deployment(m, "h100-sxm"), max_seq_len_tokens=1_000_000)
