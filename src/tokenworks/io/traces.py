"""Request-trace readers: Azure LLM inference 2023 CSV, Mooncake FAST'25 JSONL, vidur/Splitwise
processed CSV. Each returns a ``serving.traces.Trace`` (columnar, arrival seconds from the
first request).

Units: seconds, tokens. Malformed input raises ``ScenarioError`` naming the file, the line and
the field. Readers take paths; the trace files themselves are third-party data and are read in
place, never copied.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import numpy as np

from tokenworks.errors import ScenarioError, check_range
from tokenworks.files import check_input_file
from tokenworks.serving.traces import MOONCAKE_BLOCK_TOKENS, Trace, take

__all__ = ["READERS", "read_trace"]

# Bounds of a trace row's values: a request longer than any model's context, or a time beyond
# ~30 years (in the file's unit), is a corrupt row, not traffic.
MAX_TOKENS_PER_REQUEST = 100_000_000
MAX_TIME = 1e12
INT64_MAX = 2**63 - 1


def _bad(path: Path, line: int, field: str, why: str) -> ScenarioError:
    return ScenarioError(f"trace {path}, line {line}, field '{field}': {why}. Fix that line or "
                         f"point the scenario at a well-formed trace.")


def _int_field(path: Path, line: int, field: str, raw: object) -> int:
    try:
        v = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
    except (TypeError, ValueError):
        v = None
    if v is None or isinstance(raw, bool):
        raise _bad(path, line, field, f"'{raw}' is not an integer token count")
    if v < 0:
        raise _bad(path, line, field, f"{v} is negative")
    if v > MAX_TOKENS_PER_REQUEST:
        raise _bad(path, line, field, f"{v:,} tokens is more than any model's context "
                   f"({MAX_TOKENS_PER_REQUEST:,} at most)")
    return v


def _float_field(path: Path, line: int, field: str, raw: object) -> float:
    try:
        v = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _bad(path, line, field, f"'{raw}' is not a number") from None
    if not np.isfinite(v) or v < 0 or v > MAX_TIME:
        raise _bad(path, line, field, f"{v} must be a finite, non-negative time (at most "
                   f"{MAX_TIME:g}, about 30 years in ms)")
    return v


def _open(path: Path, *, newline: str | None = None) -> TextIO:
    """The trace opened as UTF-8 text, after checking it exists, is a file and is not binary."""
    check_input_file(path, what="trace file", error=ScenarioError,
                     fix="Relative paths resolve against the scenario file's folder, then the "
                         "current directory.")
    with path.open("rb") as f:
        if b"\x00" in f.read(8192):
            raise ScenarioError(f"trace file {path} is a binary file, not a CSV or JSONL trace; "
                                f"point the scenario at the text trace.")
    return path.open(newline=newline, encoding="utf-8")


def _lines(path: Path, f: TextIO) -> Iterator[tuple[int, str]]:
    """Numbered lines, with a clear error at the first line that is not UTF-8."""
    line = 0
    try:
        for line, text in enumerate(f, start=1):
            yield line, text
    except UnicodeDecodeError:
        raise ScenarioError(f"trace {path}, line {line + 1}: not UTF-8 text; save the trace as "
                            f"UTF-8.") from None


def _finish(path: Path, t: list[float], p: list[int], o: list[int], *,
            rows: list[list[int]] | None = None, block: int | None = None) -> Trace:
    if not t:
        raise ScenarioError(f"trace {path} has no requests; give a file with at least one row.")
    at = np.asarray(t, np.float64)
    pa, oa = np.asarray(p, np.int64), np.asarray(o, np.int64)
    order = np.argsort(at, kind="stable")
    if np.any(order != np.arange(len(at))):
        # ASSUMPTION: out-of-order rows are replayed in timestamp order (stable sort).
        at, pa, oa = at[order], pa[order], oa[order]
        rows = None if rows is None else [rows[i] for i in order]
    hashes = offsets = None
    if rows is not None:
        lens = np.fromiter((len(r) for r in rows), np.int64, len(rows))
        offsets = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
        hashes = np.fromiter((h for r in rows for h in r), np.int64, int(offsets[-1]))
    return Trace(path=str(path), arrived_at_s=at - at[0], prompt_tokens=pa, output_tokens=oa,
                 hashes=hashes, hash_offsets=offsets, hash_block_tokens=block)


def _csv_rows(path: Path, required: tuple[str, ...], what: str):
    with _open(path, newline="") as f:
        reader = csv.reader(text for _, text in _lines(path, f))
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ScenarioError(f"trace {path} is empty; expected a {what} CSV with header "
                                f"{', '.join(required)}.") from None
        missing = [c for c in required if c not in header]
        if missing:
            raise ScenarioError(f"trace {path}, line 1: the header lacks {', '.join(missing)} "
                                f"(found {', '.join(header)}); a {what} CSV needs "
                                f"{', '.join(required)}.")
        idx = [header.index(c) for c in required]
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) < len(header):
                raise _bad(path, line, required[0], f"the row has {len(row)} fields, the header "
                           f"{len(header)}")
            yield line, [row[i].strip() for i in idx]


def _limit(max_requests: int | None) -> int | None:
    if max_requests is not None:
        check_range("trace max_requests", max_requests, low=1)
    return max_requests


def read_azure_csv(path: Path, *, max_requests: int | None = None) -> Trace:
    """Azure LLM inference trace 2023 (``TIMESTAMP, ContextTokens, GeneratedTokens``)."""
    path, n = Path(path), _limit(max_requests)
    t: list[float] = []
    p: list[int] = []
    o: list[int] = []
    fields = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
    for line, (ts, ctx, gen) in _csv_rows(path, fields, "Azure LLM 2023"):
        try:
            stamp = datetime.fromisoformat(ts)
        except ValueError:
            raise _bad(path, line, "TIMESTAMP", f"'{ts}' is not a date-time") from None
        t.append(stamp.replace(tzinfo=UTC).timestamp())
        p.append(_int_field(path, line, "ContextTokens", ctx))
        o.append(_int_field(path, line, "GeneratedTokens", gen))
        if n is not None and len(t) >= n:
            break
    return _finish(path, t, p, o)


def read_vidur_csv(path: Path, *, max_requests: int | None = None) -> Trace:
    """vidur processed trace (``arrived_at`` s, ``num_prefill_tokens``, ``num_decode_tokens``).

    Files without ``arrived_at`` (vidur's length-only traces) raise; use them as an empirical
    length distribution instead.
    """
    path, n = Path(path), _limit(max_requests)
    t: list[float] = []
    p: list[int] = []
    o: list[int] = []
    fields = ("arrived_at", "num_prefill_tokens", "num_decode_tokens")
    for line, (at, pre, dec) in _csv_rows(path, fields, "vidur/Splitwise processed"):
        t.append(_float_field(path, line, "arrived_at", at))
        p.append(_int_field(path, line, "num_prefill_tokens", pre))
        o.append(_int_field(path, line, "num_decode_tokens", dec))
        if n is not None and len(t) >= n:
            break
    return _finish(path, t, p, o)


def read_lengths_csv(path: Path) -> Trace:
    """A length-only CSV (``num_prefill_tokens, num_decode_tokens``), arrivals all zero."""
    path = Path(path)
    p: list[int] = []
    o: list[int] = []
    for line, (pre, dec) in _csv_rows(path, ("num_prefill_tokens", "num_decode_tokens"),
                                      "length"):
        p.append(_int_field(path, line, "num_prefill_tokens", pre))
        o.append(_int_field(path, line, "num_decode_tokens", dec))
    return _finish(path, [0.0] * len(p), p, o)


def read_mooncake_jsonl(path: Path, *, max_requests: int | None = None) -> Trace:
    """Mooncake FAST'25 JSONL: ``timestamp`` (ms), ``input_length``, ``output_length``,
    ``hash_ids`` (one id per 512-token prefix block; equal ids mean equal prefixes)."""
    path, n = Path(path), _limit(max_requests)
    t: list[float] = []
    p: list[int] = []
    o: list[int] = []
    rows: list[list[int]] = []
    with _open(path) as f:
        for line, text in _lines(path, f):
            if not text.strip():
                continue
            try:
                rec = json.loads(text)
            except json.JSONDecodeError as e:
                raise _bad(path, line, "(json)", f"not valid JSON ({e.msg})") from None
            if not isinstance(rec, dict):
                raise _bad(path, line, "(json)", "each line must be a JSON object")
            for key in ("timestamp", "input_length", "output_length"):
                if key not in rec:
                    raise _bad(path, line, key, "missing")
            # Mooncake README: timestamp is in milliseconds.
            t.append(_float_field(path, line, "timestamp", rec["timestamp"]) * 1e-3)
            p.append(_int_field(path, line, "input_length", rec["input_length"]))
            o.append(_int_field(path, line, "output_length", rec["output_length"]))
            ids = rec.get("hash_ids", [])
            if not isinstance(ids, list) or not all(
                    isinstance(h, int) and not isinstance(h, bool) and -INT64_MAX <= h <= INT64_MAX
                    for h in ids):
                raise _bad(path, line, "hash_ids", "must be a list of 64-bit integers")
            rows.append(ids)
            if n is not None and len(t) >= n:
                break
    return _finish(path, t, p, o, rows=rows, block=MOONCAKE_BLOCK_TOKENS)


def _sniff(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".jsonl", ".json")):
        return "mooncake"
    with _open(path, newline="") as f:
        header = next((text for _, text in _lines(path, f)), "")
    if "TIMESTAMP" in header and "ContextTokens" in header:
        return "azure"
    if "arrived_at" in header:
        return "vidur"
    if "num_prefill_tokens" in header:
        return "lengths"
    raise ScenarioError(f"trace {path}, line 1: cannot tell the format from the header "
                        f"'{header.strip()}'. Set trace.format to one of {', '.join(READERS)}.")


READERS = {"azure": read_azure_csv, "mooncake": read_mooncake_jsonl, "vidur": read_vidur_csv,
           "lengths": read_lengths_csv}


def read_trace(path: Path, *, format: str = "auto", max_requests: int | None = None) -> Trace:
    """Read any supported trace; ``format`` is one of :data:`READERS` or ``auto`` (sniffed)."""
    path = Path(path)
    fmt = _sniff(path) if format == "auto" else format
    if fmt not in READERS:
        raise ScenarioError(f"trace format '{format}' is unknown; use auto or one of "
                            f"{', '.join(READERS)}.")
    if fmt == "lengths":
        tr = read_lengths_csv(path)
        return tr if max_requests is None else take(tr, max_requests)
    return READERS[fmt](path, max_requests=max_requests)


