"""The report of an analytic estimate: roofline, latency–throughput curve, memory plan, step
breakdown, cost and energy.

``estimate_data`` gathers what the charts need as plain JSON (SI units): the estimate's own
``to_dict()``, the accelerator's roofs from the catalog, and the curve across batch sizes
(``report.curve``). The chart-data functions (``roofline_points``, ``memory_segments``) and the
block functions read only that dict, so a saved estimate renders the same way.
"""

from __future__ import annotations

from typing import Any

from tokenworks.errors import TokenworksError
from tokenworks.hardware import get_accelerator
from tokenworks.perf import Calibration
from tokenworks.report.blocks import Chart, Table
from tokenworks.report.curve import latency_throughput_curve
from tokenworks.report.figures import COLORS, figure
from tokenworks.report.format import fmt_bytes, fmt_count, fmt_pct, fmt_s, fmt_usd, to_jsonable
from tokenworks.report.sources import accelerator_sources, model_sources

__all__ = ["estimate_data", "memory_segments", "roofline_points"]

PHASES = ("prefill", "decode")


def estimate_data(est: Any, *, model: Any = None, calibration: Calibration | None = None,
                  max_num_batched_tokens: int = 8192) -> dict[str, Any]:
    """Chart data of an ``Estimate`` (or its ``to_dict()``); ``model`` and ``calibration`` are
    the ones the estimate ran with when they are not the catalog's."""
    e = est if isinstance(est, dict) else est.to_dict()
    curve = latency_throughput_curve(e, model=model, calibration=calibration,
                                     max_num_batched_tokens=max_num_batched_tokens)
    roof: dict[str, Any] | None = None
    try:
        acc = get_accelerator(e["hardware"])
        roof = {"accelerator": acc.name, "dtype": e["compute_dtype"],
                "peak_flops_per_s": acc.matmul_flops_per_s(e["compute_dtype"]),
                "memory_bytes_per_s": acc.memory_bytes_per_s}
        if curve is not None:
            roof["compute_efficiency_frac"] = curve["compute_efficiency_frac"]
            roof["memory_efficiency_frac"] = curve["memory_efficiency_frac"]
    except TokenworksError:
        pass
    return to_jsonable({"estimate": e, "curve": curve, "roof": roof,
                        "sources": accelerator_sources(e["hardware"]) + model_sources(e["model"])})


def roofline_points(e: dict[str, Any]) -> list[dict[str, Any]]:
    """Operating points per GPU: each op group of the prefill chunk and the decode step with
    FLOPs (arithmetic intensity = FLOPs / bytes, achieved = FLOPs / time), then each phase's
    whole step (``op = "step"``: its compute ops' FLOPs and bytes over the step time)."""
    out = []
    for phase in PHASES:
        ops = e[f"{phase}_breakdown"].get("ops", [])
        flops = sum(o["flops"] for o in ops)
        nbytes = sum(o["bytes"] for o in ops if o["flops"] > 0)
        for o in ops:
            if o["flops"] > 0 and o["bytes"] > 0 and o["time_s"] > 0:
                out.append({"phase": phase, "op": o["name"], "bound": o["bound"],
                            "intensity_flops_per_byte": o["flops"] / o["bytes"],
                            "flops_per_s": o["flops"] / o["time_s"], "time_s": o["time_s"]})
        step_s = e[f"{phase}_breakdown"].get("time_s", 0.0)
        if flops > 0 and nbytes > 0 and step_s > 0:
            out.append({"phase": phase, "op": "step", "bound": e["bound"][phase],
                        "intensity_flops_per_byte": flops / nbytes,
                        "flops_per_s": flops / step_s, "time_s": step_s})
    return out


def memory_segments(memory: dict[str, Any]) -> list[tuple[str, float]]:
    """Per-GPU memory as (label, bytes) that sum to the GPU's capacity: weights, activation
    workspace, engine overhead, KV cache, what the plan leaves unused, and the reserve the
    engine does not touch (1 − gpu_memory_utilization)."""
    used = (memory["weight_bytes_per_gpu"], memory["activation_bytes_per_gpu"],
            memory["engine_overhead_bytes_per_gpu"], memory["kv_bytes_per_gpu"])
    unused = max(memory["usable_bytes_per_gpu"] - sum(used), 0.0)
    reserve = max(memory["gpu_memory_bytes"] - memory["usable_bytes_per_gpu"], 0.0)
    return [("weights", used[0]), ("activation workspace", used[1]),
            ("engine overhead", used[2]), ("KV cache", used[3]), ("unused", unused),
            ("reserve", reserve)]


