"""Scenario files (YAML or TOML): the pydantic edge of the serving simulator.

A scenario names the model, the hardware and deployment (one pool, or a prefill pool and a
decode pool when disaggregated), the replica scheduler, the prefix cache and KV tiers, the
router, the traffic (a synthetic ``workload``, a ``trace`` replay, or ``agentic`` sessions),
SLOs, seed, calibration and price. Unknown keys are rejected with the list of valid ones. The
file is validated once (``ScenarioFile``) and ``simulation_spec`` turns it into the serving
layer's frozen ``SimulationSpec``, reading the trace and calibration files it names; nothing
downstream sees pydantic or a file. Durations in the file are seconds (``_s``); capacities
and bandwidths carry their display unit in the key (``capacity_gb``, ``read_gb_per_s``).
"""

from __future__ import annotations

import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenworks.errors import ScenarioError
from tokenworks.files import read_text
from tokenworks.hardware import Accelerator, System, default_system_for, get_accelerator, get_system
from tokenworks.io.calibration import read_calibration
from tokenworks.io.traces import read_trace
from tokenworks.model.catalog import get_model
from tokenworks.serving import workload as wl
from tokenworks.serving.agentic import AgenticSpec
from tokenworks.serving.kv_tiers import TIER_NAMES, TierRequest, replica_tiers
from tokenworks.serving.prefix_cache import PREFIX_CACHES
from tokenworks.serving.queues import QUEUES
from tokenworks.serving.routing import ROUTERS
from tokenworks.serving.scheduler import POLICIES
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


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class DeploymentSection(_Section):
    tp: PosInt = 1
    pp: PosInt = 1
    ep: PosInt = 1
    weights_dtype: str = "bf16"
    kv_dtype: str = "bf16"
    num_replicas: PosInt = 1
    gpu_memory_utilization_frac: Annotated[float, Field(gt=0, le=1)] = 0.9
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
    max_num_batched_tokens: PosInt = 8192
    max_num_seqs: PosInt = 256
    chunked_prefill: bool = True
    policy: Literal[tuple(POLICIES)] = "decode_first"  # type: ignore[valid-type]
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


# ---------------------------------------------------------------------------------------------
# A validated file to a SimulationSpec.


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
    return PoolSpec(role=role, accelerator=acc, system=system, tp=section.tp, pp=section.pp,
                    ep=section.ep, weights_dtype=section.weights_dtype,
                    kv_dtype=section.kv_dtype, num_replicas=section.num_replicas,
                    gpu_memory_utilization_frac=section.gpu_memory_utilization_frac,
                    kv_block_size_tokens=section.kv_block_size_tokens,
                    max_seq_len_tokens=section.max_seq_len_tokens,
                    kv_tiers=replica_tiers(tiers, system, section.tp * section.pp))


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
        name=f.name, model=get_model(f.model), pools=pools,
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


