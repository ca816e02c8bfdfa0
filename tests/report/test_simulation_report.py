"""report.simulation: chart data of a simulation agrees with the simulation's own numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tokenworks as tw
from tokenworks.report.registry import build_report
from tokenworks.report.simulation import simulation_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def chat():
    return tw.simulate(EXAMPLES / "chat-h100-tp4.yaml", max_requests=300, record_steps=True)


def test_cdf_percentiles_are_the_summary_percentiles(chat):
    d = simulation_data(chat)
    for key in ("ttft_s", "tpot_s", "e2e_s"):
        c = d["cdf"][key]
        assert c["p"][0] == 0.0 and c["p"][-1] == 1.0
        assert c["x"][c["p"].index(0.99)] == pytest.approx(chat.summary[key]["p99"], rel=1e-12)
        assert c["x"][c["p"].index(0.5)] == pytest.approx(chat.summary[key]["p50"], rel=1e-12)


def test_utilization_over_time_conserves_each_replicas_busy_time(chat):
    d = simulation_data(chat)
    mids = np.array(d["bin_mid_s"])
    width = mids[1] - mids[0]
    for rs, rep in zip(chat.replica_stats, d["replicas"], strict=True):
        busy = np.array(rep["busy_frac_by_bin"])
        assert np.all((busy >= 0) & (busy <= 1))
        assert float(busy.sum() * width) == pytest.approx(rs.busy_s, rel=1e-6)


def test_series_are_thinned_and_aligned(chat):
    d = simulation_data(chat, max_points=50)
    tl = d["timeline"]
    assert 2 <= len(tl["time_s"]) <= 50
    assert len({len(v) for v in tl.values()}) == 1
    assert tl["time_s"][0] == chat.timeline.column("time_s")[0].as_py()
    for r in d["replicas"]:
        assert len(r["kv_time_s"]) == len(r["kv_usage_frac"]) <= 50


def test_prefix_hits_per_tier_are_fractions_and_follow_the_run(chat):
    d = simulation_data(chat)
    hbm = [v for v in d["tier_hit_frac_by_bin"]["hbm"] if v is not None]
    assert hbm and all(0.0 <= v <= 1.0 for v in hbm)
    # The whole run's token-weighted hit rate from the same columns.
    req = chat.requests.to_pydict()
    whole = sum(req["cached_tokens_hbm"]) / sum(req["prompt_tokens"])
    assert min(hbm) <= whole <= max(hbm)


def test_simulation_report_blocks(chat):
    rep = build_report("simulation", simulation_data(chat))
    ids = [b.id for b in rep.blocks]
    for block in ("simulation-summary", "latency-percentiles", "ttft-cdf", "tpot-cdf", "e2e-cdf",
                  "queue", "utilization", "kv-usage", "prefix-hits", "replicas",
                  "catalog-values", "assumptions"):
        assert block in ids, block
    assert "sessions" not in ids  # not an agentic run
    # A CDF draws its SLO when it is within 3x the slowest request, else says where it is.
    for key in ("ttft_s", "tpot_s"):
        chart = rep.block(f"{key[:-2]}-cdf")
        drawn = any(t["name"].startswith("SLO") for t in chart.figure["data"])
        assert drawn == (chart.figure["layout"]["xaxis"]["range"][1] >= 1e3 *
                         chat.summary["slo"][key]), key
        assert drawn or "off the chart" in chart.caption


def test_agentic_run_shows_tool_vs_llm_time():
    r = tw.simulate(EXAMPLES / "agentic.yaml", max_requests=12)
    rep = build_report("simulation", simulation_data(r))
    bars = rep.block("sessions").figure["data"]
    ss = r.summary["sessions"]
    assert [b["x"][0] for b in bars] == pytest.approx([100 * ss["llm_time_frac"],
                                                       100 * ss["tool_time_frac"]], rel=1e-6)
    # Without recorded steps, utilization is the whole run's busy share per replica.
    util = rep.block("utilization").figure["data"][0]
    assert util["type"] == "bar"
    assert util["y"][0] == pytest.approx(100 * r.summary["replicas"][0]["busy_frac"], rel=1e-6)
