"""The run store: one DuckDB file of runs, shared by the web dashboard and the planner.

A foundation module (like ``files``), outside the layers, so any layer that records runs —
the planner's ``runs`` command, the web app — uses the same tables. Schema (version 1; also in
docs/reports.md, "Run store"):

``runs``
    ``id VARCHAR PRIMARY KEY`` (32 hex digits, random), ``kind VARCHAR NOT NULL`` (estimate,
    simulation, tco, pnl, power, sensitivity, fleet, train, capital, claims, plan),
    ``created_at TIMESTAMP NOT NULL`` (UTC), ``status VARCHAR NOT NULL`` (``STATUSES``),
    ``inputs JSON NOT NULL`` (what the run was asked), ``summary JSON`` (its headline
    numbers, kind-specific), ``error VARCHAR`` (the user-facing message of a failed run),
    ``finished_at TIMESTAMP``, ``owner VARCHAR`` (the client that made it; NULL from the
    CLI), ``label VARCHAR``.
``run_artifacts``
    ``run_id VARCHAR``, ``name VARCHAR`` (e.g. ``report_data.json``, ``requests.parquet``),
    ``media_type VARCHAR``, ``data BLOB``; primary key (run_id, name).
``store_meta``
    ``key VARCHAR PRIMARY KEY``, ``value VARCHAR`` (``schema_version``).

One ``RunStore`` holds one connection and serialises its calls with a lock, so threads of
one process share it safely. DuckDB lets one process at a time open a file for writing: two
processes (say ``tokenworks serve`` and a CLI ``runs`` command) should use two files, or
the second opens it ``read_only``. Times are UTC; JSON is stored as text of the JSON type.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tokenworks.errors import ConfigError
from tokenworks.files import check_name_length

__all__ = ["SCHEMA_VERSION", "STATUSES", "RunRecord", "RunStore", "default_store_path"]

SCHEMA_VERSION = 1
STATUSES = ("queued", "running", "done", "failed", "cancelled")
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
        status VARCHAR NOT NULL, inputs JSON NOT NULL, summary JSON, error VARCHAR,
        finished_at TIMESTAMP, owner VARCHAR, label VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS run_artifacts (
        run_id VARCHAR NOT NULL, name VARCHAR NOT NULL, media_type VARCHAR NOT NULL,
        data BLOB NOT NULL, PRIMARY KEY (run_id, name))""",
    "CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
)
_COLUMNS = ("id", "kind", "created_at", "status", "inputs", "summary", "error", "finished_at",
            "owner", "label")


def default_store_path() -> Path:
    """``$TOKENWORKS_STORE``, else ``~/.tokenworks/runs.duckdb``."""
    env = os.environ.get("TOKENWORKS_STORE")
    return Path(env).expanduser() if env else Path.home() / ".tokenworks" / "runs.duckdb"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """One row of ``runs`` (JSON columns decoded)."""

    id: str
    kind: str
    created_at: datetime
    status: str
    inputs: dict[str, Any]
    summary: dict[str, Any] | None = None
    error: str | None = None
    finished_at: datetime | None = None
    owner: str | None = None
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("created_at", "finished_at"):
            d[k] = None if d[k] is None else d[k].isoformat() + "Z"
        return d


