"""Results of a simulation: per-request records (Arrow), the summary dict, exports.

Units in the records and summary are SI (seconds, tokens, joules, USD); display units (ms,
$/Mtok) appear only in the CLI. ``RequestLog`` collects finished requests column by column so
a million-request run keeps numbers, not objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tokenworks.errors import ConfigError
from tokenworks.serving.request import Request

COLUMNS = ("request_id", "session_id", "replica_id", "prefill_replica_id", "arrived_at_s",
           "scheduled_at_s", "first_token_at_s", "finished_at_s", "prompt_tokens",
           "output_tokens", "cached_tokens", "num_preemptions", "rejected")


class RequestLog:
    """Column lists of every request that finished or was rejected, plus those still open."""

    def __init__(self) -> None:
        self.cols: dict[str, list] = {c: [] for c in COLUMNS}
        self.tier_cols: dict[str, list[int]] = {}
        self.live: dict[int, Request] = {}

    def opened(self, req: Request) -> None:
        self.live[req.request_id] = req

    def closed(self, req: Request) -> None:
        self.live.pop(req.request_id, None)
        self._append(req)

    def _append(self, req: Request) -> None:
        n = len(self.cols["request_id"])
        for c in COLUMNS:
            self.cols[c].append(getattr(req, c))
        for tier, tokens in (req.cached_tokens_by_tier or {}).items():
            col = self.tier_cols.setdefault(tier, [0] * n)
            col.append(tokens)
        for col in self.tier_cols.values():
            if len(col) == n:
                col.append(0)

    def table(self, *, include_unfinished: bool = True) -> pa.Table:
        """Arrow table; unfinished requests (still queued at the end) are included last."""
        cols = {c: list(v) for c, v in self.cols.items()}
        tiers = {t: list(v) for t, v in self.tier_cols.items()}
        finished = [True] * len(cols["request_id"])
        if include_unfinished:
            for req in sorted(self.live.values(), key=lambda r: r.request_id):
                for c in COLUMNS:
                    cols[c].append(getattr(req, c))
                for t, v in tiers.items():
                    v.append((req.cached_tokens_by_tier or {}).get(t, 0))
                finished.append(False)
        arrays = {c: pa.array(cols[c]) for c in COLUMNS}
        arrays["finished"] = pa.array(finished) if cols["request_id"] else pa.array([], pa.bool_())
        for t, v in tiers.items():
            arrays[f"cached_tokens_{t}"] = pa.array(v, pa.int64())
        tbl = pa.table(arrays)
        ttft = _sub(tbl, "first_token_at_s", "arrived_at_s")
        e2e = _sub(tbl, "finished_at_s", "arrived_at_s")
        queued = _sub(tbl, "scheduled_at_s", "arrived_at_s")
        out = np.asarray(tbl.column("output_tokens").to_numpy(zero_copy_only=False), np.float64)
        decode = _sub(tbl, "finished_at_s", "first_token_at_s")
        with np.errstate(invalid="ignore", divide="ignore"):
            tpot = np.where(out > 1, decode / (out - 1), np.nan)
        return (tbl.append_column("ttft_s", pa.array(ttft, from_pandas=True))
                .append_column("tpot_s", pa.array(tpot, from_pandas=True))
                .append_column("e2e_s", pa.array(e2e, from_pandas=True))
                .append_column("queued_s", pa.array(queued, from_pandas=True)))


def _sub(tbl: pa.Table, a: str, b: str) -> np.ndarray:
    x = np.asarray(tbl.column(a).to_numpy(zero_copy_only=False), dtype=np.float64)
    y = np.asarray(tbl.column(b).to_numpy(zero_copy_only=False), dtype=np.float64)
    return x - y


def stats(x: np.ndarray) -> dict[str, float | None]:
    """``{mean, p50, p90, p99}`` of the finite values (None when there are none)."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return {"mean": None, "p50": None, "p90": None, "p99": None}
    p50, p90, p99 = np.percentile(x, [50, 90, 99])
    return {"mean": float(x.mean()), "p50": float(p50), "p90": float(p90), "p99": float(p99)}


@dataclass(slots=True)
class SimulationResult:
    """What ``simulate`` returns: ``summary`` (JSON-able dict) and ``requests`` (Arrow)."""

    summary: dict[str, Any]
    requests: pa.Table
    timeline: pa.Table  # queue length and KV usage over time
    warnings: list[str] = field(default_factory=list)
    events: list[dict] | None = None  # Chrome-trace events when asked for

    def to_pandas(self):
        return self.requests.to_pandas()

    def write_requests(self, path: str | Path) -> Path:
        """Per-request records to .parquet, .csv or .json (by extension)."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(self.requests, p)
        elif suffix == ".csv":
            import pyarrow.csv as pacsv

            pacsv.write_csv(self.requests, p)
        elif suffix == ".json":
            rows = self.requests.to_pylist()
            p.write_text(json.dumps({"summary": self.summary, "requests": rows},
                                    indent=1, default=_json_default))
        else:
            raise ConfigError(f"output file {p} has extension '{suffix}'; use .parquet, .csv "
                              f"or .json.")
        return p

    def write_chrome_trace(self, path: str | Path) -> Path:
        """Request lifetimes as a Chrome/Perfetto trace (``chrome://tracing``)."""
        p = Path(path)
        events = []
        for r in self.requests.to_pylist():
            pid = r["replica_id"] if r["replica_id"] is not None else -1
            if r["arrived_at_s"] is None:
                continue
            # Chrome trace format: "X" complete events with ts/dur in microseconds.
            if r["first_token_at_s"] is not None:
                events.append({"name": f"prefill {r['request_id']}", "ph": "X", "pid": pid,
                               "tid": r["request_id"], "ts": r["arrived_at_s"] * 1e6,
                               "dur": (r["first_token_at_s"] - r["arrived_at_s"]) * 1e6})
            if r["finished_at_s"] is not None and r["first_token_at_s"] is not None:
                events.append({"name": f"decode {r['request_id']}", "ph": "X", "pid": pid,
                               "tid": r["request_id"], "ts": r["first_token_at_s"] * 1e6,
                               "dur": (r["finished_at_s"] - r["first_token_at_s"]) * 1e6})
        for row in self.timeline.to_pylist():
            events.append({"name": "outstanding", "ph": "C", "pid": -1, "ts": row["time_s"] * 1e6,
                           "args": {"requests": row["num_outstanding"]}})
        p.write_text(json.dumps({"traceEvents": events, "displayTimeUnit": "ms"}))
        return p

    def summary_json(self) -> str:
        return json.dumps(self.summary, indent=2, default=_json_default)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, float) and not np.isfinite(o):
        return None
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
