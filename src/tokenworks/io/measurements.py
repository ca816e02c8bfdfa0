"""Readers for a user's own serving measurements: ``vllm bench serve`` result JSON, GuideLLM
report JSON and a plain CSV, all turned into one columnar :class:`MeasuredRun` per benchmark run.

Units: seconds (``_s``) and tokens. Arrival times are relative to the first request of the run.
A file that cannot be read raises ``ConfigError`` naming the file, the line (CSV, JSON syntax)
or the JSON field (``ttfts[12]``), and what to do.

Formats, as their tools write them:

* ``vllm bench serve --save-result --save-detailed`` (vllm/benchmarks/serve.py; also the older
  benchmarks/benchmark_serving.py, which always saved the lists): per-request lists
  ``input_lens``, ``output_lens``, ``ttfts`` (s), ``itls`` (list of per-token gaps, s),
  ``errors`` ("" on success), and in recent versions ``start_times`` (``time.perf_counter()`` at
  send, s) and ``latencies`` (E2E, s); plus ``request_rate`` (number or "inf"), ``burstiness``,
  ``max_concurrency``, ``date`` ("%Y%m%d-%H%M%S"). Without ``--save-detailed`` the per-request
  lists are dropped and only aggregates (``median_ttft_ms`` ...) remain; that file is rejected
  with the fix. ``--append-result`` writes one JSON object per line: each is one run.
* GuideLLM ``benchmarks.json``: ``{"benchmarks": [{"requests": {"successful": [...]}}]}``; each
  request carries ``prompt_tokens``, ``output_tokens``, ``time_to_first_token_ms`` and
  ``request_latency`` (s), and its start time as ``request_start_time`` (v0.4+),
  ``info.timings.request_start`` (v0.4+), ``scheduler_info.request_timings.request_start``
  (v0.3) or ``start_time`` (v0.2). Each benchmark (one rate of a sweep) is one run.
* CSV with header ``arrival_s,input_tokens,output_tokens,ttft_s,e2e_s``; a time column may
  carry its unit instead (``arrival_ms``, ``ttft_ms``, ``e2e_ms``: converted). Optional columns:
  ``run`` splits the rows into runs; ``prefix_id`` with ``prefix_tokens`` says which requests
  share a prompt prefix (a system prompt, a document, earlier turns) and how long it is, so the
  replay's prefix cache can reuse it as the real server did. Other columns are ignored.

Rows with 0 output tokens (failed or empty requests) are skipped and counted, not rejected.
Magnitudes are checked: a run whose median TTFT exceeds a minute, or whose arrivals span more
than a day, almost certainly has milliseconds in a seconds column and is refused with the fix.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tokenworks.errors import ConfigError
from tokenworks.files import read_text

CSV_COLUMNS = ("arrival_s", "input_tokens", "output_tokens", "ttft_s", "e2e_s")
# Time columns that may be given in milliseconds instead (name -> seconds column).
MS_COLUMNS = {"arrival_ms": "arrival_s", "ttft_ms": "ttft_s", "e2e_ms": "e2e_s"}
PREFIX_COLUMNS = ("prefix_id", "prefix_tokens")
# ASSUMPTION: a median TTFT above 60 s, a median E2E above 1 h or arrivals spanning more than a
# day are not what a serving benchmark measures: the column holds milliseconds (or another
# unit).
MAX_MEDIAN_TTFT_S = 60.0
MAX_MEDIAN_E2E_S = 3600.0
MAX_RUN_SPAN_S = 86400.0
# A row beyond these is corrupt, not a request: 1e8 tokens exceeds every model's context,
# 1e7 s (~4 months) any benchmark run.
MAX_TOKENS = 1e8
MAX_SECONDS = 1e7
FORMATS = ("auto", "vllm", "guidellm", "csv")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MeasuredRun:
    """One benchmark run: per-request arrivals, lengths and measured latencies (columnar)."""

    label: str
    arrival_s: np.ndarray  # float64, relative to the run's first request
    input_tokens: np.ndarray  # int64
    output_tokens: np.ndarray  # int64
    ttft_s: np.ndarray  # float64
    e2e_s: np.ndarray  # float64
    # False when the file had no send times and arrivals were rebuilt from the request rate.
    arrivals_measured: bool = True
    request_rate_per_s: float | None = None
    max_concurrency: int | None = None
    # shared prompt prefixes: group id per request (-1: none) and its length in tokens
    prefix_id: np.ndarray | None = None
    prefix_tokens: np.ndarray | None = None
    num_skipped: int = 0  # rows with 0 output tokens left out

    @property
    def num_requests(self) -> int:
        return int(self.arrival_s.size)

    @property
    def tpot_s(self) -> np.ndarray:
        """Time per output token after the first: (E2E − TTFT) / (output − 1); NaN for 1 token."""
        n = self.output_tokens.astype(np.float64) - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n > 0, (self.e2e_s - self.ttft_s) / np.where(n > 0, n, 1.0), np.nan)

    @property
    def duration_s(self) -> float:
        return float(np.max(self.arrival_s + self.e2e_s)) if self.num_requests else 0.0


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Measurements:
    """All runs read from one file."""

    path: str
    format: str
    runs: tuple[MeasuredRun, ...]
    date: str = ""

    @property
    def notes(self) -> tuple[str, ...]:
        """What reading the file left out or assumed, one line each."""
        out = []
        for r in self.runs:
            if r.num_skipped:
                out.append(f"run '{r.label}': {r.num_skipped} request(s) with 0 output tokens "
                           f"skipped (failed or empty responses)")
        return tuple(out)

    @property
    def num_requests(self) -> int:
        return sum(r.num_requests for r in self.runs)


# ---------------------------------------------------------------------------------------------
# Entry point


def read_measurements(path: str | Path, *, format: str = "auto",
                      rng: np.random.Generator | None = None) -> Measurements:
    """Read a measurement file; ``format`` is ``auto`` (by content), ``vllm``, ``guidellm`` or
    ``csv``. ``rng`` draws arrivals for vLLM files without ``start_times`` (default seed 0)."""
    p = Path(path)
    if format not in FORMATS:
        raise ConfigError(f"measurement format '{format}' is unknown. Valid formats: "
                          f"{', '.join(FORMATS)}.")
    text = read_text(p, what="measurement file", fix=(
        f"Pass the file written by `vllm bench serve --save-result --save-detailed`, GuideLLM's "
        f"benchmarks.json, or a CSV with columns {', '.join(CSV_COLUMNS)}."))
    if format == "auto":
        format = "csv" if not text.lstrip().startswith(("{", "[")) else "json"
    if format == "csv":
        return read_csv_measurements(p, text=text)
    docs = _load_json_docs(p, text)
    rng = np.random.default_rng(0) if rng is None else rng
    if format == "json":
        format = "guidellm" if any("benchmarks" in d for d in docs) else "vllm"
    if format == "guidellm":
        return _read_guidellm(p, docs)
    return _read_vllm(p, docs, rng)


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _load_json_docs(p: Path, text: str) -> list[dict[str, Any]]:
    """One JSON object, or one per line (``vllm bench serve --append-result``)."""
    try:
        doc = json.loads(text)
        docs = doc if isinstance(doc, list) else [doc]
    except json.JSONDecodeError as first:
        lines = text.splitlines()
        if not _parses(lines[0] if lines else ""):
            raise ConfigError(f"{p}: line {first.lineno}, column {first.colno}: not valid JSON "
                              f"({first.msg}). Pass the file as the tool saved it.") from first
        docs = []
        for i, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ConfigError(f"{p}: line {i}, column {e.colno}: not valid JSON ({e.msg}). "
                                  f"Each line of an appended result must be one JSON object."
                                  ) from e
    for i, d in enumerate(docs):
        if not isinstance(d, dict):
            raise ConfigError(f"{p}: JSON document #{i + 1} is a {type(d).__name__}, not an "
                              f"object. Pass a vLLM or GuideLLM result file.")
    return docs


# ---------------------------------------------------------------------------------------------
# CSV


def read_csv_measurements(path: str | Path, *, text: str | None = None) -> Measurements:
    """Read the plain CSV format (see module docstring)."""
    p = Path(path)
    text = read_text(p, what="measurement file") if text is None else text
    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ConfigError(f"{p}: the file is empty; it needs a header line "
                          f"{','.join(CSV_COLUMNS)} and one row per request.") from None
    idx: dict[str, int] = {}
    scale: dict[str, float] = {}
    for c in CSV_COLUMNS:
        ms = next((k for k, v in MS_COLUMNS.items() if v == c and k in header), None)
        if c in header:
            idx[c], scale[c] = header.index(c), 1.0
        elif ms is not None:
            idx[c], scale[c] = header.index(ms), 1e-3
    missing = [c for c in CSV_COLUMNS if c not in idx]
    if missing:
        raise ConfigError(f"{p}: line 1: header lacks column(s) {', '.join(missing)}; the "
                          f"required columns are {', '.join(CSV_COLUMNS)} (time columns may "
                          f"be given in ms as arrival_ms, ttft_ms, e2e_ms; found: "
                          f"{', '.join(header) or 'nothing'}).")
    if ("prefix_id" in header) != ("prefix_tokens" in header):
        raise ConfigError(f"{p}: line 1: give prefix_id and prefix_tokens together (which "
                          f"requests share a prefix, and how many tokens it has).")
    run_col = header.index("run") if "run" in header else None
    pid_col = header.index("prefix_id") if "prefix_id" in header else None
    ptok_col = header.index("prefix_tokens") if "prefix_tokens" in header else None
    groups: dict[str, int] = {}
    cols: dict[str, list[dict[str, float]]] = {}
    for line_no, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise ConfigError(f"{p}: line {line_no}: {len(row)} fields, the header has "
                              f"{len(header)}. Fill every column.")
        rec = {c: _csv_number(p, line_no, header[i], row[i]) * scale[c] for c, i in idx.items()}
        if pid_col is not None and ptok_col is not None:
            key = row[pid_col].strip()
            rec["prefix_id"] = float(groups.setdefault(key, len(groups))) if key else -1.0
            rec["prefix_tokens"] = _csv_number(p, line_no, "prefix_tokens", row[ptok_col]) \
                if key else 0.0
            if rec["prefix_tokens"] > rec["input_tokens"]:
                raise ConfigError(f"{p}: line {line_no}, field prefix_tokens: "
                                  f"{rec['prefix_tokens']:g} exceeds input_tokens "
                                  f"{rec['input_tokens']:g}; a prefix is part of the prompt.")
        label = row[run_col].strip() if run_col is not None else "run"
        cols.setdefault(label, []).append(rec)
    if not cols:
        raise ConfigError(f"{p}: no data rows after the header. Add one row per request.")
    runs = tuple(_run_from_records(p, label, recs) for label, recs in cols.items())
    return Measurements(path=str(p), format="csv", runs=runs)


def _csv_number(p: Path, line_no: int, col: str, raw: str) -> float:
    try:
        v = float(raw)
    except ValueError:
        raise ConfigError(f"{p}: line {line_no}, field {col}: {raw.strip()!r} is not a number."
                          ) from None
    if not math.isfinite(v) or v < 0:
        raise ConfigError(f"{p}: line {line_no}, field {col}: {raw.strip()} must be a finite "
                          f"number >= 0.")
    if col.endswith("_tokens") and v != int(v):
        raise ConfigError(f"{p}: line {line_no}, field {col}: {raw.strip()} must be a whole "
                          f"number of tokens.")
    limit = MAX_TOKENS if col.endswith("_tokens") else MAX_SECONDS * (
        1e3 if col.endswith("_ms") else 1.0)
    if v > limit:
        raise ConfigError(f"{p}: line {line_no}, field {col}: {raw.strip()} is beyond any real "
                          f"request ({limit:g} at most); check the column and its unit.")
    return v


def _run_from_records(p: Path, label: str, recs: list[dict[str, float]]) -> MeasuredRun:
    kept = [r for r in recs if r["output_tokens"] >= 1]
    if not kept:
        raise ConfigError(f"{p}: run '{label}': all {len(recs)} requests have 0 output tokens "
                          f"(failed or empty); nothing to calibrate on.")
    a = np.array([r["arrival_s"] for r in kept])
    order = np.argsort(a, kind="stable")
    has_prefix = "prefix_id" in kept[0]
    run = MeasuredRun(
        label=label, arrival_s=a[order] - a.min(),
        input_tokens=np.array([r["input_tokens"] for r in kept], dtype=np.int64)[order],
        output_tokens=np.array([r["output_tokens"] for r in kept], dtype=np.int64)[order],
        ttft_s=np.array([r["ttft_s"] for r in kept])[order],
        e2e_s=np.array([r["e2e_s"] for r in kept])[order],
        prefix_id=np.array([r["prefix_id"] for r in kept], dtype=np.int64)[order]
        if has_prefix else None,
        prefix_tokens=np.array([r["prefix_tokens"] for r in kept], dtype=np.int64)[order]
        if has_prefix else None,
        num_skipped=len(recs) - len(kept))
    _check_run(p, run)
    return run


def _check_run(p: Path, run: MeasuredRun) -> None:
    bad = np.flatnonzero(run.e2e_s < run.ttft_s)
    if bad.size:
        raise ConfigError(f"{p}: run '{run.label}': request #{int(bad[0])} (by arrival) has "
                          f"e2e {run.e2e_s[bad[0]]:g} s < ttft {run.ttft_s[bad[0]]:g} s; E2E "
                          f"includes the first token. Check the columns are not swapped.")
    med_ttft, med_e2e = float(np.median(run.ttft_s)), float(np.median(run.e2e_s))
    span = float(run.arrival_s.max()) if run.num_requests else 0.0
    unit_fix = ("If the column holds milliseconds, name it ttft_ms / e2e_ms / arrival_ms (CSV) "
                "or convert it to seconds.")
    if med_ttft > MAX_MEDIAN_TTFT_S or med_e2e > MAX_MEDIAN_E2E_S:
        raise ConfigError(f"{p}: run '{run.label}': median TTFT {med_ttft:g} s and median E2E "
                          f"{med_e2e:g} s are beyond any serving benchmark (TTFT > "
                          f"{MAX_MEDIAN_TTFT_S:g} s or E2E > {MAX_MEDIAN_E2E_S:g} s); the "
                          f"latencies look like milliseconds. {unit_fix}")
    if span > MAX_RUN_SPAN_S:
        raise ConfigError(f"{p}: run '{run.label}': arrivals span {span:g} s (more than a day); "
                          f"they look like milliseconds or microseconds. {unit_fix}")


# ---------------------------------------------------------------------------------------------
# vLLM


def _read_vllm(p: Path, docs: list[dict[str, Any]], rng: np.random.Generator) -> Measurements:
    runs = []
    for k, d in enumerate(docs):
        where = f"{p}" if len(docs) == 1 else f"{p}: line {k + 1}"
        if "ttfts" not in d or "input_lens" not in d:
            has_agg = "median_ttft_ms" in d or "mean_ttft_ms" in d
            raise ConfigError(
                f"{where}: field 'ttfts'/'input_lens' is missing"
                + (" (only aggregate percentiles were saved)" if has_agg else "")
                + ". Re-run `vllm bench serve --save-result --save-detailed` so per-request "
                  "results are kept, or pass a GuideLLM report or a CSV.")
        n = len(_list(where, d, "ttfts"))
        inp = _list(where, d, "input_lens", n)
        out = _list(where, d, "output_lens", n)
        ttft = _list(where, d, "ttfts", n)
        itls = _list(where, d, "itls", n) if "itls" in d else None
        lat = _list(where, d, "latencies", n) if "latencies" in d else None
        errors = _list(where, d, "errors", n) if "errors" in d else [""] * n
        starts = _list(where, d, "start_times", n) if "start_times" in d else None
        keep = [i for i in range(n) if not errors[i]
                and _num(where, "output_lens", i, out[i]) >= 1]
        empty = sum(1 for i in range(n) if not errors[i] and out[i] == 0)
        if not keep:
            raise ConfigError(f"{where}: all {n} requests failed (field 'errors'); nothing to "
                              f"calibrate on.")
        e2e = []
        for i in keep:
            if lat is not None and lat[i] not in (None, 0, 0.0):
                e2e.append(_num(where, "latencies", i, lat[i]))
            elif itls is not None:
                gaps = itls[i]
                if not isinstance(gaps, list):
                    raise ConfigError(f"{where}: field itls[{i}] is {type(gaps).__name__}, "
                                      f"expected a list of seconds.")
                e2e.append(_num(where, "ttfts", i, ttft[i])
                           + sum(_num(where, f"itls[{i}]", j, g) for j, g in enumerate(gaps)))
            else:
                raise ConfigError(f"{where}: neither 'latencies' nor 'itls' present; E2E "
                                  f"latency cannot be derived. Save with --save-detailed.")
        rate = _rate(where, d.get("request_rate"))
        conc = d.get("max_concurrency")
        if starts is not None:
            arr = np.array([_num(where, "start_times", i, starts[i]) for i in keep])
            measured = True
        else:
            # ASSUMPTION: without start_times (vLLM before late 2025) the arrivals are redrawn
            # as vLLM drew them: gamma gaps with shape = burstiness and mean 1/request_rate
            # (Poisson when burstiness = 1), all at t = 0 when the rate is inf.
            arr = _redraw_arrivals(len(keep), rate, float(d.get("burstiness") or 1.0), rng)
            measured = False
        runs.append(_run_from_records(p, str(d.get("label") or d.get("backend") or f"run{k}"), [
            {"arrival_s": a, "input_tokens": _int(where, "input_lens", i, inp[i]),
             "output_tokens": _int(where, "output_lens", i, out[i]),
             "ttft_s": _num(where, "ttfts", i, ttft[i]), "e2e_s": e}
            for a, i, e in zip(arr, keep, e2e, strict=True)]))
        runs[-1] = _with(runs[-1], arrivals_measured=measured, request_rate_per_s=rate,
                         max_concurrency=int(conc) if isinstance(conc, int) else None,
                         num_skipped=empty)
    return Measurements(path=str(p), format="vllm", runs=tuple(runs),
                        date=str(docs[0].get("date", "")))


def _redraw_arrivals(n: int, rate: float | None, burstiness: float,
                     rng: np.random.Generator) -> np.ndarray:
    if rate is None:
        return np.zeros(n)
    gaps = rng.gamma(burstiness, 1.0 / (rate * burstiness), n)
    gaps[0] = 0.0
    return np.cumsum(gaps)


def _rate(where: str, raw: object) -> float | None:
    if raw is None or raw == "inf" or (isinstance(raw, float) and math.isinf(raw)):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        raise ConfigError(f"{where}: field request_rate = {raw!r} must be a positive number "
                          f"or \"inf\".")
    return float(raw)


def _with(run: MeasuredRun, **kw: object) -> MeasuredRun:
    from dataclasses import replace

    return replace(run, **kw)


def _list(where: str, d: dict[str, Any], key: str, n: int | None = None) -> list[Any]:
    v = d.get(key)
    if not isinstance(v, list):
        raise ConfigError(f"{where}: field '{key}' is {type(v).__name__}, expected a list "
                          f"with one entry per request.")
    if n is not None and len(v) != n:
        raise ConfigError(f"{where}: field '{key}' has {len(v)} entries but 'ttfts' has {n}; "
                          f"the per-request lists must have equal length.")
    return v


def _num(where: str, key: str, i: int, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise ConfigError(f"{where}: field {key}[{i}] = {v!r} must be a finite number >= 0.")
    return float(v)


def _int(where: str, key: str, i: int, v: object) -> int:
    x = _num(where, key, i, v)
    if x != int(x):
        raise ConfigError(f"{where}: field {key}[{i}] = {v!r} must be a whole number of tokens.")
    return int(x)


# ---------------------------------------------------------------------------------------------
# GuideLLM


_START_PATHS = (("request_start_time",), ("info", "timings", "request_start"),
                ("scheduler_info", "request_timings", "request_start"), ("start_time",))


def _dig(d: dict[str, Any], path: tuple[str, ...]) -> object:
    cur: object = d
    for k in path:
        if not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return cur


def _read_guidellm(p: Path, docs: list[dict[str, Any]]) -> Measurements:
    runs = []
    for doc in docs:
        benches = doc.get("benchmarks")
        if not isinstance(benches, list) or not benches:
            raise ConfigError(f"{p}: field 'benchmarks' is missing or empty; pass GuideLLM's "
                              f"benchmarks.json (guidellm benchmark --output-path).")
        for b, bench in enumerate(benches):
            reqs = _dig(bench, ("requests", "successful")) if isinstance(bench, dict) else None
            field = f"benchmarks[{b}].requests.successful"
            if not isinstance(reqs, list) or not reqs:
                raise ConfigError(f"{p}: field {field} is missing or empty. Save the report as "
                                  f"JSON with per-request details (the default for "
                                  f"benchmarks.json).")
            recs = [_guidellm_request(p, f"{field}[{i}]", r) for i, r in enumerate(reqs)]
            label = str(_dig(bench, ("scheduler", "strategy", "type_")) or
                        _dig(bench, ("args", "strategy", "type_")) or f"benchmark{b}")
            runs.append(_run_from_records(p, f"{label}#{b}", recs))
    return Measurements(path=str(p), format="guidellm", runs=tuple(runs))


def _guidellm_request(p: Path, field: str, r: object) -> dict[str, float]:
    if not isinstance(r, dict):
        raise ConfigError(f"{p}: field {field} is not an object.")

    def need(key: str, v: object) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"{p}: field {field}.{key} = {v!r} is missing or not a number "
                              f">= 0. GuideLLM writes it for every successful request.")
        return float(v)

    start = next((v for path in _START_PATHS if (v := _dig(r, path)) is not None), None)
    start_s = need("request_start_time", start)
    ttft_ms = r.get("time_to_first_token_ms")
    if ttft_ms is None:  # v0.2 without computed fields: derive from raw timestamps
        first = r.get("first_token_time")
        ttft_s = need("first_token_time", first) - start_s
    else:
        ttft_s = need("time_to_first_token_ms", ttft_ms) / 1000.0
    lat = r.get("request_latency")
    if lat is None and r.get("end_time") is not None:
        lat = need("end_time", r.get("end_time")) - start_s
    out = need("output_tokens", r.get("output_tokens"))
    return {"arrival_s": start_s, "input_tokens": need("prompt_tokens", r.get("prompt_tokens")),
            "output_tokens": out, "ttft_s": ttft_s, "e2e_s": need("request_latency", lat)}
