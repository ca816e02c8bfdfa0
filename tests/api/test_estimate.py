"""The estimator: relationships that must hold, bad input, and infeasible deployments."""

from __future__ import annotations

import pytest

from tokenworks.api.estimate import estimate
from tokenworks.errors import ConfigError, InfeasibleError, UnknownNameError
from tokenworks.model import get_model
from tokenworks.perf import StepCostModel, make_deployment, packaged_calibration, steady_state

REQUIRED_KEYS = {
    "weight_bytes", "kv_bytes_per_token", "max_concurrent_sequences", "batch_size", "ttft_s",
    "tpot_s", "output_tokens_per_s", "output_tokens_per_s_per_gpu",
    "usd_per_million_output_tokens", "usd_per_million_input_tokens", "energy_per_output_token_j",
    "bound",
}


@pytest.fixture(scope="module")
def default():
    return estimate("llama-3.1-70b", "h200", num_gpus=8, tp=8, weights_dtype="fp8",
                    input_tokens=2048, output_tokens=256)


def test_keys_and_types(default):
    d = default.to_dict()
    assert set(d) >= REQUIRED_KEYS
    assert set(d["bound"]) == {"prefill", "decode", "batch"}
    assert d["kv_dtype"] == "bf16"  # vLLM keeps the KV cache in bf16 unless told (auto)
    assert any("kv_dtype" in x for x in d["defaults_used"])
    assert d["engine"] == "vllm" and d["max_num_seqs"] == 1024  # vLLM's default on an H200
    trt = estimate("llama-3.1-70b", "h200", tp=8, weights_dtype="fp8", engine="trtllm")
    assert trt.kv_dtype == "fp8" and trt.max_num_seqs == 2048


def test_throughput_is_littles_law_on_the_batch(default):
    """TPOT is the mean steady step; B slots each turn one request around in its engine time
    (prefill + (O − 1) steps), so throughput = B·O / that time (perf.steady), a little below
    B / TPOT because a slot emits nothing while its prompt is prefilled."""
    e = default
    arch = get_model("llama-3.1-70b")
    dep = make_deployment(arch, "h200", tp=8, weights_dtype="fp8", kv_dtype="bf16")
    ss = steady_state(StepCostModel(arch, dep, packaged_calibration()), batch=e.batch_size,
                      input_tokens=2048, output_tokens=256,
                      max_num_batched_tokens=e.max_num_batched_tokens)
    assert e.tpot_s == pytest.approx(ss.step_time_s)
    cycle = ss.engine_ttft_s + 255 * ss.step_time_s
    assert e.output_tokens_per_s == pytest.approx(e.batch_size * 256 / cycle)
    assert e.output_tokens_per_s < e.batch_size / e.tpot_s
    assert e.output_tokens_per_s_per_gpu == pytest.approx(e.output_tokens_per_s / 8)


def test_prices_recover_the_gpu_cost(default):
    """Revenue per second at the computed prices equals the GPUs' cost per second: output
    tokens/s at the output price plus input tokens/s (I/O as many) at the input price =
    $/GPU-h × GPUs / 3600."""
    e = default
    out = e.output_tokens_per_s
    revenue = (out * e.input_tokens / e.output_tokens * e.usd_per_million_input_tokens
               + out * e.usd_per_million_output_tokens) / 1e6
    cost = e.usd_per_gpu_hour * 8 / 3600
    assert revenue == pytest.approx(cost, rel=1e-9)


def test_max_batch_respects_memory(default):
    assert 1 <= default.batch_size <= default.max_concurrent_sequences
    with pytest.raises(InfeasibleError, match="Use --batch"):
        estimate("llama-3.1-70b", "h200", num_gpus=8, tp=8, weights_dtype="fp8",
                 batch=default.max_concurrent_sequences + 1)


def test_batching_lowers_cost_per_token():
    one = estimate("llama-3.1-8b", "h100-sxm", batch=1, usd_per_gpu_hour=2.5)
    many = estimate("llama-3.1-8b", "h100-sxm", batch=64, usd_per_gpu_hour=2.5)
    assert many.usd_per_million_output_tokens < one.usd_per_million_output_tokens / 10
    assert many.tpot_s > one.tpot_s  # a bigger batch is slower per step


