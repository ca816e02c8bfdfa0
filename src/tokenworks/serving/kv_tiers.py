"""The tiered KV warehouse below HBM: host DRAM → local NVMe → remote pool.

Units: bytes, bytes/s, seconds. Each tier is a capacity-limited LRU store of prefix blocks keyed
by their chained hash (the unit of the prefix cache). A prefix block evicted from HBM is
demoted into the first tier; a tier that overflows demotes its least recently used block into
the next one; the last tier drops it. A lookup that misses HBM continues down the tiers; the
blocks found are promoted back into HBM and the request pays the load time

    t_load = sum over tiers touched of (bytes_read / read_bytes_per_s + latency_s)

as in Mooncake's store (Qin et al., FAST 2025, arXiv:2407.00079) and LMCache
(https://docs.lmcache.ai). Capacities and bandwidths come from the system catalog.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from tokenworks.errors import ConfigError, check_range
from tokenworks.hardware import System

__all__ = ["TIER_NAMES", "TierRequest", "TierSpec", "TierStats", "TieredStore",
           "replica_tiers"]

# ASSUMPTION: half of a node's host DRAM is given to the KV warehouse (the rest holds the OS,
# the engine, pinned staging buffers); LMCache/Mooncake leave this to the operator.
HOST_DRAM_KV_FRAC = 0.5
# ASSUMPTION: access latencies per tier: host DRAM over PCIe/C2C ~10 us, local NVMe ~100 us
# (datasheet 4K random-read latencies are 60-100 us), remote RDMA pool ~200 us incl. lookup.
TIER_LATENCY_S = {"dram": 10e-6, "nvme": 100e-6, "remote": 200e-6}
TIER_NAMES = tuple(TIER_LATENCY_S)
# ASSUMPTION: a remote pool with no capacity given holds 100 TB per replica (effectively
# unlimited for an hour of trace).
REMOTE_DEFAULT_BYTES = 100e12


@dataclass(frozen=True, slots=True, kw_only=True)
class TierSpec:
    """One KV tier below HBM."""

    name: str
    capacity_bytes: float
    read_bytes_per_s: float
    write_bytes_per_s: float
    latency_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.name or self.name == "hbm":
            raise ConfigError(f"KV tier name {self.name!r} is reserved or empty; use e.g. 'dram'.")
        check_range(f"kv tier {self.name} capacity_bytes", self.capacity_bytes, low=0.0, unit="B")
        check_range(f"kv tier {self.name} read_bytes_per_s", self.read_bytes_per_s, low=0.0,
                    low_inclusive=False, unit="B/s")
        check_range(f"kv tier {self.name} write_bytes_per_s", self.write_bytes_per_s, low=0.0,
                    low_inclusive=False, unit="B/s")
        check_range(f"kv tier {self.name} latency_s", self.latency_s, low=0.0, unit="s")


@dataclass(slots=True)
class TierStats:
    """Counters for one tier (mutable simulation state)."""

    num_hit_blocks: int = 0
    num_hit_tokens: int = 0
    num_demoted_blocks: int = 0
    num_dropped_blocks: int = 0
    bytes_read: float = 0.0
    bytes_written: float = 0.0
    load_time_s: float = 0.0


class TieredStore:
    """The chain of lower tiers with LRU demotion."""

    __slots__ = ("_stores", "_used_bytes", "specs", "stats")

    def __init__(self, specs: tuple[TierSpec, ...]) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ConfigError(f"KV tier names must be unique; got {names}.")
        self.specs = tuple(specs)
        self._stores: list[OrderedDict[int, float]] = [OrderedDict() for _ in specs]
        self._used_bytes = [0.0 for _ in specs]
        self.stats = {s.name: TierStats() for s in specs}

    def __bool__(self) -> bool:
        return bool(self.specs)

    def used_bytes(self, tier: int) -> float:
        return self._used_bytes[tier]

    def find(self, block_hash: int) -> int | None:
        """Index of the highest tier holding ``block_hash`` (read-only), or None."""
        for i, store in enumerate(self._stores):
            if block_hash in store:
                return i
        return None

    def demote(self, block_hash: int, num_bytes: float, tier: int = 0) -> None:
        """Write a block evicted from the tier above into ``tier`` (LRU on overflow)."""
        if tier >= len(self.specs):
            return
        spec, store = self.specs[tier], self._stores[tier]
        stats = self.stats[spec.name]
        if block_hash in store:
            store.move_to_end(block_hash)
            return
        if num_bytes > spec.capacity_bytes:
            stats.num_dropped_blocks += 1
            self.demote(block_hash, num_bytes, tier + 1)
            return
        # ASSUMPTION: demotion writes run asynchronously (copy engines / storage threads) and
        # never delay a forward step; only their bytes are counted.
        store[block_hash] = num_bytes
        self._used_bytes[tier] += num_bytes
        stats.num_demoted_blocks += 1
        stats.bytes_written += num_bytes
        while self._used_bytes[tier] > spec.capacity_bytes:
            victim, victim_bytes = store.popitem(last=False)
            self._used_bytes[tier] -= victim_bytes
            stats.num_dropped_blocks += 1
            self.demote(victim, victim_bytes, tier + 1)

    def load(self, hits: list[tuple[int, int]], num_bytes_per_block: float,
             tokens_per_block: int) -> tuple[float, dict[str, int]]:
        """Read blocks ``(hash, tier)`` for promotion; return (load time s, tokens by tier).

        ASSUMPTION: lower tiers keep their copy on promotion (inclusive caching, as LMCache's
        local CPU backend), so a block evicted again from HBM is already there.
        """
        per_tier: dict[int, int] = {}
        for h, tier in hits:
            self._stores[tier].move_to_end(h)
            per_tier[tier] = per_tier.get(tier, 0) + 1
        load_s = 0.0
        tokens_by_tier: dict[str, int] = {}
        for tier, count in sorted(per_tier.items()):
            spec = self.specs[tier]
            stats = self.stats[spec.name]
            num_bytes = count * num_bytes_per_block
            # t = bytes / read bandwidth + access latency, once per tier touched (module docstring).
            # ASSUMPTION: tiers are read one after another (times add), one latency per tier.
            t = num_bytes / spec.read_bytes_per_s + spec.latency_s
            load_s += t
            stats.num_hit_blocks += count
            stats.num_hit_tokens += count * tokens_per_block
            stats.bytes_read += num_bytes
            stats.load_time_s += t
            tokens_by_tier[spec.name] = count * tokens_per_block
        return load_s, tokens_by_tier

    def swap_time_s(self, num_bytes: float, *, write: bool) -> float:
        """Time to move ``num_bytes`` to/from the first tier (swap preemption)."""
        spec = self.specs[0]
        bw = spec.write_bytes_per_s if write else spec.read_bytes_per_s
        return num_bytes / bw + spec.latency_s


@dataclass(frozen=True, slots=True, kw_only=True)
class TierRequest:
    """A tier as a scenario asks for it: any value left None comes from the system catalog."""

    name: str  # one of TIER_NAMES
    capacity_bytes: float | None = None
    read_bytes_per_s: float | None = None
    write_bytes_per_s: float | None = None
    latency_s: float | None = None


def replica_tiers(requests: tuple[TierRequest, ...], system: System | None,
                  num_gpus: int) -> tuple[TierSpec, ...]:
    """Per-replica KV tiers: the requested values, else the system's, scaled to the replica's
    share of its node (``num_gpus`` of ``system.num_accelerators``)."""
    out = []
    share = num_gpus / system.num_accelerators if system is not None else 0.0
    for t in requests:
        if t.name not in TIER_LATENCY_S:
            raise ConfigError(f"KV tier {t.name!r} is unknown; use one of "
                              f"{', '.join(TIER_NAMES)}.")
        cap, read, write = t.capacity_bytes, t.read_bytes_per_s, t.write_bytes_per_s
        if system is not None:
            if t.name == "dram":
                cap = cap if cap is not None else system.host_dram_bytes * share * HOST_DRAM_KV_FRAC
                # Each GPU copies its KV shard over its own host link.
                read = read or system.host_to_device_bytes_per_s * num_gpus
                write = write or system.host_to_device_bytes_per_s * num_gpus
            elif t.name == "nvme":
                cap = cap if cap is not None else system.local_nvme_bytes * share
                read = read or system.local_nvme_read_bytes_per_s * share
                write = write or system.local_nvme_write_bytes_per_s * share
            else:
                cap = cap if cap is not None else REMOTE_DEFAULT_BYTES
                nic = system.nic_bytes_per_s * system.num_nics * share
                read, write = read or nic, write or nic
        missing = [k for k, v in (("capacity_gb", cap), ("read_gb_per_s", read),
                                  ("write_gb_per_s", write)) if v is None]
        if missing:
            raise ConfigError(f"cache tier '{t.name}': no catalog system supplies defaults; "
                              f"give {', '.join(missing)} in the tier or set hardware.system.")
        assert cap is not None and read is not None and write is not None
        out.append(TierSpec(name=t.name, capacity_bytes=float(cap), read_bytes_per_s=read,
                            write_bytes_per_s=write,
                            latency_s=TIER_LATENCY_S[t.name] if t.latency_s is None
                            else t.latency_s))
    return tuple(out)