class RunStore:
    """Runs and their artifacts in one DuckDB file (see module docstring)."""

    def __init__(self, connection: Any, path: str) -> None:
        self._con = connection
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> RunStore:
        """Open (creating folder, file and tables as needed) the store at ``path``;
        ``":memory:"`` for a store that lives as long as the object."""
        import duckdb

        name = str(path)
        if name != ":memory:":
            p = check_name_length(name, what="run store")
            if not read_only:
                p.parent.mkdir(parents=True, exist_ok=True)
            name = str(p)
        try:
            con = duckdb.connect(name, read_only=read_only)
        except duckdb.Error as e:  # held by another process, or not a DuckDB file
            raise ConfigError(f"cannot open the run store {name}: {str(e).splitlines()[0]} "
                              f"Another process may hold it, or it is not a run store; use "
                              f"--store to pick another file.") from None
        store = cls(con, name)
        if not read_only:
            with store._lock:
                for sql in _SCHEMA:
                    con.execute(sql)
                con.execute("INSERT OR REPLACE INTO store_meta VALUES ('schema_version', ?)",
                            [str(SCHEMA_VERSION)])
        return store

    def close(self) -> None:
        with self._lock:
            self._con.close()

    # ---------------------------------------------------------------------------- runs
    def create_run(self, kind: str, inputs: dict[str, Any], *, owner: str | None = None,
                   label: str | None = None, status: str = "queued") -> RunRecord:
        """A new run with a fresh random id."""
        self._check_status(status)
        rec = RunRecord(id=uuid.uuid4().hex, kind=kind, created_at=_now(), status=status,
                        inputs=inputs, owner=owner, label=label)
        with self._lock:
            self._con.execute(
                "INSERT INTO runs (id, kind, created_at, status, inputs, owner, label) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [rec.id, kind, rec.created_at, status, json.dumps(inputs), owner, label])
        return rec

    def set_status(self, run_id: str, status: str, *, summary: dict[str, Any] | None = None,
                   error: str | None = None) -> None:
        """Move a run to ``status`` (finished states stamp ``finished_at``)."""
        self._check_status(status)
        done = _now() if status in ("done", "failed", "cancelled") else None
        with self._lock:
            self._con.execute(
                "UPDATE runs SET status = ?, summary = coalesce(?, summary), "
                "error = coalesce(?, error), finished_at = coalesce(?, finished_at) "
                "WHERE id = ?",
                [status, None if summary is None else json.dumps(summary), error, done, run_id])

    def get(self, run_id: str) -> RunRecord | None:
        with self._lock:
            row = self._con.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE id = ?",
                                    [run_id]).fetchone()
        return None if row is None else self._record(row)

    def list_runs(self, *, owner: str | None = None, kind: str | None = None,
                  limit: int = 100) -> list[RunRecord]:
        """Newest first; ``owner``/``kind`` filter when given."""
        where, args = [], []
        if owner is not None:
            where.append("owner = ?")
            args.append(owner)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        sql = (f"SELECT {', '.join(_COLUMNS)} FROM runs"
               + (f" WHERE {' AND '.join(where)}" if where else "")
               + " ORDER BY created_at DESC, id LIMIT ?")
        with self._lock:
            rows = self._con.execute(sql, [*args, int(limit)]).fetchall()
        return [self._record(r) for r in rows]

    def fail_unfinished(self, message: str, *, owned_only: bool = True) -> int:
        """Mark runs left ``queued`` or ``running`` (by a process that stopped) as failed with
        ``message``; ``owned_only`` touches only runs that name an owner (the web's)."""
        where = "status IN ('queued', 'running')" + (" AND owner IS NOT NULL"
                                                     if owned_only else "")
        with self._lock:
            n = self._con.execute(f"SELECT count(*) FROM runs WHERE {where}").fetchone()[0]
            self._con.execute(f"UPDATE runs SET status = 'failed', error = ?, finished_at = ? "
                              f"WHERE {where}", [message, _now()])
        return int(n)

    def delete(self, run_id: str) -> None:
        with self._lock:
            self._con.execute("DELETE FROM run_artifacts WHERE run_id = ?", [run_id])
            self._con.execute("DELETE FROM runs WHERE id = ?", [run_id])

    # ---------------------------------------------------------------------------- artifacts
    def put_artifact(self, run_id: str, name: str, data: bytes, media_type: str) -> None:
        with self._lock:
            self._con.execute("INSERT OR REPLACE INTO run_artifacts VALUES (?, ?, ?, ?)",
                              [run_id, name, media_type, data])

    def get_artifact(self, run_id: str, name: str) -> tuple[str, bytes] | None:
        """(media type, bytes) of a run's artifact, or None."""
        with self._lock:
            row = self._con.execute("SELECT media_type, data FROM run_artifacts "
                                    "WHERE run_id = ? AND name = ?", [run_id, name]).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def artifact_names(self, run_id: str) -> list[str]:
        with self._lock:
            rows = self._con.execute("SELECT name FROM run_artifacts WHERE run_id = ? "
                                     "ORDER BY name", [run_id]).fetchall()
        return [r[0] for r in rows]

    # ---------------------------------------------------------------------------- helpers
    @staticmethod
    def _check_status(status: str) -> None:
        if status not in STATUSES:
            raise ConfigError(f"run status '{status}' is not valid; use one of "
                              f"{', '.join(STATUSES)}.")

    @staticmethod
    def _record(row: tuple) -> RunRecord:
        d = dict(zip(_COLUMNS, row, strict=True))
        d["inputs"] = json.loads(d["inputs"]) if d["inputs"] else {}
        d["summary"] = json.loads(d["summary"]) if d["summary"] else None
        return RunRecord(**d)
