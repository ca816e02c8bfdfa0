"""The summary of a simulation: latency percentiles, throughput, goodput, cache hits, per-replica
utilization, queue growth, and the agentic / disaggregation extras. (Cost and energy are
economics' numbers, added by ``api.simulate`` with ``SimulationResult.with_cost``.)

Definitions follow ``vllm bench serve`` and DistServe: TTFT = first token − arrival; TPOT =
(E2E − TTFT)/(output tokens − 1); goodput = completed requests per second that met both SLOs
(Zhong et al., OSDI'24, arXiv:2401.09670). Throughput is over the run's duration, from the
first arrival (t = 0) to the last finish. Units: seconds, tokens, joules, USD.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from tokenworks.serving.agentic import CpuPool
from tokenworks.serving.agentic import session_summary as _sessions
from tokenworks.serving.metrics import ReplicaStats
from tokenworks.serving.result import numpy_column, stats
from tokenworks.serving.spec import SimulationSpec
from tokenworks.units import HOUR

__all__ = ["SUMMARY_KEYS", "completed", "completed_output_tokens", "summarize"]

SUMMARY_KEYS = ("num_requests", "num_completed", "num_rejected", "num_unfinished", "duration_s",
                "ttft_s", "tpot_s", "e2e_s", "queued_s", "output_tokens_per_s",
                "input_tokens_per_s", "requests_per_s", "goodput_requests_per_s",
                "slo_attainment_frac", "prefix_hit_frac", "prefix_hit_requests_frac",
                "tier_hit_frac", "num_preemptions", "num_gpus", "gpu_hours", "replicas",
                "queue")


def _col(t: pa.Table, name: str) -> np.ndarray:
    return numpy_column(t.column(name))


def _clean(o: Any) -> Any:
    """NaN/inf -> None so the summary is valid JSON."""
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, float | np.floating):
        return float(o) if math.isfinite(o) else None
    if isinstance(o, np.integer):
        return int(o)
    return o


def _value(attr: Any) -> Any:
    """A ReplicaStats figure that may be a property or a method."""
    return attr() if callable(attr) else attr


def completed(requests: pa.Table) -> np.ndarray:
    """Mask of the requests that finished (not rejected, not still running at the end)."""
    if not requests.num_rows:
        return np.zeros(0, bool)
    fin = numpy_column(requests.column("finished"), bool)
    return fin & ~numpy_column(requests.column("rejected"), bool)


def completed_output_tokens(requests: pa.Table) -> float:
    """Output tokens of the completed requests (what a run is paid for)."""
    done = completed(requests)
    return float(_col(requests, "output_tokens")[done].sum()) if len(done) else 0.0


def summarize(*, spec: SimulationSpec, plans, replica_stats: list[ReplicaStats],
              requests: pa.Table, timeline: pa.Table, end_s: float, hit_drain_limit: bool,
              cpu_pool: CpuPool | None, links, num_sessions: int,
              agentic: bool) -> tuple[dict[str, Any], list[str]]:
    """The run's summary dict (``SUMMARY_KEYS`` and extras) and its warnings."""
    warnings: list[str] = []
    drain_limit_s = spec.run.drain_limit_s
    n = requests.num_rows
    fin = numpy_column(requests.column("finished"), bool) if n else np.zeros(0, bool)
    rejected = numpy_column(requests.column("rejected"), bool) if n else np.zeros(0, bool)
    done = fin & ~rejected
    finish = _col(requests, "finished_at_s") if n else np.zeros(0)
    duration = float(np.nanmax(finish[done])) if done.any() else float(end_s)
    duration = duration if duration > 0 else float(end_s)
    ttft, tpot, e2e = (_col(requests, c)[done] for c in ("ttft_s", "tpot_s", "e2e_s"))
    queued = _col(requests, "queued_s")[done]
    out_tok = _col(requests, "output_tokens")[done]
    in_tok = _col(requests, "prompt_tokens")[done]
    slo = spec.slo
    ok = np.ones(int(done.sum()), bool)
    if slo.ttft_s is not None:
        ok &= ttft <= slo.ttft_s
    if slo.tpot_s is not None:
        ok &= ~(tpot > slo.tpot_s)  # single-token outputs have no TPOT: they pass
    per_s = (lambda x: x / duration) if duration > 0 else (lambda x: float("nan"))

    stats_list = replica_stats
    lookup = sum(s.lookup_prompt_tokens for s in stats_list)
    hits = sum(s.hit_tokens for s in stats_list)
    tier_hits: dict[str, float] = {"hbm": float(sum(s.hit_tokens_hbm for s in stats_list))}
    for s in stats_list:
        for name, t in s.tiers.items():
            tier_hits[name] = tier_hits.get(name, 0.0) + float(t.get("num_hit_tokens", 0))
    lookups = sum(s.num_lookups for s in stats_list)

    num_gpus = sum(p.num_gpus for p in plans)
    gpu_hours = num_gpus * duration / HOUR
    replicas = []
    # Replicas are numbered in pool order (simulator.simulate).
    pool_of = [p for p in plans for _ in range(p.num_replicas)]
    for s in stats_list:
        plan = pool_of[s.replica_id]
        acc = plan.spec.accelerator
        busy = min(1.0, s.busy_s / duration) if duration > 0 else 0.0
        gpus = plan.deployment.num_gpus
        peak = acc.dense_flops_per_s(plan.deployment.matmul_dtype) * gpus
        replicas.append({
            "replica_id": s.replica_id, "role": plan.role, "accelerator": acc.name,
            "num_gpus": gpus, "num_finished": s.num_finished, "num_rejected": s.num_rejected,
            "num_preemptions": s.num_preemptions, "busy_frac": busy, "num_steps": s.num_steps,
            "kv_usage_mean_frac": _value(s.kv_usage_mean_frac),
            "mfu_frac": None if s.flops is None or duration <= 0 else s.flops * gpus
            / (peak * duration),
            "hbm_bandwidth_utilization_frac": None if s.hbm_bytes is None or duration <= 0
            else s.hbm_bytes / (acc.memory_bytes_per_s * duration),
            "kv_capacity_tokens": plan.memory.kv_capacity_tokens,
        })

    outstanding = _col(timeline, "num_outstanding") if timeline.num_rows else np.zeros(0)
    num_unfinished = int((~fin).sum())
    growing = bool(len(outstanding) > 4 and outstanding[-1] > outstanding[len(outstanding) // 2]
                   > outstanding[len(outstanding) // 4])
    if hit_drain_limit or num_unfinished:
        warnings.append(
            f"overload: {num_unfinished} of {n} requests were still queued or running "
            f"{drain_limit_s:g} s after the last arrival (simulation.drain_limit_s); the queue "
            f"peaked at {int(outstanding.max()) if len(outstanding) else 0} requests. The "
            f"arrival rate exceeds what this deployment serves; add replicas or lower the rate.")
    if n and not done.any():
        why = (f"all {n} were rejected: each is longer than the context limit or the KV cache "
               f"(prompt + output tokens); see the 'rejected' column" if rejected.all() else
               f"{int(rejected.sum())} were rejected and {num_unfinished} never finished")
        warnings.insert(0, f"nothing was served: no request completed ({why}). Latency and "
                           f"throughput are empty, and the duration and energy are those of an "
                           f"idle cluster.")
    elif rejected.any():
        warnings.append(f"{int(rejected.sum())} requests were rejected (longer than the context "
                        f"limit or the KV cache); see the 'rejected' column.")
    total_out = float(out_tok.sum())
    summary: dict[str, Any] = {
        "scenario": spec.name, "seed": spec.seed, "model": spec.model.name,
        "num_requests": n, "num_completed": int(done.sum()),
        "num_rejected": int(rejected.sum()), "num_unfinished": num_unfinished,
        "num_sessions": num_sessions, "duration_s": duration,
        "ttft_s": stats(ttft), "tpot_s": stats(tpot), "e2e_s": stats(e2e),
        "queued_s": stats(queued),
        "output_tokens_per_s": per_s(total_out), "input_tokens_per_s": per_s(float(in_tok.sum())),
        "requests_per_s": per_s(float(done.sum())),
        "goodput_requests_per_s": per_s(float(ok.sum())),
        "slo_attainment_frac": float(ok.mean()) if len(ok) else None,
        "slo": {"ttft_s": slo.ttft_s, "tpot_s": slo.tpot_s},
        "prefix_hit_frac": hits / lookup if lookup else 0.0,
        "prefix_hit_requests_frac": sum(s.num_hit_requests for s in stats_list) / lookups
        if lookups else 0.0,
        "tier_hit_frac": {k: (v / lookup if lookup else 0.0) for k, v in tier_hits.items()},
        "num_preemptions": int(sum(s.num_preemptions for s in stats_list)),
        "num_gpus": num_gpus, "gpu_hours": gpu_hours, "replicas": replicas,
        "queue": {"max_outstanding": int(outstanding.max()) if len(outstanding) else 0,
                  "final_outstanding": int(outstanding[-1]) if len(outstanding) else 0,
                  "growing": growing, "hit_drain_limit": hit_drain_limit},
        "warnings": warnings,
    }
    prio = _col(requests, "priority")[done] if n else np.zeros(0)
    # NOTE: np.unique imports numpy.ma on its first call (~20 ms); with a single priority level
    # there is nothing to split, so it is not called, for performance.
    levels = np.unique(prio) if len(prio) and prio.min() != prio.max() else prio[:1]
    if len(levels) > 1:
        summary["by_priority"] = {str(int(p)): {"num_completed": int((prio == p).sum()),
                                                "ttft_s": stats(ttft[prio == p]),
                                                "e2e_s": stats(e2e[prio == p])}
                                  for p in levels}
    if links:
        sent = sum(link.bytes_sent for link in links)
        num = sum(link.num_transfers for link in links)
        summary["kv_transfer"] = {
            "num_transfers": num, "bytes": sent,
            "mean_time_s": sum(link.transfer_time_s for link in links) / num if num else None,
            "link_utilization_frac": float(np.mean([link.utilization_frac(duration)
                                                    for link in links])),
        }
    if agentic:
        recs = requests.select(["session_id", "arrived_at_s", "finished_at_s"]).to_pylist()
        summary["sessions"] = _sessions(recs, cpu_pool, duration)
    return _clean(summary), warnings
