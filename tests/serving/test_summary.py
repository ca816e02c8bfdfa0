"""The run summary (serving/summary.py): golden numbers on hand-made records, goodput, the
per-replica utilization, and the Chrome trace export with recorded steps."""

import json

import numpy as np
import pytest

from tokenworks.hardware import get_accelerator
from tokenworks.model.catalog import get_model
from tokenworks.serving import PoolSpec, Request, SimulationSpec, SloSpec, simulate
from tokenworks.serving.result import RequestLog, arrow_table
from tokenworks.serving.simulator import plan_pool
from tokenworks.serving.spec import RunSpec
from tokenworks.serving.summary import completed_output_tokens, summarize
from tokenworks.serving.workload import Fixed, PoissonArrivals, WorkloadSpec


def _spec(**kw) -> SimulationSpec:
    traffic = WorkloadSpec(arrivals=PoissonArrivals(rate_per_s=4.0), prompt_tokens=Fixed(value=500),
                           output_tokens=Fixed(value=60), num_requests=40)
    return SimulationSpec(model=get_model("llama-3.1-8b"),
                          pools=(PoolSpec(accelerator=get_accelerator("h100-sxm")),),
                          traffic=traffic, **kw)


def _done(i, arrive, sched, first, finish, out, prompt=100):
    r = Request(request_id=i, arrived_at_s=arrive, prompt_tokens=prompt, output_tokens=out)
    r.scheduled_at_s, r.first_token_at_s, r.finished_at_s = sched, first, finish
    r.num_output_done, r.replica_id = out, 0
    return r


def test_summary_golden():
    """Three requests by hand.

    TTFT = 0.5, 1.0, 0.2; TPOT = (2−0.5)/3 = 0.5, (3.5−1.5)/4 = 0.5, none (1 token);
    E2E = 2, 3, 0.2; makespan 0 → 3.5 s; 4+5+1 = 10 output tokens → 10/3.5 tok/s.
    SLO TTFT ≤ 0.6 s, TPOT ≤ 0.5 s: requests 0 and 2 pass → goodput 2/3.5; a rejected
    request counts as neither completed nor within the SLO.
    """
    spec = _spec(slo=SloSpec(ttft_s=0.6, tpot_s=0.5))
    reqs = [_done(0, 0.0, 0.1, 0.5, 2.0, 4), _done(1, 0.5, 0.6, 1.5, 3.5, 5),
            _done(2, 1.0, 1.0, 1.2, 1.2, 1)]
    rejected = Request(request_id=3, arrived_at_s=1.0, prompt_tokens=10, output_tokens=1)
    rejected.rejected, rejected.reject_reason = True, "kv_capacity"
    log = RequestLog()
    for r in [*reqs, rejected]:
        log.closed(r)
    table = log.table()
    timeline = arrow_table({"time_s": np.array([0.0]), "num_outstanding": np.array([0])})
    plan = plan_pool(spec, spec.pools[0], None, 2048)
    s, warnings = summarize(spec=spec, plans=[plan], replica_stats=[], requests=table,
                            timeline=timeline, end_s=3.5, hit_drain_limit=False, cpu_pool=None,
                            links=[], num_sessions=4, agentic=False)
    assert (s["num_requests"], s["num_completed"], s["num_rejected"]) == (4, 3, 1)
    assert s["duration_s"] == 3.5
    assert s["ttft_s"]["mean"] == pytest.approx((0.5 + 1.0 + 0.2) / 3)
    assert s["ttft_s"]["p50"] == pytest.approx(0.5)
    assert s["tpot_s"]["mean"] == pytest.approx(0.5)
    assert s["e2e_s"]["p90"] == pytest.approx(np.percentile([2.0, 3.0, 0.2], 90))
    assert s["output_tokens_per_s"] == pytest.approx(10 / 3.5)
    assert s["goodput_requests_per_s"] == pytest.approx(2 / 3.5)
    assert s["slo_attainment_frac"] == pytest.approx(2 / 3)
    assert completed_output_tokens(table) == 10.0
    assert any("rejected" in w for w in warnings)
    json.dumps(s)


def test_itl_and_replica_utilization_from_a_run():
    """With token times recorded, the mean ITL over all gaps equals the decode time over the
    gaps; busy and KV-usage fractions lie in (0, 1]; MFU comes from the real cost model."""
    spec = _spec(run=RunSpec(record_token_times=True))
    res = simulate(spec)
    s = res.summary
    t = res.requests
    first = t.column("first_token_at_s").to_numpy()
    fin = t.column("finished_at_s").to_numpy()
    out = t.column("output_tokens").to_numpy()
    assert s["itl_s"]["mean"] == pytest.approx(np.sum(fin - first) / np.sum(out - 1))
    rep = s["replicas"][0]
    assert 0.0 < rep["busy_frac"] <= 1.0 and 0.0 < rep["kv_usage_mean_frac"] < 1.0
    assert 0.0 < rep["mfu_frac"] < 1.0 and 0.0 < rep["hbm_bandwidth_utilization_frac"] < 1.0


def test_chrome_trace_has_requests_and_every_recorded_step():
    """The trace holds each request's prefill and decode and, with steps recorded, one slice
    per step or jump whose step counts add up to the replica's steps."""
    res = simulate(_spec(run=RunSpec(record_steps=True)))
    trace = res.chrome_trace()
    names = [e["name"] for e in trace["traceEvents"]]
    assert sum(n.startswith("prefill ") for n in names) == 40
    assert sum(n.startswith("decode ") for n in names) == 40
    steps = [e for e in trace["traceEvents"] if e["name"] in ("step", "jump")]
    st = res.replica_stats[0]
    assert len(steps) == len(st.steps) and steps
    assert sum(e["args"]["num_steps"] for e in steps) == st.num_steps
    plain = simulate(_spec()).chrome_trace()
    assert not [e for e in plain["traceEvents"] if e["name"] in ("step", "jump")]
