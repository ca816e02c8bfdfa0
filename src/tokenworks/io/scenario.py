"""A scenario file to the serving layer's ``SimulationSpec``: the pools with their hardware and
resolved KV tiers, the scheduler, cache and router, the traffic (a synthetic workload, a trace
read from its file, agentic sessions), SLOs, seed, calibration (read from its file) and run
limits. Units: the file's display units (GB, GB/s, Gbit/s) become SI here, once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tokenworks.errors import ScenarioError
from tokenworks.hardware import Accelerator, System, default_system_for, get_accelerator, get_system
from tokenworks.io.calibration import read_calibration
from tokenworks.io.scenario_file import (
    AgenticSection,
    ArrivalSection,
    DistSection,
    PoolSection,
    Scenario,
    ScenarioFile,
    SharedPrefixSection,
    WorkloadSection,
    load_scenario,
)
from tokenworks.io.traces import read_trace
from tokenworks.model.catalog import get_model
from tokenworks.perf.deployment import make_spec_decode, served_weights_dtype
from tokenworks.serving import workload as wl
from tokenworks.serving.agentic import AgenticSpec
from tokenworks.serving.kv_tiers import TierRequest, replica_tiers
from tokenworks.serving.spec import (
    PoolSpec,
    RouterSpec,
    RunSpec,
    SchedulerSpec,
    SimulationSpec,
    SloSpec,
    Traffic,
    TransferLinkSpec,
)
from tokenworks.serving.traces import TraceTraffic
from tokenworks.units import BITS_PER_BYTE, GB, GBIT

__all__ = ["Scenario", "ScenarioFile", "load_scenario", "scenario_price", "simulation_spec"]


def _system(acc: Accelerator, name: str | None) -> System | None:
    if name is not None:
        sys_ = get_system(name)
        if acc.name not in (sys_.accelerator, getattr(sys_, "prefill_accelerator", None)):
            raise ScenarioError(f"system '{name}' holds {sys_.accelerator}, not {acc.name}; "
                                f"pick a system built from {acc.name} or drop 'system'.")
        return sys_
    return default_system_for(acc.name)


def _pool(sc: Scenario, section: PoolSection, role: str) -> PoolSpec:
    acc = get_accelerator(section.accelerator)
    system = _system(acc, section.system)
    tiers = tuple(TierRequest(
        name=t.name, capacity_bytes=None if t.capacity_gb is None else t.capacity_gb * GB,
        read_bytes_per_s=None if t.read_gb_per_s is None else t.read_gb_per_s * GB,
        write_bytes_per_s=None if t.write_gb_per_s is None else t.write_gb_per_s * GB,
        latency_s=t.latency_s) for t in sc.spec.cache.tiers)
    sp = section.speculative
    spec = None if sp is None else make_spec_decode(
        sp.method, num_tokens=sp.num_tokens, acceptance_rate=sp.acceptance_rate,
        acceptance_length=sp.acceptance_length, draft_model=sp.draft_model)
    return PoolSpec(role=role, accelerator=acc, system=system, tp=section.tp, pp=section.pp,
                    ep=section.ep, dp=section.dp,
                    weights_dtype=section.weights_dtype or served_weights_dtype(
                        get_model(sc.spec.model)),
                    kv_dtype=section.kv_dtype, spec=spec, num_replicas=section.num_replicas,
                    gpu_memory_utilization_frac=section.gpu_memory_utilization_frac,
                    kv_block_size_tokens=section.kv_block_size_tokens,
                    max_seq_len_tokens=section.max_seq_len_tokens,
                    kv_tiers=replica_tiers(tiers, system,
                                           section.tp * section.dp * section.pp))


def pool_sections(sc: Scenario) -> list[tuple[PoolSection, str]]:
    """The file's pools with their roles: one merged "both" pool, or prefill then decode."""
    spec = sc.spec
    if spec.pools is not None:
        return [(spec.pools.prefill, "prefill"), (spec.pools.decode, "decode")]
    assert spec.hardware is not None  # guaranteed by ScenarioFile validation
    merged = PoolSection(accelerator=spec.hardware.accelerator, system=spec.hardware.system,
                         **spec.deployment.model_dump())
    return [(merged, "both")]


