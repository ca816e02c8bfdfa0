"""tokenworks.serving: the discrete-event serving simulator (replica engine and cluster).

Engine core (docs/simulator-engine.md): ``Environment`` (event heap), ``Request``,
``Replica``/``ReplicaConfig`` (continuous batching, paged KV, prefix cache, KV tiers),
``StepCost`` (the protocol the perf layer's ``StepCostModel`` satisfies) and metrics.

The hot modules may run compiled by mypyc (``tokenworks/_compiled.py``; ``engine_build()``
says which); ``TOKENWORKS_PURE_PYTHON=1`` runs them as Python.
"""

from tokenworks._compiled import engine_build
from tokenworks.serving.block_manager import BlockManager, blocks_for_tokens
from tokenworks.serving.events import Environment, EventHandle, Priority
from tokenworks.serving.kv_tiers import TierSpec
from tokenworks.serving.metrics import (
    LatencyStats,
    ReplicaStats,
    Summary,
    chrome_trace,
    export_records,
    records_frame,
    records_table,
    summarize,
    write_chrome_trace,
)
from tokenworks.serving.prefix_cache import LruBlockCache, RadixCache
from tokenworks.serving.replica import Replica, ReplicaConfig, StepCost
from tokenworks.serving.request import Request

__all__ = [
    "BlockManager",
    "Environment",
    "EventHandle",
    "LatencyStats",
    "LruBlockCache",
    "Priority",
    "RadixCache",
    "Replica",
    "ReplicaConfig",
    "ReplicaStats",
    "Request",
    "StepCost",
    "Summary",
    "TierSpec",
    "blocks_for_tokens",
    "chrome_trace",
    "engine_build",
    "export_records",
    "records_frame",
    "records_table",
    "summarize",
    "write_chrome_trace",
]
