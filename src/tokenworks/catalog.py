"""Reading catalog files: TOML with sources, validated by pydantic at the edge.

Every catalog entry carries ``source_url``, ``source_title`` and ``as_of`` (STYLE.md section 4).
This module owns reading the packaged data files and turning pydantic validation failures into
one-line ``CatalogError`` messages that name the file, the entry and the field.
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tokenworks.errors import CatalogError

DATA_PACKAGE = "tokenworks.data"

T = TypeVar("T", bound=BaseModel)


class SourceRef(BaseModel):
    """An extra source for some fields of an entry (e.g. the price of an accelerator)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = Field(min_length=8)
    title: str = Field(min_length=3)
    as_of: str = Field(min_length=4)
    covers: list[str] = Field(default_factory=list, description="fields this source supports")


class Sourced(BaseModel):
    """Base for catalog entries: every entry says where its numbers come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source_url: str = Field(min_length=8)
    source_title: str = Field(min_length=3)
    as_of: str = Field(min_length=4, description="YYYY-MM or YYYY-MM-DD the source was read")
    extra_sources: list[SourceRef] = Field(default_factory=list)
    notes: str = ""

    @field_validator("source_url")
    @classmethod
    def _url_like(cls, v: str) -> str:
        # "seed:<file>" cites one of the project's source documents (../shared/seeds/) when
        # a figure comes from there and its primary source could not be retrieved.
        if not v.startswith(("http://", "https://", "github:", "seed:")):
            raise ValueError("source_url must start with https://, http://, github: or seed:")
        return v


@cache
def _data_dir() -> Path:
    # NOTE: resolved once (importlib.resources.files costs ~0.3 ms a call), for performance.
    return Path(str(resources.files(DATA_PACKAGE)))


def data_path(name: str) -> Path:
    """Filesystem path of a packaged data file (``data/<name>``)."""
    return _data_dir() / name


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as e:
        raise CatalogError(f"catalog file {path} does not exist.") from e
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"catalog file {path} is not valid TOML: {e}.") from e


_SUBTABLE = re.compile(r"^[ \t]*\[", re.M)
_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*([^\]\s]*)", re.M)
_ENTRY_HEADER = re.compile(r"^\[\[([^\]\s]+)\]\][ \t]*(?:#[^\n]*)?$", re.M)


def _one_line_string(text: str, key: str) -> str | None:
    """The value of the first line ``key = "value"`` in ``text`` (a one-line basic string
    without escapes, optionally followed by a comment); None when there is no such line."""
    for line in text.splitlines():
        if not line.startswith(key):
            continue
        rest = line[len(key):].lstrip(" \t")
        if not rest.startswith("="):
            continue
        rest = rest[1:].lstrip(" \t")
        end = rest.find('"', 1)
        if not rest.startswith('"') or end < 0:
            return None
        value, tail = rest[1:end], rest[end + 1:].strip(" \t")
        if "\\" in value or (tail and not tail.startswith("#")):
            return None
        return value
    return None


class TomlEntries:
    """The ``[[table]]`` entries of one catalog file, each parsed only when asked for.

    NOTE: parsing a whole catalog with tomllib costs ~1 ms per entry; a simulation needs one
    accelerator, one system and one model, so :meth:`find` splits the text at the ``[[table]]``
    headers and parses only the entry it returns, for performance. It answers None whenever
    only a full read can tell (text before the first entry, repeated names, an entry that does
    not parse on its own, or no match); callers then use the full, validated read, so a
    lookup's result and errors are those of the full read.
    """

    def __init__(self, path: Path, table: str) -> None:
        self.path, self.table = path, table
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as e:
            raise CatalogError(f"catalog file {path} does not exist.") from e
        starts = [m.start() for m in _ENTRY_HEADER.finditer(text) if m.group(1) == table]
        ends = [*starts[1:], len(text)]
        self.chunks = [text[a:b] for a, b in zip(starts, ends, strict=True)]
        preamble = text[: starts[0]] if starts else text
        # Usable when the file holds only [[table]] entries (and their sub-tables).
        self.usable = bool(starts) and all(
            not line.strip() or line.lstrip().startswith("#") for line in preamble.splitlines()
        ) and all(m.group(1) == table or m.group(1).startswith(f"{table}.")
                  for m in _HEADER.finditer(text))
        self._parsed: dict[int, dict[str, Any] | None] = {}

    def entry(self, i: int) -> dict[str, Any] | None:
        """Entry ``i`` as parsed on its own; None if it does not parse to exactly one entry."""
        if i not in self._parsed:
            try:
                data = tomllib.loads(self.chunks[i])
            except tomllib.TOMLDecodeError:
                data = {}
            rows = data.get(self.table)
            ok = set(data) == {self.table} and isinstance(rows, list) and len(rows) == 1
            self._parsed[i] = rows[0] if ok else None
        return self._parsed[i]

    def value(self, i: int, key: str) -> Any:
        """Top-level ``key`` of entry ``i``: read off a one-line basic string, else parsed."""
        chunk = self.chunks[i]
        # Keys after a sub-table header belong to the sub-table: look only before the first.
        sub = _SUBTABLE.search(chunk, chunk.find("\n") + 1)
        own = chunk if sub is None else chunk[: sub.start()]
        found = _one_line_string(own, key)
        if found is not None:
            return found
        raw = self.entry(i)
        return None if raw is None else raw.get(key)

    def find(self, key: str, value: str) -> dict[str, Any] | None:
        """The raw first entry whose ``key`` equals ``value`` (None: use the full read)."""
        if not self.usable:
            return None
        names = [self.value(i, "name") for i in range(len(self.chunks))]
        if None in names or len(set(names)) != len(names):
            return None  # the full read names the problem
        for i in range(len(self.chunks)):
            if self.value(i, key) == value:
                raw = self.entry(i)
                if raw is not None and raw.get(key) == value:
                    return raw
                return None
        return None


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as e:
        raise CatalogError(f"file {path} does not exist.") from e
    except json.JSONDecodeError as e:
        raise CatalogError(f"file {path} is not valid JSON: {e}.") from e


def format_validation_error(err: ValidationError) -> str:
    """Flatten a pydantic error into 'field: problem; field: problem'."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(entry)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def validate_entries(
    model: type[T], entries: list[dict[str, Any]], *, file: Path, kind: str
) -> list[T]:
    """Validate each entry of a catalog table; the error names file, entry and field."""
    out: list[T] = []
    seen: set[str] = set()
    for i, raw in enumerate(entries):
        name = raw.get("name", f"#{i}")
        try:
            entry = model.model_validate(raw)
        except ValidationError as e:
            raise CatalogError(
                f"{file.name}: {kind} '{name}' is invalid: {format_validation_error(e)}. "
                f"Fix the entry (every entry needs source_url, source_title and as_of)."
            ) from e
        if name in seen:
            raise CatalogError(f"{file.name}: {kind} '{name}' appears twice; names must be unique.")
        seen.add(name)
        out.append(entry)
    return out
