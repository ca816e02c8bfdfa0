"""tokenworks.store: the DuckDB run store (schema, status moves, artifacts, threads)."""

from __future__ import annotations

import threading

import pytest

from tokenworks.errors import ConfigError
from tokenworks.store import SCHEMA_VERSION, RunStore


@pytest.fixture
def store(tmp_path):
    s = RunStore.open(tmp_path / "sub" / "runs.duckdb")
    yield s
    s.close()


def test_schema_is_the_documented_one(store):
    cols = [r[0] for r in store._con.execute("DESCRIBE runs").fetchall()]
    assert cols == ["id", "kind", "created_at", "status", "inputs", "summary", "error",
                    "finished_at", "owner", "label"]
    assert store._con.execute("SELECT value FROM store_meta WHERE key = 'schema_version'"
                              ).fetchone() == (str(SCHEMA_VERSION),)


def test_a_run_moves_from_queued_to_done(store):
    rec = store.create_run("estimate", {"tp": 8, "model": "llama-3.1-70b"}, owner="abc",
                           label="first")
    assert len(rec.id) == 32 and rec.status == "queued" and rec.finished_at is None
    store.set_status(rec.id, "running")
    store.set_status(rec.id, "done", summary={"tpot_s": 0.02})
    got = store.get(rec.id)
    assert got.status == "done" and got.summary == {"tpot_s": 0.02}
    assert got.inputs == {"tp": 8, "model": "llama-3.1-70b"} and got.finished_at is not None
    d = got.to_dict()
    assert d["created_at"].endswith("Z") and d["label"] == "first"


def test_listing_filters_and_orders_newest_first(store):
    a = store.create_run("estimate", {}, owner="x")
    b = store.create_run("simulation", {}, owner="y")
    c = store.create_run("estimate", {}, owner="x")
    assert [r.id for r in store.list_runs(owner="x")] == [c.id, a.id]
    assert [r.id for r in store.list_runs(kind="simulation")] == [b.id]
    assert len(store.list_runs(limit=2)) == 2


def test_artifacts_and_delete(store):
    rec = store.create_run("simulation", {})
    store.put_artifact(rec.id, "result.json", b'{"a": 1}', "application/json")
    store.put_artifact(rec.id, "requests.parquet", b"PAR1", "application/vnd.apache.parquet")
    assert store.artifact_names(rec.id) == ["requests.parquet", "result.json"]
    assert store.get_artifact(rec.id, "result.json") == ("application/json", b'{"a": 1}')
    assert store.get_artifact(rec.id, "nope") is None
    store.delete(rec.id)
    assert store.get(rec.id) is None and store.artifact_names(rec.id) == []


def test_bad_status_is_refused(store):
    rec = store.create_run("estimate", {})
    with pytest.raises(ConfigError, match="done"):
        store.set_status(rec.id, "finished")


def test_threads_share_one_store(store):
    ids: list[str] = []

    def work(i: int) -> None:
        rec = store.create_run("estimate", {"i": i})
        store.set_status(rec.id, "done", summary={"i": i})
        ids.append(rec.id)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 24
    assert all(store.get(r).summary == store.get(r).inputs for r in ids)


def test_a_store_survives_reopening(tmp_path):
    s = RunStore.open(tmp_path / "runs.duckdb")
    rid = s.create_run("tco", {"pue": 1.2}).id
    s.close()
    again = RunStore.open(tmp_path / "runs.duckdb", read_only=True)
    assert again.get(rid).inputs == {"pue": 1.2}
    again.close()


def test_runs_a_stopped_server_left_behind_are_failed(store):
    web = store.create_run("simulation", {}, owner="abc")
    cli = store.create_run("plan", {}, status="running")  # no owner: another tool's run
    done = store.create_run("estimate", {}, owner="abc")
    store.set_status(done.id, "done")
    assert store.fail_unfinished("interrupted") == 1
    assert store.get(web.id).status == "failed" and store.get(web.id).error == "interrupted"
    assert store.get(cli.id).status == "running" and store.get(done.id).status == "done"
