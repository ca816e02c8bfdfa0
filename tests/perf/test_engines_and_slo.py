"""Engine profiles, the steady state's TTFT/TPOT, and the estimator's SLO and sweep answers."""

from __future__ import annotations

import pytest

from tokenworks.api.estimate import estimate
from tokenworks.errors import ConfigError, InfeasibleError
from tokenworks.hardware import get_accelerator
from tokenworks.model import get_model
from tokenworks.perf import StepCostModel, make_deployment
from tokenworks.perf.engine import check_engine, engine_defaults
from tokenworks.perf.steady import prefill_time_s, steady_state


@pytest.mark.parametrize(("engine", "part", "tokens", "seqs", "util"), [
    ("vllm", "h100-sxm", 8192, 1024, 0.9),  # >= 70 GiB and not an A100
    ("vllm", "h200", 8192, 1024, 0.9),
    ("vllm", "a100-80g-sxm", 2048, 256, 0.9),  # A100 is excluded by name (vLLM PR 17885)
    ("vllm", "l40s", 2048, 256, 0.9),  # 48 GB
    ("vllm", "tpu-v6e", 1024, 256, 0.9),
    ("sglang", "l40s", 8192, 1024, 0.88),  # 35-160 GiB: 8,192-token chunks
    ("sglang", "b200", 16384, 1024, 0.88),  # above 160 GiB
    ("trtllm", "h100-sxm", 8192, 2048, 0.9),
])
def test_engine_defaults_follow_the_engines_rules(engine, part, tokens, seqs, util) -> None:
    d = engine_defaults(engine, get_accelerator(part))
    assert (d.max_num_batched_tokens, d.max_num_seqs, d.gpu_memory_utilization_frac) == (
        tokens, seqs, util)
    assert d.source


def test_engine_names_and_aliases() -> None:
    assert check_engine("TensorRT-LLM") == "trtllm"
    with pytest.raises(ConfigError, match="engine = 'tgi' is not known; choose one of vllm"):
        check_engine("tgi")


def _cost(engine: str = "vllm") -> StepCostModel:
    m = get_model("llama-3.1-8b")
    return StepCostModel(m, make_deployment(m, "h100-sxm"), engine=engine)


def test_zero_load_ttft_is_front_end_plus_prefill() -> None:
    c = _cost()
    ss = steady_state(c, batch=1, input_tokens=2048, output_tokens=128)
    pre = prefill_time_s(c, new_tokens=2048, cached_tokens=0, chunk_tokens=8192)
    assert ss.ttft_s == pytest.approx(c.calibration.frontend_s + pre, rel=1e-12)
    assert ss.engine_ttft_s == pytest.approx(pre, rel=1e-12)
    off = steady_state(c, batch=1, input_tokens=2048, output_tokens=128, frontend=False)
    assert off.ttft_s == pytest.approx(pre, rel=1e-12)


def test_tpot_mixes_chunked_and_plain_steps() -> None:
    """B = 64 sequences of 2,048/256 need 512 prompt tokens a step on average: a 8,128-token
    chunk every ~16th step, so TPOT lies between the plain and the chunked step and equals
    their mix; the chunked step is far slower than the average prompt load would suggest."""
    c = _cost()
    ss = steady_state(c, batch=64, input_tokens=2048, output_tokens=256,
                      max_num_batched_tokens=8192)
    assert ss.prefill_tokens_per_step == pytest.approx(64 * 2048 / 256)
    assert ss.chunk_tokens == 2048  # one prompt fits the leftover budget
    assert ss.mixed_step_frac == pytest.approx(512 / 2048)
    assert ss.decode_only_step_s < ss.step_time_s < ss.mixed_step_s
    mix = ss.mixed_step_frac * ss.mixed_step_s + (1 - ss.mixed_step_frac) * ss.decode_only_step_s
    assert ss.step_time_s == pytest.approx(mix, rel=1e-12)
    # Little's law: B slots each turn one request in its engine time.
    assert ss.output_tokens_per_s == pytest.approx(
        64 * 256 / (ss.engine_ttft_s + 255 * ss.step_time_s))


def test_ttft_grows_with_load() -> None:
    c = _cost()
    t = [steady_state(c, batch=b, input_tokens=2048, output_tokens=256).ttft_s
         for b in (1, 8, 64, 192)]
    assert t == sorted(t) and t[-1] > 2 * t[0]


def test_tpot_target_picks_the_largest_batch_that_meets_it() -> None:
    e = estimate("llama-3.1-8b", "h100-sxm", tpot_slo_s=0.020, input_tokens=1024,
                 output_tokens=256)
    assert e.tpot_s <= 0.020 and e.batch_limited_by == "tpot_slo"
    assert e.slo == {"tpot_slo_s": 0.020, "ttft_slo_s": None, "tpot_met": True, "ttft_met": True}
    above = estimate("llama-3.1-8b", "h100-sxm", batch=e.batch_size + 1, input_tokens=1024,
                     output_tokens=256)
    assert above.tpot_s > 0.020
    # The curve comes with a target: batches 1, 2, 4, ... max and the chosen one, monotone.
    batches = [p.batch for p in e.curve]
    assert e.batch_size in batches and batches == sorted(batches)
    tpots = [p.tpot_s for p in e.curve]
    assert tpots == sorted(tpots)


