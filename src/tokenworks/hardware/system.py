"""Systems: nodes and racks that hold accelerators (HGX/DGX, NVL72, TPU slices, Trn2 servers).

The system catalog (``data/systems.toml``) supplies what the serving simulator's KV warehouse
and the economics layer need beyond the chip: host CPU cores and DRAM, local NVMe, NICs,
host-device link, node and rack power, cooling class. Units inside: bytes, bytes/s, W.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import Field, model_validator

from tokenworks.catalog import Sourced, TomlEntries, data_path, read_toml, validate_entries
from tokenworks.errors import CatalogError, unknown_name
from tokenworks.units import BITS_PER_BYTE, GB, KW, TB

Cooling = Literal["air", "liquid-to-air", "liquid-to-liquid", "immersion", "passive"]


class SystemEntry(Sourced):
    """One ``[[system]]`` table as written in the catalog file."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    display_name: str
    accelerator: str
    num_accelerators: int = Field(ge=1, description="accelerators in one node / unit")
    nodes_per_rack: int | None = Field(default=None, ge=1)
    accelerators_per_scaleup_domain: int | None = Field(default=None, ge=1)
    host_cpu: str
    host_cpu_cores: int = Field(ge=1, description="physical cores per node")
    host_dram_gb: float = Field(gt=0)
    host_dram_bandwidth_gb_per_s: float | None = Field(default=None, gt=0)
    host_to_device_gb_per_s: float = Field(gt=0, description="per accelerator, one direction")
    local_nvme_tb: float = Field(ge=0)
    local_nvme_read_gb_per_s: float = Field(ge=0)
    local_nvme_write_gb_per_s: float = Field(ge=0)
    num_nics: int = Field(ge=0)
    nic_gbit_per_s: float = Field(ge=0, description="per NIC")
    node_power_kw: float = Field(gt=0, description="max node / unit power")
    rack_power_kw: float | None = Field(default=None, gt=0)
    cooling: Cooling
    list_price_usd: float | None = Field(default=None, gt=0)
    # A second accelerator kind in the same unit, dedicated to prefill (e.g. Rubin CPX in a
    # Vera Rubin NVL144 CPX rack). node power covers both kinds.
    prefill_accelerator: str | None = None
    num_prefill_accelerators: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _prefill_pair(self) -> SystemEntry:
        if (self.prefill_accelerator is None) != (self.num_prefill_accelerators == 0):
            raise ValueError("give prefill_accelerator and num_prefill_accelerators >= 1 together")
        return self


@dataclass(frozen=True, slots=True, kw_only=True)
class System:
    """A node (or rack-scale unit) in SI units."""

    name: str
    display_name: str
    accelerator: str
    num_accelerators: int
    nodes_per_rack: int | None
    scaleup_domain_size: int | None
    host_cpu: str
    host_cpu_cores: int
    host_dram_bytes: float
    host_dram_bytes_per_s: float | None
    host_to_device_bytes_per_s: float
    local_nvme_bytes: float
    local_nvme_read_bytes_per_s: float
    local_nvme_write_bytes_per_s: float
    num_nics: int
    nic_bytes_per_s: float
    node_power_w: float
    rack_power_w: float | None
    cooling: str
    list_price_usd: float | None
    source_url: str
    source_title: str
    as_of: str
    prefill_accelerator: str | None = None  # second accelerator kind dedicated to prefill
    num_prefill_accelerators: int = 0


def _to_spec(e: SystemEntry) -> System:
    return System(
        name=e.name, display_name=e.display_name, accelerator=e.accelerator,
        num_accelerators=e.num_accelerators, nodes_per_rack=e.nodes_per_rack,
        scaleup_domain_size=e.accelerators_per_scaleup_domain, host_cpu=e.host_cpu,
        host_cpu_cores=e.host_cpu_cores, host_dram_bytes=e.host_dram_gb * GB,
        host_dram_bytes_per_s=None if e.host_dram_bandwidth_gb_per_s is None
        else e.host_dram_bandwidth_gb_per_s * GB,
        host_to_device_bytes_per_s=e.host_to_device_gb_per_s * GB,
        local_nvme_bytes=e.local_nvme_tb * TB,
        local_nvme_read_bytes_per_s=e.local_nvme_read_gb_per_s * GB,
        local_nvme_write_bytes_per_s=e.local_nvme_write_gb_per_s * GB,
        num_nics=e.num_nics, nic_bytes_per_s=e.nic_gbit_per_s * 1e9 / BITS_PER_BYTE,
        node_power_w=e.node_power_kw * KW,
        rack_power_w=None if e.rack_power_kw is None else e.rack_power_kw * KW,
        cooling=e.cooling, list_price_usd=e.list_price_usd,
        source_url=e.source_url, source_title=e.source_title, as_of=e.as_of,
        prefill_accelerator=e.prefill_accelerator,
        num_prefill_accelerators=e.num_prefill_accelerators,
    )


@cache
def system_entries() -> tuple[SystemEntry, ...]:
    path = data_path("systems.toml")
    raw = read_toml(path)
    unknown = set(raw) - {"system"}
    if unknown:
        raise CatalogError(f"{path.name}: unknown top-level keys {sorted(unknown)}; "
                           f"only [[system]] tables are allowed.")
    return tuple(validate_entries(SystemEntry, raw.get("system", []), file=path, kind="system"))


@cache
def _catalog() -> dict[str, System]:
    return {e.name: _to_spec(e) for e in system_entries()}


def list_systems() -> list[System]:
    return list(_catalog().values())


@cache
def _first(key: str, value: str) -> System | None:
    """The first entry whose ``key`` is ``value``, parsed and validated alone (None: ask the
    full catalog).

    NOTE: one entry instead of the whole file (~10 ms) on a process's first lookup, for
    performance; the result equals the full catalog's.
    """
    path = data_path("systems.toml")
    raw = TomlEntries(path, "system").find(key, value)
    if raw is None:
        return None
    return _to_spec(validate_entries(SystemEntry, [raw], file=path, kind="system")[0])


def get_system(name: str) -> System:
    key = name.strip().lower()
    if not _catalog.cache_info().currsize:
        found = _first("name", key)
        if found is not None:
            return found
    cat = _catalog()
    if key not in cat:
        raise unknown_name("system", name, cat)
    return cat[key]


def default_system_for(accelerator: str) -> System | None:
    """The first catalog system built from ``accelerator`` (used for host DRAM/NVMe defaults)."""
    if not _catalog.cache_info().currsize:
        found = _first("accelerator", accelerator)
        if found is not None:
            return found
    for s in _catalog().values():
        if s.accelerator == accelerator:
            return s
    return None
