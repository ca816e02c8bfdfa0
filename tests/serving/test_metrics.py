"""Metrics: golden summary on hand-made records, goodput, exports, Chrome trace, utilization."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from engine_fakes import poisson_requests, simulate

from tokenworks.errors import ConfigError
from tokenworks.serving import Request
from tokenworks.serving.metrics import (
    LatencyStats,
    chrome_trace,
    export_records,
    records_frame,
    records_table,
    summarize,
)


def _done(i, arrive, sched, first, finish, out, prompt=100):
    r = Request(request_id=i, arrived_at_s=arrive, prompt_tokens=prompt, output_tokens=out)
    r.scheduled_at_s, r.first_token_at_s, r.finished_at_s = sched, first, finish
    r.num_output_done, r.replica_id = out, 0
    return r


def test_summary_golden():
    """Three requests by hand.

    TTFT = 0.5, 1.0, 0.2; TPOT = (2−0.5)/3 = 0.5, (3−1)/4 = 0.5, none (1 token);
    E2E = 2, 3, 0.2; makespan 0 → 3.5 s; 4+5+1 = 10 output tokens → 10/3.5 tok/s.
    SLO TTFT ≤ 0.6 s, TPOT ≤ 0.5 s: requests 0 and 2 pass → goodput 2/3.5.
    """
    reqs = [_done(0, 0.0, 0.1, 0.5, 2.0, 4), _done(1, 0.5, 0.6, 1.5, 3.5, 5),
            _done(2, 1.0, 1.0, 1.2, 1.2, 1)]
    rejected = Request(request_id=3, arrived_at_s=1.0, prompt_tokens=10, output_tokens=1)
    rejected.rejected, rejected.reject_reason = True, "kv_capacity"
    s = summarize([*reqs, rejected], ttft_slo_s=0.6, tpot_slo_s=0.5)
    assert (s.num_requests, s.num_completed, s.num_rejected) == (4, 3, 1)
    assert s.duration_s == 3.5
    assert s.ttft_s.mean == pytest.approx((0.5 + 1.0 + 0.2) / 3)
    assert s.ttft_s.p50 == pytest.approx(0.5)
    assert s.tpot_s.count == 2 and s.tpot_s.mean == pytest.approx(0.5)
    assert s.e2e_s.p90 == pytest.approx(np.percentile([2.0, 3.0, 0.2], 90))
    assert s.output_tokens_per_s == pytest.approx(10 / 3.5)
    assert s.goodput_requests_per_s == pytest.approx(2 / 3.5)
    assert s.slo_attainment_frac == pytest.approx(2 / 3)
    d = s.to_dict()
    assert d["ttft_s"].keys() == {"mean", "p50", "p90", "p99"}
    json.dumps(d)


def test_latency_stats_empty_is_nan():
    e = LatencyStats.of([])
    assert e.count == 0 and np.isnan(e.p99)


def test_itl_from_token_times_and_replica_utilization():
    reqs = poisson_requests(40, rate_per_s=5.0, seed=4, record_token_times=True, num_prefixes=2)
    _, rep = simulate(reqs, prefix_cache="radix")
    s = summarize(reqs, replica_stats=[rep.stats()])
    assert s.itl_s.count == sum(r.output_tokens - 1 for r in reqs)
    # mean ITL over all gaps equals total decode time over total gaps
    gaps = sum(r.finished_at_s - r.first_token_at_s for r in reqs)
    assert s.itl_s.mean == pytest.approx(gaps / s.itl_s.count)
    u = s.replicas[0]
    assert 0.0 < u.busy_frac <= 1.0 and 0.0 < u.kv_usage_mean_frac < 1.0
    assert u.mfu_frac is None  # the fake cost exposes no FLOPs
    assert 0.0 < s.prefix_hit_frac < 1.0


def test_mfu_with_real_cost_model():
    perf = pytest.importorskip("tokenworks.perf")
    from tokenworks.model.catalog import get_model

    model = get_model("llama-3-70b")
    dep = perf.make_deployment(model, "h100-sxm", tp=4)
    reqs = poisson_requests(30, rate_per_s=4.0, seed=2)
    _, rep = simulate(reqs, cost=perf.StepCostModel(model, dep))
    st = rep.stats()
    assert st.flops > 0 and st.hbm_bytes > 0
    s = summarize(reqs, replica_stats=[st], peak_flops_per_s=989e12, hbm_bytes_per_s=3.35e12)
    assert 0.0 < s.replicas[0].mfu_frac < 1.0 and 0.0 < s.replicas[0].mbu_frac < 1.0


def test_records_table_and_exports(tmp_path):
    reqs = poisson_requests(25, rate_per_s=5.0, seed=9, num_prefixes=2)
    simulate(reqs, prefix_cache="lru_blocks")
    table = records_table(reqs)
    assert table.num_rows == 25
    for col in ("arrived_at_s", "ttft_s", "tpot_s", "e2e_s", "queued_s", "cached_tokens",
                "cached_tokens_hbm", "num_preemptions", "replica_id"):
        assert col in table.column_names
    df = records_frame(reqs)
    assert df["e2e_s"].iloc[3] == pytest.approx(reqs[3].e2e_s)
    back = pq.read_table(export_records(reqs, tmp_path / "r.parquet"))
    assert back.equals(table)
    assert (tmp_path / "r.csv").exists() is False
    export_records(table, tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_text().splitlines()[0].startswith('"request_id"')
    rows = json.loads(export_records(reqs, tmp_path / "r.json").read_text())
    assert len(rows) == 25 and rows[0]["request_id"] == 0
    with pytest.raises(ConfigError, match="parquet"):
        export_records(reqs, tmp_path / "r.xlsx")


def test_chrome_trace_has_one_event_per_step_or_jump():
    reqs = poisson_requests(10, rate_per_s=5.0, seed=1)
    _, rep = simulate(reqs, record_steps=True)
    st = rep.stats()
    trace = chrome_trace([st])
    assert len(trace["traceEvents"]) == st.num_steps - sum(
        k - 1 for *_, k in st.steps)
    assert {e["name"] for e in trace["traceEvents"]} <= {"step", "jump"}
    assert sum(e["args"]["num_steps"] for e in trace["traceEvents"]) == st.num_steps