# ------------------------------------------------------------------------------ blocks


def summary_table(d: dict[str, Any]) -> Table:
    e = d["estimate"]
    rows = [
        ("deployment", f"{e['num_gpus']}× {e['hardware']} (tp={e['tp']}, pp={e['pp']}, "
                       f"ep={e['ep']}{', dp=' + str(e['dp']) if e.get('dp', 1) > 1 else ''}; "
                       f"{e['num_replicas']} replica(s))"),
        ("precision", f"weights {e['weights_dtype']}, KV {e['kv_dtype']}, "
                      f"compute {e['compute_dtype']}"),
        ("request shape", f"{e['input_tokens']:,} in / {e['output_tokens']:,} out, "
                          f"prefix hit {fmt_pct(e['prefix_hit_frac'])}"),
        ("batch per replica", f"{e['batch_size']:,} (limited by {e['batch_limited_by']})"),
        ("TTFT at zero load", f"{fmt_s(e['ttft_s'])} ({e['bound']['prefill']}-bound)"),
        ("TPOT at this batch", f"{fmt_s(e['tpot_s'])} (decode {e['bound']['decode']}-bound)"),
        ("output tokens/s", f"{e['output_tokens_per_s']:,.0f} "
                            f"({e['output_tokens_per_s_per_gpu']:,.0f} per GPU)"),
        ("$ / M output tokens", _usd(e["usd_per_million_output_tokens"])),
        ("$ / M input tokens", _usd(e["usd_per_million_input_tokens"])),
        ("price per GPU-hour", f"{_usd(e['usd_per_gpu_hour'])} ({e['price_source']})"),
        ("GPU power", f"{e['gpu_power_w']:,.0f} W per GPU"),
        ("energy per output token", f"{e['energy_per_output_token_j']:,.3f} J"),
    ]
    return Table(id="estimate-summary", title="Estimate", columns=("metric", "value"),
                 rows=tuple(rows))


def _usd(x: float | None) -> str:
    return "—" if x is None else fmt_usd(x)


def roofline_chart(d: dict[str, Any]) -> Chart | None:
    roof, pts = d.get("roof"), roofline_points(d["estimate"])
    if roof is None or not pts:
        return None
    peak, bw = roof["peak_flops_per_s"], roof["memory_bytes_per_s"]
    lo = min(min(p["intensity_flops_per_byte"] for p in pts), peak / bw) / 4
    hi = max(max(p["intensity_flops_per_byte"] for p in pts), peak / bw) * 4
    knee = peak / bw
    xs = [lo, knee, hi]
    traces = [{"type": "scatter", "mode": "lines", "name": f"roof ({roof['dtype']} peak, HBM)",
               "x": xs, "y": [lo * bw / 1e12, peak / 1e12, peak / 1e12],
               "line": {"color": COLORS["black"], "width": 2}}]
    if "compute_efficiency_frac" in roof:
        ce, me = roof["compute_efficiency_frac"], roof["memory_efficiency_frac"]
        k2 = peak * ce / (bw * me)
        traces.append({"type": "scatter", "mode": "lines", "name": "calibrated roof",
                       "x": [lo, k2, hi], "y": [lo * bw * me / 1e12, peak * ce / 1e12,
                                                peak * ce / 1e12],
                       "line": {"color": COLORS["grey"], "dash": "dash"}})
    for phase, color in zip(PHASES, (COLORS["orange"], COLORS["blue"]), strict=True):
        ps = [p for p in pts if p["phase"] == phase]
        traces.append({
            "type": "scatter", "mode": "markers+text", "name": phase,
            "x": [p["intensity_flops_per_byte"] for p in ps],
            "y": [p["flops_per_s"] / 1e12 for p in ps],
            "text": [p["op"] for p in ps], "textposition": "top center",
            "marker": {"color": color, "size": [14 if p["op"] == "step" else 9 for p in ps],
                       "symbol": ["star" if p["op"] == "step" else "circle" for p in ps]},
            "customdata": [[p["bound"], p["time_s"] * 1e3] for p in ps],
            "hovertemplate": "%{text}: %{x:.3g} FLOP/B, %{y:.4g} TFLOP/s<br>"
                             "%{customdata[0]}-bound, %{customdata[1]:.3g} ms<extra>"
                             + phase + "</extra>"})
    e = d["estimate"]
    return Chart(id="roofline", title="Roofline (per GPU)", figure=figure(
        traces, title=f"Roofline of {e['hardware']}: prefill and decode operating points",
        x_title="arithmetic intensity (FLOP / byte)", y_title="achieved TFLOP/s per GPU",
        x_type="log", y_type="log"),
        caption=f"Ridge point at {knee:,.0f} FLOP/byte. Points left of it are bound by HBM "
                f"bandwidth, right of it by compute; stars are whole steps "
                f"(decode {e['bound']['decode']}-bound).")


