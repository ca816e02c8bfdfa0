"""``tokenworks serve``: start the web dashboard (and its JSON API) with uvicorn.

The CLI and the web app sit side by side at the top of the layers, so this command names the
app (``tokenworks.web.app:app_from_env``) for uvicorn instead of importing it, and passes the
settings in ``TOKENWORKS_WEB_*`` environment variables. It binds to 127.0.0.1 unless told
otherwise, and says so when asked to bind elsewhere: the dashboard has no login.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tokenworks.errors import ConfigError, check_range
from tokenworks.files import check_name_length
from tokenworks.store import RunStore, default_store_path
from tokenworks.web_settings import WebSettings

_err = Console(stderr=True, highlight=False)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
APP = "tokenworks.web.app:app_from_env"


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to bind (default: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    store: Annotated[Path | None, typer.Option("--store", help="DuckDB file of runs (default: $TOKENWORKS_STORE or ~/.tokenworks/runs.duckdb).")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Background threads for long runs.")] = 2,
    max_queued: Annotated[int, typer.Option("--max-queued", help="Long runs that may wait; more are refused (503).")] = 16,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", help="Largest upload accepted (MB).")] = 20.0,
) -> None:
    """Start the web dashboard: pick a model and hardware, run, see the charts, compare."""
    import uvicorn

    check_range("--port", port, low=1, high=65535, fix="Use e.g. 8000.")
    check_range("--workers", workers, low=1, high=64, fix="Use e.g. 2.")
    check_range("--max-queued", max_queued, low=1, high=10_000, fix="Use e.g. 16.")
    check_range("--max-upload-mb", max_upload_mb, low=0.001, high=10_000, unit="MB",
                fix="Use e.g. 20.")
    _check_host(host, port)
    if host not in LOCAL_HOSTS:
        _err.print(f"[yellow]warning:[/] binding to {host}: anyone who can reach this address "
                   f"can run jobs and read every run (the dashboard has no login). Use "
                   f"--host 127.0.0.1 to keep it on this machine.", soft_wrap=True)
    path = check_name_length(store, what="--store") if store is not None else \
        default_store_path()
    if path.exists() and path.is_dir():
        raise ConfigError(f"--store {path} is a folder; give a file, e.g. {path / 'runs.duckdb'}.")
    # The store is opened once here, so a file that is not a run store (or is held by another
    # process) is refused before the server starts.
    RunStore.open(path).close()
    os.environ.update(WebSettings(store_path=str(path),
                                  max_upload_bytes=int(max_upload_mb * 1e6),
                                  num_workers=workers, max_queued=max_queued,
                                  bind=f"{host}:{port}").to_env())
    _err.print(f"tokenworks dashboard on http://{'127.0.0.1' if host == '0.0.0.0' else host}:"
               f"{port}/ (runs stored in {path}; Ctrl-C stops)", soft_wrap=True)
    uvicorn.run(APP, factory=True, host=host, port=port, log_level="warning")


def _check_host(host: str, port: int) -> None:
    """A host name or address this machine can bind (``ConfigError`` naming it otherwise)."""
    if not host or len(host) > 253:
        raise ConfigError(f"--host {host!r} is not a host name or address; use e.g. 127.0.0.1 "
                          f"(this machine) or 0.0.0.0 (every interface).")
    try:
        socket.getaddrinfo(host, port)
    except (OSError, UnicodeError):
        raise ConfigError(f"--host {host!r} does not resolve on this machine; use an address "
                          f"it has, e.g. 127.0.0.1 or 0.0.0.0.") from None


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the app."""
    app.command("serve")(serve_command)
