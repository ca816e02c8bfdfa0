"""The result of a simulation: per-request records (Arrow), the timeline, the summary, and
its exports (records as Parquet/CSV/JSON, a Chrome/Perfetto trace).

Units in the records and summary are SI (seconds, tokens, joules, USD); display units (ms,
$/Mtok) appear only in reports and the CLI. ``RequestLog`` collects finished requests column
by column so a million-request run keeps numbers, not objects. Files are written atomically.
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
from tokenworks.files import writing_atomically
from tokenworks.serving.metrics import ReplicaStats
from tokenworks.serving.request import Request
from tokenworks.units import US

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


# NOTE: RequestLog appends each request's 14 values to one flat list (one C-level extend) and
# moves them into the typed columns _FLUSH_ROWS rows at a time (a strided slice per column),
# for performance; the list stays small, so memory is that of the typed columns.
_ROW_INTS = ("request_id", "priority", "prompt_tokens", "output_tokens", "cached_tokens",
             "num_preemptions", "session_id", "replica_id", "prefill_replica_id")
_ROW_LEN = len(_ROW_INTS) + len(TIME_COLUMNS) + 1  # ints, times, rejected
_FLUSH_ROWS = 2048


class RequestLog:
    """Columns of every request that finished or was rejected, plus those still open."""

    def __init__(self, frontend_s: float = 0.0) -> None:
        self.frontend_s = frontend_s  # added to TTFT and E2E (perf.calibration frontend_s)
        self.ints = {c: array("q") for c in (*INT_COLUMNS, *NULLABLE_INT_COLUMNS)}
        self.times = {c: array("d") for c in TIME_COLUMNS}
        self.rejected = array("b")
        self.tier_cols: dict[str, array] = {}
        self.live: dict[int, Request] = {}
        self._pending: list = []  # rows appended and not yet in the columns, flat

    def __len__(self) -> int:
        return len(self.rejected) + len(self._pending) // _ROW_LEN

    def opened(self, req: Request) -> None:
        self.live[req.request_id] = req

    def closed(self, req: Request) -> None:
        self.live.pop(req.request_id, None)
        self._append(req)

    def _append(self, req: Request) -> None:
        # The values now (the request object may change later); missing ids -> -1, missing
        # times -> NaN.
        sid, rep, pre = req.session_id, req.replica_id, req.prefill_replica_id
        sch, first, fin = req.scheduled_at_s, req.first_token_at_s, req.finished_at_s
        pending = self._pending
        pending += (
            req.request_id, req.priority, req.prompt_tokens, req.output_tokens,
            req.cached_tokens, req.num_preemptions,
            _MISSING_ID if sid is None else sid, _MISSING_ID if rep is None else rep,
            _MISSING_ID if pre is None else pre,
            req.arrived_at_s, _NAN if sch is None else sch, _NAN if first is None else first,
            _NAN if fin is None else fin, 1 if req.rejected else 0)
        if req.cached_tokens_by_tier or self.tier_cols:
            self._append_tiers(req.cached_tokens_by_tier)
        if len(pending) >= _FLUSH_ROWS * _ROW_LEN:
            self._flush()

    def _append_tiers(self, by_tier: dict[str, int] | None) -> None:
        """Per-tier cached tokens of the row just appended (0 where a tier has none)."""
        n = len(self) - 1
        for tier, tokens in (by_tier or {}).items():
            col = self.tier_cols.get(tier)
            if col is None:
                col = self.tier_cols[tier] = array("q", bytes(8 * n))
            col.append(tokens)
        for col in self.tier_cols.values():
            if len(col) == n:
                col.append(0)

    def _flush(self) -> None:
        """Move the pending rows into the typed columns."""
        flat = self._pending
        if not flat:
            return
        for k, name in enumerate(_ROW_INTS):
            self.ints[name].extend(array("q", flat[k::_ROW_LEN]))
        for k, name in enumerate(TIME_COLUMNS, start=len(_ROW_INTS)):
            self.times[name].extend(array("d", flat[k::_ROW_LEN]))
        self.rejected.extend(array("b", flat[_ROW_LEN - 1::_ROW_LEN]))
        self._pending = []

    def table(self, *, include_unfinished: bool = True) -> pa.Table:
        """Arrow table; unfinished requests (still queued at the end) are included last."""
        num_closed = len(self)
        if include_unfinished:
            for req in sorted(self.live.values(), key=lambda r: r.request_id):
                self._append(req)
        self._flush()
        n = len(self)
        cols: dict[str, np.ndarray] = {}
        for c in COLUMNS:
            if c in TIME_COLUMNS:
                cols[c] = np.frombuffer(self.times[c], np.float64).copy() if n else np.zeros(0)
            elif c == "rejected":
                cols[c] = np.frombuffer(self.rejected, np.int8).astype(bool)
            else:
                cols[c] = np.frombuffer(self.ints[c], np.int64).copy() if n \
                    else np.zeros(0, np.int64)
        cols["finished"] = np.arange(n) < num_closed
        for t, v in self.tier_cols.items():
            cols[f"cached_tokens_{t}"] = np.frombuffer(v, np.int64).copy() if len(v) \
                else np.zeros(0, np.int64)
        if include_unfinished:
            self._truncate(num_closed)
        arrived, first = cols["arrived_at_s"], cols["first_token_at_s"]
        fin = cols["finished_at_s"]
        out = cols["output_tokens"].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            tpot = np.where(out > 1, (fin - first) / (out - 1), np.nan)
        cols["ttft_s"] = first - arrived + self.frontend_s
        cols["tpot_s"] = tpot
        cols["e2e_s"] = fin - arrived + self.frontend_s
        cols["queued_s"] = cols["scheduled_at_s"] - arrived
        arrays = []
        for c, x in cols.items():
            if x.dtype == np.float64:
                arrays.append(arrow_array(x, valid=~np.isnan(x)))
            elif c in NULLABLE_INT_COLUMNS:
                arrays.append(arrow_array(x, valid=x != _MISSING_ID))
            else:
                arrays.append(arrow_array(x))
        return pa.Table.from_arrays(arrays, names=list(cols))

    def _truncate(self, n: int) -> None:
        """Drop the unfinished rows appended by ``table`` (the log stays reusable)."""
        self._flush()
        for col in (*self.ints.values(), *self.times.values(), self.rejected,
                    *self.tier_cols.values()):
            del col[n:]


# NOTE: pyarrow's pa.array / pa.table / to_numpy probe for pandas and import it on first use
# (~0.5 s, a third of a 10k-request simulation); building Arrow arrays from their buffers and
# reading them back the same way never touches pandas, for performance.
_ARROW_TYPES = {np.dtype(np.float64): pa.float64(), np.dtype(np.int64): pa.int64(),
                np.dtype(np.bool_): pa.bool_()}


def _bits(x: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(x, bitorder="little"))


def arrow_array(x: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A float64, int64 or bool numpy array as Arrow; ``valid`` False marks nulls."""
    x = np.ascontiguousarray(x)
    typ = _ARROW_TYPES[x.dtype]
    data = _bits(x) if x.dtype == np.bool_ else pa.py_buffer(x)
    if valid is None or valid.all():
        return pa.Array.from_buffers(typ, len(x), [None, data], null_count=0)
    return pa.Array.from_buffers(typ, len(x), [_bits(valid), data],
                                 null_count=int(len(x) - np.count_nonzero(valid)))


