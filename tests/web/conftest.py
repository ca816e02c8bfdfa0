"""Web test fixtures: an app on a TestClient, and a real server (uvicorn) on a free port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webtools import LiveServer

from tokenworks.web.app import create_app
from tokenworks.web_settings import WebSettings


@pytest.fixture
def settings(tmp_path) -> WebSettings:
    return WebSettings(store_path=str(tmp_path / "runs.duckdb"), max_upload_bytes=50_000,
                       num_workers=1, max_queued=2, bind="testclient")


@pytest.fixture
def client(settings):
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings)) as c:
        c.headers["X-Tokenworks-Client"] = "a" * 32
        yield c


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    d = tmp_path_factory.mktemp("live")
    s = WebSettings(store_path=str(d / "runs.duckdb"), num_workers=2, max_queued=32,
                    bind="127.0.0.1 (test)")
    with LiveServer(s) as server:
        yield server
