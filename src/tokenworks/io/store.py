"""The results store: plans and their simulated candidates in a DuckDB file.

Every confirmation is written the moment it finishes (one row in ``results``, keyed by the
task's digest, which covers the candidate, the question and the modelling code), so an
interrupted plan loses nothing it finished and a re-run skips it. A file made by another
tokenworks store version, another program, or a corrupt one is refused with one line and
never written to. Schema (``SCHEMA_VERSION``):

* ``meta(key, value)``: ``format`` = ``tokenworks-results``, ``schema_version``,
  ``tokenworks_version``;
* ``runs(run_id, kind, name, created_at, finished_at, status, question_json, result_json)``:
  one per plan run (``run_id`` = digest of the plan spec and the code), ``result_json`` =
  ``PlanResult.to_dict()``;
* ``results(key, kind, label, mode, hardware, unit_gpus, capacity_rate_per_s, binding,
  ttft_p90_s, tpot_p90_s, e2e_p90_s, finished_at, payload_json)``: one per simulation
  (capacity search or full-scale check); ``payload_json`` rebuilds the ``Confirmation``;
* ``run_results(run_id, key)``: which results each run used.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tokenworks import __version__
from tokenworks.errors import ConfigError
from tokenworks.files import check_name_length
from tokenworks.planner.confirm import Confirmation, ConfirmTask, SimPoint
from tokenworks.planner.spec import Candidate, PoolChoice

__all__ = ["FORMAT", "SCHEMA_VERSION", "ResultStore", "confirmation_from_dict"]

FORMAT = "tokenworks-results"
SCHEMA_VERSION = "1"
_SCHEMA = (
    "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, kind VARCHAR, name VARCHAR, "
    "created_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, question_json VARCHAR, "
    "result_json VARCHAR)",
    "CREATE TABLE results (key VARCHAR PRIMARY KEY, kind VARCHAR, label VARCHAR, "
    "mode VARCHAR, hardware VARCHAR, unit_gpus INTEGER, capacity_rate_per_s DOUBLE, "
    "binding VARCHAR, ttft_p90_s DOUBLE, tpot_p90_s DOUBLE, e2e_p90_s DOUBLE, "
    "finished_at TIMESTAMP, payload_json VARCHAR)",
    "CREATE TABLE run_results (run_id VARCHAR, key VARCHAR, PRIMARY KEY (run_id, key))",
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _pool(d: dict[str, Any] | None) -> PoolChoice | None:
    return None if d is None else PoolChoice(**d)


def _point(d: dict[str, Any] | None) -> SimPoint | None:
    if d is None:
        return None
    return SimPoint(**{**d, "failed": tuple(d["failed"])})


def confirmation_from_dict(d: dict[str, Any]) -> Confirmation:
    """Rebuild a ``Confirmation`` from ``asdict`` output (as stored in ``payload_json``)."""
    c = d["candidate"]
    cand = Candidate(**{**c, "decode": _pool(c["decode"]), "prefill": _pool(c["prefill"]),
                        "kv_tiers": tuple(c["kv_tiers"])})
    closest = _point(d["closest"])
    assert closest is not None
    return Confirmation(key=d["key"], candidate=cand,
                        capacity_rate_per_s=d["capacity_rate_per_s"], binding=d["binding"],
                        at_capacity=_point(d["at_capacity"]), closest=closest,
                        points=tuple(_point(p) for p in d["points"]))  # type: ignore[misc]


class ResultStore:
    """A DuckDB results file, opened (created if absent) and checked; use as a context."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        import duckdb

        self.path = check_name_length(path, what="results database")
        exists = self.path.exists()
        if read_only and not exists:
            raise ConfigError(f"results database {self.path} does not exist; run a plan with "
                              f"--db {self.path} first.")
        if exists and (self.path.is_dir() or self.path.stat().st_size == 0):
            raise ConfigError(f"results database {self.path} is "
                              f"{'a folder' if self.path.is_dir() else 'an empty file'}, not a "
                              f"tokenworks results database; choose another --db.")
        if not exists and not self.path.parent.is_dir():
            raise ConfigError(f"results database {self.path}: the folder {self.path.parent} "
                              f"does not exist; create it or choose another --db.")
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as e:
            raise ConfigError(f"{self.path} is not a results database this tokenworks can read "
                              f"({str(e).splitlines()[0][:160]}); it was left untouched. "
                              f"Choose another --db.") from None
        if exists:
            self._check()
        else:
            for stmt in _SCHEMA:
                self.con.execute(stmt)
            self.con.executemany("INSERT INTO meta VALUES (?, ?)",
                                 [("format", FORMAT), ("schema_version", SCHEMA_VERSION),
                                  ("tokenworks_version", __version__)])

    def _check(self) -> None:
        import duckdb

        try:
            meta = dict(self.con.execute("SELECT key, value FROM meta").fetchall())
        except duckdb.Error:
            meta = {}
        if meta.get("format") != FORMAT:
            self.con.close()
            raise ConfigError(f"{self.path} is a DuckDB file but not a tokenworks results "
                              f"database; it was left untouched. Choose another --db.")
        if meta.get("schema_version") != SCHEMA_VERSION:
            self.con.close()
            raise ConfigError(f"{self.path} holds results in store schema "
                              f"{meta.get('schema_version')} (tokenworks "
                              f"{meta.get('tokenworks_version')}); this version reads schema "
                              f"{SCHEMA_VERSION}. It was left untouched; choose another --db.")

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # -- writing ------------------------------------------------------------------------------
    def start_run(self, run_id: str, *, kind: str, name: str, question: dict[str, Any]) -> None:
        self.con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, NULL, 'running', ?, NULL) ON CONFLICT "
            "(run_id) DO UPDATE SET status = 'running'",
            [run_id, kind, name, _now(), json.dumps(question)])

    def finish_run(self, run_id: str, result: dict[str, Any], status: str = "done") -> None:
        self.con.execute("UPDATE runs SET finished_at = ?, status = ?, result_json = ? "
                         "WHERE run_id = ?", [_now(), status, json.dumps(result), run_id])

    def add(self, run_id: str, task: ConfirmTask, conf: Confirmation) -> None:
        """Store one finished simulation (idempotent) and link it to the run."""
        c = conf.candidate
        p = conf.at_capacity or conf.closest
        hw = c.decode.accelerator if c.prefill is None \
            else f"{c.prefill.accelerator}+{c.decode.accelerator}"
        self.con.execute(
            "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            [conf.key, "verify" if task.units > 1 else "capacity", c.label(), c.mode, hw,
             c.unit_gpus * task.units, conf.capacity_rate_per_s, conf.binding,
             p.summary.get("ttft_p90"), p.summary.get("tpot_p90"), p.summary.get("e2e_p90"),
             _now(), json.dumps(asdict(conf))])
        self.link(run_id, conf.key)

    def link(self, run_id: str, key: str) -> None:
        self.con.execute("INSERT INTO run_results VALUES (?, ?) ON CONFLICT DO NOTHING",
                         [run_id, key])

    # -- reading ------------------------------------------------------------------------------
    def get(self, key: str) -> Confirmation | None:
        row = self.con.execute("SELECT payload_json FROM results WHERE key = ?",
                               [key]).fetchone()
        return None if row is None else confirmation_from_dict(json.loads(row[0]))

    def runs(self) -> list[dict[str, Any]]:
        cur = self.con.execute(
            "SELECT r.run_id, r.kind, r.name, r.created_at, r.finished_at, r.status, "
            "count(l.key) AS num_results FROM runs r LEFT JOIN run_results l USING (run_id) "
            "GROUP BY ALL ORDER BY r.created_at")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def run(self, run_id: str) -> dict[str, Any]:
        rows = self.con.execute("SELECT run_id, kind, name, status, question_json, result_json "
                                "FROM runs WHERE run_id LIKE ?", [run_id + "%"]).fetchall()
        if len(rows) != 1:
            known = ", ".join(r["run_id"][:12] for r in self.runs()) or "none"
            raise ConfigError(f"run '{run_id}' {'is ambiguous' if rows else 'is not'} in "
                              f"{self.path}; runs: {known}.")
        rid, kind, name, status, q, r = rows[0]
        return {"run_id": rid, "kind": kind, "name": name, "status": status,
                "question": json.loads(q), "result": None if r is None else json.loads(r)}

    def results_table(self, run_id: str):
        """The run's simulations as an Arrow table (one row each)."""
        rid = self.run(run_id)["run_id"]
        cur = self.con.execute(
            "SELECT s.key, s.kind, s.label, s.mode, s.hardware, s.unit_gpus, "
            "s.capacity_rate_per_s, s.binding, s.ttft_p90_s, s.tpot_p90_s, s.e2e_p90_s, "
            "s.finished_at FROM results s JOIN run_results l USING (key) WHERE l.run_id = ? "
            "ORDER BY s.finished_at, s.key", [rid])
        import pyarrow as pa

        cols = [d[0] for d in cur.description]
        return pa.Table.from_pylist([dict(zip(cols, r, strict=True)) for r in cur.fetchall()])
