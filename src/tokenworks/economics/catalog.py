"""Economics catalogs: GPU prices, API list prices, finance defaults and electricity grids.

Three packaged files, each entry sourced (``source_url``, ``source_title``, ``as_of``):

- ``data/prices.toml``: ``[[gpu]]`` rental $/h and capex $ per accelerator;
  ``[[api_price]]`` list prices in $/M tokens (input, cached input, output).
- ``data/finance.toml``: ``[[param]]`` named defaults (rates, lives, PUE, $/kWh, ...), each
  with a unit and the valid range used to check overrides.
- ``data/grids.toml``: ``[[grid]]`` carbon intensity gCO2/kWh (and water L/kWh if sourced).

Units: catalog files keep display units in key names (``_usd_per_hour``, ``_g_per_kwh``);
callers convert with ``tokenworks.units``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import Field

from tokenworks.catalog import Sourced, TomlEntries, data_path, read_toml, validate_entries
from tokenworks.errors import CatalogError, check_range, unknown_name


class GpuPriceEntry(Sourced):
    """Rental and purchase prices for one accelerator (``[[gpu]]``)."""

    accelerator: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    rental_usd_per_hour: float | None = Field(default=None, gt=0,
                                              description="typical on-demand $/GPU-hour")
    rental_usd_per_hour_low: float | None = Field(default=None, gt=0)
    rental_usd_per_hour_high: float | None = Field(default=None, gt=0)
    accelerator_capex_usd: float | None = Field(default=None, gt=0, description="the chip/module")
    server_capex_usd_per_accelerator: float | None = Field(
        default=None, gt=0, description="all-in node share: chip, host, NICs, chassis")



class ApiPriceEntry(Sourced):
    """A provider's list price for one model in $ per million tokens (``[[api_price]]``)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    provider: str
    model: str
    input_usd_per_mtok: float = Field(ge=0)
    cached_input_usd_per_mtok: float | None = Field(default=None, ge=0)
    output_usd_per_mtok: float = Field(ge=0)


class FinanceParamEntry(Sourced):
    """One named default (``[[param]]``): value, unit, the valid range for overrides."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    value: float
    unit: str
    valid_low: float
    valid_high: float
    basis: Literal["sourced", "assumption"] = "sourced"
    description: str = Field(min_length=5)


class GridEntry(Sourced):
    """An electricity grid's carbon intensity (``[[grid]]``)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    display_name: str
    year: int = Field(ge=2000, le=2100)
    carbon_g_per_kwh: float = Field(ge=0, le=1500)


@dataclass(frozen=True, slots=True, kw_only=True)
class FinanceParam:
    """A finance default in catalog units (fractions stay fractions, $ stay $)."""

    name: str
    value: float
    unit: str
    valid_low: float
    valid_high: float
    basis: str
    description: str
    source_url: str
    source_title: str
    as_of: str


@cache
def _prices_raw() -> dict:
    path = data_path("prices.toml")
    raw = read_toml(path)
    unknown = set(raw) - {"gpu", "api_price"}
    if unknown:
        raise CatalogError(f"{path.name}: unknown top-level keys {sorted(unknown)}; "
                           f"only [[gpu]] and [[api_price]] tables are allowed.")
    return raw


@cache
def gpu_price_entries() -> tuple[GpuPriceEntry, ...]:
    path = data_path("prices.toml")
    rows = _prices_raw().get("gpu", [])
    # validate_entries names entries by raw["name"]; give it the accelerator name for messages.
    out: list[GpuPriceEntry] = []
    seen: set[str] = set()
    for e in validate_entries(GpuPriceEntry, [dict(r) for r in rows], file=path, kind="gpu"):
        if e.accelerator in seen:
            raise CatalogError(f"{path.name}: gpu '{e.accelerator}' appears twice.")
        seen.add(e.accelerator)
        lo, hi = e.rental_usd_per_hour_low, e.rental_usd_per_hour_high
        if lo is not None and hi is not None and lo > hi:
            raise CatalogError(f"{path.name}: gpu '{e.accelerator}' rental low {lo} > high {hi}.")
        out.append(e)
    return tuple(out)


@cache
def api_price_entries() -> tuple[ApiPriceEntry, ...]:
    path = data_path("prices.toml")
    return tuple(validate_entries(ApiPriceEntry, _prices_raw().get("api_price", []),
                                  file=path, kind="api_price"))


