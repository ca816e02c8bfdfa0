"""Fleet sizing: demand -> replicas -> accelerators, nodes, racks, MW, capex, opex, $/M tokens.

``size_fleet`` takes plain throughput (output tokens/s per replica, from an estimate or a
simulation) so it prices either; ``plan_fleet`` answers a whole ``FleetSpec``: each request
shape (one, or a length mix) is served by the analytic estimator at the largest batch that
meets the latency targets, and the classes' fleets add up. The inverse answers what demand a
facility power budget can serve. Units: tokens/s, W, $, $/year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from tokenworks.economics.estimate_cost import Estimate, price_estimate
from tokenworks.economics.power import PowerReport, deployment_power
from tokenworks.economics.tco import HOURS_PER_YEAR, TcoSpec, tco_per_accelerator_hour
from tokenworks.errors import ConfigError, InfeasibleError, check_range
from tokenworks.model.arch import ModelArch
from tokenworks.perf.deployment import Deployment
from tokenworks.perf.estimator import estimate_performance
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
    tco: TcoSpec,
    demand_output_tokens_per_s: float,
    output_tokens_per_s_per_replica: float,
    accelerators_per_replica: int,
    peak_to_average: float,
    carbon_g_per_kwh: float,
    grid: str,
    wue_l_per_kwh: float,
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
    tco: TcoSpec,
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
    tco: TcoSpec,
    carbon_g_per_kwh: float,
    grid: str,
    wue_l_per_kwh: float,
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


# ---------------------------------------------------------------------------------------------
# A whole fleet question: the replica from the estimator at the SLOs, one shape or a mix.


@dataclass(frozen=True, slots=True, kw_only=True)
class ServedModel:
    """How each replica serves: the model on a deployment, its batch, and the price that
    prices its estimate (all resolved at the edge)."""

    model: ModelArch
    deployment: Deployment
    batch: int | None  # None: the largest that fits, then halved to meet the TPOT SLO
    prefix_hit_frac: float
    usd_per_gpu_hour: float | None
    price_source: str
    ttft_slo_s: float | None = None
    tpot_slo_s: float | None = None
    estimate_defaults: tuple[str, ...] = ()  # the defaults the edge chose, for the estimate


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestClass:
    """One request shape and its share of requests (1 for a single shape)."""

    input_tokens: int
    output_tokens: int
    share_frac: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetSpec:
    """A fleet question: demand, how replicas serve it, and what a fleet costs and emits."""

    tco: TcoSpec
    demand_output_tokens_per_s: float
    classes: tuple[RequestClass, ...]  # one shape, or a length mix (shares sum to 1)
    served: ServedModel | None  # None: replica throughput given (below)
    output_tokens_per_s_per_replica: float | None = None
    accelerators_per_replica: int | None = None
    peak_to_average: float = 1.0
    carbon_g_per_kwh: float
    grid: str
    wue_l_per_kwh: float
    power_budget_w: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetClass:
    """One request class of a length mix, sized on its own (``FleetReport.classes``)."""

    input_tokens: int
    output_tokens: int
    share_frac: float  # share of requests
    requests_per_s: float
    plan: FleetPlan
    estimate: Estimate


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetReport:
    plan: FleetPlan  # the whole fleet (the sum of ``classes`` for a length mix)
    estimate: Estimate | None
    power_budget: PowerBudgetCapacity | None
    classes: tuple[FleetClass, ...] = ()
    defaults_used: list[str] = field(default_factory=list)


def serve_class(served: ServedModel, cls: RequestClass, notes: list[str]) -> Estimate:
    """The estimator's replica for one request shape at the SLOs: the TPOT SLO halves the
    batch until it is met; TTFT is the zero-load prefill time (queueing is the simulator's
    job), so a TTFT SLO below it is infeasible at any batch."""

    def at(batch: int | None) -> Estimate:
        perf = estimate_performance(served.model, served.deployment,
                                    input_tokens=cls.input_tokens,
                                    output_tokens=cls.output_tokens,
                                    batch="max" if batch is None else batch,
                                    prefix_hit_frac=served.prefix_hit_frac)
        return price_estimate(perf, served.deployment.accelerator,
                              usd_per_gpu_hour=served.usd_per_gpu_hour,
                              price_source=served.price_source,
                              defaults_used=served.estimate_defaults)

    est = at(served.batch)
    tpot_slo_s, ttft_slo_s = served.tpot_slo_s, served.ttft_slo_s
    if tpot_slo_s is not None:
        check_range("tpot_slo_s", tpot_slo_s, low=0, low_inclusive=False, unit="s")
        while est.tpot_s > tpot_slo_s and est.batch_size > 1:
            est = at(max(1, est.batch_size // 2))
        if est.tpot_s > tpot_slo_s:
            raise InfeasibleError(
                f"tpot_slo_s = {tpot_slo_s:g} s is below {est.tpot_s:.4f} s, the time per output "
                f"token of {est.model} on {est.num_gpus}x {est.hardware} even at batch 1. Use "
                f"a larger tp, faster hardware or a looser SLO.")
        notes.append(f"batch {est.batch_size}: largest power-of-two halving meeting "
                     f"tpot_slo_s = {tpot_slo_s:g} s (tpot {est.tpot_s * 1e3:.1f} ms)")
    if ttft_slo_s is not None:
        check_range("ttft_slo_s", ttft_slo_s, low=0, low_inclusive=False, unit="s")
        if est.ttft_s > ttft_slo_s:
            raise InfeasibleError(
                f"ttft_slo_s = {ttft_slo_s:g} s is below the zero-load prefill time "
                f"{est.ttft_s:.3f} s of {est.input_tokens} tokens on {est.num_gpus}x "
                f"{est.hardware}. Use a larger tp, prefix caching or a looser SLO.")
    return est


def plan_fleet(spec: FleetSpec) -> tuple[FleetPlan, Estimate | None, tuple[FleetClass, ...],
                                          PowerBudgetCapacity | None, list[str]]:
    """(fleet, its single-shape estimate, per-class plans of a mix, power-budget capacity,
    notes on the batch each class was served at)."""
    notes: list[str] = []
    env = dict(carbon_g_per_kwh=spec.carbon_g_per_kwh, grid=spec.grid,
               wue_l_per_kwh=spec.wue_l_per_kwh)
    demand = spec.demand_output_tokens_per_s
    est: Estimate | None = None
    classes: list[FleetClass] = []
    per_replica, acc_per_replica = (spec.output_tokens_per_s_per_replica,
                                    spec.accelerators_per_replica)
    if len(spec.classes) == 1:
        if spec.served is not None:
            est = serve_class(spec.served, spec.classes[0], notes)
            per_replica, acc_per_replica = (est.output_tokens_per_s / est.num_replicas,
                                            est.tp * est.pp)
        if per_replica is None or acc_per_replica is None:
            raise ConfigError("output_tokens_per_s_per_replica needs accelerators_per_replica "
                              "too (--accelerators-per-replica).")
        plan = size_fleet(tco=spec.tco, demand_output_tokens_per_s=demand,
                          output_tokens_per_s_per_replica=float(per_replica),
                          accelerators_per_replica=int(acc_per_replica),
                          peak_to_average=spec.peak_to_average, **env)
    else:
        if spec.served is None:
            raise ConfigError("a request mix is sized with the estimator: give a model, not "
                              "output_tokens_per_s_per_replica.")
        check_range("demand_output_tokens_per_s", demand, low=0, low_inclusive=False,
                    unit="tok/s")
        out_per_req = sum(c.output_tokens * c.share_frac for c in spec.classes)
        rps = demand / out_per_req
        for c in spec.classes:
            cls_notes: list[str] = []
            e = serve_class(spec.served, c, cls_notes)
            notes += [f"class {c.input_tokens}/{c.output_tokens}: {n}" for n in cls_notes]
            p = size_fleet(tco=spec.tco,
                           demand_output_tokens_per_s=rps * c.share_frac * c.output_tokens,
                           output_tokens_per_s_per_replica=e.output_tokens_per_s / e.num_replicas,
                           accelerators_per_replica=e.tp * e.pp,
                           peak_to_average=spec.peak_to_average, **env)
            classes.append(FleetClass(input_tokens=c.input_tokens, output_tokens=c.output_tokens,
                                      share_frac=c.share_frac, requests_per_s=rps * c.share_frac,
                                      plan=p, estimate=e))
        plan = combine_fleet_plans([c.plan for c in classes], tco=spec.tco, **env)
        # Blended per-replica throughput of the mix at full load (harmonic, by demand).
        per_replica = demand / sum(c.plan.demand_output_tokens_per_s
                                   / c.plan.output_tokens_per_s_per_replica for c in classes)
        acc_per_replica = classes[0].plan.accelerators_per_replica
    budget = None
    if spec.power_budget_w is not None:
        budget = capacity_for_power_budget(
            tco=spec.tco, facility_power_w=spec.power_budget_w,
            output_tokens_per_s_per_replica=float(per_replica),
            accelerators_per_replica=int(acc_per_replica))
    return plan, est, tuple(classes), budget, notes
