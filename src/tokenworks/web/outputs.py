"""A run before and after: ``Prepared`` (checked inputs and the work to do) and ``Output``
(what a finished run leaves behind: its summary, its report data and its files).

Files are what the dashboard offers for download: ``result.json`` (the result as the CLI's
``--json`` prints it), ``result.csv`` (the same, flattened to dotted keys), tables as CSV and
Parquet (a simulation's requests, an estimate's batch sweep, a P&L's years, the claims),
``scenario.yaml`` for a simulation, and ``report_data.json`` (the envelope
``tokenworks report`` reads back).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from tokenworks.report.data import envelope
from tokenworks.report.figures import plain
from tokenworks.report.format import to_jsonable

__all__ = ["MEDIA_TYPES", "Output", "Prepared", "Progress", "flat_rows", "json_bytes",
           "table_files"]

Progress = Callable[[int, int], None]

MEDIA_TYPES = {".json": "application/json", ".csv": "text/csv; charset=utf-8",
               ".parquet": "application/vnd.apache.parquet", ".yaml": "application/yaml",
               ".html": "text/html; charset=utf-8"}


def _media(name: str) -> str:
    return MEDIA_TYPES[name[name.rindex("."):]]


def json_bytes(obj: Any) -> bytes:
    return json.dumps(plain(to_jsonable(obj)), indent=1, allow_nan=False).encode("utf-8")


def flat_rows(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts and lists as (dotted key, scalar) rows."""
    if isinstance(obj, dict):
        return [r for k, v in obj.items() for r in flat_rows(v, f"{prefix}{k}.")]
    if isinstance(obj, list):
        return [r for i, v in enumerate(obj) for r in flat_rows(v, f"{prefix}{i}.")]
    return [(prefix[:-1], obj)]


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def table_files(name: str, rows: list[dict[str, Any]]) -> dict[str, tuple[bytes, str]]:
    """``name.csv`` and ``name.parquet`` of a list of flat rows (nested values as JSON)."""
    if not rows:
        return {}
    keys = list(dict.fromkeys(k for r in rows for k in r))

    def cell(v: Any) -> Any:
        return json.dumps(plain(v)) if isinstance(v, dict | list | tuple) else v

    flat = [{k: cell(r.get(k)) for k in keys} for r in rows]
    import pyarrow.parquet as pq

    buf = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(flat), buf)
    return {f"{name}.csv": (_csv(keys, [[r[k] for k in keys] for r in flat]), _media(".csv")),
            f"{name}.parquet": (buf.getvalue().to_pybytes(), _media(".parquet"))}


@dataclass(slots=True)
class Output:
    """A finished run: its headline numbers, its report data, and its files."""

    summary: dict[str, Any]
    report_kind: str
    report_data: dict[str, Any]
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def add_result(self, result_doc: Any) -> None:
        """``result.json`` and ``result.csv`` (flattened) of the result's JSON form."""
        doc = plain(to_jsonable(result_doc))
        self.files["result.json"] = (json_bytes(doc), _media(".json"))
        self.files["result.csv"] = (_csv(["key", "value"], [list(r) for r in flat_rows(doc)]),
                                    _media(".csv"))

    def all_files(self) -> dict[str, tuple[bytes, str]]:
        """The files plus ``report_data.json``."""
        return {**self.files, "report_data.json": (
            json_bytes(envelope(self.report_kind, self.report_data)), _media(".json"))}


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """A run whose inputs passed validation: the store's ``kind``, the ``inputs`` recorded with
    it, whether it goes to the background worker (``long``), and ``execute(progress)``."""

    kind: str
    inputs: dict[str, Any]
    long: bool
    execute: Callable[[Progress], Output]