def _traffic(sc: Scenario, system: System | None, max_requests: int | None) -> Traffic:
    spec = sc.spec
    if spec.workload is not None:
        return workload_spec(sc, spec.workload, max_requests)
    if spec.trace is not None:
        t = spec.trace
        n = t.max_requests if max_requests is None else min(t.max_requests or max_requests,
                                                            max_requests)
        tr = read_trace(sc.resolve_path(t.path), format=t.format, max_requests=n)
        return TraceTraffic(trace=tr, time_scale=t.time_scale,
                            target_rate_per_s=t.target_rate_per_s)
    assert spec.agentic is not None  # guaranteed by ScenarioFile validation
    return agentic_spec(sc, spec.agentic, system, max_requests)


def simulation_spec(source: Scenario | ScenarioFile | dict | str | Path, *,
                    seed: int | None = None, max_requests: int | None = None,
                    record_steps: bool = False) -> SimulationSpec:
    """The ``SimulationSpec`` of a scenario (a path, a dict, a parsed file, or a ``Scenario``):
    ``seed`` overrides the file's, ``max_requests`` caps the traffic (sessions for agentic and
    conversation workloads), ``record_steps`` keeps every engine step for the Chrome trace."""
    sc = load_scenario(source)
    f = sc.spec
    if seed is not None and seed < 0:
        raise ScenarioError(f"seed = {seed} is negative; use a whole number >= 0.")
    if max_requests is not None and max_requests < 1:
        raise ScenarioError(f"max_requests = {max_requests}; it must be >= 1 (or omitted).")
    cap = f.simulation.max_requests if max_requests is None else max_requests
    pools = tuple(_pool(sc, section, role) for section, role in pool_sections(sc))
    t = f.pools.transfer if f.pools is not None else None
    link = None if t is None or t.link_gbit_per_s is None \
        else t.link_gbit_per_s * GBIT / BITS_PER_BYTE
    sched = f.scheduler
    return SimulationSpec(
        name=f.name, model=get_model(f.model), pools=pools, engine=f.engine,
        scheduler=SchedulerSpec(
            max_num_batched_tokens=sched.max_num_batched_tokens, max_num_seqs=sched.max_num_seqs,
            chunked_prefill=sched.chunked_prefill, policy=sched.policy,
            preemption=sched.preemption, queue=sched.queue, watermark_frac=sched.watermark_frac,
            exact=sched.exact),
        prefix_cache=f.cache.prefix_cache, tier_load=f.cache.tier_load,
        router=RouterSpec(kind=f.router.kind, load_weight=f.router.load_weight),
        transfer=TransferLinkSpec(link_bytes_per_s=link,
                                  latency_s=t.latency_s if t is not None else 0.0),
        # ASSUMPTION: agent tools run on the host CPUs of the first pool's system.
        traffic=_traffic(sc, pools[0].system, cap),
        slo=SloSpec(ttft_s=f.slo.ttft_s, tpot_s=f.slo.tpot_s),
        seed=f.seed if seed is None else seed,
        calibration=None if f.calibration is None
        else read_calibration(sc.resolve_path(f.calibration)),
        run=RunSpec(drain_limit_s=f.simulation.drain_limit_s,
                    sample_interval_s=f.simulation.sample_interval_s, max_requests=cap,
                    record_token_times=f.simulation.record_token_times,
                    record_steps=record_steps))


def scenario_price(sc: Scenario) -> float | None:
    """The file's $/GPU-hour, if it sets one."""
    return sc.spec.price.usd_per_gpu_hour if sc.spec.price is not None else None


# ---------------------------------------------------------------------------------------------
# Traffic: file sections to the serving layer's workload specs.


