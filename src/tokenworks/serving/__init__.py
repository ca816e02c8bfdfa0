"""tokenworks.serving: the discrete-event serving simulator (replica engine and cluster).

``simulate(SimulationSpec)`` builds a cluster from frozen specs and runs it
(simulator.py), returning a ``SimulationResult`` (per-request table, timeline, summary, trace
export). Engine core (docs/simulator-engine.md): ``Environment`` (event heap), ``Request``,
``Replica``/``ReplicaConfig`` (continuous batching, paged KV, prefix cache, KV tiers),
``StepCost`` (the protocol the perf layer's ``StepCostModel`` satisfies).

The hot modules may run compiled by mypyc (``tokenworks/_compiled.py``; ``engine_build()``
says which); ``TOKENWORKS_PURE_PYTHON=1`` runs them as Python.
"""

from tokenworks._compiled import engine_build
from tokenworks.serving.block_manager import BlockManager, blocks_for_tokens
from tokenworks.serving.events import Environment, EventHandle, Priority
from tokenworks.serving.kv_tiers import TierSpec
from tokenworks.serving.metrics import ReplicaStats
from tokenworks.serving.prefix_cache import LruBlockCache, RadixCache
from tokenworks.serving.replica import Replica, ReplicaConfig, StepCost
from tokenworks.serving.request import Request
from tokenworks.serving.result import SimulationResult
from tokenworks.serving.scheduler import POLICIES
from tokenworks.serving.simulator import simulate
from tokenworks.serving.spec import (
    PoolSpec,
    RouterSpec,
    RunSpec,
    SchedulerSpec,
    SimulationSpec,
    SloSpec,
    TransferLinkSpec,
)

__all__ = [
    "POLICIES",
    "BlockManager",
    "Environment",
    "EventHandle",
    "LruBlockCache",
    "PoolSpec",
    "Priority",
    "RadixCache",
    "Replica",
    "ReplicaConfig",
    "ReplicaStats",
    "Request",
    "RouterSpec",
    "RunSpec",
    "SchedulerSpec",
    "SimulationResult",
    "SimulationSpec",
    "SloSpec",
    "StepCost",
    "TierSpec",
    "TransferLinkSpec",
    "blocks_for_tokens",
    "engine_build",
    "simulate",
]
