"""Planner properties: the recommendation meets its SLO when simulated, tighter SLOs never cost
less, results are identical across backends and memoised, bad spaces say what emptied them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from planspecs import small_plan, tighter

import tokenworks.planner.run as run_mod
from tokenworks.errors import ConfigError, InfeasibleError
from tokenworks.planner import LocalBackend, RequestClass, SerialBackend, plan, screen
from tokenworks.planner.confirm import ConfirmTask, confirm


def _strip(d: dict) -> dict:
    d = dict(d)
    d.pop("timings")
    return d


@pytest.mark.parametrize("spec", [
    small_plan(),
    small_plan(modes=("aggregated", "disaggregated"), hardware=("h100-sxm", "h200"), rate=40.0),
    small_plan(classes=(RequestClass(input_tokens=500, output_tokens=100, share_frac=0.7),
                        RequestClass(input_tokens=3000, output_tokens=400, share_frac=0.3)),
               ttft_s=1.0, tpot_s=0.04, percentile="p99", rate=10.0),
], ids=["agg", "agg+disagg", "mix-p99"])
def test_recommendation_meets_its_slo_when_simulated(spec):
    r = plan(spec)
    assert r.feasible
    best = r.recommendation
    assert best.meets_slo and r.explanation.verification["meets_slo"]
    # Simulate the whole recommended deployment at the demand, independently of the planner.
    task = ConfirmTask(candidate=best.candidate, model=spec.model, demand=spec.demand,
                       slo=spec.slo, sim=spec.sim, seed=spec.seed + 1, calibration=None,
                       start_rate_per_s=spec.demand.rate_per_s, units=best.units)
    point = confirm(task).closest
    for t in spec.slo:
        assert point.latency_s[t.label] <= t.limit_s * 1.1, (t.label, point.latency_s)
    assert point.num_unfinished == 0
    # The deployment serves the demand.
    assert best.units * best.capacity_rate_per_s >= spec.demand.rate_per_s * 0.999


def test_tighter_slo_never_costs_less():
    loose = small_plan(hardware=("h100-sxm", "h200"), tp=(1, 2, 4), top_k=12)
    costs = []
    for f in (1.0, 0.8, 0.65):
        r = plan(tighter(loose, f))
        costs.append(r.recommendation.usd_per_million_output_tokens if r.feasible else np.inf)
    assert costs[0] <= costs[1] * 1.001 <= costs[2] * 1.002, costs


def test_identical_across_backends_and_memoised(monkeypatch):
    spec = small_plan(modes=("aggregated", "disaggregated"), top_k=4)
    run_mod._MEMO.clear()
    serial = plan(spec, backend=SerialBackend())
    run_mod._MEMO.clear()
    local = plan(spec, backend=LocalBackend(2))
    assert _strip(serial.to_dict()) == _strip(local.to_dict())
    calls = []
    monkeypatch.setattr(run_mod, "confirm", lambda t: calls.append(t) or confirm(t))
    again = plan(spec)
    assert calls == [] and _strip(again.to_dict()) == _strip(serial.to_dict())


def test_screen_counts_every_combination_and_binding():
    spec = small_plan(modes=("aggregated", "disaggregated"), hardware=("h100-sxm", "h200"),
                      weights_dtypes=("bf16", "fp8"), kv_dtypes=("bf16", "fp8"),
                      max_num_seqs=(64, 256))
    table, pruning = screen(spec)
    pools = len(table.pools)
    assert pools == 2 * 2 * 2 * 2 and pruning.tried == pools
    agg = pools * 2  # × max_num_seqs
    pairs = sum(1 for p in table.pools for q in table.pools
                if p.choice.kv_dtype == q.choice.kv_dtype)
    assert table.num_rows == agg + pairs * 2 * 2  # × ratios × max_num_seqs
    c = table.columns
    assert set(np.unique(c["binding"])) <= set(range(len(table.bindings)))
    assert (c["rate_per_s"] >= 0).all()


def test_empty_space_names_the_rule_that_emptied_it():
    from tokenworks.model import get_model

    spec = replace(small_plan(tp=(1,)), model=get_model("llama-3.1-405b"))
    with pytest.raises(InfeasibleError, match="memory"):
        plan(spec)
    with pytest.raises(ConfigError, match="search space 'tp' is empty"):
        small_plan(tp=())


def test_unmeetable_slo_answers_closest_and_what_is_needed():
    r = plan(small_plan(ttft_s=0.005, tpot_s=0.001, top_k=2))
    assert not r.feasible and r.recommendation is None
    text = "\n".join(r.diagnosis)
    assert "Closest:" in text and "looser SLO" in text
    assert r.candidates  # the closest were simulated


def test_export_is_plain_and_complete():
    import json

    r = plan(small_plan(modes=("aggregated", "disaggregated"), top_k=3))
    d = r.to_dict()
    json.dumps(d)
    assert {"plan", "recommendation", "runner_up", "explanation", "candidates", "pareto",
            "screen", "diagnosis"} <= set(d)
    assert d["pareto"]["throughput_interactivity"] and d["explanation"]["binding"]
    t = r.table()
    assert t.num_rows == len(r.candidates) and "usd_per_million_output_tokens" in t.column_names
    front = d["pareto"]["throughput_interactivity"]
    users = [p["output_tokens_per_s_per_user"] for p in front]
    gpus = [p["output_tokens_per_s_per_gpu"] for p in front]
    assert users == sorted(users, reverse=True) and gpus == sorted(gpus)


def test_plan_report_shows_the_planners_result():
    from tokenworks.report import build_report
    from tokenworks.report.plan import plan_data

    r = plan(small_plan(modes=("aggregated", "disaggregated"), top_k=3))
    d = plan_data(r)
    assert d["recommended"]["id"] == r.recommendation.label
    assert d["runner_up"]["id"] == r.runner_up.label
    assert d["columns"]["latency"] in {k for k in r.pareto_cost_latency[0] if k.endswith("_s")}
    assert d["pareto"]["cost_latency"] == [p["label"] for p in r.pareto_cost_latency]
    assert len(d["pareto_points"]["throughput_interactivity"]) == \
        len(r.pareto_throughput_interactivity)
    rep = build_report("plan", d)
    fig = rep.block("pareto-throughput").figure
    front = next(t for t in fig["data"] if t["name"] == "Pareto front")
    assert len(front["x"]) == len(r.pareto_throughput_interactivity)
    star = next(t for t in rep.block("pareto-cost-latency").figure["data"]
                if t["name"] == "recommended")
    assert star["text"] == [r.recommendation.label]


def test_plan_report_of_an_unmeetable_plan_says_why():
    from tokenworks.report import build_report
    from tokenworks.report.plan import plan_data

    r = plan(small_plan(ttft_s=0.005, tpot_s=0.001, top_k=2))
    rep = build_report("plan", plan_data(r))
    note = rep.block("plan-diagnosis")
    assert note.warning and "Closest:" in note.text
    assert plan_data(r)["recommended"] is None


def test_moe_space_tries_data_parallel_attention_and_speculation():
    from tokenworks.model import get_model
    from tokenworks.perf import make_spec_decode
    from tokenworks.planner.space import Pruning, pool_choices

    spec = replace(small_plan(), model=get_model("qwen3-30b-a3b"))
    spec = replace(spec, space=replace(
        spec.space, tp=(1, 2), dp=(1, 2), ep=(1, 2),
        speculative=(None, make_spec_decode("eagle", acceptance_length=2.5))))
    pr = Pruning()
    pools = pool_choices(spec, ("h100-sxm",), pr)
    layouts = {(p.choice.tp, p.choice.dp, p.choice.ep, p.choice.spec is not None) for p in pools}
    # dp > 1 forces ep = tp × dp; each layout with and without the drafter
    assert (1, 2, 2, False) in layouts and (2, 2, 4, True) in layouts
    assert (1, 2, 1, False) not in layouts
    labels = {p.choice.label() for p in pools}
    assert any("dp2" in s and "eagle3" in s for s in labels)
    assert all(p.choice.num_gpus == p.choice.tp * p.choice.dp for p in pools)


def test_search_weights_default_to_the_checkpoint_format():
    """A plan that names no weights dtypes searches the checkpoint's own format (gpt-oss
    MXFP4, DeepSeek FP8 block-scaled), with the fp8 KV cache tried beside bf16."""
    from tokenworks.api.plan import load_plan

    q = {"name": "w", "model": "gpt-oss-120b", "demand": {"rate_per_s": 1.0,
                                                         "input_tokens": 500,
                                                         "output_tokens": 100},
         "slo": {"tpot_s": 0.05}, "search": {"hardware": ["h100-sxm"], "tp": [1]}}
    space = load_plan(q).space
    assert space.weights_dtypes == ("mxfp4",) and set(space.kv_dtypes) == {"bf16", "fp8"}
    q["model"] = "deepseek-r1"
    assert load_plan(q).space.weights_dtypes == ("fp8_block",)
    q["search"]["weights_dtypes"] = ["bf16"]
    assert load_plan(q).space.weights_dtypes == ("bf16",)
