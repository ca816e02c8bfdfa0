"""The web dashboard as a FastAPI app: ``create_app(settings)``.

The app owns one ``RunStore`` (DuckDB), one ``JobQueue`` (started with the app, stopped with
it) and the uploads folder beside the store. Routes: ``routes_api`` (the JSON API under
``/api``, documented at ``/openapi.json``) and ``routes_pages`` (the dashboard's HTML and its
static files, all inside the package: it works offline). ``tokenworks serve`` starts it with
uvicorn through ``app_from_env`` (``tokenworks.web_settings``: settings in
``TOKENWORKS_WEB_*`` variables), so the CLI names the app without importing it.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tokenworks import __version__
from tokenworks.store import RunStore
from tokenworks.web.jobs import JobQueue
from tokenworks.web.service import Service
from tokenworks.web_settings import WebSettings

__all__ = ["app_from_env", "create_app"]


def _uploads_root(s: WebSettings) -> Path:
    if s.uploads_dir:
        return Path(s.uploads_dir).expanduser()
    if s.store_path == ":memory:":
        return Path(tempfile.mkdtemp(prefix="tokenworks-uploads-"))
    return Path(s.store_path).expanduser().parent / "uploads"


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The dashboard app; its store and workers open when it starts and close when it stops."""
    from tokenworks.web import routes_api, routes_pages
    from tokenworks.web.routes_api import too_big_message

    s = settings or WebSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = RunStore.open(s.store_path)
        # The worker's queue lives in memory: runs a previous server left unfinished are over.
        store.fail_unfinished("interrupted: the server stopped before this run finished; run "
                              "it again.")
        jobs = JobQueue(num_workers=s.num_workers, max_queued=s.max_queued)
        jobs.start()
        app.state.service = Service(store, jobs, _uploads_root(s),
                                    max_upload_bytes=s.max_upload_bytes)
        app.state.settings = s
        try:
            yield
        finally:
            jobs.stop()
            store.close()

    app = FastAPI(
        title="tokenworks", version=__version__, lifespan=lifespan,
        summary="Model the AI token factory over HTTP: estimates, simulations, economics, "
                "plans and their reports.",
        description="Every run is stored with its inputs; long runs (simulations, the claims "
                    "ledger, plans) go to a background worker: poll `GET /api/runs/{id}` until "
                    "`status` is `done`. Send `X-Tokenworks-Client: <hex id>` to group your "
                    "runs. Input errors answer 422 with `errors: [{field, message}]`.")
    @app.middleware("http")
    async def refuse_oversized_uploads(request: Request, call_next: Any) -> Response:
        # Refuse a declared oversize before its body is read (the route checks the bytes it
        # reads too, for uploads that declare no length).
        if request.url.path == "/api/uploads" and request.method == "POST":
            declared = int(request.headers.get("content-length") or 0)
            if declared > s.max_upload_bytes + 65_536:
                return JSONResponse(status_code=413, content={
                    "detail": too_big_message(declared, s.max_upload_bytes), "errors": []})
        return await call_next(request)

    app.include_router(routes_api.router)
    app.include_router(routes_pages.router)
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn (``tokenworks serve``): settings from the environment."""
    return create_app(WebSettings.from_env())
