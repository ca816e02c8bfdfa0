"""Results of a simulation: per-request records (Arrow), the summary dict, exports.

Units in the records and summary are SI (seconds, tokens, joules, USD); display units (ms,
$/Mtok) appear only in the CLI. ``RequestLog`` collects finished requests column by column so
a million-request run keeps numbers, not objects.
"""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tokenworks.errors import ConfigError
from tokenworks.serving.request import Request

INT_COLUMNS = ("request_id", "priority", "prompt_tokens", "output_tokens", "cached_tokens",
               "num_preemptions")
NULLABLE_INT_COLUMNS = ("session_id", "replica_id", "prefill_replica_id")
TIME_COLUMNS = ("arrived_at_s", "scheduled_at_s", "first_token_at_s", "finished_at_s")
COLUMNS = ("request_id", "session_id", "priority", "replica_id", "prefill_replica_id",
           *TIME_COLUMNS,
           "prompt_tokens", "output_tokens", "cached_tokens", "num_preemptions", "rejected")
_NAN = float("nan")
# NOTE: typed arrays (8 bytes a value) instead of lists of Python objects, for performance and
# memory at a million requests; missing ids are stored as -1 and missing times as NaN here and
# become Arrow nulls in ``table()``.
_MISSING_ID = -1


class RequestLog:
    """Columns of every request that finished or was rejected, plus those still open."""

    def __init__(self) -> None:
        self.ints = {c: array("q") for c in (*INT_COLUMNS, *NULLABLE_INT_COLUMNS)}
        self.times = {c: array("d") for c in TIME_COLUMNS}
        self.rejected = array("b")
        self.tier_cols: dict[str, array] = {}
        self.live: dict[int, Request] = {}

    def __len__(self) -> int:
        return len(self.rejected)

    def opened(self, req: Request) -> None:
        self.live[req.request_id] = req

    def closed(self, req: Request) -> None:
        self.live.pop(req.request_id, None)
        self._append(req)

    def _append(self, req: Request) -> None:
        n = len(self.rejected)
        for c in INT_COLUMNS:
            self.ints[c].append(getattr(req, c))
        for c in NULLABLE_INT_COLUMNS:
            v = getattr(req, c)
            self.ints[c].append(_MISSING_ID if v is None else v)
        for c in TIME_COLUMNS:
            v = getattr(req, c)
            self.times[c].append(_NAN if v is None else v)
        self.rejected.append(1 if req.rejected else 0)
        for tier, tokens in (req.cached_tokens_by_tier or {}).items():
            col = self.tier_cols.get(tier)
            if col is None:
                col = self.tier_cols[tier] = array("q", bytes(8 * n))
            col.append(tokens)
        for col in self.tier_cols.values():
            if len(col) == n:
                col.append(0)

    def table(self, *, include_unfinished: bool = True) -> pa.Table:
        """Arrow table; unfinished requests (still queued at the end) are included last."""
        num_closed = len(self)
        if include_unfinished:
            for req in sorted(self.live.values(), key=lambda r: r.request_id):
                self._append(req)
        arrays: dict[str, pa.Array] = {}
        for c in COLUMNS:
            if c in TIME_COLUMNS:
                x = np.frombuffer(self.times[c], np.float64).copy() if len(self) else np.zeros(0)
                arrays[c] = pa.array(x, mask=np.isnan(x))
            elif c == "rejected":
                arrays[c] = pa.array(np.frombuffer(self.rejected, np.int8).astype(bool))
            else:
                x = np.frombuffer(self.ints[c], np.int64).copy() if len(self) else np.zeros(0, np.int64)
                mask = (x == _MISSING_ID) if c in NULLABLE_INT_COLUMNS else None
                arrays[c] = pa.array(x, mask=mask)
        arrays["finished"] = pa.array(np.arange(len(self)) < num_closed)
        for t, v in self.tier_cols.items():
            arrays[f"cached_tokens_{t}"] = pa.array(np.frombuffer(v, np.int64).copy() if len(v)
                                                    else np.zeros(0, np.int64))
        if include_unfinished:
            self._truncate(num_closed)
        tbl = pa.table(arrays)
        ttft = _sub(tbl, "first_token_at_s", "arrived_at_s")
        e2e = _sub(tbl, "finished_at_s", "arrived_at_s")
        queued = _sub(tbl, "scheduled_at_s", "arrived_at_s")
        out = np.asarray(tbl.column("output_tokens").to_numpy(zero_copy_only=False), np.float64)
        decode = _sub(tbl, "finished_at_s", "first_token_at_s")
        with np.errstate(invalid="ignore", divide="ignore"):
            tpot = np.where(out > 1, decode / (out - 1), np.nan)
        for name, x in (("ttft_s", ttft), ("tpot_s", tpot), ("e2e_s", e2e), ("queued_s", queued)):
            tbl = tbl.append_column(name, pa.array(x, mask=np.isnan(x)))
        return tbl

    def _truncate(self, n: int) -> None:
        """Drop the unfinished rows appended by ``table`` (the log stays reusable)."""
        for col in (*self.ints.values(), *self.times.values(), self.rejected,
                    *self.tier_cols.values()):
            del col[n:]


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