def curve_chart(d: dict[str, Any]) -> Chart | None:
    c = d.get("curve")
    if not c:
        return None
    pts = c["points"]
    op = next(p for p in pts if p["batch"] == c["operating_batch"])
    traces = [
        {"type": "scatter", "mode": "lines+markers", "name": "batch sweep",
         "x": [p["output_tokens_per_s_per_user"] for p in pts],
         "y": [p["output_tokens_per_s_per_gpu"] for p in pts],
         "customdata": [[p["batch"], p["tpot_s"] * 1e3] for p in pts],
         "hovertemplate": "batch %{customdata[0]}: TPOT %{customdata[1]:.3g} ms<br>"
                          "%{x:.4g} tok/s/user, %{y:.4g} tok/s/GPU<extra></extra>",
         "line": {"color": COLORS["blue"]}},
        {"type": "scatter", "mode": "markers", "name": f"operating point (batch {op['batch']})",
         "x": [op["output_tokens_per_s_per_user"]], "y": [op["output_tokens_per_s_per_gpu"]],
         "marker": {"color": COLORS["red"], "size": 14, "symbol": "star"}},
    ]
    return Chart(id="latency-throughput", title="Latency–throughput across batch sizes",
                 figure=figure(traces, title="Throughput per GPU vs speed per user",
                               x_title="output tokens/s per user (1 / TPOT)",
                               y_title="output tokens/s per GPU", x_type="log"),
                 caption=f"Batch 1 to {pts[-1]['batch']:,} (KV capacity "
                         f"{c['kv_capacity_batch']:,}; the step token budget allows "
                         f"{c['token_budget_batch']:,}). Steady state with chunked prefill.")


def memory_chart(d: dict[str, Any]) -> Chart:
    e = d["estimate"]
    segs = memory_segments(e["memory"])
    colors = (COLORS["blue"], COLORS["sky"], COLORS["purple"], COLORS["green"], "#dddddd",
              COLORS["grey"])
    traces = [{"type": "bar", "orientation": "h", "name": label, "y": ["per GPU"],
               "x": [b / 1e9], "marker": {"color": col},
               "hovertemplate": f"{label}: {fmt_bytes(b)}<extra></extra>"}
              for (label, b), col in zip(segs, colors, strict=True)]
    m = e["memory"]
    return Chart(id="memory-plan", title="Memory plan", figure=figure(
        traces, title="HBM per GPU: weights, KV cache and reserve", x_title="GB",
        barmode="stack", height=300),
        caption=f"{m['kv_capacity_tokens']:,} KV tokens in {m['num_kv_blocks']:,} blocks of "
                f"{m['kv_block_size_tokens']}; {e['max_concurrent_sequences']:,} sequences of "
                f"{e['input_tokens'] + e['output_tokens']:,} tokens fit "
                f"({fmt_count(e['params_total'])} parameters).")


def breakdown_chart(d: dict[str, Any]) -> Chart:
    e = d["estimate"]
    names = list(dict.fromkeys(o["name"] for p in PHASES for o in e[f"{p}_breakdown"]["ops"]))
    labels = ["prefill chunk", "decode step"]
    traces = []
    for i, name in enumerate(names):
        ys = []
        for p in PHASES:
            op = next((o for o in e[f"{p}_breakdown"]["ops"] if o["name"] == name), None)
            ys.append(0.0 if op is None else op["time_s"] * 1e3)
        traces.append({"type": "bar", "name": name, "x": labels, "y": ys,
                       "marker": {"color": list(COLORS.values())[i % len(COLORS)]}})
    return Chart(id="step-breakdown", title="Step time by op group", figure=figure(
        traces, title="Where a step's time goes", y_title="ms per step", barmode="stack",
        height=360), caption="Per GPU after sharding; op groups do not overlap (summed).")
