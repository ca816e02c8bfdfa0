"""The frozen specs a simulation is built from (``simulator.simulate(spec)``).

Units: SI (seconds, bytes, bytes/s, tokens). A ``SimulationSpec`` holds everything a run needs,
already resolved: the model's architecture, one pool (co-located) or two (prefill and decode)
with their hardware and deployment, the scheduler and cache settings, the router, the traffic
(a synthetic workload, a trace, or agentic sessions), SLOs, seed, calibration and run limits.
No file is read below this point: the edge (``tokenworks.io.scenario``) builds specs from
scenario files, and the planner or a Python user can build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokenworks.errors import ConfigError, check_range
from tokenworks.hardware import Accelerator, System
from tokenworks.model.arch import ModelArch
from tokenworks.perf.calibration import Calibration
from tokenworks.perf.deployment import SpecDecode
from tokenworks.perf.engine import DEFAULT_ENGINE, check_engine
from tokenworks.serving.agentic import AgenticSpec
from tokenworks.serving.kv_tiers import TierSpec
from tokenworks.serving.routing import ROUTERS
from tokenworks.serving.traces import TraceTraffic
from tokenworks.serving.workload import WorkloadSpec

__all__ = ["ROLES", "PoolSpec", "RouterSpec", "RunSpec", "SchedulerSpec", "SimulationSpec",
           "SloSpec", "Traffic", "TransferLinkSpec"]

ROLES = ("both", "prefill", "decode")
Traffic = WorkloadSpec | TraceTraffic | AgenticSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolSpec:
    """Identical replicas of one role: the accelerator, its system, and the deployment."""

    role: str = "both"  # "both" (co-located), "prefill" or "decode"
    accelerator: Accelerator
    system: System | None = None  # host memory, NVMe and NICs for KV tiers and transfers
    tp: int = 1
    pp: int = 1
    ep: int = 1
    dp: int = 1  # data-parallel attention ranks (MoE models; perf.deployment)
    weights_dtype: str = "bf16"
    kv_dtype: str = "bf16"
    spec: SpecDecode | None = None  # speculative decoding (perf.deployment.SpecDecode)
    num_replicas: int = 1
    gpu_memory_utilization_frac: float | None = None  # None: the engine's default
    kv_block_size_tokens: int = 16
    max_seq_len_tokens: int | None = None  # None: the longest the traffic needs (within the model)
    kv_tiers: tuple[TierSpec, ...] = ()  # per replica, resolved from the system by the edge

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(f"pool role = {self.role!r} is not valid; use one of "
                              f"{', '.join(ROLES)}.")
        check_range("num_replicas", self.num_replicas, low=1)
        if self.gpu_memory_utilization_frac is not None:
            check_range("gpu_memory_utilization_frac", self.gpu_memory_utilization_frac,
                        low=0.0, low_inclusive=False, high=1.0)
        check_range("kv_block_size_tokens", self.kv_block_size_tokens, low=1)

    @property
    def num_gpus(self) -> int:
        return self.tp * self.dp * self.pp * self.num_replicas


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerSpec:
    """The replica scheduler (vLLM names); the policy is a key of ``scheduler.POLICIES``."""

    # None: the engine's default on each pool's accelerator (perf.engine.engine_defaults).
    max_num_batched_tokens: int | None = None
    max_num_seqs: int | None = None
    chunked_prefill: bool = True
    # None: the engine's own (perf.engine.default_policy: prefill_first for SGLang, which does
    # not mix prompt chunks into decode steps; decode_first for vLLM and TensorRT-LLM).
    policy: str | None = None
    preemption: str = "recompute"
    queue: str = "fcfs"
    watermark_frac: float = 0.01
    exact: bool = False  # step by step (no jumps), for checking the fast path


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterSpec:
    kind: str = "round_robin"  # a key of routing.ROUTERS
    load_weight: float = 1.0  # kv_aware: tokens of load worth one token of cache hit

    def __post_init__(self) -> None:
        if self.kind not in ROUTERS:
            raise ConfigError(f"router '{self.kind}' is unknown; use one of "
                              f"{', '.join(ROUTERS)}.")


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferLinkSpec:
    """KV hand-off from a prefill replica to a decode replica (disaggregated serving)."""

    link_bytes_per_s: float | None = None  # None: the prefill replica's GPUs' NICs
    latency_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SloSpec:
    ttft_s: float | None = None
    tpot_s: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSpec:
    """How long to run and what to record."""

    drain_limit_s: float = 600.0  # stop this long after the last arrival if work remains
    sample_interval_s: float | None = None  # None: arrival span / 1000, at least 1 s
    max_requests: int | None = None  # the traffic was capped at this many (sessions)
    record_token_times: bool = False  # every token's time: inter-token latency (ITL)
    record_steps: bool = False  # every step and jump, for the Chrome trace


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SimulationSpec:
    """Everything one simulation needs. ``pools`` is one pool of role "both", or a "prefill"
    pool then a "decode" pool."""

    name: str = "scenario"
    model: ModelArch
    pools: tuple[PoolSpec, ...]
    engine: str = DEFAULT_ENGINE  # whose defaults, overheads and calibration apply
    scheduler: SchedulerSpec = field(default_factory=SchedulerSpec)
    prefix_cache: str = "lru_blocks"  # a key of prefix_cache.PREFIX_CACHES
    tier_load: str = "blocking"  # "blocking" or "overlapped"
    router: RouterSpec = field(default_factory=RouterSpec)
    transfer: TransferLinkSpec = field(default_factory=TransferLinkSpec)
    traffic: Traffic
    slo: SloSpec = field(default_factory=SloSpec)
    seed: int = 0
    calibration: Calibration | None = None  # None: the packaged fit
    run: RunSpec = field(default_factory=RunSpec)

    def __post_init__(self) -> None:
        object.__setattr__(self, "engine", check_engine(self.engine))
        roles = tuple(p.role for p in self.pools)
        if roles not in (("both",), ("prefill", "decode")):
            raise ConfigError(f"pools have roles {roles}; give one 'both' pool (co-located) or "
                              f"a 'prefill' pool then a 'decode' pool (disaggregated).")
        if self.seed < 0:
            raise ConfigError(f"seed = {self.seed} is negative; use a whole number >= 0.")
