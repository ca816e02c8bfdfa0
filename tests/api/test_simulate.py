"""simulate(): summary contract, determinism, queueing theory, overload, errors, exports,
traces, disaggregation, agentic, and every example scenario."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tokenworks.api import simulate
from tokenworks.errors import InfeasibleError, ScenarioError, UnknownNameError
from tokenworks.io.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
STATS = {"mean", "p50", "p90", "p99"}
REQUIRED = ("num_requests", "num_completed", "duration_s", "ttft_s", "tpot_s", "e2e_s",
            "output_tokens_per_s", "goodput_requests_per_s", "prefix_hit_frac",
            "num_preemptions", "usd_per_million_output_tokens", "energy_j", "tier_hit_frac",
            "num_rejected", "num_unfinished", "queue")


def scenario(**over) -> dict:
    d = {"model": "llama-3.1-8b", "hardware": {"accelerator": "h100-sxm"},
         "deployment": {"tp": 1, "num_replicas": 1},
         "cache": {"prefix_cache": "lru_blocks"},
         "workload": {"arrivals": {"kind": "poisson", "rate_per_s": 4.0},
                      "prompt_tokens": {"kind": "lognormal", "mean": 600, "cv": 1.0},
                      "output_tokens": {"kind": "lognormal", "mean": 80, "cv": 0.5},
                      "num_requests": 150,
                      "shared_prefix": {"num_prefixes": 3, "prefix_tokens": 256}},
         "slo": {"ttft_s": 0.5, "tpot_s": 0.05}}
    d.update(over)
    return d


def check_summary(s: dict) -> None:
    for k in REQUIRED:
        assert k in s, k
    for k in ("ttft_s", "tpot_s", "e2e_s"):
        assert set(s[k]) == STATS
    json.dumps(s)  # JSON-able, no NaN objects


def test_summary_contract_and_conservation():
    r = simulate(scenario())
    s = r.summary
    check_summary(s)
    assert s["num_requests"] == 150 == s["num_completed"]
    assert s["num_unfinished"] == 0 and s["num_rejected"] == 0
    t = r.requests
    assert t.num_rows == 150
    assert t.column("finished").to_pylist() == [True] * 150
    # Output tokens per second = total outputs / duration.
    out = sum(t.column("output_tokens").to_pylist())
    assert s["output_tokens_per_s"] == pytest.approx(out / s["duration_s"])
    # Shared prefixes of 256 tokens (16 blocks) hit after first use.
    assert 0.0 < s["prefix_hit_frac"] < 1.0
    assert s["tier_hit_frac"]["hbm"] == pytest.approx(s["prefix_hit_frac"])
    # Cost: 1 GPU × duration × price / output tokens.
    expect = s["usd_per_gpu_hour"] * s["duration_s"] / 3600 / out * 1e6
    assert s["usd_per_million_output_tokens"] == pytest.approx(expect)
    assert s["energy_j"] > 0 and s["goodput_requests_per_s"] <= s["requests_per_s"] + 1e-12


def test_determinism_and_seed_override():
    a = simulate(scenario(), seed=3).requests
    b = simulate(scenario(), seed=3).requests
    c = simulate(scenario(), seed=4).requests
    assert a.equals(b)
    assert not a.equals(c)


def test_md1_queueing_at_low_load():
    """One replica serving one request at a time (max_num_seqs = 1) with fixed lengths is an
    M/D/1 queue: mean wait Wq = λ S² / (2 (1 − ρ)), ρ = λ S (Pollaczek-Khinchine). S is
    measured from an idle single-request run."""
    fixed = {"arrivals": {"kind": "poisson", "rate_per_s": 1.0}, "prompt_tokens": 512,
             "output_tokens": 32, "num_requests": 1}
    sched = {"max_num_seqs": 1, "max_num_batched_tokens": 2048}
    one = simulate(scenario(workload=fixed, scheduler=sched, cache={"prefix_cache": "none"}))
    # The engine's service time: E2E less the front end (HTTP, tokenisation), which every
    # request spends outside the engine's queue.
    from tokenworks.perf.calibration import default_calibration

    front = default_calibration("h100-sxm", "vllm").frontend_s
    service = one.summary["e2e_s"]["mean"] - front
    lam = 0.4 / service
    load = dict(fixed, num_requests=4000, arrivals={"kind": "poisson", "rate_per_s": lam})
    r = simulate(scenario(workload=load, scheduler=sched, cache={"prefix_cache": "none"}), seed=1)
    rho = lam * service
    wq = lam * service**2 / (2 * (1 - rho))
    measured = r.summary["queued_s"]["mean"]
    assert measured == pytest.approx(wq, rel=0.12)
    assert r.summary["e2e_s"]["mean"] == pytest.approx(wq + service + front, rel=0.05)


def test_overload_stops_at_drain_limit_and_warns():
    over = scenario(workload={"arrivals": {"kind": "poisson", "rate_per_s": 200.0},
                              "prompt_tokens": 4000, "output_tokens": 400, "num_requests": 600},
                    simulation={"drain_limit_s": 5.0, "sample_interval_s": 0.5})
    r = simulate(over)
    s = r.summary
    assert s["num_unfinished"] > 0
    assert s["num_completed"] + s["num_unfinished"] + s["num_rejected"] == 600
    assert s["queue"]["hit_drain_limit"] and s["queue"]["max_outstanding"] > 100
    assert any("overload" in w for w in r.warnings)
    # Ended 5 s after the last arrival (~3 s of arrivals).
    assert r.timeline.column("time_s").to_pylist()[-1] < 3.0 + 5.0 + 1.0


def test_infeasible_and_bad_names():
    with pytest.raises(InfeasibleError, match=r"llama-3\.1-405b"):
        simulate(scenario(model="llama-3.1-405b"))
    with pytest.raises(UnknownNameError, match="h100-sxm"):
        simulate(scenario(hardware={"accelerator": "h100"}))
    with pytest.raises(ScenarioError, match="does not exist"):
        d = scenario(trace={"path": "/nonexistent/trace.jsonl"})
        d.pop("workload")
        simulate(d)


def test_too_long_requests_are_rejected_not_hung():
    r = simulate(scenario(deployment={"tp": 1, "max_seq_len_tokens": 1024},
                          workload={"arrivals": {"kind": "poisson", "rate_per_s": 5},
                                    "prompt_tokens": {"kind": "uniform", "low": 100,
                                                      "high": 2000},
                                    "output_tokens": 10, "num_requests": 50}))
    s = r.summary
    assert s["num_rejected"] > 0 and s["num_completed"] + s["num_rejected"] == 50
    rej = r.requests.filter(r.requests.column("rejected"))
    assert all(p + o > 1024 for p, o in zip(rej.column("prompt_tokens").to_pylist(),
                                            rej.column("output_tokens").to_pylist(), strict=True))


def test_exports(tmp_path):
    r = simulate(scenario(workload={"arrivals": {"kind": "constant", "rate_per_s": 2},
                                    "prompt_tokens": 100, "output_tokens": 5,
                                    "num_requests": 10}))
    pq_path = r.write_requests(tmp_path / "r.parquet")
    assert pq.read_table(pq_path).num_rows == 10
    csv = r.write_requests(tmp_path / "r.csv").read_text().splitlines()
    assert csv[0].startswith('"request_id"') and len(csv) == 11
    js = json.loads(r.write_requests(tmp_path / "r.json").read_text())
    assert len(js["requests"]) == 10 and js["summary"]["num_requests"] == 10
    trace = json.loads(r.write_chrome_trace(tmp_path / "t.json").read_text())
    assert any(e["name"].startswith("decode") for e in trace["traceEvents"])
    assert r.to_pandas().shape[0] == 10


def test_mooncake_style_trace_relative_path(tmp_path, monkeypatch):
    lines = []
    for i in range(40):
        # Two conversations alternate; each turn extends its own hash chain by one block.
        conv = i % 2
        hashes = [1000 * conv + j for j in range(i // 2 + 1)]
        lines.append(json.dumps({"timestamp": 250 * i, "input_length": 512 * len(hashes) + 10,
                                 "output_length": 20, "hash_ids": hashes}))
    (tmp_path / "t.jsonl").write_text("\n".join(lines) + "\n")
    sub = tmp_path / "scen"
    sub.mkdir()
    d = scenario(trace={"path": "t.jsonl", "time_scale": 0.5})
    d.pop("workload")
    (sub / "s.yaml").write_text(json.dumps(d))  # JSON is valid YAML
    monkeypatch.chdir(tmp_path)  # the trace resolves through the cwd fallback
    r = simulate(sub / "s.yaml")
    s = r.summary
    assert s["num_completed"] == 40
    # Arrivals every 0.25 s scaled by 0.5 -> 0.125 s.
    arr = r.requests.column("arrived_at_s").to_pylist()
    assert arr[:3] == pytest.approx([0.0, 0.125, 0.25])
    # Turn k of a conversation can reuse the k blocks (512 tokens each) of turn k-1.
    assert s["prefix_hit_frac"] > 0.5


def test_disaggregated_pools():
    d = scenario(pools={"prefill": {"accelerator": "h100-sxm", "num_replicas": 2},
                        "decode": {"accelerator": "h200", "num_replicas": 1},
                        "transfer": {"link_gbit_per_s": 400, "latency_s": 0.001}})
    d.pop("hardware")
    d.pop("deployment")
    r = simulate(d)
    s = r.summary
    assert s["num_completed"] == 150 and s["num_gpus"] == 3
    kt = s["kv_transfer"]
    assert kt["num_transfers"] == 150 and kt["mean_time_s"] > 0.001
    t = r.requests
    pre = set(t.column("prefill_replica_id").to_pylist())
    dec = set(t.column("replica_id").to_pylist())
    assert pre == {0, 1} and dec == {2}
    assert {x["role"] for x in s["replicas"]} == {"prefill", "decode"}


def test_agentic_summary():
    d = scenario(agentic={"num_sessions": 15, "arrivals": {"kind": "poisson", "rate_per_s": 1},
                          "num_calls": 4, "first_prompt_tokens": 800, "tool_result_tokens": 100,
                          "output_tokens": 50, "tool_time_s": 2.0, "num_cores": 2})
    d.pop("workload")
    s = simulate(d).summary
    ss = s["sessions"]
    assert s["num_completed"] == 60 and ss["num_sessions_completed"] == 15
    assert ss["tool_time_frac"] + ss["llm_time_frac"] == pytest.approx(1.0)
    # Each session spends at least 3 tools × 2 s = 6 s in tools.
    assert ss["session_latency_s"]["p50"] > 6.0
    assert 0 < ss["cpu_pool_utilization_frac"] <= 1
    # Every call after the first extends the previous context: strong prefix reuse.
    assert s["prefix_hit_frac"] > 0.5


def test_closed_loop_and_conversation_workloads():
    closed = scenario(workload={"arrivals": {"kind": "closed_loop", "num_users": 4,
                                             "think_time_s": 0.5},
                                "prompt_tokens": 200, "output_tokens": 20, "num_requests": 40})
    r = simulate(closed)
    assert r.summary["num_completed"] == 40
    assert max(r.timeline.column("num_outstanding").to_pylist()) <= 4
    conv = scenario(workload={"arrivals": {"kind": "poisson", "rate_per_s": 2},
                              "prompt_tokens": 300, "output_tokens": 60, "num_requests": 10,
                              "conversation": {"num_turns": 4, "think_time_s": 1.0}})
    s = simulate(conv).summary
    assert s["num_completed"] == 40 and s["prefix_hit_frac"] > 0.4


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_run(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    sc = load_scenario(path)
    if sc.spec.trace is not None and not sc.resolve_path(sc.spec.trace.path).exists():
        pytest.skip("trace folder ../shared/validation absent")
    r = simulate(sc, max_requests=40)
    check_summary(r.summary)
    assert r.summary["num_completed"] > 0
    assert np.isfinite(r.summary["ttft_s"]["p50"])


def test_empirical_lengths_from_a_trace_and_progress(tmp_path):
    trace = tmp_path / "lens.csv"
    trace.write_text("arrived_at,num_prefill_tokens,num_decode_tokens\n"
                     "0.0,111,7\n0.5,222,9\n1.0,333,11\n")
    d = scenario(workload={
        "arrivals": {"kind": "gamma", "rate_per_s": 3.0, "cv": 2.0},
        "prompt_tokens": {"kind": "empirical", "trace": str(trace), "column": "prompt_tokens"},
        "output_tokens": {"kind": "empirical", "trace": str(trace), "column": "output_tokens"},
        "num_requests": 30})
    calls: list[tuple[int, int]] = []
    r = simulate(d, progress=lambda done, total: calls.append((done, total)))
    t = r.requests
    assert set(t.column("output_tokens").to_pylist()) <= {7, 9, 11}
    assert set(t.column("prompt_tokens").to_pylist()) <= {111, 222, 333}
    assert calls[-1] == (30, 30)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_priority_classes_under_a_priority_queue():
    """Under load, the priority queue serves class 0 before class 1: lower queueing delay."""
    d = scenario(scheduler={"queue": "priority", "max_num_seqs": 8, "max_num_batched_tokens": 2048},
                 workload={"arrivals": {"kind": "poisson", "rate_per_s": 25.0},
                           "prompt_tokens": 1500, "output_tokens": 60, "num_requests": 400,
                           "priorities": [{"priority": 0, "frac": 0.3},
                                          {"priority": 1, "frac": 0.7}]})
    r = simulate(d)
    by = r.summary["by_priority"]
    assert set(by) == {"0", "1"}
    assert by["0"]["num_completed"] + by["1"]["num_completed"] == 400
    assert 0.2 < by["0"]["num_completed"] / 400 < 0.4
    assert by["0"]["ttft_s"]["mean"] < by["1"]["ttft_s"]["mean"]
    assert set(r.requests.column("priority").to_pylist()) == {0, 1}


def test_inter_token_latency_when_recorded():
    """ITL gaps: each finished request contributes outputs − 1 gaps; their mean is close to
    the mean TPOT (equal when every gap is weighted alike)."""
    d = scenario(simulation={"record_token_times": True},
                 workload={"arrivals": {"kind": "poisson", "rate_per_s": 2}, "prompt_tokens": 300,
                           "output_tokens": 20, "num_requests": 30})
    s = simulate(d).summary
    assert set(s["itl_s"]) == STATS
    assert s["itl_s"]["mean"] == pytest.approx(s["tpot_s"]["mean"], rel=1e-6)
    assert "itl_s" not in simulate(scenario()).summary