def test_ttft_target_and_an_impossible_target() -> None:
    e = estimate("llama-3.1-8b", "h100-sxm", ttft_slo_s=0.2, input_tokens=1024,
                 output_tokens=256)
    assert e.ttft_at_batch_s <= 0.2 and e.slo["ttft_met"]
    with pytest.raises(InfeasibleError, match=r"no batch meets the target: even one sequence.*"
                                              r"TPOT .* ms > 1.0 ms"):
        estimate("llama-3.1-70b", "h100-sxm", tp=4, tpot_slo_s=0.001)


def test_a_non_interactive_operating_point_says_so() -> None:
    e = estimate("llama-3.1-70b", "h200", tp=8, weights_dtype="fp8")
    assert e.tpot_s > 0.1
    assert any("not an interactive one" in n and "--tpot-slo-ms" in n for n in e.notes)
    quick = estimate("llama-3.1-8b", "h100-sxm", batch=8)
    assert quick.notes == ()


def test_sweep_without_a_target() -> None:
    e = estimate("llama-3.1-8b", "h100-sxm", sweep=True, input_tokens=512, output_tokens=128)
    assert e.curve[0].batch == 1 and e.curve[-1].batch == e.batch_size
    per_user = [p.tokens_per_s_per_user for p in e.curve]
    total = [p.output_tokens_per_s for p in e.curve]
    assert per_user == sorted(per_user, reverse=True)  # latency rises with the batch
    assert total[-1] > 10 * total[0]  # and so does throughput


def test_engines_differ_where_they_should() -> None:
    """The engines share kernels but not overheads: the same deployment has a different TTFT
    (front end) and batch cap under each."""
    v = estimate("llama-3.1-8b", "h100-sxm", engine="vllm", batch=1)
    s = estimate("llama-3.1-8b", "h100-sxm", engine="sglang", batch=1)
    t = estimate("llama-3.1-8b", "h100-sxm", engine="trtllm", batch=1)
    assert len({v.frontend_s, s.frontend_s, t.frontend_s}) == 3
    assert v.ttft_s - v.frontend_s == pytest.approx(s.ttft_s - s.frontend_s, rel=0.05)
    assert {v.max_num_seqs, t.max_num_seqs} == {1024, 2048}


def test_sram_machine_runs_from_its_sram() -> None:
    """Groq's weights live in 230 MB of SRAM per chip: an 8B model needs ~100 chips and runs at
    the vendor-fitted rate; the GPU engine's overheads do not apply."""
    e = estimate("llama-3.1-8b", "groq-lpu", weights_dtype="int8", tp=8, pp=14, batch=1,
                 max_num_seqs=16)
    assert e.num_gpus == 112
    assert 500 < 1 / e.tpot_s < 1000  # published 560-751 tok/s per user
    assert e.frontend_s == 0.0


def test_sglang_runs_prompts_in_steps_of_their_own() -> None:
    """SGLang does not mix (enable_mixed_chunk off): a prompt chunk is a prefill-only step the
    decodes wait for, so TPOT = decode step + (chunks per decode step) x prefill-only step, and
    a request's own prompt runs alone. vLLM mixes the same chunk into a decode step."""
    from tokenworks.perf.engine import default_policy, mixes_prefill
    from tokenworks.perf.steady import _mixed
    assert (mixes_prefill("sglang"), mixes_prefill("vllm"), mixes_prefill("trtllm")) == (
        False, True, True)
    assert (default_policy("sglang"), default_policy("vllm")) == ("prefill_first",
                                                                  "decode_first")
    c = _cost("sglang")
    ss = steady_state(c, batch=64, input_tokens=2048, output_tokens=256,
                      max_num_batched_tokens=8192)
    alone = _mixed(c, 0, 0.0, 2048.0, 2048, 0, 2048)  # one prompt's prefill-only step
    assert ss.mixed_step_frac == pytest.approx(64 * 2048 / 256 / 2048)
    assert ss.step_time_s == pytest.approx(ss.decode_only_step_s + ss.mixed_step_frac * alone,
                                           rel=1e-12)
    own = prefill_time_s(c, new_tokens=2048, cached_tokens=0, chunk_tokens=8192)
    assert ss.engine_ttft_s > own + 0.5 * ss.step_time_s - 1e-12  # alone, after the step
    # Prompts needing more than one budget a decode step: several prefill-only steps each.
    many = steady_state(c, batch=1024, input_tokens=8192, output_tokens=64,
                        max_num_batched_tokens=8192)
    assert many.decoding == 1024 and many.mixed_step_frac == pytest.approx(1024 * 8192 / 64 / 8192)


def test_simulator_takes_the_engines_policy() -> None:
    from tokenworks.serving import PoolSpec, SimulationSpec
    from tokenworks.serving.simulator import plan_pool
    from tokenworks.serving.spec import SchedulerSpec
    from tokenworks.serving.workload import Fixed, PoissonArrivals, WorkloadSpec
    traffic = WorkloadSpec(arrivals=PoissonArrivals(rate_per_s=1.0), prompt_tokens=Fixed(value=100),
                           output_tokens=Fixed(value=10), num_requests=4)

    def policy(engine: str, given: str | None = None) -> str:
        spec = SimulationSpec(model=get_model("llama-3.1-8b"), engine=engine,
                              pools=(PoolSpec(accelerator=get_accelerator("h100-sxm")),),
                              scheduler=SchedulerSpec(policy=given), traffic=traffic)
        return plan_pool(spec, spec.pools[0], None, 512).config.policy

    assert (policy("sglang"), policy("vllm"), policy("trtllm")) == (
        "prefill_first", "decode_first", "decode_first")
    assert policy("sglang", "decode_first") == "decode_first"  # a stated policy wins
