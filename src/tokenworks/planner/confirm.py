"""Confirming a candidate by simulation: the largest request rate one unit serves within the
SLO, found by bisection on load, with tail latencies measured by the serving simulator.

``ConfirmTask`` is everything one confirmation needs (frozen, picklable, no open files), so a
task runs the same in this process, a local worker or a Ray worker, and its ``key`` (a digest
of the task and of the modelling code) names its result in the results store. Every rate of
one bisection replays the same arrivals, stretched (common random numbers): latency then rises
with load almost surely, and the answer does not depend on where it ran. Units: requests/s, s.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np

from tokenworks.hardware import default_system_for, get_accelerator
from tokenworks.model.arch import ModelArch
from tokenworks.perf.calibration import Calibration
from tokenworks.perf.engine import DEFAULT_ENGINE
from tokenworks.planner.spec import Candidate, DemandSpec, PoolChoice, SimSettings, SloTarget
from tokenworks.serving.kv_tiers import TierRequest, replica_tiers
from tokenworks.serving.simulator import simulate
from tokenworks.serving.spec import (
    PoolSpec,
    RouterSpec,
    RunSpec,
    SchedulerSpec,
    SimulationSpec,
    SloSpec,
)
from tokenworks.serving.traces import Trace, TraceTraffic

__all__ = [
    "ConfirmTask",
    "Confirmation",
    "SimPoint",
    "code_fingerprint",
    "confirm",
    "simulation_spec",
]

# ASSUMPTION: the planner's simulated replicas use 16-token KV blocks (vLLM's default), and
# shared-prefix blocks are keyed by position so every request's system prompt hits the cache.
BLOCK_TOKENS = 16
_STEP = 1.6  # bracketing factor of the capacity search
_MAX_BRACKET_STEPS = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmTask:
    candidate: Candidate
    model: ModelArch
    demand: DemandSpec
    slo: tuple[SloTarget, ...]
    sim: SimSettings
    seed: int
    calibration: Calibration | None
    start_rate_per_s: float  # the analytic capacity: where the search starts
    units: int = 1  # > 1: verify a whole deployment at ``start_rate_per_s`` (no search)
    engine: str = DEFAULT_ENGINE

    @property
    def key(self) -> str:
        """Digest of the task and the modelling code: the result's name in the store."""
        h = hashlib.sha256()
        h.update(code_fingerprint().encode())
        h.update(repr(replace(self, start_rate_per_s=round(self.start_rate_per_s, 6))).encode())
        return h.hexdigest()[:32]


@dataclass(frozen=True, slots=True, kw_only=True)
class SimPoint:
    """One simulated load: the latencies of the SLO targets and whether all were met."""

    rate_per_s: float
    ok: bool
    latency_s: dict[str, float | None]  # target label -> measured percentile
    failed: tuple[str, ...]
    num_unfinished: int
    output_tokens_per_s: float
    summary: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Confirmation:
    """A unit's simulated capacity (0: no load met the SLO), the points tried, and the first
    constraint that broke above capacity."""

    key: str
    candidate: Candidate
    capacity_rate_per_s: float
    binding: str
    at_capacity: SimPoint | None
    closest: SimPoint  # the lowest-load point (what the unit does at best)
    points: tuple[SimPoint, ...]


@cache
def code_fingerprint() -> str:
    """Digest of the code and data the numbers depend on (perf, serving, the planner's
    physics, the calibration and hardware catalogs): a stored result from other code is
    never reused."""
    root = Path(__file__).resolve().parents[1]
    files = sorted([*(root / "perf").glob("*.py"), *(root / "serving").glob("*.py"),
                    *(root / "model").glob("*.py"), root / "planner" / "confirm.py",
                    root / "data" / "calibration.toml", root / "data" / "accelerators.toml"])
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _trace(demand: DemandSpec, n: int, seed: int) -> Trace:
    """``n`` requests of the demand's mix, Poisson arrivals at 1 request/s (rescaled later)."""
    rng = np.random.default_rng(seed)
    arrived = np.concatenate(([0.0], np.cumsum(rng.exponential(1.0, n - 1))))
    shares = np.asarray([c.share_frac for c in demand.classes])
    pick = rng.choice(len(demand.classes), size=n, p=shares / shares.sum())
    prompt = np.asarray([c.input_tokens for c in demand.classes], np.int64)[pick]
    output = np.asarray([c.output_tokens for c in demand.classes], np.int64)[pick]
    hashes = offsets = None
    shared = demand.shared_prefix_tokens // BLOCK_TOKENS
    if shared:
        blocks = prompt // BLOCK_TOKENS
        offsets = np.concatenate(([0], np.cumsum(blocks))).astype(np.int64)
        rows = [np.concatenate((np.arange(1, shared + 1),
                                (i + 1) * 1_000_000 + np.arange(shared, b))) for i, b in
                enumerate(blocks.tolist())]
        hashes = np.concatenate(rows).astype(np.int64)
    return Trace(path="planner demand", arrived_at_s=arrived, prompt_tokens=prompt,
                 output_tokens=output, hashes=hashes, hash_offsets=offsets,
                 hash_block_tokens=BLOCK_TOKENS if shared else None)


