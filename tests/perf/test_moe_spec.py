"""MoE layouts (expert parallel, data-parallel attention), speculative decoding, precision paths
and the engines' support table (issue #12)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenworks.errors import ConfigError
from tokenworks.model.catalog import get_model
from tokenworks.perf import (
    Calibration,
    StepCostModel,
    make_deployment,
    make_spec_decode,
    plan_memory,
)
from tokenworks.perf.deployment import acceptance_from_length, is_weight_only, tokens_per_step
from tokenworks.perf.engine import check_engine_support
from tokenworks.perf.shape import sharded_shape
from tokenworks.perf.steady import steady_state, token_budget_batch

DS = get_model("deepseek-v3")  # 256 routed experts, top-8, MLA, 1 MTP module
DENSE = get_model("llama-3.1-8b")


def _decode(cost: StepCostModel, batch: int, context: int = 2000) -> float:
    return float(cost.step_time_s(num_decode_seqs=batch, decode_kv_tokens=batch * context))


# --------------------------------------------------------------------- layouts and memory

def test_layout_rules_name_the_fix():
    with pytest.raises(ConfigError, match="dense: run 8 replicas"):
        make_deployment(DENSE, "h200", dp=8)
    with pytest.raises(ConfigError, match="set ep = 8"):
        make_deployment(DS, "h200", tp=1, dp=8, ep=1)
    with pytest.raises(ConfigError, match="does not divide the tp × dp = 8 GPUs"):
        make_deployment(DS, "h200", tp=8, ep=16)
    d = make_deployment(DS, "h200", tp=1, dp=8, ep=8, weights_dtype="fp8_block")
    assert d.num_gpus == 8 and d.moe_tp == 1 and d.layout == "tp=1, pp=1, dp=8, ep=8"
    assert make_deployment(DS, "h200", tp=8, ep=4).moe_tp == 2


def test_data_parallel_attention_replicates_attention_and_splits_experts():
    tp8 = sharded_shape(DS, make_deployment(DS, "h200", tp=8, ep=8, weights_dtype="fp8_block"))
    dp8 = sharded_shape(DS, make_deployment(DS, "h200", tp=1, dp=8, ep=8,
                                            weights_dtype="fp8_block"))
    # attention and dense layers are whole on each rank; the experts are split the same way
    assert dp8.dense_params_per_gpu == pytest.approx(8 * tp8.dense_params_per_gpu)
    assert dp8.weight_bytes_per_gpu > tp8.weight_bytes_per_gpu
    # MLA's latent cache has no head dimension: TP8 holds it whole on every rank, DP8 once
    m_tp = plan_memory(DS, make_deployment(DS, "h200", tp=8, ep=8, weights_dtype="fp8_block"),
                       max_seq_len_tokens=4096, max_num_seqs=4096)
    m_dp = plan_memory(DS, make_deployment(DS, "h200", tp=1, dp=8, ep=8,
                                           weights_dtype="fp8_block"),
                       max_seq_len_tokens=4096, max_num_seqs=4096)
    assert m_dp.kv_capacity_tokens > 3 * m_tp.kv_capacity_tokens


def test_expert_parallel_touches_fewer_expert_weights_per_gpu_at_batch_one():
    cal_free = dict(engine="trtllm")
    ep1 = StepCostModel(DS, make_deployment(DS, "h200", tp=8, weights_dtype="fp8_block"),
                        **cal_free)
    ep8 = StepCostModel(DS, make_deployment(DS, "h200", tp=8, ep=8, weights_dtype="fp8_block"),
                        **cal_free)
    b1, b8 = ep1.breakdown(num_decode_seqs=1, decode_kv_tokens=1000), \
        ep8.breakdown(num_decode_seqs=1, decode_kv_tokens=1000)
    # one token picks 8 experts: with ep8 each GPU reads 1 whole expert on average, with ep1
    # a 1/8 slice of each of the 8 (the same bytes); the imbalance only adds to compute
    assert b8.op("moe_experts").bytes == pytest.approx(b1.op("moe_experts").bytes, rel=1e-6)
    # the busiest expert-parallel rank: more routing imbalance, slower experts at ep8 only
    big = dict(num_prefill_tokens=16384, prefill_attention_pairs=16384 * 8192,
               prefill_kv_tokens=16384)

    def moe(dep, a):
        cal = Calibration(moe_imbalance_a=a, moe_imbalance_b=1.0)
        return StepCostModel(DS, dep, cal, engine=None).breakdown(**big).op("moe_experts").time_s

    assert moe(ep8.deployment, 0.5) > 1.3 * moe(ep8.deployment, 0.0)
    assert moe(ep1.deployment, 0.5) == pytest.approx(moe(ep1.deployment, 0.0))


def test_all_to_all_only_with_data_parallel_attention():
    tp = StepCostModel(DS, make_deployment(DS, "h200", tp=8, ep=8, weights_dtype="fp8_block"))
    dp = StepCostModel(DS, make_deployment(DS, "h200", tp=1, dp=8, ep=8,
                                           weights_dtype="fp8_block"))
    c_tp = tp.breakdown(num_decode_seqs=64, decode_kv_tokens=64 * 2000).op("communication")
    c_dp = dp.breakdown(num_decode_seqs=64, decode_kv_tokens=64 * 2000).op("communication")
    assert c_tp.time_s > 0 and c_dp.time_s > 0  # TP all-reduce vs dispatch + combine
    one = make_deployment(DS, "h200", tp=1, dp=1, weights_dtype="fp8_block")
    assert StepCostModel(DS, one).breakdown(num_decode_seqs=8, decode_kv_tokens=8000).op(
        "communication").time_s == 0.0


def test_busiest_rank_sets_the_data_parallel_step():
    dp = StepCostModel(DS, make_deployment(DS, "h200", tp=1, dp=8, ep=8,
                                           weights_dtype="fp8_block"), engine="sglang",
                       max_num_batched_tokens=8192)
    # one sequence sits on one rank: 1 and 8 sequences cost that rank the same attention
    one = dp.breakdown(num_decode_seqs=1, decode_kv_tokens=2000).op("decode_attention")
    eight = dp.breakdown(num_decode_seqs=8, decode_kv_tokens=16000).op("decode_attention")
    assert eight.time_s == pytest.approx(one.time_s)
    # a single prompt is prefilled on one rank in chunks of its share of the budget
    assert dp.rank_chunk_tokens == 1024
    p_one = _decode(dp, 0) + float(dp.step_time_s(num_prefill_tokens=1024,
                                                  prefill_attention_pairs=1024 * 512,
                                                  prefill_kv_tokens=1024))
    p_all = float(dp.step_time_s(num_prefill_tokens=8192, prefill_attention_pairs=8192 * 512,
                                 prefill_kv_tokens=8192))
    assert p_all > p_one  # the experts see all ranks' tokens


# ----------------------------------------------------------------- speculative decoding

@given(k=st.integers(1, 12), a=st.floats(0.0, 0.99))
@settings(max_examples=60, deadline=None)
def test_acceptance_length_round_trips(k, a):
    n = tokens_per_step(k, a)
    assert 1.0 <= n <= k + 1
    assert tokens_per_step(k, acceptance_from_length(k, n)) == pytest.approx(n, rel=1e-9)


def test_tokens_per_step_limits():
    assert tokens_per_step(3, 0.0) == 1.0
    assert tokens_per_step(3, 1.0) == 4.0
    assert tokens_per_step(1, 0.5) == pytest.approx(1.5)


@pytest.mark.parametrize(("kwargs", "needle"), [
    (dict(method="medusa"), "not known"),
    (dict(method="draft", num_tokens=3, acceptance_rate=0.7), "needs draft_model"),
    (dict(method="ngram", num_tokens=3), "needs acceptance_rate or acceptance_length"),
    (dict(method="eagle", num_tokens=3, acceptance_length=4.0), "must be in \\[1, 4\\)"),
    (dict(method="eagle", acceptance_rate=0.5, acceptance_length=2.0), "not both"),
    (dict(method="mtp", num_tokens=0), "1..32"),
])
def test_bad_speculative_choices_are_named(kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        make_spec_decode(**kwargs)


def test_mtp_needs_mtp_modules():
    with pytest.raises(ConfigError, match="has none"):
        make_deployment(DENSE, "h100-sxm", spec=make_spec_decode("mtp"))


def test_speculation_pays_when_accepted_and_costs_when_not():
    base = make_deployment(DS, "h200", tp=8, ep=8, weights_dtype="fp8_block")
    plain = StepCostModel(DS, base, engine="sglang")
    good = StepCostModel(DS, make_deployment(
        DS, "h200", tp=8, ep=8, weights_dtype="fp8_block",
        spec=make_spec_decode("mtp", num_tokens=3, acceptance_length=2.8)), engine="sglang")
    bad = StepCostModel(DS, make_deployment(
        DS, "h200", tp=8, ep=8, weights_dtype="fp8_block",
        spec=make_spec_decode("mtp", num_tokens=3, acceptance_rate=0.0)), engine="sglang")
    assert _decode(good, 1) < 0.6 * _decode(plain, 1)
    assert _decode(bad, 1) > _decode(plain, 1)
    # the real step (breakdown) verifies 4 tokens and runs 3 draft steps
    real = good.breakdown(num_decode_seqs=1, decode_kv_tokens=2000)
    assert real.op("draft").time_s > 0
    assert real.time_s == pytest.approx(_decode(good, 1) * good.deployment.spec.tokens_per_step)


def test_drafter_adds_weights_and_kv():
    spec = make_spec_decode("mtp")
    with_mtp = sharded_shape(DS, make_deployment(DS, "h200", tp=8, ep=8, spec=spec,
                                                 weights_dtype="fp8_block"))
    plain = sharded_shape(DS, make_deployment(DS, "h200", tp=8, ep=8, weights_dtype="fp8_block"))
    assert with_mtp.draft_weight_bytes_per_gpu > 0
    assert with_mtp.weight_bytes_per_gpu == pytest.approx(
        plain.weight_bytes_per_gpu + with_mtp.draft_weight_bytes_per_gpu)
    assert with_mtp.draft_kv_bytes_per_token_per_gpu > 0
    ngram = sharded_shape(DENSE, make_deployment(
        DENSE, "h100-sxm", spec=make_spec_decode("ngram", num_tokens=4, acceptance_rate=0.5)))
    assert ngram.draft_weight_bytes_per_gpu == 0.0


# --------------------------------------------------------- precision paths and engines

def test_formats_without_tensor_cores_run_weight_only():
    assert is_weight_only(make_deployment(DENSE, "h100-sxm", weights_dtype="mxfp4"))
    assert not is_weight_only(make_deployment(DENSE, "b200", weights_dtype="mxfp4"))
    w4 = make_deployment(DENSE, "h100-sxm", weights_dtype="mxfp4")
    assert check_engine_support("vllm", w4)  # a note: it saves memory, not compute
    with pytest.raises(ConfigError, match="NVFP4 needs Blackwell"):
        check_engine_support("trtllm", make_deployment(DENSE, "h100-sxm", weights_dtype="nvfp4"))
    # The fix offered fits the part: no FP8 suggestion for an A100 (no FP8 tensor cores).
    with pytest.raises(ConfigError, match="Use bf16, int8 or int4 weights") as err:
        check_engine_support("trtllm", make_deployment(DENSE, "a100-80g-sxm",
                                                       weights_dtype="nvfp4"))
    assert "fp8" not in str(err.value)
    with pytest.raises(ConfigError, match="FP8 tensor cores"):
        check_engine_support("trtllm", make_deployment(DENSE, "a100-80g-sxm",
                                                       weights_dtype="fp8"))
    with pytest.raises(ConfigError, match="NVIDIA GPUs only"):
        check_engine_support("trtllm", make_deployment(DENSE, "mi300x"))
    with pytest.raises(ConfigError, match="TPU"):
        check_engine_support("sglang", make_deployment(DENSE, "tpu-v6e"))
    assert check_engine_support("vllm", make_deployment(DENSE, "h100-sxm")) == ()


def test_block_scaled_fp8_is_slower_than_per_tensor_at_large_batch():
    per_t = StepCostModel(DENSE, make_deployment(DENSE, "h100-sxm", weights_dtype="fp8"),
                          engine="trtllm")
    block = StepCostModel(DENSE, make_deployment(DENSE, "h100-sxm", weights_dtype="fp8_block"),
                          engine="trtllm")
    args = dict(num_prefill_tokens=8192, prefill_attention_pairs=8192 * 4096,
                prefill_kv_tokens=8192)
    assert float(block.step_time_s(**args)) > float(per_t.step_time_s(**args))


# ------------------------------------------------------------------------- token budget

def test_a_batch_beyond_the_token_budget_decodes_only_what_the_budget_admits():
    cost = StepCostModel(DENSE, make_deployment(DENSE, "h100-sxm"), engine="vllm")
    ok = token_budget_batch(max_num_batched_tokens=2048, input_tokens=2048, output_tokens=64)
    assert ok == math.floor(2048 * 64 / (64 + 2048))
    ss = steady_state(cost, batch=200, input_tokens=2048, output_tokens=64,
                      max_num_batched_tokens=2048)
    assert ss.batch == 200 and ss.decoding == ok
    # every step holds at most the budget: decodes plus one chunk
    assert ss.chunk_tokens + ss.decoding <= 2048
    fits = steady_state(cost, batch=ok, input_tokens=2048, output_tokens=64,
                        max_num_batched_tokens=2048)
    # full steps: the replica's capacity, whatever the batch held beyond the budget
    assert ss.output_tokens_per_s == pytest.approx(ss.decoding / ss.step_time_s)
    assert ss.output_tokens_per_s >= fits.output_tokens_per_s
    assert ss.engine_ttft_s > fits.engine_ttft_s  # the held sequences wait for their prefill
