"""report.estimate and report.curve: roofline points, memory plan, latency–throughput curve."""

from __future__ import annotations

import numpy as np
import pytest

import tokenworks as tw
from tokenworks.report.curve import batch_grid, latency_throughput_curve
from tokenworks.report.estimate import estimate_data, memory_segments, roofline_points
from tokenworks.report.registry import build_report


@pytest.fixture(scope="module")
def est():
    return tw.estimate("llama-3.1-8b", "h100-sxm", num_gpus=2, tp=1, weights_dtype="bf16",
                       input_tokens=1024, output_tokens=256)


def test_batch_grid_spans_one_to_max_with_the_operating_point():
    g = batch_grid(1000, include=333)
    assert g[0] == 1 and g[-1] == 1000 and 333 in g and g == sorted(set(g))
    assert batch_grid(1) == [1]


def test_curve_passes_through_the_estimate(est):
    """The curve is the estimator's own steady state: at the estimate's batch it gives the
    estimate's TPOT exactly, and tokens/s per GPU = batch / TPOT / (tp × pp)."""
    c = latency_throughput_curve(est)
    op = next(p for p in c["points"] if p["batch"] == est.batch_size)
    assert op["tpot_s"] == est.tpot_s
    assert op["output_tokens_per_s_per_gpu"] == pytest.approx(
        est.output_tokens_per_s_per_gpu, rel=1e-12)
    assert op["output_tokens_per_s_per_user"] == pytest.approx(1 / est.tpot_s)
    assert c["points"][-1]["batch"] == est.max_concurrent_sequences


def test_curve_trades_speed_per_user_for_throughput(est):
    pts = latency_throughput_curve(est)["points"]
    per_user = [p["output_tokens_per_s_per_user"] for p in pts]
    per_gpu = [p["output_tokens_per_s_per_gpu"] for p in pts]
    assert np.all(np.diff(per_user) < 0)  # a bigger batch makes each step longer
    assert per_gpu[-1] > 10 * per_gpu[0]  # ... and the GPU far busier


def test_curve_is_none_for_a_model_the_catalog_cannot_rebuild(est):
    d = est.to_dict() | {"model": "not-a-model"}
    assert latency_throughput_curve(d) is None


def test_roofline_points_are_intensity_and_achieved_rate(est):
    e = est.to_dict()
    pts = roofline_points(e)
    lin = next(p for p in pts if p["phase"] == "decode" and p["op"] == "gemm")
    op = next(o for o in e["decode_breakdown"]["ops"] if o["name"] == "gemm")
    assert lin["intensity_flops_per_byte"] == op["flops"] / op["bytes"]
    assert lin["flops_per_s"] == op["flops"] / op["time_s"]
    # Communication and overhead have no FLOPs: not on a roofline.
    assert {p["op"] for p in pts} <= {"gemm", "prefill_attention", "decode_attention", "lm_head",
                                      "moe_experts", "step"}
    assert sum(p["op"] == "step" for p in pts) == 2


def test_batch_one_decode_is_left_of_the_ridge():
    """Batch-1 bf16 decode reads every weight (2 bytes) for 2 FLOPs per token; with the ~8
    prompt tokens the steady step mixes in (2048 / 256 per step) that is ~9 FLOP/byte, far left
    of the H100's ridge (~295 FLOP/byte): never compute-bound."""
    e = tw.estimate("llama-3.1-8b", "h100-sxm", num_gpus=1, tp=1, weights_dtype="bf16",
                    batch=1).to_dict()
    step = next(p for p in roofline_points(e) if p["phase"] == "decode" and p["op"] == "step")
    assert 1.0 < step["intensity_flops_per_byte"] < 20.0
    assert e["bound"]["decode"] != "compute"


def test_memory_segments_add_up_to_the_gpu(est):
    m = est.memory
    segs = dict(memory_segments(m))
    assert sum(segs.values()) == pytest.approx(m["gpu_memory_bytes"], rel=1e-12)
    assert segs["weights"] == m["weight_bytes_per_gpu"] and segs["KV cache"] == m["kv_bytes_per_gpu"]
    assert segs["reserve"] == pytest.approx((1 - 0.9) * m["gpu_memory_bytes"])


def test_estimate_report_has_every_chart_and_its_sources(est):
    rep = build_report("estimate", estimate_data(est))
    ids = [b.id for b in rep.blocks]
    for chart in ("roofline", "latency-throughput", "memory-plan", "step-breakdown"):
        assert chart in ids
    assert "catalog-values" in ids and "defaults-used" in ids and "assumptions" in ids
    sources = rep.block("catalog-values")
    assert any("h100-sxm: memory bandwidth" in r[0] for r in sources.rows)
    assert all(r[3].startswith("http") for r in sources.rows)
    # The roofline's roof is the catalog's: the knee sits at peak / bandwidth.
    roof = rep.block("roofline").figure["data"][0]
    acc = tw.get_accelerator("h100-sxm")
    assert roof["x"][1] == pytest.approx(acc.dense_flops_per_s("bf16") / acc.memory_bytes_per_s,
                                         rel=1e-6)
