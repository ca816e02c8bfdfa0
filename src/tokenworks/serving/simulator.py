"""Build and run a simulation from a ``SimulationSpec``: pools of replicas behind routers,
sessions driven into them, the event loop, and the result (``SimulationResult``).

Units: SI. Each pool gets its deployment, memory plan and step cost (the perf layer) and one
``Replica`` per replica; the session table comes from the traffic spec; the loop runs until
every request is done or, under overload, until ``run.drain_limit_s`` after the last arrival.
Pricing the result (cost, energy) is economics' job; ``api.simulate`` does it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tokenworks.errors import ScenarioError
from tokenworks.perf.calibration import Calibration
from tokenworks.perf.deployment import Deployment, make_deployment
from tokenworks.perf.engine import check_engine_support, default_policy, engine_defaults
from tokenworks.perf.memory import MemoryPlan, plan_memory
from tokenworks.perf.step import StepCostModel
from tokenworks.serving import workload as wl
from tokenworks.serving.agentic import AgenticSpec, CpuPool, generate_agentic
from tokenworks.serving.cluster import Cluster, Pool
from tokenworks.serving.disagg import SharedLink, TransferSpec
from tokenworks.serving.events import Environment
from tokenworks.serving.replica import Replica
from tokenworks.serving.replica_config import ReplicaConfig
from tokenworks.serving.request import Request
from tokenworks.serving.result import RequestLog, SimulationResult, arrow_table, stats
from tokenworks.serving.routing import make_router
from tokenworks.serving.sessions import SessionDriver
from tokenworks.serving.spec import PoolSpec, SimulationSpec
from tokenworks.serving.summary import summarize
from tokenworks.serving.traces import TraceTraffic

__all__ = ["PoolPlan", "Progress", "plan_pool", "simulate"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PoolPlan:
    """A pool as built: its spec, deployment, memory plan and step cost."""

    spec: PoolSpec
    deployment: Deployment
    memory: MemoryPlan
    kv_bytes_per_token: float  # whole replica (all GPUs)
    config: ReplicaConfig
    cost: StepCostModel
    max_seq_len_tokens: int

    @property
    def role(self) -> str:
        return self.spec.role

    @property
    def num_replicas(self) -> int:
        return self.spec.num_replicas

    @property
    def num_gpus(self) -> int:
        return self.deployment.num_gpus * self.spec.num_replicas


def plan_pool(spec: SimulationSpec, pool: PoolSpec, calibration: Calibration | None,
              max_seq_len_needed: int) -> PoolPlan:
    """Deployment, memory plan and step cost of one pool (``ConfigError`` if it cannot run)."""
    model = spec.model
    dep = make_deployment(model, pool.accelerator, tp=pool.tp, pp=pool.pp, ep=pool.ep,
                          dp=pool.dp, weights_dtype=pool.weights_dtype, kv_dtype=pool.kv_dtype,
                          spec=pool.spec)
    check_engine_support(spec.engine, dep)  # refuses what the engine cannot run
    sched = spec.scheduler
    ed = engine_defaults(spec.engine, pool.accelerator)
    tokens = ed.max_num_batched_tokens if sched.max_num_batched_tokens is None \
        else sched.max_num_batched_tokens
    seqs = ed.max_num_seqs if sched.max_num_seqs is None else sched.max_num_seqs
    util = ed.gpu_memory_utilization_frac if pool.gpu_memory_utilization_frac is None \
        else pool.gpu_memory_utilization_frac
    max_seq = pool.max_seq_len_tokens or max(
        pool.kv_block_size_tokens, min(model.max_context_tokens, max_seq_len_needed))
    mem = plan_memory(model, dep, gpu_memory_utilization_frac=util,
                      kv_block_size_tokens=pool.kv_block_size_tokens,
                      max_seq_len_tokens=max_seq, max_num_batched_tokens=tokens,
                      max_num_seqs=seqs)
    if mem.num_kv_blocks < 1:
        raise ScenarioError(f"{model.name} on {pool.accelerator.name} ({dep.layout}) leaves no "
                            f"paged KV cache (0 blocks); use more GPUs or a smaller model.")
    cfg = ReplicaConfig(
        max_num_batched_tokens=tokens, max_num_seqs=seqs,
        chunked_prefill=sched.chunked_prefill,
        policy=sched.policy or default_policy(spec.engine), preemption=sched.preemption,
        queue=sched.queue, watermark_frac=sched.watermark_frac,
        prefix_cache=spec.prefix_cache, kv_tiers=pool.kv_tiers, tier_load=spec.tier_load,
        role=pool.role, exact=sched.exact, record_steps=spec.run.record_steps,
        max_prefill_chunk_tokens=max(tokens // dep.dp, 1) if dep.dp > 1 else 0)
    cost = StepCostModel(model, dep, calibration, engine=spec.engine,
                         max_num_batched_tokens=tokens)
    # KV bytes per token of the replica: each GPU of a rank holds its tp share, and a token
    # lives on one of the dp ranks.
    return PoolPlan(spec=pool, deployment=dep, memory=mem,
                    kv_bytes_per_token=mem.kv_bytes_per_token_per_gpu * dep.tp * dep.pp,
                    config=cfg, cost=cost, max_seq_len_tokens=max_seq)


def transfer_bytes_per_s(spec: SimulationSpec, prefill: PoolPlan) -> float:
    """Egress bandwidth of one prefill replica: the spec's link, else its GPUs' NICs."""
    if spec.transfer.link_bytes_per_s is not None:
        return spec.transfer.link_bytes_per_s
    acc, system = prefill.spec.accelerator, prefill.spec.system
    per_gpu = acc.scaleout_bytes_per_s
    if per_gpu is None and system is not None and system.num_nics:
        per_gpu = system.nic_bytes_per_s * system.num_nics / system.num_accelerators
    if per_gpu is None:
        raise ScenarioError(f"no scale-out bandwidth for {acc.name} in the catalog; set "
                            f"pools.transfer.link_gbit_per_s.")
    # ASSUMPTION: each prefill GPU sends its KV shard over its own NIC (DistServe/Splitwise
    # use per-GPU InfiniBand); concurrent transfers from one replica share the sum.
    return per_gpu * prefill.deployment.num_gpus


def session_table(spec: SimulationSpec, rng: np.random.Generator) -> wl.SessionTable:
    """The traffic as a session table (drawn with ``rng`` for synthetic traffic)."""
    t = spec.traffic
    if isinstance(t, TraceTraffic):
        return t.sessions()
    if isinstance(t, AgenticSpec):
        return generate_agentic(t, rng)
    return wl.generate(t, rng)


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


# NOTE: peak memory per simulated LLM call, measured: a million calls of the vidur anchor peak at
# 0.53 GiB of RSS (docs/performance.md), ~570 B each (session table, per-request columns,
# transient Request objects); 1 KiB leaves room for prefix hashes and multi-turn sessions.
BYTES_PER_CALL = 1024.0
# ASSUMPTION: a run may use up to 3/4 of the machine's physical memory.
MEMORY_SHARE = 0.75


def expected_calls(traffic: object) -> float:
    """About how many LLM calls the traffic makes (before any is generated)."""
    if isinstance(traffic, TraceTraffic):
        return float(traffic.trace.num_requests)
    if isinstance(traffic, AgenticSpec):
        return traffic.num_sessions * max(traffic.num_calls.mean, 1.0)
    assert isinstance(traffic, wl.WorkloadSpec)
    sessions = traffic.num_requests
    arr = traffic.arrivals
    if traffic.duration_s is not None and not isinstance(arr, wl.ClosedLoop):
        by_time = arr.rate_per_s * traffic.duration_s
        sessions = by_time if sessions is None else min(sessions, by_time)
    assert sessions is not None  # WorkloadSpec requires num_requests or duration_s
    turns = max(traffic.conversation.num_turns.mean, 1.0) if traffic.conversation else 1.0
    return float(sessions) * turns


def _physical_memory_bytes() -> float | None:
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_fits_in_memory(spec: SimulationSpec) -> None:
    """Refuse, before generating anything, a run whose requests would not fit in memory."""
    calls = expected_calls(spec.traffic)
    if spec.run.max_requests is not None and not isinstance(spec.traffic, AgenticSpec):
        calls = min(calls, float(spec.run.max_requests))
    need = calls * BYTES_PER_CALL
    have = _physical_memory_bytes()
    if have is not None and need > MEMORY_SHARE * have:
        raise ScenarioError(
            f"scenario {spec.name} makes about {calls:,.3g} LLM calls, which need about "
            f"{need / 2**30:,.0f} GiB of memory to simulate (~{BYTES_PER_CALL:g} B each); this "
            f"machine has {have / 2**30:,.0f} GiB. Lower num_requests or duration_s, or cap the "
            f"run with --max-requests (simulation.max_requests).")


def simulate(spec: SimulationSpec, *, progress: Progress | None = None) -> SimulationResult:
    """Run ``spec``; ``progress(done, expected)`` is called as requests complete."""
    check_fits_in_memory(spec)
    rng = np.random.default_rng(spec.seed)
    table = session_table(spec, rng)
    if table.num_calls == 0:
        raise ScenarioError(f"scenario {spec.name} generates no requests (duration too short "
                            f"or rate too low); raise num_requests or duration_s.")
    needed = max_context_tokens(table)
    plans = [plan_pool(spec, p, spec.calibration, needed) for p in spec.pools]
    agentic = spec.traffic if isinstance(spec.traffic, AgenticSpec) else None
    cap = spec.run.max_requests

    env = Environment()
    # The front end (HTTP, tokenisation, streaming) adds a constant to every request's TTFT and
    # E2E; a constant shift of every arrival would only translate the engine's timeline.
    log = RequestLog(frontend_s=plans[0].cost.calibration.frontend_s)
    itl: list[float] = []
    num_done = 0
    expected = table.num_calls if cap is None or table.extends_context or \
        agentic is not None else min(cap, table.num_calls)
    tick = max(1, expected // 200)

    def finished(req: Request) -> None:
        nonlocal num_done
        cluster.request_done(req)
        log.closed(req)
        if req.token_times_s:
            itl.extend(np.diff(req.token_times_s).tolist())
            req.token_times_s = None  # NOTE: free the per-token list early, for memory
        driver.on_finish(req)
        num_done += 1
        if progress is not None and num_done % tick == 0:
            progress(num_done, expected)

    pools, rid = [], 0
    for plan in plans:
        replicas = []
        for _ in range(plan.num_replicas):
            replicas.append(Replica(
                replica_id=rid, env=env, cost=plan.cost,
                kv_capacity_blocks=plan.memory.num_kv_blocks,
                kv_block_size_tokens=plan.memory.kv_block_size_tokens,
                kv_bytes_per_token=plan.kv_bytes_per_token, config=plan.config,
                on_finish=finished, on_prefill_done=None))
            rid += 1
        router = make_router(spec.router.kind, load_weight=spec.router.load_weight)
        pools.append(Pool(name=plan.role, replicas=replicas, router=router,
                          kv_bytes_per_token=plan.kv_bytes_per_token))
    cluster = Cluster(env=env, pools=pools, on_finish=finished)
    if cluster.disaggregated:
        tspec = TransferSpec(bandwidth_bytes_per_s=transfer_bytes_per_s(spec, plans[0]),
                             latency_s=spec.transfer.latency_s)
        pools[0].links = [SharedLink(env, tspec) for _ in pools[0].replicas]
        for r in pools[0].replicas:
            r.on_prefill_done = cluster.prefill_done
    max_seq = min(p.max_seq_len_tokens for p in plans)

    def submit(req: Request) -> None:
        log.opened(req)
        if req.prompt_tokens + req.output_tokens > max_seq:
            # ASSUMPTION: like vLLM's max_model_len check, a request longer than the context
            # limit is rejected at the front door.
            req.rejected = True
            req.reject_reason = (f"context: {req.prompt_tokens} + {req.output_tokens} tokens "
                                 f"exceed max_seq_len_tokens = {max_seq}")
            finished(req)
            return
        cluster.submit(req)

    cpu_pool = CpuPool(env, agentic.num_cores) if agentic is not None else None
    block = plans[0].memory.kv_block_size_tokens
    driver = SessionDriver(env=env, table=table, submit=submit, block_tokens=block,
                           hash_blocks=spec.prefix_cache != "none", gap=cpu_pool,
                           max_requests=cap if not table.extends_context and agentic is None
                           else None, record_token_times=spec.run.record_token_times)
    driver.start()
    drain = spec.run.drain_limit_s

    def active() -> bool:
        return not (driver.done and cluster.num_outstanding == 0)

    interval = spec.run.sample_interval_s
    if interval is None:
        # NOTE: about 1,000 samples over the arrival span, for performance (a sample costs a
        # pass over the replicas).
        interval = max(1.0, float(table.start_at_s.max()) / 1000.0)
    cluster.start_sampling(interval, active)
    hit_drain_limit = _run(env, driver, cluster, drain)
    if progress is not None:
        progress(num_done, expected)

    requests = log.table()
    samples = cluster.samples
    timeline = arrow_table({
        "time_s": np.array([s.time_s for s in samples], np.float64),
        "num_outstanding": np.array([s.num_outstanding for s in samples], np.int64),
        "num_in_transfer": np.array([s.num_in_transfer for s in samples], np.int64),
        "kv_usage_frac": np.array([s.kv_usage_frac for s in samples], np.float64),
    })
    replica_stats = [r.stats() for p in pools for r in p.replicas]
    summary, warnings = summarize(
        spec=spec, plans=plans, replica_stats=replica_stats, requests=requests,
        timeline=timeline, end_s=env.now_s, hit_drain_limit=hit_drain_limit, cpu_pool=cpu_pool,
        links=pools[0].links if cluster.disaggregated else [],
        num_sessions=table.num_sessions, agentic=agentic is not None or table.extends_context)
    if spec.run.record_token_times:
        summary["itl_s"] = stats(np.asarray(itl))
    return SimulationResult(summary=summary, requests=requests, timeline=timeline,
                            warnings=warnings, replica_stats=tuple(replica_stats))


def _run(env: Environment, driver: SessionDriver, cluster: Cluster, drain_limit_s: float) -> bool:
    """Run to completion; return True when stopped by the drain limit (``drain_limit_s`` after
    the last arrival with requests still outstanding: overload)."""
    while True:
        deadline = driver.last_arrival_at_s + drain_limit_s
        if env.now_s >= deadline:
            if cluster.num_outstanding > 0:
                return True
            nxt = env.peek_s()
            if nxt is None:
                return False
            deadline = nxt  # idle until the next session or tool: skip ahead
        env.run(until_s=deadline)
        if env.peek_s() is None:
            return False
