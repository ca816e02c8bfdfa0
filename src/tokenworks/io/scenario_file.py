"""Scenario files (YAML or TOML): what a file may contain, and reading it.

A scenario names the model, the hardware and deployment (one pool, or a prefill pool and a
decode pool when disaggregated), the replica scheduler, the prefix cache and KV tiers, the
router, the traffic (a synthetic ``workload``, a ``trace`` replay, or ``agentic`` sessions),
SLOs, seed, calibration and price. Unknown keys are rejected with the list of valid ones. The
file is validated once (``ScenarioFile``); ``io.scenario.simulation_spec`` then turns it into
the serving layer's frozen ``SimulationSpec``, reading the trace and calibration files it
names; nothing downstream sees pydantic or a file. Durations in the file are seconds (``_s``); capacities
and bandwidths carry their display unit in the key (``capacity_gb``, ``read_gb_per_s``).
"""

from __future__ import annotations

import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenworks.errors import ScenarioError
from tokenworks.files import read_text
from tokenworks.perf.engine import DEFAULT_ENGINE, ENGINES
from tokenworks.serving.kv_tiers import TIER_NAMES
from tokenworks.serving.prefix_cache import PREFIX_CACHES
from tokenworks.serving.queues import QUEUES
from tokenworks.serving.routing import ROUTERS
from tokenworks.serving.scheduler import POLICIES


class _Section(BaseModel):
    # inf and NaN are not values (``rate_per_s: .inf`` would otherwise read as "very fast").
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


PosInt = Annotated[int, Field(ge=1)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Frac = Annotated[float, Field(ge=0, le=1)]


class DistSection(_Section):
    """A distribution of tokens or seconds. A bare number means ``{kind: fixed, value: n}``."""

    kind: Literal["fixed", "uniform", "lognormal", "exponential", "empirical"]
    value: NonNegFloat | None = None
    low: NonNegFloat | None = None
    high: NonNegFloat | None = None
    mean: PosFloat | None = None
    sigma: NonNegFloat | None = None
    cv: NonNegFloat | None = None
    values: list[NonNegFloat] | None = None
    trace: str | None = None
    column: Literal["prompt_tokens", "output_tokens"] | None = None

    @model_validator(mode="after")
    def _needs(self) -> DistSection:
        need = {"fixed": ("value",), "uniform": ("low", "high"), "lognormal": ("mean",),
                "exponential": ("mean",), "empirical": ()}[self.kind]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.kind} distribution needs {', '.join(missing)}")
        if self.kind == "lognormal" and (self.sigma is None) == (self.cv is None):
            raise ValueError("a lognormal distribution needs exactly one of sigma or cv")
        if self.kind == "empirical" and (self.values is None) == (self.trace is None):
            raise ValueError("an empirical distribution needs values: [...] or trace + column")
        if self.kind == "empirical" and self.trace is not None and self.column is None:
            raise ValueError("an empirical distribution from a trace needs column: "
                             "prompt_tokens or output_tokens")
        return self


Dist = NonNegFloat | DistSection


class HardwareSection(_Section):
    accelerator: str
    system: str | None = None


class SpeculativeSection(_Section):
    """Speculative decoding (perf.deployment.make_spec_decode checks the values)."""

    method: str
    num_tokens: PosInt | None = None
    acceptance_rate: float | None = None
    acceptance_length: float | None = None
    draft_model: str | None = None


class DeploymentSection(_Section):
    tp: PosInt = 1
    pp: PosInt = 1
    ep: PosInt = 1
    dp: PosInt = 1  # data-parallel attention ranks (MoE models)
    weights_dtype: str | None = None  # None: the checkpoint's format (served_weights_dtype)
    kv_dtype: str = "bf16"
    speculative: SpeculativeSection | None = None
    num_replicas: PosInt = 1
    # None: the engine's default (vLLM 0.9, SGLang 0.88, TensorRT-LLM 0.9)
    gpu_memory_utilization_frac: Annotated[float, Field(gt=0, le=1)] | None = None
    kv_block_size_tokens: PosInt = 16
    max_seq_len_tokens: PosInt | None = None


class PoolSection(DeploymentSection):
    accelerator: str
    system: str | None = None


class TransferSection(_Section):
    link_gbit_per_s: PosFloat | None = None
    latency_s: NonNegFloat = 0.0


class PoolsSection(_Section):
    prefill: PoolSection
    decode: PoolSection
    transfer: TransferSection = TransferSection()


