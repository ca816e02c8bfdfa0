"""CLI: ``tokenworks serve`` hands its settings to the app and binds to localhost by default
(uvicorn is replaced by a recorder: no server starts here)."""

from __future__ import annotations

import pytest

from clitools import run
from tokenworks.web_settings import WebSettings


@pytest.fixture
def started(monkeypatch):
    import os

    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    saved = {k: os.environ.pop(k) for k in WebSettings().to_env() if k in os.environ}
    yield calls
    for k in WebSettings().to_env():  # serve writes them into this process's environment
        os.environ.pop(k, None)
    os.environ.update(saved)


def test_serve_defaults_to_localhost(started, capsys, tmp_path):
    code, _, err = run(["serve", "--store", str(tmp_path / "runs.duckdb")], capsys)
    assert code == 0, err
    (app, kw), = started
    assert app == "tokenworks.web.app:app_from_env" and kw["factory"] is True
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8000
    assert "warning" not in err and "http://127.0.0.1:8000/" in err
    s = WebSettings.from_env()
    assert s.store_path == str(tmp_path / "runs.duckdb") and s.bind == "127.0.0.1:8000"


def test_serve_warns_when_binding_elsewhere(started, capsys, tmp_path):
    code, _, err = run(["serve", "--host", "0.0.0.0", "--port", "9000", "--max-upload-mb", "5",
                        "--store", str(tmp_path / "r.duckdb")], capsys)
    assert code == 0
    assert "warning: binding to 0.0.0.0" in err and "no login" in err
    assert started[0][1]["host"] == "0.0.0.0"
    assert WebSettings.from_env().max_upload_bytes == 5_000_000


@pytest.mark.parametrize("args,needle", [(["--port", "0"], "--port = 0"),
                                         (["--workers", "0"], "--workers = 0")])
def test_serve_rejects_bad_settings(started, capsys, args, needle):
    code, _, err = run(["serve", *args], capsys)
    assert code == 1 and needle in err and not started
