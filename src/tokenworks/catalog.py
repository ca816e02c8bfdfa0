"""Reading catalog files: TOML with sources, validated by pydantic at the edge.

Every catalog entry carries ``source_url``, ``source_title`` and ``as_of`` (STYLE.md section 4).
This module owns reading the packaged data files and turning pydantic validation failures into
one-line ``CatalogError`` messages that name the file, the entry and the field.
"""

from __future__ import annotations

import json
import tomllib
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


def data_path(name: str) -> Path:
    """Filesystem path of a packaged data file (``data/<name>``)."""
    return Path(str(resources.files(DATA_PACKAGE).joinpath(name)))


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as e:
        raise CatalogError(f"catalog file {path} does not exist.") from e
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"catalog file {path} is not valid TOML: {e}.") from e


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
