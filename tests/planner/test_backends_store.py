"""Backends (a killed worker loses nothing, Ray gives the serial answer), the results store
(written as candidates finish, re-runs skip them, foreign files refused untouched)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from planspecs import small_plan

import tokenworks.planner.run as run_mod
from tokenworks.api.plan import plan as api_plan
from tokenworks.errors import ConfigError
from tokenworks.io.store import ResultStore
from tokenworks.planner import LocalBackend, RayBackend, SerialBackend, make_backend, plan
from tokenworks.planner.confirm import confirm


def _die_once(arg):
    i, marker = arg
    if i == 2 and not Path(marker).exists():
        Path(marker).write_text("died")
        os._exit(1)
    return i * i


def test_killed_worker_loses_no_finished_task(tmp_path):
    got: dict[int, int] = {}

    def done(i, r):
        assert i not in got
        got[i] = r

    tasks = [(i, str(tmp_path / "marker")) for i in range(8)]
    LocalBackend(2).run(_die_once, tasks, done)
    assert got == {i: i * i for i in range(8)}


def test_backend_errors_are_one_line():
    with pytest.raises(ConfigError, match="unknown"):
        make_backend("threads")
    with pytest.raises(ConfigError, match=r"cannot reach the Ray cluster at 127\.0\.0\.1:1"):
        RayBackend("127.0.0.1:1")
    with pytest.raises(ConfigError, match="--backend ray"):
        make_backend("local", address="127.0.0.1:6379")


@pytest.mark.slow
def test_ray_backend_matches_serial():
    pytest.importorskip("ray")
    spec = small_plan(modes=("aggregated", "disaggregated"), top_k=3)
    run_mod._MEMO.clear()
    serial = plan(spec, backend=SerialBackend())
    run_mod._MEMO.clear()
    ray_result = plan(spec, backend=RayBackend(None, workers=2))
    a, b = serial.to_dict(), ray_result.to_dict()
    a.pop("timings"), b.pop("timings")
    assert a == b


def test_store_writes_each_result_and_rerun_skips(tmp_path, monkeypatch):
    db = tmp_path / "p.plans.duckdb"
    spec = small_plan(top_k=2)
    run_mod._MEMO.clear()
    first = api_plan(spec, backend="serial", db=db)
    with ResultStore(db, read_only=True) as s:
        runs = s.runs()
        assert len(runs) == 1 and runs[0]["status"] == "done"
        assert runs[0]["num_results"] >= len(first.candidates)
        table = s.results_table(first.run_id)
    assert table.num_rows == runs[0]["num_results"]
    run_mod._MEMO.clear()
    calls = []
    monkeypatch.setattr(run_mod, "confirm", lambda t: calls.append(t) or confirm(t))
    again = api_plan(spec, backend="serial", db=db)
    assert calls == []
    a, b = first.to_dict(), again.to_dict()
    a.pop("timings"), b.pop("timings")
    assert a == b


def test_store_refuses_foreign_or_corrupt_files_untouched(tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database at all" * 100)
    before = junk.read_bytes()
    with pytest.raises(ConfigError, match="left untouched"):
        ResultStore(junk)
    assert junk.read_bytes() == before
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t (x INTEGER)")
    con.close()
    with pytest.raises(ConfigError, match="not a tokenworks results database"):
        ResultStore(other)
    old = tmp_path / "old.duckdb"
    ResultStore(old).close()
    con = duckdb.connect(str(old))
    con.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(ConfigError, match="schema 0"):
        ResultStore(old)
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    with pytest.raises(ConfigError, match="empty file"):
        ResultStore(empty)
