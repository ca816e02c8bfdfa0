"""Shared by the web tests (on pytest's pythonpath): a real server on a free port, polling."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tokenworks.web.app import create_app
from tokenworks.web_settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]


def wait_done(get, run_id: str, timeout_s: float = 60.0) -> dict:
    """Poll ``get(url) -> dict`` until the run finishes."""
    t0 = time.monotonic()
    st: dict = {}
    while time.monotonic() - t0 < timeout_s:
        st = get(f"/api/runs/{run_id}")
        if st["status"] in ("done", "failed", "cancelled"):
            return st
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish in {timeout_s} s: {st}")


class LiveServer:
    def __init__(self, settings: WebSettings) -> None:
        import uvicorn

        self.config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0,
                                     log_level="warning", lifespan="on")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        t0 = time.monotonic()
        while not self.server.started:
            if time.monotonic() - t0 > 20 or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
