"""The model catalog: ``data/models.toml`` (index with sources) + ``data/models/*.json``.

Each entry points at the model's Hugging Face ``config.json``, kept verbatim as the facts, and
records the parameter counts its model card publishes (billions in the file, parameters inside).
Lookups are case-insensitive by catalog name or Hugging Face repo; a path loads any config.json.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

from pydantic import Field

from tokenworks.catalog import (
    Sourced,
    TomlEntries,
    data_path,
    read_json,
    read_toml,
    validate_entries,
)
from tokenworks.errors import CatalogError, unknown_name
from tokenworks.model.arch import ModelArch
from tokenworks.model.config import arch_from_config, load_config_file
from tokenworks.units import BILLION


class ModelEntry(Sourced):
    """One ``[[model]]`` table of ``models.toml``; ``source_url`` is the config.json on HF."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    display_name: str = Field(min_length=2)
    config: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*\.json$")
    hf_repo: str | None = Field(default=None, description="None when no HF repo exists (GPT-3)")
    published_params_total_b: float = Field(gt=0)
    published_params_active_b: float = Field(gt=0)
    # Whether the published active count includes the input embedding (gpt-oss excludes it).
    published_active_includes_embedding: bool = True
    # The published figures are printed to this resolution in billions (1 for "37B", 0.01 for
    # "6.74B"); a figure may be rounded or truncated, so the check allows one unit of it when
    # that exceeds 1%.
    published_params_resolution_b: float = Field(default=0.0, ge=0)
    # The published total counts a tower tokenworks does not model (Llama-4 vision encoder).
    published_total_includes_vision: bool = False
    params_source_url: str | None = None
    params_source_title: str | None = None


@cache
def model_entries() -> tuple[ModelEntry, ...]:
    """All index entries as written (display name, hf_repo, sources) for listing and lint."""
    path = data_path("models.toml")
    raw = read_toml(path)
    unknown = set(raw) - {"model"}
    if unknown:
        raise CatalogError(f"{path.name}: unknown top-level keys {sorted(unknown)}; "
                           f"only [[model]] tables are allowed.")
    return tuple(validate_entries(ModelEntry, raw.get("model", []), file=path, kind="model"))


def _build(entry: ModelEntry) -> ModelArch:
    path = data_path(f"models/{entry.config}")
    if not path.exists():
        raise CatalogError(f"models.toml: model '{entry.name}' points at config '{entry.config}', "
                           f"which is not in data/models/. Add the file or fix the entry.")
    arch = arch_from_config(read_json(path), name=entry.name, source=str(path))
    return dataclasses.replace(
        arch,
        published_params_total=entry.published_params_total_b * BILLION,
        published_params_active=entry.published_params_active_b * BILLION,
    )


@cache
def _catalog() -> dict[str, ModelArch]:
    return {e.name: _build(e) for e in model_entries()}


def list_models() -> list[ModelArch]:
    """Every catalog model, in index order."""
    return list(_catalog().values())


@cache
def _one(key: str) -> ModelArch | None:
    """The model named ``key`` built from its entry alone (None: ask the full catalog).

    NOTE: one index entry and one config.json instead of all of them (~30 ms) on a
    process's first lookup, for performance; the result equals the full catalog's.
    """
    path = data_path("models.toml")
    raw = TomlEntries(path, "model").find("name", key)
    if raw is None:
        return None
    return _build(validate_entries(ModelEntry, [raw], file=path, kind="model")[0])


def get_model(name_or_path: str) -> ModelArch:
    """A catalog model by name or HF repo (case-insensitive), or a config.json file / directory."""
    key = name_or_path.strip().lower()
    if not _catalog.cache_info().currsize:
        arch = _one(key)
        if arch is not None:
            return arch
    cat = _catalog()
    if key in cat:
        return cat[key]
    for e in model_entries():
        if e.hf_repo is not None and e.hf_repo.lower() == key:
            return cat[e.name]
    if not key:
        raise unknown_name("model", name_or_path, cat)
    p = Path(name_or_path).expanduser()
    try:
        is_path = p.exists()
    except OSError:  # not a name the file system can hold (e.g. too long): not a path
        is_path = False
    if is_path or key.endswith(".json"):
        return load_config_file(p)
    raise unknown_name("model", name_or_path, cat)