def dist(sc: Scenario, d: float | DistSection) -> wl.Dist:
    if not isinstance(d, DistSection):
        return wl.Fixed(value=float(d))
    if d.kind == "fixed":
        return wl.Fixed(value=float(d.value))  # type: ignore[arg-type]
    if d.kind == "uniform":
        return wl.Uniform(low=float(d.low), high=float(d.high))  # type: ignore[arg-type]
    if d.kind == "lognormal":
        return wl.LogNormal(mean_value=float(d.mean), sigma=d.sigma, cv=d.cv)  # type: ignore[arg-type]
    if d.kind == "exponential":
        return wl.Exponential(mean_value=float(d.mean))  # type: ignore[arg-type]
    if d.values is not None:
        return wl.Empirical(values=np.asarray(d.values, np.float64))
    trace = read_trace(sc.resolve_path(d.trace))  # type: ignore[arg-type]
    return wl.Empirical(values=trace.column(d.column).astype(np.float64))  # type: ignore[arg-type]


def arrivals(sc: Scenario, a: ArrivalSection) -> wl.Arrivals:
    if a.kind == "poisson":
        return wl.PoissonArrivals(rate_per_s=float(a.rate_per_s))  # type: ignore[arg-type]
    if a.kind == "gamma":
        return wl.GammaArrivals(rate_per_s=float(a.rate_per_s), cv=float(a.cv))  # type: ignore[arg-type]
    if a.kind == "constant":
        return wl.ConstantArrivals(rate_per_s=float(a.rate_per_s))  # type: ignore[arg-type]
    return wl.ClosedLoop(num_users=int(a.num_users), think_time_s=dist(sc, a.think_time_s))  # type: ignore[arg-type]


def shared_prefix(sc: Scenario, s: SharedPrefixSection | None) -> wl.SharedPrefixes | None:
    if s is None:
        return None
    return wl.SharedPrefixes(num_prefixes=s.num_prefixes, prefix_tokens=dist(sc, s.prefix_tokens),
                             zipf_exponent=s.zipf_exponent, frac_with_prefix=s.frac_with_prefix)


def workload_spec(sc: Scenario, w: WorkloadSection, max_requests: int | None) -> wl.WorkloadSpec:
    num = w.num_requests
    if max_requests is not None:
        num = min(num, max_requests) if num is not None else max_requests
    conv = None
    if w.conversation is not None:
        conv = wl.Conversations(num_turns=dist(sc, w.conversation.num_turns),
                                think_time_s=dist(sc, w.conversation.think_time_s))
    return wl.WorkloadSpec(
        arrivals=arrivals(sc, w.arrivals), prompt_tokens=dist(sc, w.prompt_tokens),
        output_tokens=dist(sc, w.output_tokens), num_requests=num, duration_s=w.duration_s,
        shared_prefix=shared_prefix(sc, w.shared_prefix), conversation=conv,
        max_prompt_tokens=w.max_prompt_tokens, max_output_tokens=w.max_output_tokens,
        priority_classes=tuple((p.priority, p.frac) for p in w.priorities))


def agentic_spec(sc: Scenario, a: AgenticSection, system: System | None,
                 max_requests: int | None) -> AgenticSpec:
    arr = arrivals(sc, a.arrivals)
    if isinstance(arr, wl.ClosedLoop):
        raise ScenarioError("agentic.arrivals must be open (poisson, gamma or constant): they "
                            "start sessions; the calls inside a session are closed-loop already.")
    cores = a.num_cores or (system.host_cpu_cores if system is not None else None)
    if cores is None:
        raise ScenarioError("agentic.num_cores is not set and no catalog system gives host CPU "
                            "cores; set agentic.num_cores.")
    num = a.num_sessions if max_requests is None else min(a.num_sessions, max_requests)
    return AgenticSpec(num_sessions=num, arrivals=arr, num_calls=dist(sc, a.num_calls),
                       first_prompt_tokens=dist(sc, a.first_prompt_tokens),
                       tool_result_tokens=dist(sc, a.tool_result_tokens),
                       output_tokens=dist(sc, a.output_tokens), tool_time_s=dist(sc, a.tool_time_s),
                       num_cores=int(cores), shared_prefix=shared_prefix(sc, a.shared_prefix))