def test_prefix_hits_cut_ttft_and_input_cost():
    cold = estimate("llama-3.1-8b", "h100-sxm", batch=32, usd_per_gpu_hour=2.5, input_tokens=4096)
    warm = estimate("llama-3.1-8b", "h100-sxm", batch=32, usd_per_gpu_hour=2.5, input_tokens=4096,
                    prefix_hit_frac=0.75)
    # The engine's part of TTFT (the front end is the same for both).
    assert warm.ttft_s - warm.frontend_s < 0.5 * (cold.ttft_s - cold.frontend_s)
    assert warm.usd_per_million_input_tokens < cold.usd_per_million_input_tokens


def test_replicas_scale_throughput():
    one = estimate("llama-3.1-8b", "h100-sxm", num_gpus=1, batch=16, usd_per_gpu_hour=2.0)
    four = estimate("llama-3.1-8b", "h100-sxm", num_gpus=4, batch=16, usd_per_gpu_hour=2.0)
    assert four.num_replicas == 4
    assert four.output_tokens_per_s == pytest.approx(4 * one.output_tokens_per_s)
    assert four.usd_per_million_output_tokens == pytest.approx(one.usd_per_million_output_tokens)


def test_edge_device_without_price_still_answers():
    e = estimate("llama-2-13b", "apple-m4-max", weights_dtype="int4", batch=1,
                 input_tokens=512, output_tokens=256)
    assert e.usd_per_gpu_hour is None and e.usd_per_million_output_tokens is None
    assert e.bound["decode"] == "memory"
    assert 1 < 1 / e.tpot_s < 200  # tokens/s of a laptop: bandwidth-bound, not absurd


@pytest.mark.parametrize("kwargs,match", [
    ({"prefix_hit_frac": 1.5}, "prefix_hit_frac"),
    ({"input_tokens": 0}, "input_tokens"),
    ({"output_tokens": -5}, "output_tokens"),
    ({"num_gpus": 6, "tp": 4}, "not a multiple"),
    ({"usd_per_gpu_hour": -1.0}, "usd_per_gpu_hour"),
    ({"input_tokens": 200_000}, "context window"),
    ({"weights_dtype": "fp5"}, "datatype"),
])
def test_bad_input_names_value_and_rule(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        estimate("llama-3.1-8b", "h100-sxm", **kwargs)


def test_unknown_names_suggest():
    with pytest.raises(UnknownNameError, match="Did you mean"):
        estimate("llama-3.1-70", "h100-sxm")
    with pytest.raises(UnknownNameError, match="h100-sxm"):
        estimate("llama-3.1-8b", "h100")


def test_model_that_does_not_fit_says_what_would():
    with pytest.raises(InfeasibleError) as e:
        estimate("llama-3.1-405b", "h100-sxm", num_gpus=1, tp=1)
    msg = str(e.value)
    assert "811" in msg and "Try" in msg and "\n" not in msg


def test_weights_default_to_the_checkpoint_format():
    """With no weights dtype, estimate serves the checkpoint's own format and says so: a
    DeepSeek-R1 on 8× H200 fits in its FP8 (it would not in bf16), gpt-oss in MXFP4."""
    e = estimate("deepseek-r1", "h200", num_gpus=8, tp=8, input_tokens=1000, output_tokens=100)
    assert e.weights_dtype == "fp8_block"
    assert any("weights_dtype = fp8_block (the checkpoint's format)" in d
               for d in e.defaults_used)
    assert estimate("gpt-oss-120b", "h100-sxm", num_gpus=1, tp=1, input_tokens=1000,
                    output_tokens=100).weights_dtype == "mxfp4"
    assert estimate("llama-3.1-8b", "h100-sxm", num_gpus=1, tp=1, input_tokens=1000,
                    output_tokens=100).weights_dtype == "bf16"
    with pytest.raises(InfeasibleError):
        estimate("deepseek-r1", "h200", num_gpus=8, tp=8, weights_dtype="bf16",
                 input_tokens=1000, output_tokens=100)
