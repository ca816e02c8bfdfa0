"""Plan files (YAML or TOML) and ``tokenworks plan`` flags: the pydantic edge of the planner.

A plan file names the model, the demand (a request rate or output tokens per day; one shape,
a mix, or a trace's lengths), the SLO (seconds in files, ``_s``; the CLI's flags are in
milliseconds), the search space, budgets, objective, pricing and simulation settings. Unknown
keys are rejected with the valid ones. Flags given on the command line override the file.
``plan_spec`` resolves everything into the planner's frozen ``PlanSpec``: accelerator names
(or every priced part of the chosen vendors), and a price per accelerator — the user's, else
the catalog's rental price, else the economics layer's TCO break-even — each with its source.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenworks.economics.power import host_overhead_frac
from tokenworks.economics.tco import tco_per_accelerator_hour
from tokenworks.economics.token_cost import default_usd_per_gpu_hour
from tokenworks.errors import ConfigError, ScenarioError, TokenworksError
from tokenworks.files import read_text
from tokenworks.hardware import get_accelerator, list_accelerators
from tokenworks.io.calibration import read_calibration
from tokenworks.io.defaults import tco_spec
from tokenworks.io.economics import question
from tokenworks.io.scenario_file import SpeculativeSection
from tokenworks.io.traces import read_trace
from tokenworks.model.catalog import get_model
from tokenworks.perf.deployment import make_spec_decode, served_weights_dtype
from tokenworks.perf.engine import DEFAULT_ENGINE, ENGINES
from tokenworks.planner.spec import (
    MODES,
    OBJECTIVES,
    BudgetSpec,
    DemandSpec,
    PlanSpec,
    PriceSpec,
    RequestClass,
    SearchSpace,
    SimSettings,
    SloTarget,
)
from tokenworks.serving.routing import ROUTERS
from tokenworks.units import DAY, MW

__all__ = ["PlanFile", "parse_plan", "plan_spec", "read_plan_file"]

PosInt = Annotated[int, Field(ge=1)]
PosFloat = Annotated[float, Field(gt=0)]
Pct = Literal["p50", "p90", "p99"]
# ASSUMPTION: a trace's lengths enter a plan as a mix of at most this many requests drawn
# from it (its rows, evenly spaced), enough for the p99 of a length distribution.
MAX_TRACE_CLASSES = 2000


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MixRow(_Section):
    input_tokens: PosInt
    output_tokens: PosInt
    share: Annotated[float, Field(gt=0, le=1)]


class DemandSection(_Section):
    rate_per_s: PosFloat | None = None
    output_tokens_per_day: PosFloat | None = None
    input_tokens: PosInt | None = None
    output_tokens: PosInt | None = None
    mix: list[MixRow] | None = None
    trace: str | None = None
    shared_prefix_tokens: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _one_shape(self) -> DemandSection:
        given = [k for k in ("mix", "trace") if getattr(self, k) is not None]
        if self.input_tokens is not None or self.output_tokens is not None:
            given.append("input_tokens/output_tokens")
        if len(given) > 1:
            raise ValueError(f"give one request shape: {' or '.join(given)} (not both)")
        if self.rate_per_s is not None and self.output_tokens_per_day is not None:
            raise ValueError("give rate_per_s or output_tokens_per_day, not both")
        return self


class SloSection(_Section):
    ttft_s: PosFloat | None = None
    tpot_s: PosFloat | None = None
    e2e_s: PosFloat | None = None
    percentile: Pct = "p90"
    ttft_percentile: Pct | None = None
    tpot_percentile: Pct | None = None
    e2e_percentile: Pct | None = None


class SearchSection(_Section):
    hardware: list[str] | None = None
    prefill_hardware: list[str] = []
    vendors: list[str] | None = None
    available_only: bool = False  # only parts with a rental price in the catalogs
    max_usd_per_gpu_hour: PosFloat | None = None
    tp: list[PosInt] = [1, 2, 4, 8]
    pp: list[PosInt] = [1]
    ep: list[PosInt] = [1]
    dp: list[PosInt] = [1]  # data-parallel attention ranks (MoE; ep becomes tp × dp)
    weights_dtypes: list[str] | None = None  # None: the checkpoint's format (served_weights_dtype)
    kv_dtypes: list[str] | None = None  # None: bf16, plus fp8 when fp8/fp4 weights are tried
    # speculative decoding options to try; "none" (or an empty table) for none
    speculative: list[Literal["none"] | SpeculativeSection] = ["none"]
    max_num_batched_tokens: list[PosInt] = [2048, 8192]
    max_num_seqs: list[PosInt] = [64, 256]
    prefix_cache: list[bool] = [True]
    kv_tiers: list[list[Literal["dram", "nvme", "remote"]]] = [[]]
    modes: list[Literal[tuple(MODES)]] = list(MODES)  # type: ignore[valid-type]
    pd_ratios: list[tuple[PosInt, PosInt]] | None = None
    routers: list[Literal[tuple(ROUTERS)]] = ["least_outstanding"]  # type: ignore[valid-type]


class BudgetSection(_Section):
    max_gpus: PosInt | None = None
    max_power_mw: PosFloat | None = None
    max_usd_per_hour: PosFloat | None = None
    max_capex_usd: PosFloat | None = None


class SimulationSection(_Section):
    num_requests: Annotated[int, Field(ge=50)] = 1500
    top_k: PosInt = 12
    rel_tolerance: Annotated[float, Field(ge=0.005, le=0.5)] = 0.04


class PlanFile(_Section):
    name: str = "plan"
    description: str = ""
    model: str
    demand: DemandSection = DemandSection()
    slo: SloSection = SloSection()
    search: SearchSection = SearchSection()
    budget: BudgetSection = BudgetSection()
    objective: Literal[tuple(OBJECTIVES)] = "cost"  # type: ignore[valid-type]
    pricing: Literal["rental", "tco"] = "rental"
    prices: dict[str, PosFloat] = {}  # accelerator -> $/GPU-hour
    simulation: SimulationSection = SimulationSection()
    seed: Annotated[int, Field(ge=0)] = 0
    calibration: str | None = None
    engine: Literal[ENGINES] = DEFAULT_ENGINE  # type: ignore[valid-type]


def _messages(err: ValidationError, origin: str) -> str:
    parts = []
    for e in err.errors():
        loc = [str(x) for x in e["loc"] if not str(x).isdigit()]
        shown = ".".join(loc)
        if e["type"] == "extra_forbidden":
            cls: Any = PlanFile
            for part in loc[:-1]:
                field = cls.model_fields.get(part) if hasattr(cls, "model_fields") else None
                ann = field.annotation if field is not None else None
                cls = next((a for a in (ann, *getattr(ann, "__args__", ()))
                            if isinstance(a, type) and issubclass(a, BaseModel)), cls)
            parts.append(f"unknown key '{shown}'; valid keys here: {', '.join(cls.model_fields)}")
        else:
            parts.append(f"{shown}: {str(e['msg']).removeprefix('Value error, ')}")
    return f"plan {origin} is invalid: " + "; ".join(dict.fromkeys(parts)) + "."


def parse_plan(raw: dict[str, Any], *, origin: str = "(dict)") -> PlanFile:
    if not isinstance(raw, dict):
        raise ScenarioError(f"plan {origin} must be a mapping of sections at the top level.")
    try:
        return PlanFile.model_validate(raw)
    except ValidationError as e:
        raise ScenarioError(_messages(e, origin)) from None


def read_plan_file(path: str | Path) -> dict[str, Any]:
    """The raw mapping of a YAML (.yaml/.yml) or TOML (.toml) plan file."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ScenarioError(f"plan file {p} has extension '{suffix}'; use .yaml, .yml or .toml.")
    text = read_text(p, what="plan file", error=ScenarioError)
    try:
        raw = tomllib.loads(text) if suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise ScenarioError(f"plan file {p} is not valid {suffix[1:].upper()}: "
                            f"{str(e).splitlines()[0]}") from None
    return raw or {}