class SchedulerSection(_Section):
    # None: the engine's default on the pool's accelerator (perf.engine.engine_defaults)
    max_num_batched_tokens: PosInt | None = None
    max_num_seqs: PosInt | None = None
    chunked_prefill: bool = True
    # None: the engine's own (prefill_first for SGLang, decode_first for vLLM, TensorRT-LLM)
    policy: Literal[tuple(POLICIES)] | None = None  # type: ignore[valid-type]
    preemption: Literal["recompute", "swap"] = "recompute"
    queue: Literal[tuple(QUEUES)] = "fcfs"  # type: ignore[valid-type]
    watermark_frac: Frac = 0.01
    exact: bool = False


class TierSection(_Section):
    name: Literal[TIER_NAMES]  # type: ignore[valid-type]
    capacity_gb: NonNegFloat | None = None
    read_gb_per_s: PosFloat | None = None
    write_gb_per_s: PosFloat | None = None
    latency_s: NonNegFloat | None = None


class CacheSection(_Section):
    prefix_cache: Literal[tuple(PREFIX_CACHES)] = "lru_blocks"  # type: ignore[valid-type]
    tiers: list[TierSection] = []
    tier_load: Literal["blocking", "overlapped"] = "blocking"


class RouterSection(_Section):
    kind: Literal[tuple(ROUTERS)] = "round_robin"  # type: ignore[valid-type]
    load_weight: NonNegFloat = 1.0


class ArrivalSection(_Section):
    kind: Literal["poisson", "gamma", "constant", "closed_loop"]
    rate_per_s: PosFloat | None = None
    cv: PosFloat | None = None
    num_users: PosInt | None = None
    think_time_s: Dist = 0.0

    @model_validator(mode="after")
    def _needs(self) -> ArrivalSection:
        need = {"poisson": ("rate_per_s",), "constant": ("rate_per_s",),
                "gamma": ("rate_per_s", "cv"), "closed_loop": ("num_users",)}[self.kind]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{self.kind} arrivals need {', '.join(missing)}")
        return self


class SharedPrefixSection(_Section):
    num_prefixes: PosInt
    prefix_tokens: Dist
    zipf_exponent: NonNegFloat = 1.0
    frac_with_prefix: Frac = 1.0


class ConversationSection(_Section):
    num_turns: Dist
    think_time_s: Dist = 0.0


class PriorityClassSection(_Section):
    priority: int
    frac: Frac


class WorkloadSection(_Section):
    arrivals: ArrivalSection
    prompt_tokens: Dist
    output_tokens: Dist
    num_requests: PosInt | None = None
    duration_s: PosFloat | None = None
    shared_prefix: SharedPrefixSection | None = None
    conversation: ConversationSection | None = None
    max_prompt_tokens: PosInt | None = None
    max_output_tokens: PosInt | None = None
    priorities: list[PriorityClassSection] = []


class TraceSection(_Section):
    path: str
    format: Literal["auto", "azure", "mooncake", "vidur", "lengths"] = "auto"
    time_scale: PosFloat | None = None
    target_rate_per_s: PosFloat | None = None
    max_requests: PosInt | None = None


class AgenticSection(_Section):
    num_sessions: PosInt
    arrivals: ArrivalSection
    num_calls: Dist
    first_prompt_tokens: Dist
    tool_result_tokens: Dist
    output_tokens: Dist
    tool_time_s: Dist
    num_cores: PosInt | None = None
    shared_prefix: SharedPrefixSection | None = None


class SloSection(_Section):
    ttft_s: PosFloat | None = None
    tpot_s: PosFloat | None = None


class PriceSection(_Section):
    usd_per_gpu_hour: PosFloat


class SimulationSection(_Section):
    drain_limit_s: PosFloat = 600.0
    sample_interval_s: PosFloat | None = None  # None: arrival span / 1000, at least 1 s
    max_requests: PosInt | None = None
    record_token_times: bool = False  # keep every token's time: inter-token latency (ITL)


class ScenarioFile(_Section):
    """The whole file. Exactly one of hardware+deployment or pools; one traffic source."""

    name: str = "scenario"
    description: str = ""
    model: str
    engine: Literal[ENGINES] = DEFAULT_ENGINE  # type: ignore[valid-type]
    hardware: HardwareSection | None = None
    deployment: DeploymentSection = DeploymentSection()
    pools: PoolsSection | None = None
    scheduler: SchedulerSection = SchedulerSection()
    cache: CacheSection = CacheSection()
    router: RouterSection = RouterSection()
    workload: WorkloadSection | None = None
    trace: TraceSection | None = None
    agentic: AgenticSection | None = None
    slo: SloSection = SloSection()
    seed: int = 0
    calibration: str | None = None
    price: PriceSection | None = None
    simulation: SimulationSection = SimulationSection()

    @model_validator(mode="after")
    def _one_of(self) -> ScenarioFile:
        if (self.hardware is None) == (self.pools is None):
            raise ValueError("give exactly one of 'hardware' (+ 'deployment') for co-located "
                             "serving or 'pools' (prefill + decode) for disaggregated serving")
        if self.pools is not None and "deployment" in self.model_fields_set:
            raise ValueError("'deployment' is for co-located serving; with 'pools' put tp/pp/"
                             "num_replicas inside pools.prefill and pools.decode")
        sources = [k for k in ("workload", "trace", "agentic") if getattr(self, k) is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one traffic source: 'workload', 'trace' or 'agentic' "
                             f"(found {', '.join(sources) or 'none'})")
        return self