def arrow_table(columns: dict[str, np.ndarray]) -> pa.Table:
    """Arrow table of numeric numpy columns (NaN stays NaN), without the pandas probe."""
    return pa.Table.from_arrays([arrow_array(np.asarray(v)) for v in columns.values()],
                                names=list(columns))


def numpy_column(col: pa.ChunkedArray | pa.Array, dtype=np.float64) -> np.ndarray:
    """An int64/float64/bool Arrow column as numpy ``dtype``; nulls become NaN (or False)."""
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    parts = []
    for ch in chunks:
        n, off = len(ch), ch.offset
        validity, data = ch.buffers()[:2]
        if pa.types.is_boolean(ch.type):
            x = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")[off:off + n]
            x = x.astype(bool)
        else:
            npt = np.float64 if pa.types.is_float64(ch.type) else np.int64
            x = np.frombuffer(data, npt, count=n, offset=off * 8) if n else np.zeros(0, npt)
        x = x.astype(dtype)
        if ch.null_count and validity is not None:
            ok = np.unpackbits(np.frombuffer(validity, np.uint8),
                               bitorder="little")[off:off + n].astype(bool)
            x[~ok] = np.nan if np.issubdtype(x.dtype, np.floating) else 0
        parts.append(x)
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def stats(x: np.ndarray) -> dict[str, float | None]:
    """``{mean, p50, p90, p99}`` of the finite values (None when there are none)."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return {"mean": None, "p50": None, "p90": None, "p99": None}
    p50, p90, p99 = percentiles(x, (50, 90, 99))
    return {"mean": float(x.mean()), "p50": p50, "p90": p90, "p99": p99}


def percentiles(x: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.percentile(x, qs)`` (method "linear", Hyndman & Fan type 7) of a non-empty array
    without NaNs, bit for bit: the same virtual index ``(n - 1) q / 100`` and the same
    two-sided interpolation as numpy's ``_lerp``.

    NOTE: np.percentile calls np.unique, whose first use imports numpy.ma (~20 ms of a
    simulate() call); this partition-and-interpolate copy never does, for performance.
    """
    n = len(x)
    idx = [(n - 1) * (q / 100) for q in qs]
    # Indexes at or past the last element take it with weight index + 1, as numpy does (it
    # marks them with previous index -1).
    lo = [int(v) if v < n - 1 else -1 for v in idx]  # floor, as v >= 0
    # The same partition points as numpy (so equal values such as 0.0 and -0.0 land alike).
    kth = sorted({0, -1, *lo, *(i + 1 if i >= 0 else -1 for i in lo)})
    part = np.partition(x, kth)
    out = []
    for v, i in zip(idx, lo, strict=True):
        a, b = float(part[i]), float(part[i + 1] if i >= 0 else part[-1])
        t = v - i
        d = b - a
        out.append(b - d * (1 - t) if t >= 0.5 else a + d * t)
    return out


