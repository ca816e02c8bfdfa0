"""From a validated scenario to simulation parts: pools (hardware, deployment, memory plan,
step cost, KV tiers, replica config), traffic (a session table) and the price.

This is the one place scenario sections become the serving layer's frozen dataclasses.
Units: SI (bytes, bytes/s, seconds); the file's display units (GB, GB/s, Gbit/s) are
converted here once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenworks.api.scenario import (
    AgenticSection,
    ArrivalSection,
    DistSection,
    PoolSection,
    Scenario,
    SharedPrefixSection,
    TierSection,
    WorkloadSection,
)
from tokenworks.errors import ScenarioError
from tokenworks.hardware import Accelerator, System, default_system_for, get_accelerator, get_system
from tokenworks.model.arch import ModelArch
from tokenworks.perf.calibration import Calibration
from tokenworks.perf.deployment import Deployment, make_deployment
from tokenworks.perf.memory import MemoryPlan, plan_memory
from tokenworks.perf.step import StepCostModel
from tokenworks.serving import workload as wl
from tokenworks.serving.agentic import AgenticSpec, generate_agentic
from tokenworks.serving.kv_tiers import TierSpec
from tokenworks.serving.replica import ReplicaConfig
from tokenworks.serving.traces import read_trace, scale_trace, trace_sessions
from tokenworks.units import BITS_PER_BYTE, GB, GBIT

# ASSUMPTION: half of a node's host DRAM is given to the KV warehouse (the rest holds the OS,
# the engine, pinned staging buffers); LMCache/Mooncake leave this to the operator.
HOST_DRAM_KV_FRAC = 0.5
# ASSUMPTION: access latencies per tier: host DRAM over PCIe/C2C ~10 us, local NVMe ~100 us
# (datasheet 4K random-read latencies are 60-100 us), remote RDMA pool ~200 us incl. lookup.
TIER_LATENCY_S = {"dram": 10e-6, "nvme": 100e-6, "remote": 200e-6}
# ASSUMPTION: a remote pool with no capacity given holds 100 TB per replica (effectively
# unlimited for an hour of trace).
REMOTE_DEFAULT_BYTES = 100e12


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PoolPlan:
    role: str  # "both" | "prefill" | "decode"
    accelerator: Accelerator
    system: System | None
    deployment: Deployment
    memory: MemoryPlan
    num_replicas: int
    kv_bytes_per_token: float  # whole replica (all GPUs)
    config: ReplicaConfig
    cost: StepCostModel
    max_seq_len_tokens: int

    @property
    def num_gpus(self) -> int:
        return self.deployment.num_gpus * self.num_replicas


def _system(acc: Accelerator, name: str | None) -> System | None:
    if name is not None:
        sys_ = get_system(name)
        if acc.name not in (sys_.accelerator, getattr(sys_, "prefill_accelerator", None)):
            raise ScenarioError(f"system '{name}' holds {sys_.accelerator}, not {acc.name}; "
                                f"pick a system built from {acc.name} or drop 'system'.")
        return sys_
    return default_system_for(acc.name)


def section_system(section: PoolSection) -> System | None:
    """The catalog system a pool runs on (given, or the accelerator's default)."""
    return _system(get_accelerator(section.accelerator), section.system)


def tier_specs(tiers: list[TierSection], system: System | None, num_gpus: int) -> tuple[
        TierSpec, ...]:
    """Per-replica KV tiers: catalog defaults scaled to the replica's share of its node."""
    out = []
    share = num_gpus / system.num_accelerators if system is not None else 0.0
    for t in tiers:
        cap = None if t.capacity_gb is None else t.capacity_gb * GB
        read = None if t.read_gb_per_s is None else t.read_gb_per_s * GB
        write = None if t.write_gb_per_s is None else t.write_gb_per_s * GB
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
            raise ScenarioError(f"cache tier '{t.name}': no catalog system supplies defaults; "
                                f"give {', '.join(missing)} in the tier or set hardware.system.")
        out.append(TierSpec(name=t.name, capacity_bytes=float(cap), read_bytes_per_s=read,
                            write_bytes_per_s=write,
                            latency_s=TIER_LATENCY_S[t.name] if t.latency_s is None
                            else t.latency_s))
    return tuple(out)


def build_pool(sc: Scenario, model: ModelArch, section: PoolSection, role: str,
               calibration: Calibration | None, max_seq_len_needed: int) -> PoolPlan:
    spec = sc.spec
    acc = get_accelerator(section.accelerator)
    system = _system(acc, section.system)
    dep = make_deployment(model, acc, tp=section.tp, pp=section.pp, ep=section.ep,
                          weights_dtype=section.weights_dtype, kv_dtype=section.kv_dtype)
    sched = spec.scheduler
    max_seq = section.max_seq_len_tokens or max(
        section.kv_block_size_tokens, min(model.max_context_tokens, max_seq_len_needed))
    mem = plan_memory(model, dep, gpu_memory_utilization_frac=section.gpu_memory_utilization_frac,
                      kv_block_size_tokens=section.kv_block_size_tokens,
                      max_seq_len_tokens=max_seq,
                      max_num_batched_tokens=sched.max_num_batched_tokens,
                      max_num_seqs=sched.max_num_seqs)
    if mem.num_kv_blocks < 1:
        raise ScenarioError(f"{model.name} on {acc.name} tp={dep.tp} leaves no paged KV cache "
                            f"(0 blocks); use more GPUs or a smaller model.")
    kv_bytes = mem.kv_bytes_per_token_per_gpu * dep.num_gpus
    tiers = tier_specs(list(spec.cache.tiers), system, dep.num_gpus)
    cfg = ReplicaConfig(
        max_num_batched_tokens=sched.max_num_batched_tokens, max_num_seqs=sched.max_num_seqs,
        chunked_prefill=sched.chunked_prefill, policy=sched.policy, preemption=sched.preemption,
        queue=sched.queue, watermark_frac=sched.watermark_frac,
        prefix_cache=spec.cache.prefix_cache, kv_tiers=tiers, tier_load=spec.cache.tier_load,
        role=role, exact=sched.exact)
    return PoolPlan(role=role, accelerator=acc, system=system, deployment=dep, memory=mem,
                    num_replicas=section.num_replicas, kv_bytes_per_token=kv_bytes, config=cfg,
                    cost=StepCostModel(model, dep, calibration), max_seq_len_tokens=max_seq)


def pool_sections(sc: Scenario) -> list[tuple[PoolSection, str]]:
    spec = sc.spec
    if spec.pools is not None:
        return [(spec.pools.prefill, "prefill"), (spec.pools.decode, "decode")]
    assert spec.hardware is not None  # guaranteed by ScenarioFile validation
    merged = PoolSection(accelerator=spec.hardware.accelerator, system=spec.hardware.system,
                         **spec.deployment.model_dump())
    return [(merged, "both")]


def transfer_bytes_per_s(sc: Scenario, prefill: PoolPlan) -> float:
    """Egress bandwidth of one prefill replica: the file's link, else its GPUs' NICs."""
    t = sc.spec.pools.transfer if sc.spec.pools is not None else None
    if t is not None and t.link_gbit_per_s is not None:
        return t.link_gbit_per_s * GBIT / BITS_PER_BYTE
    acc = prefill.accelerator
    per_gpu = acc.scaleout_bytes_per_s
    if per_gpu is None and prefill.system is not None and prefill.system.num_nics:
        per_gpu = prefill.system.nic_bytes_per_s * prefill.system.num_nics \
            / prefill.system.num_accelerators
    if per_gpu is None:
        raise ScenarioError(f"no scale-out bandwidth for {acc.name} in the catalog; set "
                            f"pools.transfer.link_gbit_per_s.")
    # ASSUMPTION: each prefill GPU sends its KV shard over its own NIC (DistServe/Splitwise
    # use per-GPU InfiniBand); concurrent transfers from one replica share the sum.
    return per_gpu * prefill.deployment.num_gpus


# ---------------------------------------------------------------------------------------------
# Traffic.


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


def traffic(sc: Scenario, rng: np.random.Generator, system: System | None,
            max_requests: int | None) -> tuple[wl.SessionTable, AgenticSpec | None]:
    spec = sc.spec
    if spec.workload is not None:
        return wl.generate(workload_spec(sc, spec.workload, max_requests), rng), None
    if spec.trace is not None:
        t = spec.trace
        n = t.max_requests if max_requests is None else min(t.max_requests or max_requests,
                                                            max_requests)
        tr = read_trace(sc.resolve_path(t.path), format=t.format, max_requests=n)
        tr = scale_trace(tr, time_scale=t.time_scale, target_rate_per_s=t.target_rate_per_s)
        return trace_sessions(tr), None
    assert spec.agentic is not None  # guaranteed by ScenarioFile validation
    ag = agentic_spec(sc, spec.agentic, system, max_requests)
    return generate_agentic(ag, rng), ag


def max_context_tokens(table: wl.SessionTable) -> int:
    """Longest prompt + output any call of the table can reach."""
    per_turn = table.new_tokens + table.output_tokens
    if not table.extends_context:
        return int((table.prefix_tokens.max() if len(table.prefix_tokens) else 0)
                   + (per_turn.max() if len(per_turn) else 0))
    ends = table.first_turn + table.num_turns
    csum = np.concatenate(([0], np.cumsum(per_turn)))
    totals = csum[ends] - csum[table.first_turn] + table.prefix_tokens
    return int(totals.max()) if len(totals) else 0
