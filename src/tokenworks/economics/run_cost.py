"""Cost and energy of a simulated run: GPU-hours at a price, accelerator and node energy.

Units: USD, J, W, s. The serving simulator reports each replica's busy fraction; the power
model (power.py) turns it into average draw, and the price turns GPU-hours into dollars. The
numbers land in the run's summary under the keys of ``RunCost.summary_fields``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tokenworks.economics.power import accelerator_power_w, host_overhead_frac
from tokenworks.economics.token_cost import default_usd_per_gpu_hour
from tokenworks.errors import ConfigError
from tokenworks.hardware import Accelerator
from tokenworks.units import MILLION

__all__ = ["ReplicaUse", "RunCost", "fleet_price", "run_cost"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaUse:
    """One replica of a run: its accelerator, GPUs and busy share of the run."""

    accelerator: Accelerator
    num_gpus: int
    busy_frac: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCost:
    usd_per_gpu_hour: float | None  # None: no price known (give one)
    price_source: str
    cost_usd: float | None
    usd_per_million_output_tokens: float | None
    energy_j: float  # accelerators
    node_energy_j: float  # accelerators plus host overhead (CPUs, NICs, fans)
    joules_per_output_token: float | None

    def summary_fields(self) -> dict[str, Any]:
        return {"usd_per_gpu_hour": self.usd_per_gpu_hour, "price_source": self.price_source,
                "cost_usd": self.cost_usd,
                "usd_per_million_output_tokens": self.usd_per_million_output_tokens,
                "energy_j": self.energy_j, "node_energy_j": self.node_energy_j,
                "joules_per_output_token": self.joules_per_output_token}


def fleet_price(pools: Sequence[tuple[Accelerator, int]]) -> tuple[float | None, str]:
    """$/GPU-hour of a fleet of ``(accelerator, GPUs)`` pools from the catalogs, GPU-weighted,
    and its source; None (with the fix) when a part has no price."""
    total, sources, gpus = 0.0, [], 0
    for acc, n in pools:
        try:
            usd, src = default_usd_per_gpu_hour(acc)
        except ConfigError:
            return None, (f"no rental price for {acc.name} in the catalogs; set "
                          f"price.usd_per_gpu_hour in the scenario")
        total += usd * n
        gpus += n
        sources.append(f"{acc.name}: {src}")
    return total / gpus, "; ".join(sources)


def run_cost(*, replicas: Sequence[ReplicaUse], duration_s: float, gpu_hours: float,
             output_tokens: float, usd_per_gpu_hour: float | None,
             price_source: str) -> tuple[RunCost, list[str]]:
    """Price and energy of a run, and a warning when there is no price."""
    warnings = [] if usd_per_gpu_hour is not None else [f"cost not computed: {price_source}."]
    cost = None if usd_per_gpu_hour is None else gpu_hours * usd_per_gpu_hour
    energy = node_energy = 0.0
    for r in replicas:
        e = accelerator_power_w(r.accelerator, r.busy_frac) * r.num_gpus * duration_s
        energy += e
        node_energy += e * (1.0 + host_overhead_frac(r.accelerator)[0])
    return RunCost(
        usd_per_gpu_hour=usd_per_gpu_hour, price_source=price_source, cost_usd=cost,
        usd_per_million_output_tokens=cost / output_tokens * MILLION
        if output_tokens and cost is not None else None,
        energy_j=energy, node_energy_j=node_energy,
        joules_per_output_token=energy / output_tokens if output_tokens else None), warnings