# The formats ``SimulationResult.write_requests`` writes, by extension.
REQUEST_FORMATS = (".parquet", ".csv", ".json")


@dataclass(slots=True)
class SimulationResult:
    """What ``simulate`` returns: ``summary`` (JSON-able dict), ``requests`` (Arrow, one row per
    request), ``timeline`` (queue length and KV usage over time) and each replica's counters."""

    summary: dict[str, Any]
    requests: pa.Table
    timeline: pa.Table
    warnings: list[str] = field(default_factory=list)
    replica_stats: tuple[ReplicaStats, ...] = ()

    def to_pandas(self):
        return self.requests.to_pandas()

    def with_cost(self, cost: dict[str, Any], warnings: list[str]) -> SimulationResult:
        """A copy whose summary carries ``cost`` (price, cost, energy: economics' numbers)
        after ``gpu_hours``, and ``warnings`` before the serving ones."""
        summary: dict[str, Any] = {}
        for k, v in self.summary.items():
            summary[k] = v
            if k == "gpu_hours":
                summary.update(cost)
        allw = [*warnings, *self.warnings]
        summary["warnings"] = allw
        return SimulationResult(summary=summary, requests=self.requests,
                                timeline=self.timeline, warnings=allw,
                                replica_stats=self.replica_stats)

    def write_requests(self, path: str | Path) -> Path:
        """Per-request records to .parquet, .csv or .json (by extension), atomically."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in REQUEST_FORMATS:
            raise ConfigError(f"output file {p} has extension '{suffix}'; use .parquet, .csv "
                              f"or .json.")
        with writing_atomically(p) as tmp:
            if suffix == ".parquet":
                import pyarrow.parquet as pq

                pq.write_table(self.requests, tmp)
            elif suffix == ".csv":
                import pyarrow.csv as pacsv

                pacsv.write_csv(self.requests, tmp)
            else:
                rows = self.requests.to_pylist()
                tmp.write_text(json.dumps({"summary": self.summary, "requests": rows},
                                          indent=1, default=_json_default))
        return p

    def chrome_trace(self) -> dict[str, Any]:
        """Chrome/Perfetto trace (chrome://tracing, https://ui.perfetto.dev), times in µs:
        each request's prefill (arrival to first token) and decode (first token to finish) on
        its replica, the outstanding-request counter, and - when the run recorded them
        (``RunSpec.record_steps``) - every engine step and jump, one row per replica."""
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
        for s in self.replica_stats:
            for start_s, dur_s, prefill_tokens, decode_seqs, num_steps in s.steps:
                events.append({
                    "name": "jump" if num_steps > 1 else "step", "ph": "X",
                    "pid": f"replica {s.replica_id} steps", "tid": 0, "ts": start_s / US,
                    "dur": dur_s / US,
                    "args": {"prefill_tokens": prefill_tokens, "decode_seqs": decode_seqs,
                             "num_steps": num_steps}})
        return {"traceEvents": events, "displayTimeUnit": "ms"}

    def write_chrome_trace(self, path: str | Path) -> Path:
        """``chrome_trace()`` as JSON to ``path``, atomically."""
        with writing_atomically(path) as tmp:
            tmp.write_text(json.dumps(self.chrome_trace()))
        return Path(path)

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
