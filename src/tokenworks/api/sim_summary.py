"""The summary of a simulation: latency percentiles, throughput, goodput, cache hits, energy,
cost, queue growth, and the agentic / disaggregation extras.

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

from tokenworks.api.scenario import Scenario
from tokenworks.api.sim_result import numpy_column, stats
from tokenworks.economics.power import accelerator_power_w, host_overhead_frac
from tokenworks.economics.token_cost import default_usd_per_gpu_hour
from tokenworks.errors import ConfigError
from tokenworks.serving.agentic import CpuPool
from tokenworks.serving.agentic import session_summary as _sessions
from tokenworks.units import HOUR, MILLION

SUMMARY_KEYS = ("num_requests", "num_completed", "num_rejected", "num_unfinished", "duration_s",
                "ttft_s", "tpot_s", "e2e_s", "queued_s", "output_tokens_per_s",
                "input_tokens_per_s", "requests_per_s", "goodput_requests_per_s",
                "slo_attainment_frac", "prefix_hit_frac", "prefix_hit_requests_frac",
                "tier_hit_frac", "num_preemptions", "num_gpus", "gpu_hours",
                "usd_per_gpu_hour", "cost_usd", "usd_per_million_output_tokens", "energy_j",
                "node_energy_j", "joules_per_output_token", "replicas", "queue")


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


def _price(sc: Scenario, plans) -> tuple[float | None, str]:
    """$/GPU-hour (GPU-weighted over pools) and its source; None when no catalog has one."""
    if sc.spec.price is not None:
        return sc.spec.price.usd_per_gpu_hour, "scenario price.usd_per_gpu_hour"
    total, sources, gpus = 0.0, [], 0
    for p in plans:
        try:
            usd, src = default_usd_per_gpu_hour(p.accelerator)
        except ConfigError:
            return None, (f"no rental price for {p.accelerator.name} in the catalogs; set "
                          f"price.usd_per_gpu_hour in the scenario")
        total += usd * p.num_gpus
        gpus += p.num_gpus
        sources.append(f"{p.accelerator.name}: {src}")
    return total / gpus, "; ".join(sources)


def summarize(*, sc: Scenario, seed: int, plans, pools, requests: pa.Table, timeline: pa.Table,
              end_s: float, hit_drain_limit: bool, drain_limit_s: float,
              cpu_pool: CpuPool | None, links, num_sessions: int,
              agentic: bool) -> tuple[dict[str, Any], list[str]]:
    warnings: list[str] = []
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
    slo = sc.spec.slo
    ok = np.ones(int(done.sum()), bool)
    if slo.ttft_s is not None:
        ok &= ttft <= slo.ttft_s
    if slo.tpot_s is not None:
        ok &= ~(tpot > slo.tpot_s)  # single-token outputs have no TPOT: they pass
    per_s = (lambda x: x / duration) if duration > 0 else (lambda x: float("nan"))

    stats_list = [r.stats() for p in pools for r in p.replicas]
    lookup = sum(s.lookup_prompt_tokens for s in stats_list)
    hits = sum(s.hit_tokens for s in stats_list)
    tier_hits: dict[str, float] = {"hbm": float(sum(s.hit_tokens_hbm for s in stats_list))}
    for s in stats_list:
        for name, t in s.tiers.items():
            tier_hits[name] = tier_hits.get(name, 0.0) + float(t.get("num_hit_tokens", 0))
    lookups = sum(s.num_lookups for s in stats_list)

    num_gpus = sum(p.num_gpus for p in plans)
    usd_h, price_src = _price(sc, plans)
    gpu_hours = num_gpus * duration / HOUR
    cost = None if usd_h is None else gpu_hours * usd_h
    if usd_h is None:
        warnings.append(f"cost not computed: {price_src}.")
    energy = node_energy = 0.0
    replicas = []
    by_id = {r.replica_id: (p, r) for p, pool in zip(plans, pools, strict=True)
             for r in pool.replicas}
    for s in stats_list:
        plan, _ = by_id[s.replica_id]
        busy = min(1.0, s.busy_s / duration) if duration > 0 else 0.0
        gpus = plan.deployment.num_gpus
        e = accelerator_power_w(plan.accelerator, busy) * gpus * duration
        energy += e
        node_energy += e * (1.0 + host_overhead_frac(plan.accelerator)[0])
        peak = plan.accelerator.dense_flops_per_s(plan.deployment.matmul_dtype) * gpus
        replicas.append({
            "replica_id": s.replica_id, "role": plan.role, "accelerator": plan.accelerator.name,
            "num_gpus": gpus, "num_finished": s.num_finished, "num_rejected": s.num_rejected,
            "num_preemptions": s.num_preemptions, "busy_frac": busy, "num_steps": s.num_steps,
            "kv_usage_mean_frac": _value(s.kv_usage_mean_frac),
            "mfu_frac": None if s.flops is None or duration <= 0 else s.flops * gpus
            / (peak * duration),
            "hbm_bandwidth_utilization_frac": None if s.hbm_bytes is None or duration <= 0
            else s.hbm_bytes / (plan.accelerator.memory_bytes_per_s * duration),
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
    if rejected.any():
        warnings.append(f"{int(rejected.sum())} requests were rejected (longer than the context "
                        f"limit or the KV cache); see the 'rejected' column.")
    total_out = float(out_tok.sum())
    summary: dict[str, Any] = {
        "scenario": sc.name, "seed": seed, "model": sc.spec.model,
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
        "num_gpus": num_gpus, "gpu_hours": gpu_hours, "usd_per_gpu_hour": usd_h,
        "price_source": price_src, "cost_usd": cost,
        "usd_per_million_output_tokens": cost / total_out * MILLION
        if total_out and cost is not None else None,
        "energy_j": energy, "node_energy_j": node_energy,
        "joules_per_output_token": energy / total_out if total_out else None,
        "replicas": replicas,
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