def merge(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with ``overrides`` laid over it, section by section (None: not given)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for k, v in overrides.items():
        if v is None:
            continue
        if isinstance(v, dict):
            sub = {kk: vv for kk, vv in v.items() if vv is not None}
            if sub:
                base = out.get(k) if isinstance(out.get(k), dict) else {}
                out[k] = {**base, **sub}
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------------------------------------
# File -> PlanSpec


def _demand(f: PlanFile, base: Path) -> DemandSpec:
    d = f.demand
    if d.mix is not None:
        classes = tuple(RequestClass(input_tokens=m.input_tokens, output_tokens=m.output_tokens,
                                     share_frac=m.share) for m in d.mix)
        total = sum(c.share_frac for c in classes)
        if abs(total - 1.0) > 1e-3:
            raise ConfigError(f"demand.mix shares sum to {total:.4g}; they must sum to 1.")
        classes = tuple(RequestClass(input_tokens=c.input_tokens, output_tokens=c.output_tokens,
                                     share_frac=c.share_frac / total) for c in classes)
        rate_from_trace = None
    elif d.trace is not None:
        p = Path(d.trace)
        tr = read_trace(p if p.is_absolute() else base / p)
        if tr.num_requests == 0:
            raise ConfigError(f"demand.trace {d.trace} has no requests.")
        idx = np.linspace(0, tr.num_requests - 1, min(tr.num_requests, MAX_TRACE_CLASSES))
        idx = np.unique(idx.astype(int))
        w = 1.0 / len(idx)
        classes = tuple(RequestClass(input_tokens=max(int(tr.prompt_tokens[i]), 1),
                                     output_tokens=max(int(tr.output_tokens[i]), 1),
                                     share_frac=w) for i in idx)
        rate_from_trace = ((tr.num_requests - 1) / tr.duration_s) if tr.duration_s > 0 else None
    else:
        if d.input_tokens is None or d.output_tokens is None:
            raise ConfigError("demand needs input_tokens and output_tokens (--input-tokens, "
                              "--output-tokens), a mix, or a trace.")
        classes = (RequestClass(input_tokens=d.input_tokens, output_tokens=d.output_tokens),)
        rate_from_trace = None
    out_mean = sum(c.output_tokens * c.share_frac for c in classes)
    rate = d.rate_per_s
    if d.output_tokens_per_day is not None:
        rate = d.output_tokens_per_day / DAY / out_mean
    if rate is None:
        rate = rate_from_trace
    return DemandSpec(classes=classes, rate_per_s=rate,
                      shared_prefix_tokens=d.shared_prefix_tokens)


def _slo(s: SloSection) -> tuple[SloTarget, ...]:
    out = []
    for m in ("ttft", "tpot", "e2e"):
        limit = getattr(s, f"{m}_s")
        if limit is not None:
            out.append(SloTarget(metric=m, percentile=getattr(s, f"{m}_percentile")
                                 or s.percentile, limit_s=limit))
    if not out:
        raise ConfigError("a plan needs an SLO: slo.ttft_s, slo.tpot_s or slo.e2e_s "
                          "(--ttft-slo-ms, --tpot-slo-ms, --e2e-slo-ms).")
    return tuple(out)


def _price(name: str, f: PlanFile) -> PriceSpec | None:
    """The part's price (user, rental catalog, TCO break-even) or None when none is known."""
    acc = get_accelerator(name)
    overhead, _ = host_overhead_frac(acc)
    capex = None
    tco = None
    try:
        t = tco_spec(question("tco", flags={}), accelerator=acc.name)
        capex = t.it_capex_usd
        tco = tco_per_accelerator_hour(t).breakeven_usd_per_sold_hour
    except TokenworksError:
        pass
    usd, source = None, ""
    if acc.name in f.prices:
        usd, source = f.prices[acc.name], "plan prices"
    elif f.pricing == "rental":
        try:
            usd, source = default_usd_per_gpu_hour(acc)
        except ConfigError:
            if tco is not None:
                usd, source = tco, "TCO break-even (no rental price in the catalogs)"
    elif tco is not None:
        usd, source = tco, "TCO break-even per sold hour (economics.tco, catalog defaults)"
    if usd is None:
        return None
    # ASSUMPTION: a deployment's power is each GPU's TDP plus its host share (IT power, before
    # PUE): what a rack must be provisioned for.
    return PriceSpec(accelerator=acc.name, usd_per_gpu_hour=float(usd), capex_usd=capex,
                     power_w=acc.tdp_w * (1.0 + overhead), source=source)


def _hardware(f: PlanFile) -> tuple[list[str], dict[str, PriceSpec]]:
    s = f.search
    prices: dict[str, PriceSpec] = {}
    names = [get_accelerator(n).name for n in s.hardware] if s.hardware else None
    pool = names or [a.name for a in list_accelerators() if a.kind == "gpu"]
    for n in dict.fromkeys([*pool, *(get_accelerator(p).name for p in s.prefill_hardware)]):
        p = _price(n, f)
        if p is not None:
            prices[n] = p
        elif (names is not None and n in names) or n in s.prefill_hardware:
            raise ConfigError(f"no price for {n}: it has no rental price or capex in the "
                              f"catalogs. Give one: prices: {{{n}: 2.5}} in the plan file, or "
                              f"drop it from the hardware list.")
    if names is None:
        names = [n for n in pool if n in prices]
    kept = []
    for n in names:
        acc = get_accelerator(n)
        if s.vendors is not None and acc.vendor not in s.vendors:
            continue
        if s.available_only and prices[n].source.startswith("TCO"):
            continue
        if s.max_usd_per_gpu_hour is not None and prices[n].usd_per_gpu_hour > \
                s.max_usd_per_gpu_hour:
            continue
        kept.append(n)
    if not kept:
        rules = [r for r, on in (("vendors", s.vendors is not None),
                                 ("available_only", s.available_only),
                                 ("max_usd_per_gpu_hour", s.max_usd_per_gpu_hour is not None))
                 if on]
        raise ConfigError(f"no accelerator is left in the search: {', '.join(names)} were "
                          f"removed by {' and '.join(rules) or 'the price check'}. Loosen "
                          f"them or list hardware explicitly.")
    # Alternatives for the diagnosis (what other parts would do): every priced catalog GPU.
    for a in list_accelerators():
        if a.kind == "gpu" and a.name not in prices:
            p = _price(a.name, f)
            if p is not None and not p.source.startswith("TCO"):
                prices[a.name] = p
    return kept, prices


def plan_spec(f: PlanFile, *, base_dir: Path | None = None) -> PlanSpec:
    """The planner's ``PlanSpec`` of a validated plan file."""
    base = base_dir or Path.cwd()
    hardware, prices = _hardware(f)
    s = f.search
    weights = s.weights_dtypes or [served_weights_dtype(get_model(f.model))]
    kv = s.kv_dtypes
    if kv is None:
        # ASSUMPTION: unless told, the KV cache is tried in bf16, and also in fp8 when fp8 or
        # fp4 weights are tried (the FP8 recipes of TensorRT-LLM and MLPerf pair them).
        narrow = any(w in ("fp8", "fp8_block", "fp4", "nvfp4", "mxfp4")
                     for w in weights)
        kv = ["bf16", "fp8"] if narrow else ["bf16"]
    space = SearchSpace(
        hardware=tuple(hardware),
        prefill_hardware=tuple(get_accelerator(n).name for n in s.prefill_hardware),
        tp=tuple(s.tp), pp=tuple(s.pp), ep=tuple(s.ep), dp=tuple(s.dp),
        weights_dtypes=tuple(weights),
        speculative=tuple(None if sp == "none" else make_spec_decode(
            sp.method, num_tokens=sp.num_tokens, acceptance_rate=sp.acceptance_rate,
            acceptance_length=sp.acceptance_length, draft_model=sp.draft_model)
            for sp in s.speculative),
        kv_dtypes=tuple(kv), max_num_batched_tokens=tuple(s.max_num_batched_tokens),
        max_num_seqs=tuple(s.max_num_seqs), prefix_cache=tuple(s.prefix_cache),
        kv_tiers=tuple(tuple(t) for t in s.kv_tiers), modes=tuple(s.modes),
        routers=tuple(s.routers),
        **({"pd_ratios": tuple(tuple(r) for r in s.pd_ratios)} if s.pd_ratios else {}))
    b = f.budget
    cal = None
    if f.calibration is not None:
        p = Path(f.calibration)
        cal = read_calibration(p if p.is_absolute() else base / p)
    return PlanSpec(
        name=f.name, model=get_model(f.model), demand=_demand(f, base), slo=_slo(f.slo),
        space=space, prices=tuple(prices.values()),
        budget=BudgetSpec(max_gpus=b.max_gpus,
                          max_power_w=None if b.max_power_mw is None else b.max_power_mw * MW,
                          max_usd_per_hour=b.max_usd_per_hour, max_capex_usd=b.max_capex_usd),
        objective=f.objective, pricing=f.pricing,
        sim=SimSettings(num_requests=f.simulation.num_requests, top_k=f.simulation.top_k,
                        rel_tolerance=f.simulation.rel_tolerance),
        seed=f.seed, calibration=cal, engine=f.engine)
