"""Power, energy and facility: accelerator and node draw under load, rack, IT and facility MW.

Units inside: W, J, s, gCO2, L. Display units (kW, MW, MWh, tCO2) exist only in the CLI and
docs. Draw rises linearly from an idle floor to TDP with utilization; node power adds host
overhead from the systems catalog (or a sourced default); facility power = IT power x PUE.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenworks.errors import check_range
from tokenworks.hardware import Accelerator, System, default_system_for, get_accelerator
from tokenworks.units import KW, KWH, YEAR

# Cooling classes by rack power (seed 003: CPU racks 15-20 kW; GB200 NVL72 ~120 kW is liquid
# cooled with L2A or L2L CDUs; "at >200 kW/rack air cooling is physically inadequate").
# ASSUMPTION: air up to 40 kW/rack, liquid-to-air up to 150 kW, liquid-to-liquid above.
COOLING_LIMITS_W: tuple[tuple[str, float], ...] = (
    ("air", 40 * KW),
    ("liquid-to-air", 150 * KW),
    ("liquid-to-liquid", float("inf")),
)


def _idle_frac(idle_power_frac: float | None) -> float:
    if idle_power_frac is None:
        from tokenworks.economics.catalog import finance_default

        return finance_default("idle_power_frac")
    return check_range("idle_power_frac", idle_power_frac, low=0, high=1)


def accelerator_power_w(
    accelerator: Accelerator | str,
    utilization_frac: float,
    *,
    idle_power_frac: float | None = None,
) -> float:
    """Average accelerator draw at a utilization: idle + (TDP - idle) x utilization.

    ``utilization_frac`` is the busy share of time (e.g. a simulator's busy fraction, or 1.0
    for a saturated replica). ``idle_power_frac`` defaults to the finance catalog's value.
    """
    acc = get_accelerator(accelerator) if isinstance(accelerator, str) else accelerator
    check_range("utilization_frac", utilization_frac, low=0, high=1)
    idle = _idle_frac(idle_power_frac)
    # ASSUMPTION: draw is linear in utilization between idle and TDP (no power capping).
    return acc.tdp_w * (idle + (1.0 - idle) * utilization_frac)


def energy_per_token_j(power_w: float, tokens_per_s: float) -> float:
    """Joules per token: power (W = J/s) over throughput (tokens/s)."""
    check_range("power_w", power_w, low=0, unit="W")
    check_range("tokens_per_s", tokens_per_s, low=0, low_inclusive=False, unit="tok/s")
    return power_w / tokens_per_s


def host_overhead_frac(accelerator: Accelerator | str) -> tuple[float, str]:
    """Node power beyond the accelerators as a fraction of their TDP, and where it came from.

    From the systems catalog (node power / (n x TDP) - 1) when a system is built from this
    accelerator, else the finance catalog default (DGX H100: 10.2 kW / 5.6 kW - 1 = 0.82).
    """
    acc = get_accelerator(accelerator) if isinstance(accelerator, str) else accelerator
    sys = default_system_for(acc.name)
    if sys is not None and sys.num_accelerators > 0:
        frac = sys.node_power_w / (sys.num_accelerators * acc.tdp_w) - 1.0
        return max(frac, 0.0), f"systems catalog: {sys.name} ({sys.source_title})"
    from tokenworks.economics.catalog import finance_param

    p = finance_param("host_power_overhead_frac")
    return p.value, f"finance default host_power_overhead_frac ({p.source_title})"


def cooling_class(rack_power_w: float) -> str:
    """Cooling technology a rack of this power needs (see COOLING_LIMITS_W)."""
    for name, limit in COOLING_LIMITS_W:
        if rack_power_w <= limit:
            return name
    return COOLING_LIMITS_W[-1][0]


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerReport:
    """Power and energy of a deployment of ``num_accelerators`` at one utilization."""

    accelerator: str
    num_accelerators: int
    utilization_frac: float
    accelerator_power_w: float  # average per accelerator
    node_power_w: float  # average per node (accelerators + host overhead)
    accelerators_per_node: int
    num_nodes: int
    nodes_per_rack: int
    num_racks: int
    rack_power_w: float  # at TDP (provisioned), per rack
    cooling: str
    it_power_w: float  # average critical IT power
    it_power_provisioned_w: float  # at TDP: what the facility must be built for
    pue: float
    facility_power_w: float  # average, it_power_w x pue
    facility_power_provisioned_w: float
    annual_energy_j: float  # facility energy over a year at the average draw
    grid: str
    carbon_g_per_kwh: float
    annual_carbon_g: float
    wue_l_per_kwh: float
    annual_water_l: float  # on-site water for IT energy
    energy_per_token_j: float | None  # facility energy per token when throughput is given
    sources: tuple[str, ...]


def deployment_power(
    accelerator: Accelerator | str,
    *,
    num_accelerators: int,
    utilization_frac: float,
    pue: float,
    carbon_g_per_kwh: float,
    grid: str = "custom",
    wue_l_per_kwh: float = 0.0,
    system: System | None = None,
    tokens_per_s: float | None = None,
    idle_power_frac: float | None = None,
) -> PowerReport:
    """Per-accelerator, node, rack, IT and facility power; annual energy, carbon, water."""
    acc = get_accelerator(accelerator) if isinstance(accelerator, str) else accelerator
    if num_accelerators < 1:
        check_range("num_accelerators", num_accelerators, low=1)
    check_range("pue", pue, low=1, high=3)
    check_range("carbon_g_per_kwh", carbon_g_per_kwh, low=0, high=2000, unit="g/kWh")
    check_range("wue_l_per_kwh", wue_l_per_kwh, low=0, high=20, unit="L/kWh")
    sources: list[str] = [f"TDP {acc.tdp_w:g} W: {acc.source_title}"]
    sys = system if system is not None else default_system_for(acc.name)
    p_acc = accelerator_power_w(acc, utilization_frac, idle_power_frac=idle_power_frac)
    overhead, why = host_overhead_frac(acc)
    sources.append(f"host overhead {overhead:.2f}: {why}")
    per_node = sys.num_accelerators if sys is not None else 8
    # ASSUMPTION: host overhead draws a constant power (its value at TDP) regardless of load.
    node_w = per_node * (p_acc + overhead * acc.tdp_w)
    node_max_w = per_node * acc.tdp_w * (1.0 + overhead)
    num_nodes = -(-num_accelerators // per_node)
    nodes_per_rack = (sys.nodes_per_rack if sys is not None and sys.nodes_per_rack else 4)
    if sys is None or not sys.nodes_per_rack:
        sources.append("ASSUMPTION: 8 accelerators per node, 4 nodes per rack (no system entry)")
    rack_w = (sys.rack_power_w if sys is not None and sys.rack_power_w
              else nodes_per_rack * node_max_w)
    it_w = num_nodes * node_w
    it_max_w = num_nodes * node_max_w
    facility_w = it_w * pue
    annual_j = facility_w * YEAR
    it_kwh = it_w * YEAR / KWH
    return PowerReport(
        accelerator=acc.name, num_accelerators=num_accelerators,
        utilization_frac=utilization_frac, accelerator_power_w=p_acc, node_power_w=node_w,
        accelerators_per_node=per_node, num_nodes=num_nodes, nodes_per_rack=nodes_per_rack,
        num_racks=-(-num_nodes // nodes_per_rack), rack_power_w=rack_w,
        cooling=(sys.cooling if sys is not None else cooling_class(rack_w)),
        it_power_w=it_w, it_power_provisioned_w=it_max_w, pue=pue,
        facility_power_w=facility_w, facility_power_provisioned_w=it_max_w * pue,
        annual_energy_j=annual_j, grid=grid, carbon_g_per_kwh=carbon_g_per_kwh,
        annual_carbon_g=annual_j / KWH * carbon_g_per_kwh, wue_l_per_kwh=wue_l_per_kwh,
        annual_water_l=it_kwh * wue_l_per_kwh,
        energy_per_token_j=(None if tokens_per_s is None
                            else energy_per_token_j(facility_w, tokens_per_s)),
        sources=tuple(sources),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerSpec:
    """A deployment's power question, resolved."""

    accelerator: Accelerator
    num_accelerators: int
    utilization_frac: float
    pue: float
    idle_power_frac: float
    carbon_g_per_kwh: float
    grid: str
    wue_l_per_kwh: float
    system: System | None = None
    tokens_per_s: float | None = None


def power(spec: PowerSpec) -> PowerReport:
    """``deployment_power`` of a ``PowerSpec``."""
    return deployment_power(spec.accelerator, num_accelerators=spec.num_accelerators,
                            utilization_frac=spec.utilization_frac, pue=spec.pue,
                            carbon_g_per_kwh=spec.carbon_g_per_kwh, grid=spec.grid,
                            wue_l_per_kwh=spec.wue_l_per_kwh, system=spec.system,
                            tokens_per_s=spec.tokens_per_s, idle_power_frac=spec.idle_power_frac)
