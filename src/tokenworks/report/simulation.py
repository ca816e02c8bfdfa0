"""The report of a simulation: latency CDFs against the SLO, queue, KV usage and utilization
over time, prefix-cache hits per tier over time, agentic sessions' tool vs LLM time.

``simulation_data`` reduces a ``SimulationResult`` (a table of every request, the timeline,
per-replica counters) to chart data of a few hundred points per series (plain JSON, seconds);
the block functions read only that dict, so a stored run renders without the raw tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tokenworks.report.blocks import Chart, Note, Table
from tokenworks.report.figures import COLORS, SEQUENCE, figure
from tokenworks.report.format import fmt_pct, fmt_s, fmt_usd, to_jsonable
from tokenworks.report.series import (
    busy_frac_over_time,
    cdf_points,
    ratio_over_time,
    thin,
    time_bins,
)
from tokenworks.report.sources import accelerator_sources, model_sources
from tokenworks.serving.result import SimulationResult, numpy_column
from tokenworks.serving.summary import completed

__all__ = ["LATENCIES", "simulation_data"]

LATENCIES = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "E2E"))
_TIER_PREFIX = "cached_tokens_"


def simulation_data(result: SimulationResult, *, num_bins: int = 100,
                    max_points: int = 500) -> dict[str, Any]:
    """Chart data of a simulation (see module docstring)."""
    s = to_jsonable(result.summary)
    req = result.requests
    done = completed(req)

    def col(name: str) -> np.ndarray:
        return numpy_column(req.column(name)) if req.num_rows else np.zeros(0)

    cdf = {k: cdf_points(col(k)[done]) for k, _ in LATENCIES}
    tl = result.timeline
    t = numpy_column(tl.column("time_s")) if tl.num_rows else np.zeros(0)
    end_s = max(float(s.get("duration_s") or 0.0), float(t[-1]) if len(t) else 0.0)
    edges = time_bins(end_s, num=num_bins)
    mids = ((edges[:-1] + edges[1:]) / 2).tolist()
    timeline = dict(zip(("time_s", "num_outstanding", "num_in_transfer", "kv_usage_frac"), thin(
        t, *(numpy_column(tl.column(c)) if tl.num_rows else np.zeros(0)
             for c in ("num_outstanding", "num_in_transfer", "kv_usage_frac")),
        max_points=max_points), strict=True))
    replicas = []
    for rs in result.replica_stats:
        kv_t, kv_u = thin(rs.kv_usage_times_s, rs.kv_usage_frac, max_points=max_points)
        busy = None
        if rs.steps:
            st = np.asarray([(a, b) for a, b, *_ in rs.steps], np.float64)
            busy = busy_frac_over_time(st[:, 0], st[:, 1], edges).tolist()
        replicas.append({"replica_id": rs.replica_id, "kv_time_s": kv_t, "kv_usage_frac": kv_u,
                         "busy_frac_by_bin": busy})
    tiers = {}
    if req.num_rows:
        arrived, prompt = col("arrived_at_s"), col("prompt_tokens")
        for name in req.column_names:
            if name.startswith(_TIER_PREFIX):
                tiers[name[len(_TIER_PREFIX):]] = ratio_over_time(
                    arrived, col(name), prompt, edges).tolist()
    accs = list(dict.fromkeys(r["accelerator"] for r in s.get("replicas", [])))
    sources = [row for a in accs for row in accelerator_sources(a)]
    return to_jsonable({"summary": s, "cdf": cdf, "timeline": timeline, "bin_mid_s": mids,
                        "replicas": replicas, "tier_hit_frac_by_bin": tiers,
                        "sources": sources + model_sources(s.get("model", ""))})


# ------------------------------------------------------------------------------ blocks


def _ms(x: float | None) -> str:
    return "—" if x is None else fmt_s(x)


def summary_table(d: dict[str, Any]) -> Table:
    s = d["summary"]
    rows = [
        ("scenario", f"{s.get('scenario')} (seed {s.get('seed')}): {s.get('model')}, "
                     f"{s.get('num_gpus')} GPUs"),
        ("requests completed / total", f"{s['num_completed']:,} / {s['num_requests']:,}"),
        ("rejected / unfinished", f"{s['num_rejected']:,} / {s['num_unfinished']:,}"),
        ("duration", fmt_s(s["duration_s"])),
        ("output tokens/s", f"{s['output_tokens_per_s']:,.0f}"),
        ("requests/s (goodput within SLO)", f"{s['requests_per_s']:,.2f} "
                                            f"({s['goodput_requests_per_s']:,.2f})"),
        ("SLO attainment", fmt_pct(s.get("slo_attainment_frac"))),
        ("prefix hit (tokens)", fmt_pct(s.get("prefix_hit_frac"))),
        ("peak queue", f"{s['queue']['max_outstanding']:,} requests"),
        ("$ / M output tokens", "—" if s.get("usd_per_million_output_tokens") is None
         else fmt_usd(s["usd_per_million_output_tokens"])),
        ("J per output token", "—" if s.get("joules_per_output_token") is None
         else f"{s['joules_per_output_token']:.2f}"),
    ]
    return Table(id="simulation-summary", title="Simulation", columns=("metric", "value"),
                 rows=tuple(rows))


def percentiles_table(d: dict[str, Any]) -> Table:
    s = d["summary"]
    slo = s.get("slo") or {}
    rows = []
    for key, label in (*LATENCIES, ("queued_s", "queueing")):
        st = s[key]
        target = slo.get(key)
        p99 = st.get("p99")
        verdict = "—" if target is None or p99 is None else (
            "p99 within SLO" if p99 <= target else "p99 over SLO")
        rows.append((label, *(_ms(st.get(k)) for k in ("mean", "p50", "p90", "p99")),
                     _ms(target), verdict))
    return Table(id="latency-percentiles", title="Latency percentiles against the SLO",
                 columns=("metric", "mean", "p50", "p90", "p99", "SLO", "verdict"),
                 rows=tuple(rows))


def _cdf_chart(d: dict[str, Any], key: str, label: str) -> Chart | None:
    c = d["cdf"].get(key) or {"x": []}
    if not c["x"]:
        return None
    s = d["summary"]
    traces = [{"type": "scatter", "mode": "lines", "name": f"{label} CDF",
               "x": [v * 1e3 for v in c["x"]], "y": c["p"], "line": {"color": COLORS["blue"]}}]
    st = s[key]
    pts = [(q, st[q]) for q in ("p50", "p90", "p99") if st.get(q) is not None]
    traces.append({"type": "scatter", "mode": "markers+text", "name": "percentiles",
                   "x": [v * 1e3 for _, v in pts], "y": [int(q[1:]) / 100 for q, _ in pts],
                   "text": [q for q, _ in pts], "textposition": "middle left",
                   "marker": {"color": COLORS["orange"], "size": 9}})
    target = (s.get("slo") or {}).get(key)
    x_max = max(c["x"]) * 1e3
    note = ""
    if target is not None and target * 1e3 <= 3 * x_max:
        x_max = max(x_max, target * 1e3)
        traces.append({"type": "scatter", "mode": "lines", "name": f"SLO {_ms(target)}",
                       "x": [target * 1e3, target * 1e3], "y": [0, 1],
                       "line": {"color": COLORS["red"], "dash": "dash"}})
    elif target is not None:
        note = f" SLO {_ms(target)}, off the chart to the right."
    return Chart(id=f"{key.removesuffix('_s')}-cdf", title=f"{label} distribution",
                 figure=figure(traces, title=f"{label}: cumulative distribution",
                               x_title=f"{label} (ms)", y_title="fraction of requests",
                               height=360, xaxis={"range": [0, x_max * 1.05]}),
                 caption=f"Completed requests; p99 = {_ms(st.get('p99'))}.{note}")


def ttft_cdf(d: dict[str, Any]) -> Chart | None:
    return _cdf_chart(d, "ttft_s", "TTFT")


def tpot_cdf(d: dict[str, Any]) -> Chart | None:
    return _cdf_chart(d, "tpot_s", "TPOT")


def e2e_cdf(d: dict[str, Any]) -> Chart | None:
    return _cdf_chart(d, "e2e_s", "E2E latency")


def queue_chart(d: dict[str, Any]) -> Chart | None:
    tl = d["timeline"]
    if not tl["time_s"]:
        return None
    traces = [{"type": "scatter", "mode": "lines", "name": "outstanding requests",
               "x": tl["time_s"], "y": tl["num_outstanding"], "line": {"shape": "hv"}}]
    if any(tl["num_in_transfer"]):
        traces.append({"type": "scatter", "mode": "lines", "name": "in KV transfer",
                       "x": tl["time_s"], "y": tl["num_in_transfer"], "line": {"shape": "hv"}})
    return Chart(id="queue", title="Queue length over time", figure=figure(
        traces, title="Requests outstanding (queued or running)", x_title="time (s)",
        y_title="requests", height=340))


def kv_chart(d: dict[str, Any]) -> Chart | None:
    tl = d["timeline"]
    traces = [{"type": "scatter", "mode": "lines", "name": f"replica {r['replica_id']}",
               "x": r["kv_time_s"], "y": [u * 100 for u in r["kv_usage_frac"]],
               "line": {"width": 1}} for r in d["replicas"] if r["kv_time_s"]]
    if tl["time_s"]:
        traces.append({"type": "scatter", "mode": "lines", "name": "cluster",
                       "x": tl["time_s"], "y": [u * 100 for u in tl["kv_usage_frac"]],
                       "line": {"color": COLORS["black"], "width": 2}})
    if not traces:
        return None
    return Chart(id="kv-usage", title="KV cache usage over time", figure=figure(
        traces, title="KV cache in use", x_title="time (s)", y_title="% of KV blocks",
        height=340, yaxis={"range": [0, 105]}))


def utilization_chart(d: dict[str, Any]) -> Chart | None:
    reps = [r for r in d["replicas"] if r["busy_frac_by_bin"] is not None]
    if reps:
        traces = [{"type": "scatter", "mode": "lines", "name": f"replica {r['replica_id']}",
                   "x": d["bin_mid_s"], "y": [b * 100 for b in r["busy_frac_by_bin"]],
                   "line": {"color": SEQUENCE[i % len(SEQUENCE)]}}
                  for i, r in enumerate(reps)]
        fig = figure(traces, title="Share of each window the replica spent in steps",
                     x_title="time (s)", y_title="busy %", height=340,
                     yaxis={"range": [0, 105]})
        caption = "From the recorded engine steps."
    else:
        reps_s = d["summary"].get("replicas", [])
        if not reps_s:
            return None
        fig = figure([{"type": "bar", "name": "busy", "x": [f"replica {r['replica_id']}"
                                                             for r in reps_s],
                       "y": [r["busy_frac"] * 100 for r in reps_s]}],
                     title="Busy share over the whole run", y_title="busy %", height=300)
        caption = "The run did not record steps; whole-run busy share per replica."
    return Chart(id="utilization", title="Per-replica utilization", figure=fig,
                 caption=caption)


def tier_hits_chart(d: dict[str, Any]) -> Chart | None:
    tiers = d.get("tier_hit_frac_by_bin") or {}
    if not tiers or not any(v is not None and v > 0 for vs in tiers.values() for v in vs):
        return None
    traces = [{"type": "scatter", "mode": "lines+markers", "name": tier, "x": d["bin_mid_s"],
               "y": [None if v is None else v * 100 for v in vs], "marker": {"size": 4}}
              for tier, vs in tiers.items()]
    totals = d["summary"].get("tier_hit_frac") or {}
    return Chart(id="prefix-hits", title="Prefix-cache hit rate per tier over time",
                 figure=figure(traces, title="Prompt tokens served from each cache tier",
                               x_title="arrival time (s)", y_title="% of prompt tokens",
                               height=340),
                 caption="Whole run: " + ", ".join(f"{k} {fmt_pct(v)}"
                                                   for k, v in totals.items()))


def sessions_chart(d: dict[str, Any]) -> Chart | None:
    ss = d["summary"].get("sessions")
    if not ss or ss.get("tool_time_frac") is None:
        return None
    tool, llm = ss["tool_time_frac"], ss["llm_time_frac"]
    traces = [{"type": "bar", "orientation": "h", "name": "LLM calls", "y": ["sessions"],
               "x": [llm * 100], "marker": {"color": COLORS["blue"]}},
              {"type": "bar", "orientation": "h", "name": "tools (incl. CPU queue)",
               "y": ["sessions"], "x": [tool * 100], "marker": {"color": COLORS["orange"]}}]
    lat = ss.get("session_latency_s") or {}
    return Chart(id="sessions", title="Agentic sessions: time in tools vs LLM", figure=figure(
        traces, title="Mean share of a session's time", x_title="% of session time",
        barmode="stack", height=280),
        caption=f"{ss['num_sessions_completed']:,} sessions completed; session latency p50 "
                f"{_ms(lat.get('p50'))}, p99 {_ms(lat.get('p99'))}.")


def replicas_table(d: dict[str, Any]) -> Table | None:
    reps = d["summary"].get("replicas", [])
    if not reps:
        return None
    rows = tuple((str(r["replica_id"]), r["role"], f"{r['num_gpus']}× {r['accelerator']}",
                  f"{r['num_finished']:,}", fmt_pct(r["busy_frac"]),
                  fmt_pct(r["kv_usage_mean_frac"]), fmt_pct(r.get("mfu_frac")),
                  fmt_pct(r.get("hbm_bandwidth_utilization_frac"))) for r in reps)
    return Table(id="replicas", title="Replicas", rows=rows,
                 columns=("replica", "role", "GPUs", "finished", "busy", "KV mean", "MFU",
                          "HBM BW"))


def warnings_note(d: dict[str, Any]) -> Note | None:
    w = d["summary"].get("warnings") or []
    if not w:
        return None
    return Note(id="warnings", title="Warnings", text="\n".join(w), warning=True)
