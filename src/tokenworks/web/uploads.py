"""Files a dashboard user uploads (scenarios, traces, Hugging Face config.json), one folder per
client, and the only files a web run may read.

A name is a plain file name (no folders, no ``..``); a scenario's ``trace.path``, an
empirical distribution's ``trace``, its ``calibration``, a plan spec's ``demand.trace`` and
``calibration``, and a ``model`` given as a config.json must each name one of the client's
uploads, so a run never reads a server path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tokenworks.errors import ConfigError
from tokenworks.files import write_atomic

__all__ = ["UPLOAD_KINDS", "UPLOAD_PREFIX", "Uploads"]

UPLOAD_KINDS = {"scenario": (".yaml", ".yml", ".toml"), "trace": (".csv", ".jsonl", ".json"),
                "config": (".json",), "calibration": (".toml",), "plan": (".json",),
                "plan_spec": (".yaml", ".yml", ".toml", ".json")}
UPLOAD_PREFIX = "upload:"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
_PATH_KEYS = ("path", "trace", "calibration")


class Uploads:
    """The upload folder of one client (``root / client``)."""

    def __init__(self, root: Path, client: str) -> None:
        self.dir = root / client

    def check_name(self, name: str, kind: str | None = None) -> str:
        base = name.removeprefix(UPLOAD_PREFIX)
        if not _NAME.match(base) or ".." in base:
            raise ConfigError(f"upload name '{name}' is not a plain file name (letters, digits, "
                              f"'.', '_', '-'; no folders).")
        if kind is not None and not base.lower().endswith(UPLOAD_KINDS[kind]):
            raise ConfigError(f"a {kind} upload must end in {', '.join(UPLOAD_KINDS[kind])}; "
                              f"got '{base}'.")
        return base

    def save(self, name: str, data: bytes, kind: str) -> Path:
        base = self.check_name(Path(name).name, kind)
        self.dir.mkdir(parents=True, exist_ok=True)
        return write_atomic(self.dir / base, data)

    def names(self) -> list[str]:
        return sorted(p.name for p in self.dir.glob("*") if p.is_file() and
                      not p.name.startswith(".")) if self.dir.exists() else []

    def path(self, name: str, *, what: str) -> Path:
        """The uploaded file ``name`` (``upload:`` prefix allowed); ConfigError naming the
        uploads when it is not one."""
        base = self.check_name(name)
        p = self.dir / base
        if not p.is_file():
            have = ", ".join(self.names()) or "none yet"
            raise ConfigError(f"{what} '{name}' is not one of your uploads ({have}); upload the "
                              f"file first, then refer to it by its name.")
        return p

    def resolve_scenario_paths(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A scenario dict whose file references point into the uploads (see module)."""
        def walk(node: Any, key: str) -> Any:
            if isinstance(node, dict):
                return {k: walk(v, k) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v, key) for v in node]
            if isinstance(node, str) and key in _PATH_KEYS:
                return str(self.path(node, what=f"scenario {key}"))
            return node

        out = walk(raw, "")
        model = out.get("model")
        if isinstance(model, str) and (model.startswith(UPLOAD_PREFIX) or
                                       model.lower().endswith(".json")):
            out["model"] = str(self.path(model, what="model config.json"))
        return out