# ---------------------------------------------------------------------------------------------
# Error messages: unknown keys list the valid ones.


def _section_class(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    cls: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if _is_union_tag(part) or not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            continue
        field = cls.model_fields.get(part)
        if field is None:
            continue
        cls = _model_in(field.annotation)
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _model_in(tp: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType, list, typing.Annotated):
        for arg in typing.get_args(tp):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _is_union_tag(part: Any) -> bool:
    """pydantic names union branches in ``loc`` (``function-after[...]``, ``float``)."""
    return isinstance(part, str) and (not part.isidentifier() or part in ("float", "int"))


def _messages(err: ValidationError, origin: str) -> str:
    parts: list[str] = []
    seen: set[str] = set()
    for e in err.errors():
        loc = tuple(e["loc"])
        shown = ".".join(str(x) for x in loc if not _is_union_tag(x))
        if e["type"] == "extra_forbidden":
            cls = _section_class(ScenarioFile, loc[:-1])
            valid = ", ".join(cls.model_fields) if cls is not None else "?"
            msg = f"unknown key '{shown}'; valid keys here: {valid}"
        else:
            if e["type"] in ("float_type", "float_parsing") and "kind" in str(e.get("input")):
                continue  # the bare-number branch of a Dist union; the section branch speaks
            text = str(e["msg"]).removeprefix("Value error, ")
            msg = f"{shown}: {text}" if shown else text
        if msg not in seen:
            seen.add(msg)
            parts.append(msg)
    return f"scenario {origin} is invalid: " + "; ".join(parts) + "."


def parse_scenario_dict(raw: dict[str, Any], *, origin: str = "(dict)") -> ScenarioFile:
    if not isinstance(raw, dict):
        raise ScenarioError(f"scenario {origin} must be a mapping of sections at the top level.")
    try:
        return ScenarioFile.model_validate(raw)
    except ValidationError as e:
        raise ScenarioError(_messages(e, origin)) from None


def read_scenario_file(path: str | Path) -> ScenarioFile:
    """Read and validate a YAML (.yaml/.yml) or TOML (.toml) scenario."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml") and not p.is_dir():
        raise ScenarioError(f"scenario file {p} has extension '{suffix}'; use .yaml, .yml "
                            f"or .toml.")
    text = read_text(p, what="scenario file", error=ScenarioError)
    try:
        raw = tomllib.loads(text) if suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise ScenarioError(f"scenario file {p} is not valid {suffix[1:].upper()}: "
                            f"{str(e).splitlines()[0]}") from None
    return parse_scenario_dict(raw or {}, origin=str(p))


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A validated scenario plus the folder its relative paths resolve against."""

    spec: ScenarioFile
    base_dir: Path

    @property
    def name(self) -> str:
        return self.spec.name

    def resolve_path(self, raw: str) -> Path:
        """A path from the file: absolute as is; relative against the scenario's folder, then
        the current directory."""
        p = Path(raw).expanduser()
        if p.is_absolute():
            return p
        for base in (self.base_dir, Path.cwd()):
            cand = (base / p).resolve()
            if cand.exists():
                return cand
        return (self.base_dir / p).resolve()

    def with_overrides(self, **changes: Any) -> Scenario:
        """A copy with top-level sections replaced (dicts are validated like the file)."""
        raw = self.spec.model_dump(exclude_unset=True)
        raw.update(changes)
        return Scenario(spec=parse_scenario_dict(raw, origin=f"{self.name} (overridden)"),
                        base_dir=self.base_dir)


def load_scenario(source: Scenario | ScenarioFile | dict | str | Path) -> Scenario:
    """A :class:`Scenario` from a path, a dict, a parsed file, or a scenario (returned as is)."""
    if isinstance(source, Scenario):
        return source
    if isinstance(source, ScenarioFile):
        return Scenario(spec=source, base_dir=Path.cwd())
    if isinstance(source, dict):
        return Scenario(spec=parse_scenario_dict(source), base_dir=Path.cwd())
    p = Path(source)
    return Scenario(spec=read_scenario_file(p), base_dir=p.resolve().parent)
