"""Simulation metrics: per-replica counters, per-request records, latency summaries, exports.

Units: seconds, tokens, bytes, FLOPs; fractions ``_frac``. Definitions (as vLLM ``bench serve``
and the MLPerf Inference server scenario report them):

* TTFT = first token time − arrival; E2E = finish − arrival; queueing = first admission − arrival;
* TPOT = (E2E − TTFT) / (output tokens − 1), per request (requests with one output token have
  none); ITL = gaps between consecutive tokens (only for requests that recorded token times);
* throughput over the makespan (first arrival to last finish);
* goodput (DistServe, Zhong et al., OSDI 2024, arXiv:2401.09670) = completed requests per second
  that met both the TTFT and the TPOT SLO.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tokenworks.errors import ConfigError
from tokenworks.units import US

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from tokenworks.serving.request import Request

__all__ = [
    "LatencyStats", "ReplicaStats", "ReplicaUtilization", "Summary",
    "chrome_trace", "export_records", "records_frame", "records_table", "summarize",
    "write_chrome_trace",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaStats:
    """What one replica did over a run."""

    replica_id: int
    num_submitted: int
    num_rejected: int
    num_finished: int
    num_prefilled: int  # handed to a decode replica (role "prefill")
    num_preemptions: int
    busy_s: float
    num_steps: int
    num_jumps: int
    num_prefill_tokens: int  # prompt tokens computed (cache hits excluded)
    prefill_attention_pairs: float
    num_decode_tokens: int
    decode_kv_tokens: float  # summed over steps
    num_lookups: int  # admissions that looked up the prefix cache
    num_hit_requests: int
    lookup_prompt_tokens: int
    hit_tokens_hbm: int
    hit_tokens: int  # all tiers
    swap_bytes: float
    tiers: dict[str, dict[str, float]]
    kv_usage_times_s: np.ndarray = field(repr=False)
    kv_usage_frac: np.ndarray = field(repr=False)
    steps: tuple[tuple[float, float, int, int, int], ...] = ()  # (start_s, dur_s, prefill
    # tokens, decode seqs, num steps) per step or jump, when ReplicaConfig.record_steps
    # Per GPU of the replica (the cost model's breakdown is per GPU after sharding).
    flops: float | None = None  # ASSUMPTION: mean step's roofline FLOPs/bytes × number of steps
    hbm_bytes: float | None = None

    @property
    def prefix_hit_frac(self) -> float:
        """Prompt tokens served from cache (any tier) over prompt tokens looked up."""
        return self.hit_tokens / self.lookup_prompt_tokens if self.lookup_prompt_tokens else 0.0

    @property
    def request_hit_frac(self) -> float:
        return self.num_hit_requests / self.num_lookups if self.num_lookups else 0.0

    def kv_usage_mean_frac(self) -> float:
        """Time-weighted mean KV usage between the first and last sample."""
        t, u = self.kv_usage_times_s, self.kv_usage_frac
        if len(t) < 2 or t[-1] <= t[0]:
            return float(u.mean()) if len(u) else 0.0
        return float(np.sum(u[:-1] * np.diff(t)) / (t[-1] - t[0]))


# ---------------------------------------------------------------------------- per-request table
def _col(requests: Sequence[Request], name: str) -> list:
    return [getattr(r, name) for r in requests]


def records_table(requests: Iterable[Request]) -> pa.Table:
    """One row per request: timeline, tokens, cache hits by tier, preemptions, replica."""
    import pyarrow as pa

    reqs = list(requests)
    tiers = sorted({t for r in reqs for t in r.cached_tokens_by_tier})
    cols: dict[str, list] = {
        name: _col(reqs, name) for name in (
            "request_id", "session_id", "priority", "replica_id", "prefill_replica_id",
            "arrived_at_s", "scheduled_at_s", "first_token_at_s", "finished_at_s",
            "prompt_tokens", "output_tokens", "num_output_done", "cached_tokens",
            "num_preemptions", "rejected", "reject_reason")
    }
    for tier in tiers:
        cols[f"cached_tokens_{tier}"] = [r.cached_tokens_by_tier.get(tier, 0) for r in reqs]
    cols["queued_s"] = [r.queued_s for r in reqs]
    cols["ttft_s"] = [r.ttft_s for r in reqs]
    cols["tpot_s"] = [r.tpot_s for r in reqs]
    cols["e2e_s"] = [r.e2e_s for r in reqs]
    types = {"session_id": pa.int64(), "replica_id": pa.int64(), "prefill_replica_id": pa.int64(),
             "reject_reason": pa.string()}
    for name in ("arrived_at_s", "scheduled_at_s", "first_token_at_s", "finished_at_s",
                 "queued_s", "ttft_s", "tpot_s", "e2e_s"):
        types[name] = pa.float64()
    return pa.table({k: pa.array(v, type=types.get(k)) for k, v in cols.items()})


def records_frame(requests: Iterable[Request]) -> pd.DataFrame:
    """``records_table`` as a pandas DataFrame."""
    return records_table(requests).to_pandas()


def export_records(requests: Iterable[Request] | pa.Table, path: str | Path) -> Path:
    """Write the per-request table to .parquet, .csv or .json (records, one object per row)."""
    import pyarrow as pa

    path = Path(path)
    table = requests if isinstance(requests, pa.Table) else records_table(requests)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    elif suffix == ".csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    elif suffix == ".json":
        path.write_text(table.to_pandas().to_json(orient="records", indent=1))
    else:
        raise ConfigError(f"cannot export records to {path.name!r}: use a .parquet, .csv or "
                          ".json file name.")
    return path


# ---------------------------------------------------------------------------- summary
@dataclass(frozen=True, slots=True, kw_only=True)
class LatencyStats:
    """Mean and percentiles of one latency (s); NaN when no request has the value."""

    mean: float
    p50: float
    p90: float
    p99: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float] | np.ndarray) -> LatencyStats:
        v = np.asarray(values, dtype=np.float64)
        if v.size == 0:
            nan = float("nan")
            return cls(mean=nan, p50=nan, p90=nan, p99=nan, count=0)
        p50, p90, p99 = np.percentile(v, [50, 90, 99])  # linear interpolation (as vLLM bench)
        return cls(mean=float(v.mean()), p50=float(p50), p90=float(p90), p99=float(p99),
                   count=int(v.size))

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "p50": self.p50, "p90": self.p90, "p99": self.p99}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaUtilization:
    replica_id: int
    busy_frac: float
    kv_usage_mean_frac: float
    mfu_frac: float | None
    mbu_frac: float | None  # memory-bandwidth utilization


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """Aggregate results of a run (the JSON summary of ``tokenworks simulate``)."""

    num_requests: int
    num_completed: int
    num_rejected: int
    duration_s: float
    ttft_s: LatencyStats
    tpot_s: LatencyStats
    itl_s: LatencyStats
    e2e_s: LatencyStats
    queued_s: LatencyStats
    requests_per_s: float
    input_tokens_per_s: float
    output_tokens_per_s: float
    goodput_requests_per_s: float
    slo_attainment_frac: float
    prefix_hit_frac: float
    request_hit_frac: float
    num_preemptions: int
    replicas: tuple[ReplicaUtilization, ...]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            if isinstance(v, LatencyStats):
                out[name] = v.to_dict()
            elif name == "replicas":
                out[name] = [asdict(u) for u in v]
            else:
                out[name] = v
        return out


def summarize(requests: Iterable[Request], *, replica_stats: Iterable[ReplicaStats] = (),
              ttft_slo_s: float | None = None, tpot_slo_s: float | None = None,
              peak_flops_per_s: float | None = None,
              hbm_bytes_per_s: float | None = None) -> Summary:
    """Latency percentiles, throughput, goodput under SLOs and per-replica utilization.

    ``peak_flops_per_s`` / ``hbm_bytes_per_s`` are per GPU (``ReplicaStats.flops`` is per
    GPU); MFU and bandwidth utilization are computed only when given and the cost model
    exposed FLOPs.
    """
    reqs = list(requests)
    done = [r for r in reqs if r.finished_at_s is not None and not r.rejected]
    ttft = np.array([r.ttft_s for r in done], dtype=np.float64)
    tpot_all = [r.tpot_s for r in done]
    tpot = np.array([t for t in tpot_all if t is not None], dtype=np.float64)
    e2e = np.array([r.e2e_s for r in done], dtype=np.float64)
    queued = np.array([r.queued_s for r in done if r.queued_s is not None], dtype=np.float64)
    itl = [np.diff(r.token_times_s) for r in done if r.token_times_s and len(r.token_times_s) > 1]
    if done:
        start = min(r.arrived_at_s for r in reqs)
        duration = max(r.finished_at_s for r in done) - start
    else:
        duration = 0.0
    ok = np.ones(len(done), dtype=bool)
    if ttft_slo_s is not None:
        ok &= ttft <= ttft_slo_s
    if tpot_slo_s is not None:
        ok &= np.array([t is None or t <= tpot_slo_s for t in tpot_all], dtype=bool)
    per_s = (lambda x: x / duration) if duration > 0 else (lambda x: 0.0)
    stats = list(replica_stats)
    lookups = sum(s.lookup_prompt_tokens for s in stats)
    looked = sum(s.num_lookups for s in stats)
    return Summary(
        num_requests=len(reqs), num_completed=len(done),
        num_rejected=sum(r.rejected for r in reqs), duration_s=duration,
        ttft_s=LatencyStats.of(ttft), tpot_s=LatencyStats.of(tpot),
        itl_s=LatencyStats.of(np.concatenate(itl) if itl else []),
        e2e_s=LatencyStats.of(e2e), queued_s=LatencyStats.of(queued),
        requests_per_s=per_s(len(done)),
        input_tokens_per_s=per_s(sum(r.prompt_tokens for r in done)),
        output_tokens_per_s=per_s(sum(r.output_tokens for r in done)),
        goodput_requests_per_s=per_s(int(ok.sum())),
        slo_attainment_frac=float(ok.mean()) if done else 0.0,
        prefix_hit_frac=sum(s.hit_tokens for s in stats) / lookups if lookups else 0.0,
        request_hit_frac=sum(s.num_hit_requests for s in stats) / looked if looked else 0.0,
        num_preemptions=sum(r.num_preemptions for r in reqs),
        replicas=tuple(_utilization(s, duration, peak_flops_per_s, hbm_bytes_per_s)
                       for s in stats),
    )


def _utilization(s: ReplicaStats, duration_s: float, peak_flops_per_s: float | None,
                 hbm_bytes_per_s: float | None) -> ReplicaUtilization:
    mfu = mbu = None
    if duration_s > 0 and s.flops is not None and peak_flops_per_s:
        # MFU = achieved FLOP/s over peak (Chowdhery et al., PaLM, arXiv:2204.02311, App. B).
        mfu = s.flops / duration_s / peak_flops_per_s
    if duration_s > 0 and s.hbm_bytes is not None and hbm_bytes_per_s:
        mbu = s.hbm_bytes / duration_s / hbm_bytes_per_s
    return ReplicaUtilization(
        replica_id=s.replica_id, busy_frac=s.busy_s / duration_s if duration_s > 0 else 0.0,
        kv_usage_mean_frac=s.kv_usage_mean_frac(), mfu_frac=mfu, mbu_frac=mbu)


# ---------------------------------------------------------------------------- Chrome trace
def chrome_trace(stats: Iterable[ReplicaStats]) -> dict[str, Any]:
    """Step events (recorded with ``ReplicaConfig(record_steps=True)``) in Chrome trace format
    (chrome://tracing, https://ui.perfetto.dev); one row per replica, times in microseconds."""
    events = []
    for s in stats:
        for start_s, dur_s, prefill_tokens, decode_seqs, num_steps in s.steps:
            events.append({
                "name": "jump" if num_steps > 1 else "step", "ph": "X", "pid": 0,
                "tid": s.replica_id, "ts": start_s / US, "dur": dur_s / US,
                "args": {"prefill_tokens": prefill_tokens, "decode_seqs": decode_seqs,
                         "num_steps": num_steps},
            })
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def write_chrome_trace(stats: Iterable[ReplicaStats], path: str | Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(chrome_trace(stats)))
    return path
