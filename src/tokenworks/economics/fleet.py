"""Fleet sizing: demand -> replicas -> accelerators, nodes, racks, MW, capex, opex, $/M tokens.

Takes plain throughput (output tokens/s per replica, from an estimate or a simulation) so it
prices either. The inverse answers what demand a facility power budget can serve.
Units: tokens/s, W, $, $/year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from tokenworks.economics.power import PowerReport, deployment_power
from tokenworks.economics.tco import HOURS_PER_YEAR, TcoInputs, tco_per_accelerator_hour
from tokenworks.errors import ConfigError, check_range
from tokenworks.units import DAY, MILLION, MW, YEAR


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetPlan:
    accelerator: str
    demand_output_tokens_per_s: float  # average
    peak_to_average: float
    output_tokens_per_s_per_replica: float
    accelerators_per_replica: int
    num_replicas: int
    num_accelerators: int
    utilization_frac: float  # average demand / installed capacity
    power: PowerReport
    it_capex_usd: float
    dc_capex_usd: float  # owned facility only
    annual_cash_opex_usd: float  # power + facility + maintenance + staff
    annual_tco_usd: float  # all components, incl. depreciation and financing
    annual_output_tokens: float
    usd_per_million_output_tokens: float
    energy_per_output_token_j: float  # facility energy / output tokens
    defaults_used: tuple[str, ...]


def size_fleet(
    *,
    tco: TcoInputs,
    demand_output_tokens_per_s: float,
    output_tokens_per_s_per_replica: float,
    accelerators_per_replica: int,
    peak_to_average: float = 1.0,
    carbon_g_per_kwh: float = 0.0,
    grid: str = "custom",
    wue_l_per_kwh: float = 0.0,
) -> FleetPlan:
    """Size a fleet for an average output-token demand with peak headroom."""
    check_range("demand_output_tokens_per_s", demand_output_tokens_per_s, low=0,
                low_inclusive=False, unit="tok/s")
    check_range("output_tokens_per_s_per_replica", output_tokens_per_s_per_replica, low=0,
                low_inclusive=False, unit="tok/s")
    check_range("peak_to_average", peak_to_average, low=1, high=100)
    if accelerators_per_replica < 1:
        raise ConfigError(f"accelerators_per_replica = {accelerators_per_replica}: must be >= 1.")
    # ASSUMPTION: capacity is provisioned for the peak; the average draws power and earns.
    replicas = math.ceil(demand_output_tokens_per_s * peak_to_average
                         / output_tokens_per_s_per_replica)
    n = replicas * accelerators_per_replica
    util = demand_output_tokens_per_s / (replicas * output_tokens_per_s_per_replica)
    t = replace(tco, utilization_frac=min(util, 1.0))
    b = tco_per_accelerator_hour(t)
    pw = deployment_power(t.accelerator, num_accelerators=n, utilization_frac=t.utilization_frac,
                          pue=t.pue, carbon_g_per_kwh=carbon_g_per_kwh, grid=grid,
                          wue_l_per_kwh=wue_l_per_kwh, idle_power_frac=t.idle_power_frac,
                          tokens_per_s=demand_output_tokens_per_s)
    tokens_y = demand_output_tokens_per_s * YEAR
    annual_tco = b.total_usd_per_hour * HOURS_PER_YEAR * n
    dc_capex = t.dc_capex_usd_per_mw * t.provisioned_it_w * n / MW if t.facility == "owned" else 0
    return FleetPlan(
        accelerator=t.accelerator, demand_output_tokens_per_s=demand_output_tokens_per_s,
        peak_to_average=peak_to_average,
        output_tokens_per_s_per_replica=output_tokens_per_s_per_replica,
        accelerators_per_replica=accelerators_per_replica, num_replicas=replicas,
        num_accelerators=n, utilization_frac=util, power=pw, it_capex_usd=t.it_capex_usd * n,
        dc_capex_usd=dc_capex,
        annual_cash_opex_usd=b.cash_opex_usd_per_hour * HOURS_PER_YEAR * n,
        annual_tco_usd=annual_tco, annual_output_tokens=tokens_y,
        usd_per_million_output_tokens=annual_tco / (tokens_y / MILLION),
        energy_per_output_token_j=pw.energy_per_token_j or 0.0,
        defaults_used=t.defaults_used)


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerBudgetCapacity:
    facility_power_w: float
    num_accelerators: int
    num_replicas: int
    output_tokens_per_s: float  # at full load
    output_tokens_per_day: float


def capacity_for_power_budget(
    *,
    tco: TcoInputs,
    facility_power_w: float,
    output_tokens_per_s_per_replica: float,
    accelerators_per_replica: int,
) -> PowerBudgetCapacity:
    """Inverse sizing: replicas and output tokens a facility power budget can serve.

    The facility is provisioned for TDP: accelerators = budget / (PUE x TDP x (1 + host)).
    """
    check_range("facility_power_w", facility_power_w, low=0, low_inclusive=False, unit="W")
    if accelerators_per_replica < 1:
        raise ConfigError(f"accelerators_per_replica = {accelerators_per_replica}: must be >= 1.")
    per_acc_w = tco.provisioned_it_w * tco.pue
    n_max = int(facility_power_w // per_acc_w)
    replicas = n_max // accelerators_per_replica
    tps = replicas * output_tokens_per_s_per_replica
    return PowerBudgetCapacity(facility_power_w=facility_power_w,
                               num_accelerators=replicas * accelerators_per_replica,
                               num_replicas=replicas, output_tokens_per_s=tps,
                               output_tokens_per_day=tps * DAY)


def combine_fleet_plans(
    plans: tuple[FleetPlan, ...] | list[FleetPlan],
    *,
    tco: TcoInputs,
    carbon_g_per_kwh: float = 0.0,
    grid: str = "custom",
    wue_l_per_kwh: float = 0.0,
) -> FleetPlan:
    """One fleet from per-class plans (a request-length mix): sums and pooled power.

    Accelerators, replicas, capex, opex, TCO and tokens add up. Power is recomputed for the
    pooled accelerators (nodes and racks are shared) at the accelerator-weighted utilization,
    which gives the classes' summed average draw (draw is linear in utilization,
    ``accelerator_power_w``) up to node rounding: pooled classes share partly filled nodes.
    """
    if not plans:
        raise ConfigError("combine_fleet_plans needs at least one plan.")
    accs = {p.accelerator for p in plans}
    if len(accs) > 1:
        raise ConfigError(f"cannot pool plans on different accelerators {sorted(accs)}.")
    n = sum(p.num_accelerators for p in plans)
    replicas = sum(p.num_replicas for p in plans)
    demand = sum(p.demand_output_tokens_per_s for p in plans)
    capacity = sum(p.num_replicas * p.output_tokens_per_s_per_replica for p in plans)
    util_w = sum(p.num_accelerators * p.utilization_frac for p in plans) / n
    pw = deployment_power(plans[0].accelerator, num_accelerators=n,
                          utilization_frac=min(util_w, 1.0), pue=tco.pue,
                          carbon_g_per_kwh=carbon_g_per_kwh, grid=grid,
                          wue_l_per_kwh=wue_l_per_kwh, idle_power_frac=tco.idle_power_frac,
                          tokens_per_s=demand)
    tokens_y = sum(p.annual_output_tokens for p in plans)
    annual_tco = sum(p.annual_tco_usd for p in plans)
    per_replica = {p.accelerators_per_replica for p in plans}
    return FleetPlan(
        accelerator=plans[0].accelerator, demand_output_tokens_per_s=demand,
        peak_to_average=max(p.peak_to_average for p in plans),
        output_tokens_per_s_per_replica=capacity / replicas,
        accelerators_per_replica=(per_replica.pop() if len(per_replica) == 1 else 0),
        num_replicas=replicas, num_accelerators=n, utilization_frac=demand / capacity,
        power=pw, it_capex_usd=sum(p.it_capex_usd for p in plans),
        dc_capex_usd=sum(p.dc_capex_usd for p in plans),
        annual_cash_opex_usd=sum(p.annual_cash_opex_usd for p in plans),
        annual_tco_usd=annual_tco, annual_output_tokens=tokens_y,
        usd_per_million_output_tokens=annual_tco / (tokens_y / MILLION),
        energy_per_output_token_j=pw.energy_per_token_j or 0.0,
        defaults_used=plans[0].defaults_used)