def _pool(p: PoolChoice, role: str, replicas: int, tiers: tuple[str, ...]) -> PoolSpec:
    acc = get_accelerator(p.accelerator)
    system = default_system_for(acc.name)
    kv_tiers = replica_tiers(tuple(TierRequest(name=t) for t in tiers), system, p.num_gpus) \
        if tiers else ()
    return PoolSpec(role=role, accelerator=acc, system=system, tp=p.tp, pp=p.pp, ep=p.ep,
                    dp=p.dp, weights_dtype=p.weights_dtype, kv_dtype=p.kv_dtype, spec=p.spec,
                    num_replicas=replicas,
                    kv_block_size_tokens=BLOCK_TOKENS, kv_tiers=kv_tiers)


def simulation_spec(task: ConfirmTask, rate_per_s: float, trace: Trace) -> SimulationSpec:
    """The simulation of ``task.units`` units of the candidate at ``rate_per_s``."""
    c, n = task.candidate, task.units
    if c.mode == "aggregated":
        pools = (_pool(c.decode, "both", n, c.kv_tiers),)
    else:
        assert c.prefill is not None
        pools = (_pool(c.prefill, "prefill", n * c.num_prefill, c.kv_tiers),
                 _pool(c.decode, "decode", n * c.num_decode, c.kv_tiers))
    slo = {t.metric: t.limit_s for t in task.slo}
    return SimulationSpec(
        name=f"plan: {c.label()}", model=task.model, pools=pools, engine=task.engine,
        scheduler=SchedulerSpec(max_num_batched_tokens=c.max_num_batched_tokens,
                                max_num_seqs=c.max_num_seqs),
        prefix_cache="lru_blocks" if c.prefix_cache else "none",
        router=RouterSpec(kind=c.router),
        traffic=TraceTraffic(trace=trace, target_rate_per_s=rate_per_s),
        slo=SloSpec(ttft_s=slo.get("ttft"), tpot_s=slo.get("tpot")), seed=task.seed,
        calibration=task.calibration, run=RunSpec(drain_limit_s=task.sim.drain_limit_s))


_SUMMARY = (("ttft_s", "p50"), ("ttft_s", "p90"), ("ttft_s", "p99"), ("tpot_s", "p50"),
            ("tpot_s", "p90"), ("tpot_s", "p99"), ("e2e_s", "p50"), ("e2e_s", "p90"),
            ("e2e_s", "p99"))


def _point(task: ConfirmTask, rate: float, trace: Trace) -> SimPoint:
    s = simulate(simulation_spec(task, rate, trace)).summary
    lat: dict[str, float | None] = {}
    failed = []
    for t in task.slo:
        v = s[f"{t.metric}_s"][t.percentile]
        lat[t.label] = v
        if v is not None and v > t.limit_s:
            failed.append(t.label)
    bad = s["num_unfinished"] + s["num_rejected"]
    if bad:
        failed.append("overload" if s["num_unfinished"] else "rejected")
    flat = {f"{m.removesuffix('_s')}_{p}": s[m][p] for m, p in _SUMMARY}
    flat.update(num_preemptions=float(s["num_preemptions"]), duration_s=s["duration_s"],
                slo_attainment_frac=s["slo_attainment_frac"])
    return SimPoint(rate_per_s=rate, ok=not failed, latency_s=lat, failed=tuple(failed),
                    num_unfinished=int(s["num_unfinished"]),
                    output_tokens_per_s=float(s["output_tokens_per_s"] or 0.0), summary=flat)


def confirm(task: ConfirmTask) -> Confirmation:
    """Capacity of one unit by bracketing then geometric bisection on the request rate (or,
    with ``units > 1``, one check of the whole deployment at ``start_rate_per_s``)."""
    n = task.sim.num_requests * min(task.units, 8)
    trace = _trace(task.demand, n, task.seed)
    points: list[SimPoint] = []

    def run(rate: float) -> SimPoint:
        p = _point(task, rate, trace)
        points.append(p)
        return p

    if task.units > 1:
        p = run(task.start_rate_per_s)
        return Confirmation(key=task.key, candidate=task.candidate,
                            capacity_rate_per_s=p.rate_per_s if p.ok else 0.0,
                            binding=", ".join(p.failed), at_capacity=p if p.ok else None,
                            closest=p, points=tuple(points))
    lo: SimPoint | None = None
    hi: SimPoint | None = None
    first = run(max(task.start_rate_per_s, 1e-4))
    if first.ok:
        lo = first
        for _ in range(_MAX_BRACKET_STEPS):
            p = run(lo.rate_per_s * _STEP)
            if not p.ok:
                hi = p
                break
            lo = p
    else:
        hi = first
        for _ in range(_MAX_BRACKET_STEPS):
            p = run(hi.rate_per_s / _STEP)
            if p.ok:
                lo = p
                break
            hi = p
    while lo is not None and hi is not None and \
            hi.rate_per_s / lo.rate_per_s > 1.0 + task.sim.rel_tolerance:
        p = run(math.sqrt(lo.rate_per_s * hi.rate_per_s))
        lo, hi = (p, hi) if p.ok else (lo, p)
    closest = min(points, key=lambda p: p.rate_per_s)
    binding = ", ".join(hi.failed) if hi is not None else "none within the search"
    return Confirmation(key=task.key, candidate=task.candidate,
                        capacity_rate_per_s=lo.rate_per_s if lo is not None else 0.0,
                        binding=binding, at_capacity=lo, closest=closest,
                        points=tuple(sorted(points, key=lambda p: p.rate_per_s)))
