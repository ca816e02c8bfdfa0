"""What the web dashboard runs with, and how ``tokenworks serve`` hands it over.

The CLI and the web app are siblings at the top of the layers and never import each other:
``tokenworks serve`` puts a ``WebSettings`` into ``TOKENWORKS_WEB_*`` environment variables and
names the app for uvicorn (``tokenworks.web.app:app_from_env``), which reads them back. This
module is that contract, written once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tokenworks.store import default_store_path

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "WebSettings"]

DEFAULT_MAX_UPLOAD_BYTES = 20_000_000
_ENV = "TOKENWORKS_WEB_"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSettings:
    """``store_path`` ``":memory:"`` keeps nothing; ``uploads_dir`` None: beside the store."""

    store_path: str = field(default_factory=lambda: str(default_store_path()))
    uploads_dir: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    num_workers: int = 2
    max_queued: int = 16
    bind: str = "127.0.0.1:8000"  # shown on the page

    @classmethod
    def from_env(cls) -> WebSettings:
        env, d = os.environ, cls()
        return cls(store_path=env.get(f"{_ENV}STORE") or d.store_path,
                   uploads_dir=env.get(f"{_ENV}UPLOADS") or None,
                   max_upload_bytes=int(env.get(f"{_ENV}MAX_UPLOAD_BYTES",
                                                d.max_upload_bytes)),
                   num_workers=int(env.get(f"{_ENV}WORKERS", d.num_workers)),
                   max_queued=int(env.get(f"{_ENV}MAX_QUEUED", d.max_queued)),
                   bind=env.get(f"{_ENV}BIND", d.bind))

    def to_env(self) -> dict[str, str]:
        return {f"{_ENV}STORE": self.store_path, f"{_ENV}UPLOADS": self.uploads_dir or "",
                f"{_ENV}MAX_UPLOAD_BYTES": str(self.max_upload_bytes),
                f"{_ENV}WORKERS": str(self.num_workers),
                f"{_ENV}MAX_QUEUED": str(self.max_queued), f"{_ENV}BIND": self.bind}
