"""The planner's frozen specs: the question (``PlanSpec``) and one answer to try (``Candidate``).

A plan asks: for this model and this demand, under these latency targets and budgets, which
deployment is cheapest? ``PlanSpec`` holds the model, the demand (a request rate with a length
mix, or none: then the plan ranks configurations by what one unit serves), the SLO targets
(each a metric, a percentile and a limit), the search space, the budgets, the objective and
the simulation settings. Everything is resolved: accelerator names are catalog names and
every accelerator has a price (the edge, ``tokenworks.io.plan``, resolves them). Specs are
frozen and hashable, so results memoise on them. Units: SI (s, W, USD, USD/h per GPU).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokenworks.errors import ConfigError, check_range
from tokenworks.model.arch import ModelArch
from tokenworks.perf.calibration import Calibration
from tokenworks.perf.deployment import SpecDecode
from tokenworks.perf.engine import DEFAULT_ENGINE, check_engine

__all__ = ["METRICS", "MODES", "OBJECTIVES", "PERCENTILES", "BudgetSpec", "Candidate",
           "DemandSpec", "PlanSpec", "PoolChoice", "PriceSpec", "RequestClass", "SearchSpace",
           "SimSettings", "SloTarget"]

METRICS = ("ttft", "tpot", "e2e")
PERCENTILES = ("p50", "p90", "p99")
MODES = ("aggregated", "disaggregated")
OBJECTIVES = ("cost", "gpus", "power", "goodput_per_usd")


@dataclass(frozen=True, slots=True, kw_only=True)
class SloTarget:
    """``metric`` at ``percentile`` must be at most ``limit_s`` (e.g. TTFT p90 <= 1 s)."""

    metric: str
    percentile: str = "p90"
    limit_s: float

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ConfigError(f"SLO metric '{self.metric}' is unknown; use one of "
                              f"{', '.join(METRICS)}.")
        if self.percentile not in PERCENTILES:
            raise ConfigError(f"SLO percentile '{self.percentile}' is unknown; use one of "
                              f"{', '.join(PERCENTILES)}.")
        check_range(f"{self.metric} SLO", self.limit_s, low=0.0, low_inclusive=False, unit="s",
                    fix="Give a positive latency target.")

    @property
    def label(self) -> str:
        return f"{self.metric} {self.percentile}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestClass:
    """One request shape of the demand and its share of requests."""

    input_tokens: int
    output_tokens: int
    share_frac: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DemandSpec:
    """The traffic: a length mix, Poisson arrivals at ``rate_per_s`` (None: rank by the
    capacity of one unit), and an optional system prompt shared by every request."""

    classes: tuple[RequestClass, ...]
    rate_per_s: float | None = None
    shared_prefix_tokens: int = 0

    def __post_init__(self) -> None:
        if not self.classes:
            raise ConfigError("demand has no request classes; give input and output tokens.")
        total = sum(c.share_frac for c in self.classes)
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(f"demand class shares sum to {total:g}; they must sum to 1.")
        for c in self.classes:
            if c.input_tokens < 1 or c.output_tokens < 1:
                raise ConfigError(f"request class {c.input_tokens} in / {c.output_tokens} out: "
                                  f"both must be >= 1 token.")
        if self.rate_per_s is not None:
            check_range("demand rate_per_s", self.rate_per_s, low=0.0, low_inclusive=False,
                        unit="req/s")
        if self.shared_prefix_tokens < 0 or self.shared_prefix_tokens >= self.min_input_tokens:
            raise ConfigError(f"shared_prefix_tokens = {self.shared_prefix_tokens} must be >= 0 "
                              f"and shorter than the shortest prompt ({self.min_input_tokens}).")

    @property
    def mean_input_tokens(self) -> float:
        return sum(c.input_tokens * c.share_frac for c in self.classes)

    @property
    def mean_output_tokens(self) -> float:
        return sum(c.output_tokens * c.share_frac for c in self.classes)

    @property
    def min_input_tokens(self) -> int:
        return min(c.input_tokens for c in self.classes)

    @property
    def max_seq_tokens(self) -> int:
        return max(c.input_tokens + c.output_tokens for c in self.classes)


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchSpace:
    """The configurations to try. Tuples are the options of each knob; the planner tries
    their product (skipping invalid splits). ``prefill_hardware`` (disaggregated only) may
    differ from ``hardware``, for heterogeneous pools; empty means the same list."""

    hardware: tuple[str, ...]
    prefill_hardware: tuple[str, ...] = ()
    tp: tuple[int, ...] = (1, 2, 4, 8)
    pp: tuple[int, ...] = (1,)
    ep: tuple[int, ...] = (1,)
    # data-parallel attention ranks (MoE): with dp > 1 the experts span all tp × dp GPUs
    dp: tuple[int, ...] = (1,)
    weights_dtypes: tuple[str, ...] = ("bf16",)
    kv_dtypes: tuple[str, ...] = ("bf16",)
    max_num_batched_tokens: tuple[int, ...] = (2048, 8192)
    max_num_seqs: tuple[int, ...] = (64, 256)
    prefix_cache: tuple[bool, ...] = (True,)
    kv_tiers: tuple[tuple[str, ...], ...] = ((),)
    modes: tuple[str, ...] = MODES
    # (prefill replicas, decode replicas) of one disaggregated unit
    pd_ratios: tuple[tuple[int, int], ...] = ((1, 1), (1, 2), (1, 3), (2, 1), (2, 3), (3, 1),
                                              (1, 4), (3, 2))
    routers: tuple[str, ...] = ("least_outstanding",)
    speculative: tuple[SpecDecode | None, ...] = (None,)  # None: no speculative decoding

    def __post_init__(self) -> None:
        for m in self.modes:
            if m not in MODES:
                raise ConfigError(f"mode '{m}' is unknown; use {' or '.join(MODES)}.")
        for name in ("hardware", "tp", "pp", "ep", "dp", "weights_dtypes", "kv_dtypes",
                     "max_num_batched_tokens", "max_num_seqs", "prefix_cache", "kv_tiers",
                     "modes", "routers", "speculative"):
            if not getattr(self, name):
                raise ConfigError(f"search space '{name}' is empty; give at least one option.")
        for x, y in self.pd_ratios:
            if x < 1 or y < 1:
                raise ConfigError(f"prefill:decode ratio {x}:{y} needs whole numbers >= 1.")


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetSpec:
    """Limits on the whole deployment (None: no limit)."""

    max_gpus: int | None = None
    max_power_w: float | None = None
    max_usd_per_hour: float | None = None
    max_capex_usd: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceSpec:
    """What one accelerator costs: $/GPU-hour (rental or TCO), capex (None: unknown), the
    facility power per GPU (TDP with host overhead) and where the price came from."""

    accelerator: str
    usd_per_gpu_hour: float
    capex_usd: float | None
    power_w: float
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SimSettings:
    """How candidates are confirmed by simulation."""

    num_requests: int = 1500
    top_k: int = 12  # candidates simulated (the best of the analytic screen, diversified)
    rel_tolerance: float = 0.04  # capacity bisection stops at this relative bracket width
    drain_limit_s: float = 120.0

    def __post_init__(self) -> None:
        check_range("num_requests", self.num_requests, low=50, fix="Use e.g. 1500.")
        check_range("top_k", self.top_k, low=1, fix="Use e.g. 12.")
        check_range("rel_tolerance", self.rel_tolerance, low=0.005, high=0.5)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSpec:
    """The whole question. ``prices`` has one entry per accelerator in the space."""

    name: str = "plan"
    model: ModelArch
    demand: DemandSpec
    slo: tuple[SloTarget, ...]
    space: SearchSpace
    prices: tuple[PriceSpec, ...]
    budget: BudgetSpec = field(default_factory=BudgetSpec)
    objective: str = "cost"
    pricing: str = "rental"  # "rental" or "tco": how ``prices`` were resolved (for reports)
    sim: SimSettings = field(default_factory=SimSettings)
    seed: int = 0
    calibration: Calibration | None = None
    engine: str = DEFAULT_ENGINE  # whose overheads, kernels and front end the plan assumes

    def __post_init__(self) -> None:
        object.__setattr__(self, "engine", check_engine(self.engine))
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective '{self.objective}' is unknown; use one of "
                              f"{', '.join(OBJECTIVES)}.")
        if not self.slo:
            raise ConfigError("a plan needs at least one SLO target (ttft, tpot or e2e).")
        have = {p.accelerator for p in self.prices}
        need = set(self.space.hardware) | set(self.space.prefill_hardware)
        if need - have:
            raise ConfigError(f"no price for {', '.join(sorted(need - have))}; give one.")

    def price(self, accelerator: str) -> PriceSpec:
        for p in self.prices:
            if p.accelerator == accelerator:
                return p
        raise ConfigError(f"no price for accelerator '{accelerator}' in the plan.")


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolChoice:
    """One pool's replica: hardware, split and precisions."""

    accelerator: str
    tp: int = 1
    pp: int = 1
    ep: int = 1
    dp: int = 1
    weights_dtype: str = "bf16"
    kv_dtype: str = "bf16"
    spec: SpecDecode | None = None

    @property
    def num_gpus(self) -> int:
        return self.tp * self.dp * self.pp

    def label(self) -> str:
        s = f"{self.accelerator} tp{self.tp}"
        s += f"dp{self.dp}" if self.dp > 1 else ""
        s += f"pp{self.pp}" if self.pp > 1 else ""
        s += f"ep{self.ep}" if self.ep > 1 else ""
        w = self.weights_dtype if self.weights_dtype == self.kv_dtype \
            else f"{self.weights_dtype}/kv-{self.kv_dtype}"
        sp = "" if self.spec is None else f" {self.spec.method}{self.spec.num_tokens}"
        return f"{s} {w}{sp}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One configuration of a *unit*: a replica (aggregated) or ``num_prefill`` prefill
    replicas plus ``num_decode`` decode replicas (disaggregated). A deployment is a whole
    number of units."""

    mode: str
    decode: PoolChoice  # the serving pool (aggregated) or the decode pool
    prefill: PoolChoice | None = None
    num_prefill: int = 0
    num_decode: int = 1
    max_num_batched_tokens: int = 8192
    max_num_seqs: int = 256
    prefix_cache: bool = True
    kv_tiers: tuple[str, ...] = ()
    router: str = "least_outstanding"

    @property
    def unit_gpus(self) -> int:
        pre = self.prefill.num_gpus * self.num_prefill if self.prefill is not None else 0
        return pre + self.decode.num_gpus * self.num_decode

    def label(self) -> str:
        knobs = f"mbt {self.max_num_batched_tokens}, seqs {self.max_num_seqs}"
        if self.mode == "aggregated":
            return f"agg {self.decode.label()} ({knobs})"
        assert self.prefill is not None
        return (f"disagg {self.num_prefill}× [{self.prefill.label()}] + {self.num_decode}× "
                f"[{self.decode.label()}] ({knobs})")
