"""``simulate(scenario)``: replay a scenario's traffic through a simulated cluster.

Builds the pools (sim_build.py), drives the sessions into the cluster, runs the event loop
until every request is done or - under overload - until the drain limit after the last
arrival, and returns a :class:`SimulationResult` (summary dict + per-request Arrow table).
Units: SI inside; the summary keeps seconds, tokens, joules and USD.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from tokenworks.api import sim_build
from tokenworks.api.scenario import Scenario, ScenarioFile, load_scenario
from tokenworks.api.sim_result import RequestLog, SimulationResult, arrow_table, stats
from tokenworks.api.sim_summary import summarize
from tokenworks.errors import ScenarioError
from tokenworks.model.catalog import get_model
from tokenworks.perf.calibration import load_calibration
from tokenworks.serving.agentic import CpuPool
from tokenworks.serving.cluster import Cluster, Pool
from tokenworks.serving.disagg import SharedLink, TransferSpec
from tokenworks.serving.events import Environment
from tokenworks.serving.replica import Replica
from tokenworks.serving.request import Request
from tokenworks.serving.routing import make_router
from tokenworks.serving.sessions import SessionDriver

Progress = Callable[[int, int], None]


def simulate(scenario: Scenario | ScenarioFile | dict | str | Path, *, seed: int | None = None,
             progress: Progress | None = None, max_requests: int | None = None) -> SimulationResult:
    """Simulate a scenario (a path to a YAML/TOML file, a dict, or a loaded ``Scenario``).

    ``seed`` overrides the file's seed; ``max_requests`` caps the traffic (sessions for
    agentic and conversation workloads); ``progress(done, expected)`` is called as requests
    complete.
    """
    sc = load_scenario(scenario)
    spec = sc.spec
    seed = spec.seed if seed is None else seed
    cap = spec.simulation.max_requests if max_requests is None else max_requests
    rng = np.random.default_rng(seed)
    model = get_model(spec.model)
    calibration = None
    if spec.calibration is not None:
        calibration = load_calibration(sc.resolve_path(spec.calibration))

    sections = sim_build.pool_sections(sc)
    # ASSUMPTION: agent tools run on the host CPUs of the first pool's system.
    table, agentic = sim_build.traffic(sc, rng, sim_build.section_system(sections[0][0]), cap)
    if table.num_calls == 0:
        raise ScenarioError(f"scenario {sc.name} generates no requests (duration too short or "
                            f"rate too low); raise num_requests or duration_s.")
    needed = sim_build.max_context_tokens(table)
    plans = [sim_build.build_pool(sc, model, sec, role, calibration, needed)
             for sec, role in sections]

    env = Environment()
    log = RequestLog()
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
                replica_id=rid, env=env, cost=plan.cost, kv_capacity_blocks=plan.memory.num_kv_blocks,
                kv_block_size_tokens=plan.memory.kv_block_size_tokens,
                kv_bytes_per_token=plan.kv_bytes_per_token, config=plan.config,
                on_finish=finished, on_prefill_done=None))
            rid += 1
        router = make_router(spec.router.kind, load_weight=spec.router.load_weight)
        pools.append(Pool(name=plan.role, replicas=replicas, router=router,
                          kv_bytes_per_token=plan.kv_bytes_per_token))
    cluster = Cluster(env=env, pools=pools, on_finish=finished)
    if cluster.disaggregated:
        bw = sim_build.transfer_bytes_per_s(sc, plans[0])
        latency = spec.pools.transfer.latency_s if spec.pools is not None else 0.0
        tspec = TransferSpec(bandwidth_bytes_per_s=bw, latency_s=latency)
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
                           hash_blocks=spec.cache.prefix_cache != "none", gap=cpu_pool,
                           max_requests=cap if not table.extends_context and agentic is None
                           else None, record_token_times=spec.simulation.record_token_times)
    driver.start()
    drain = spec.simulation.drain_limit_s

    def active() -> bool:
        return not (driver.done and cluster.num_outstanding == 0)

    interval = spec.simulation.sample_interval_s
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
    summary, warnings = summarize(
        sc=sc, seed=seed, plans=plans, pools=pools, requests=requests, timeline=timeline,
        end_s=env.now_s, hit_drain_limit=hit_drain_limit, drain_limit_s=drain,
        cpu_pool=cpu_pool, links=pools[0].links if cluster.disaggregated else [],
        num_sessions=table.num_sessions, agentic=agentic is not None or table.extends_context)
    if spec.simulation.record_token_times:
        summary["itl_s"] = stats(np.asarray(itl))
    return SimulationResult(summary=summary, requests=requests, timeline=timeline,
                            warnings=warnings)


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