@cache
def finance_entries() -> tuple[FinanceParamEntry, ...]:
    path = data_path("finance.toml")
    raw = read_toml(path)
    if set(raw) - {"param"}:
        raise CatalogError(f"{path.name}: unknown top-level keys {sorted(set(raw) - {'param'})}; "
                           f"only [[param]] tables are allowed.")
    entries = tuple(validate_entries(FinanceParamEntry, raw.get("param", []), file=path,
                                     kind="param"))
    for e in entries:
        if not (e.valid_low <= e.value <= e.valid_high):
            raise CatalogError(f"{path.name}: param '{e.name}' = {e.value} lies outside its own "
                               f"valid range [{e.valid_low}, {e.valid_high}].")
    return entries


@cache
def grid_entries() -> tuple[GridEntry, ...]:
    path = data_path("grids.toml")
    raw = read_toml(path)
    if set(raw) - {"grid"}:
        raise CatalogError(f"{path.name}: only [[grid]] tables are allowed.")
    return tuple(validate_entries(GridEntry, raw.get("grid", []), file=path, kind="grid"))


def get_gpu_price(accelerator: str) -> GpuPriceEntry | None:
    """The price entry for ``accelerator``, or None when the prices catalog has none."""
    key = accelerator.strip().lower()
    for e in gpu_price_entries():
        if e.accelerator == key:
            return e
    return None


def get_api_price(name: str) -> ApiPriceEntry:
    cat = {e.name: e for e in api_price_entries()}
    key = name.strip().lower()
    if key not in cat:
        raise unknown_name("api_price", name, cat)
    return cat[key]


def get_grid(name: str) -> GridEntry:
    cat = {e.name: e for e in grid_entries()}
    key = name.strip().lower()
    if key not in cat:
        raise unknown_name("grid", name, cat)
    return cat[key]


def _param(e: FinanceParamEntry) -> FinanceParam:
    return FinanceParam(
        name=e.name, value=e.value, unit=e.unit, valid_low=e.valid_low, valid_high=e.valid_high,
        basis=e.basis, description=e.description, source_url=e.source_url,
        source_title=e.source_title, as_of=e.as_of)


@cache
def _params() -> dict[str, FinanceParam]:
    return {e.name: _param(e) for e in finance_entries()}


@cache
def _one_param(name: str) -> FinanceParam | None:
    """The param ``name`` parsed and checked alone (None: ask the full catalog).

    NOTE: one entry instead of the whole file (~10 ms of a first simulate()), for
    performance; the result equals the full catalog's (see catalog.TomlEntries).
    """
    path = data_path("finance.toml")
    raw = TomlEntries(path, "param").find("name", name)
    if raw is None:
        return None
    e = validate_entries(FinanceParamEntry, [raw], file=path, kind="param")[0]
    return _param(e) if e.valid_low <= e.value <= e.valid_high else None


def list_finance_params() -> list[FinanceParam]:
    return list(_params().values())


def finance_param(name: str) -> FinanceParam:
    """A finance default by exact name; a miss raises with did-you-mean suggestions."""
    if not _params.cache_info().currsize:
        one = _one_param(name)
        if one is not None:
            return one
    p = _params()
    if name not in p:
        raise unknown_name("finance param", name, p)
    return p[name]


def finance_default(name: str) -> float:
    return finance_param(name).value


def check_param(name: str, value: float) -> float:
    """Check a user override of a finance param against the catalog's valid range."""
    p = finance_param(name)
    return check_range(name, value, low=p.valid_low, high=p.valid_high, unit=p.unit,
                       fix=f"Default is {p.value:g} {p.unit} ({p.source_title}, {p.as_of}).")


def resolve_params(
    names: tuple[str, ...] | list[str], overrides: dict[str, float | None]
) -> tuple[dict[str, float], tuple[str, ...]]:
    """Values for ``names``: each override checked against its valid range, else the default.

    Returns (values, defaults_used) so outputs can say which sourced defaults were applied.
    """
    unknown = set(overrides) - set(names)
    if unknown:
        raise CatalogError(f"unknown input(s) {sorted(unknown)}; valid: {', '.join(names)}.")
    values: dict[str, float] = {}
    used: list[str] = []
    for n in names:
        v = overrides.get(n)
        if v is None:
            values[n] = finance_default(n)
            used.append(n)
        else:
            values[n] = check_param(n, float(v))
    return values, tuple(used)


def describe_defaults(names: tuple[str, ...] | list[str]) -> list[str]:
    """One line per default used: 'name = value unit (source, as_of)'."""
    out = []
    for n in names:
        p = finance_param(n)
        tag = " [assumption]" if p.basis == "assumption" else ""
        out.append(f"{n} = {p.value:g} {p.unit}{tag} ({p.source_title}, {p.as_of})")
    return out
