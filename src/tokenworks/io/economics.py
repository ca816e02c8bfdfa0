"""The economics questions as users give them: flags, ``--set key=value`` and scenario files.

Each question (TCO, P&L, fleet, training, power, capital) is a pydantic model of optional
inputs grouped by meaning — the cost of an accelerator (``CostInputs``), a served workload
(``ServingInputs``), the market it is sold into (``MarketInputs``) — and ``None`` always
means "not given" (a 0 is a value, range-checked like any other). Inputs merge as: sourced
defaults < scenario file < ``--set`` < flags; unknown keys are rejected with the valid ones.
``io.defaults`` turns a question into the economics layer's frozen specs.
"""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tokenworks.errors import ScenarioError
from tokenworks.files import read_text

__all__ = ["QUESTIONS", "CapitalQuestion", "FleetQuestion", "MixClass", "PnlQuestion",
           "PowerQuestion", "Question", "TcoQuestion", "TrainQuestion", "question",
           "read_named_scenarios"]


class _Inputs(BaseModel):
    # inf and NaN are not values; the bounds below say what is physically meaningful.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# Physical bounds of inputs that have no catalog range (ASSUMPTION: generous ceilings, each
# ~1,000x beyond anything built or planned as of 2026, so a typo of a few powers of ten is
# caught and any real question passes).
Accelerators = Annotated[int, Field(ge=1, le=100_000_000, description="accelerators (<= 1e8)")]
TokensPerS = Annotated[float, Field(gt=0, le=1e12, description="tokens/s (<= 1e12: ~1,000x the "
                                                                "world's AI inference in 2026)")]
TokensPerDay = Annotated[float, Field(gt=0, le=1e17, description="tokens/day (<= 1e17)")]
RequestsPerS = Annotated[float, Field(gt=0, le=1e9, description="requests/s (<= 1e9)")]
Tokens = Annotated[float, Field(gt=0, le=1e16, description="training tokens (<= 1e16: ~250x "
                                                          "the largest 2025 runs)")]
Params = Annotated[float, Field(gt=0, le=1e15, description="parameters (<= 1e15)")]
Flops = Annotated[float, Field(gt=0, le=1e32, description="FLOPs (<= 1e32)")]
Megawatts = Annotated[float, Field(gt=0, le=1e5, description="MW (<= 100 GW)")]
UsdPerHour = Annotated[float, Field(gt=0, le=1000, description="$/GPU-hour (<= 1,000)")]
Seconds = Annotated[float, Field(gt=0, le=86400, description="seconds (<= one day)")]
TokenCount = Annotated[int, Field(ge=1, le=10_000_000, description="tokens (<= 1e7)")]


class CostInputs(_Inputs):
    """What one accelerator costs to own and run (every TCO parameter of finance.toml)."""

    accelerator: str | None = None
    facility: Literal["colocation", "owned"] | None = None
    server_capex_usd_per_accelerator: float | None = None
    useful_life_years: float | None = None
    residual_value_frac: float | None = None
    network_capex_frac: float | None = None
    storage_install_capex_frac: float | None = None
    debt_share_frac: float | None = None
    debt_rate_frac: float | None = None
    equity_hurdle_frac: float | None = None
    loan_term_years: float | None = None
    utilization_frac: float | None = None
    idle_power_frac: float | None = None
    pue: float | None = None
    electricity_usd_per_kwh: float | None = None
    colocation_usd_per_kw_month: float | None = None
    dc_capex_usd_per_mw: float | None = None
    dc_life_years: float | None = None
    maintenance_frac_per_year: float | None = None
    staff_usd_per_accelerator_year: float | None = None


class ServingInputs(_Inputs):
    """A model served on the accelerator (priced with the analytic estimator)."""

    model: str | None = None
    tp: int | None = None
    pp: int | None = None
    ep: int | None = None
    weights_dtype: str | None = None
    kv_dtype: str | None = None
    input_tokens: TokenCount | None = None
    output_tokens: TokenCount | None = None
    batch: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    prefix_hit_frac: float | None = None


class MarketInputs(_Inputs):
    """The market a neocloud's fleet is sold into, and the P&L's accounting choices."""

    num_accelerators: Accelerators | None = None
    years: int | None = None
    depreciation_method: Literal["straight_line", "double_declining",
                                 "sum_of_years"] | None = None
    on_demand_usd_per_hour: UsdPerHour | None = None
    price_decline_frac_per_year: float | None = None
    utilization_year1_frac: float | None = None
    ramp_years: int | None = None
    reserved_share_frac: float | None = None
    reserved_discount_frac: float | None = None
    contract_years: int | None = None
    spot_share_frac: float | None = None
    spot_discount_frac: float | None = None
    tax_rate_frac: float | None = None
    sga_frac_of_revenue: float | None = None
    discount_rate_frac: float | None = None
    new_generation_year: int | None = None
    new_generation_speedup: float | None = None
    new_generation_price_ratio: float | None = None
    take_or_pay_frac: float | None = None


class TcoQuestion(CostInputs, ServingInputs):
    """TCO per accelerator-hour; optionally the cost of a model's tokens and its margin."""

    output_tokens_per_s: TokensPerS | None = None
    capex_premium_usd_per_server: float | None = None
    list_price: str | None = None
    price_basis: Literal["tco", "rental"] | None = None


class PnlQuestion(CostInputs, MarketInputs):
    """A neocloud's P&L over its fleet's life."""


class MixClass(_Inputs):
    """One request class of a length mix (share of requests)."""

    input_tokens: int
    output_tokens: int
    share: float


class FleetQuestion(CostInputs, ServingInputs):
    """A fleet sized for a token demand at latency targets."""

    demand_output_tokens_per_s: TokensPerS | None = None
    demand_output_tokens_per_day: TokensPerDay | None = None
    demand_requests_per_s: RequestsPerS | None = None
    ttft_slo_s: Seconds | None = None
    tpot_slo_s: Seconds | None = None
    peak_to_average: float | None = None
    grid: str | None = None
    output_tokens_per_s_per_replica: TokensPerS | None = None
    accelerators_per_replica: Accelerators | None = None
    power_budget_mw: Megawatts | None = None
    wue_l_per_kwh: float | None = None
    request_mix: list[MixClass] | None = None


class TrainQuestion(CostInputs):
    """A training run: 6·N·D FLOPs on a cluster at an MFU."""

    model: str | None = None
    active_params: Params | None = None
    tokens: Tokens | None = None
    num_accelerators: Accelerators | None = None
    mfu_frac: float | None = None
    precision: str | None = None
    usd_per_gpu_hour: UsdPerHour | None = None
    grid: str | None = None
    compute_flops: Flops | None = None


class PowerQuestion(_Inputs):
    """Power, energy, carbon and water of a deployment."""

    accelerator: str | None = None
    num_accelerators: Accelerators | None = None
    utilization_frac: float | None = None
    pue: float | None = None
    grid: str | None = None
    tokens_per_s: TokensPerS | None = None
    idle_power_frac: float | None = None
    wue_l_per_kwh: float | None = None
    system: str | None = None


class CapitalQuestion(_Inputs):
    """Capital math: the revenue GPU spend needs, the capital ceiling, an asset's multiple."""

    gpu_revenue_usd_per_year: float | None = None
    gpu_share_of_dc_cost_frac: float | None = None
    end_user_gross_margin_frac: float | None = None
    actual_ai_revenue_usd_per_year: float | None = None
    cfo_usd_per_year: float | None = None
    years: float | None = None
    reinvest_frac: float | None = None
    spv_multiple: float | None = None
    leverage_x_cfo: float | None = None
    asset_usd: float | None = None
    tokens_per_s: float | None = None
    usd_per_mtok: float | None = None
    utilization_frac: float | None = None
    asset_years: float | None = None


Question = (TcoQuestion | PnlQuestion | FleetQuestion | TrainQuestion | PowerQuestion
            | CapitalQuestion)
QUESTIONS: dict[str, type[_Inputs]] = {
    "tco": TcoQuestion, "pnl": PnlQuestion, "fleet": FleetQuestion, "train": TrainQuestion,
    "power": PowerQuestion, "capital": CapitalQuestion,
}


def _validate(raw: dict[str, Any], kind: str, origin: str) -> dict[str, Any]:
    """Validate keys for question ``kind``; return the values given (parsed), nothing else."""
    cls = QUESTIONS[kind]
    valid = sorted(cls.model_fields)
    unknown = sorted(set(raw) - set(valid))
    if unknown:
        raise ScenarioError(f"{origin}: unknown key(s) {', '.join(unknown)} for '{kind}'. "
                            f"Valid keys: {', '.join(valid)}.")
    try:
        m = cls.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        field = cls.model_fields.get(str(first["loc"][0])) if first["loc"] else None
        meaning = _description(field.annotation) if field is not None else None
        why = f" for {meaning}" if meaning and first["type"] in (
            "less_than_equal", "less_than", "greater_than", "greater_than_equal") else ""
        raise ScenarioError(f"{origin}: {loc}: {first['msg']}{why} (got "
                            f"{first.get('input')!r}).") from None
    return {k: getattr(m, k) for k in raw}


def _description(annotation: Any) -> str | None:
    """The ``Field(description=...)`` inside an ``Annotated`` type, within ``X | None``."""
    for arg in (typing.get_args(annotation) or (annotation,)):
        for meta in getattr(arg, "__metadata__", ()):
            if getattr(meta, "description", None):
                return str(meta.description)
    return None


def _read_table(path: str | Path, what: str) -> dict[str, Any]:
    p = Path(path)
    text = read_text(p, what=what, error=ScenarioError)
    try:
        raw = (yaml.safe_load(text) if p.suffix.lower() in (".yaml", ".yml")
               else tomllib.loads(text)) or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise ScenarioError(f"{what} {p} could not be parsed: {e}".splitlines()[0]) from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{what} {p} must be a table of key = value pairs.")
    return raw


def _sets(items: list[str] | None, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ScenarioError(f"--set {item!r} must look like key=value, e.g. pue=1.2.")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return _validate(out, kind, "--set") if out else {}


def question(kind: str, *, scenario: str | Path | None = None, sets: list[str] | None = None,
             flags: dict[str, Any] | None = None) -> Any:
    """The question ``kind`` from a scenario file, ``--set`` items and flags (later wins; a
    flag left None is not given)."""
    if kind not in QUESTIONS:
        raise ScenarioError(f"no economics question '{kind}'; valid: {', '.join(QUESTIONS)}.")
    merged: dict[str, Any] = {}
    if scenario is not None:
        merged.update(_validate(_read_table(scenario, "scenario file"), kind, str(scenario)))
    merged.update(_sets(sets, kind))
    merged.update(_validate({k: v for k, v in (flags or {}).items() if v is not None}, kind,
                            "flags"))
    return QUESTIONS[kind].model_validate(merged)


def read_named_scenarios(path: str | Path, kind: str) -> dict[str, Any]:
    """A TOML/YAML file of named tables (bull, base, bear), each a ``kind`` question's inputs
    (only the keys each table sets)."""
    p = Path(path)
    raw = _read_table(p, "scenarios file")
    flat = [k for k, v in raw.items() if not isinstance(v, dict)]
    if not raw or flat:
        raise ScenarioError(f"scenarios file {p} must hold one table per named scenario (e.g. "
                            f"bull, base, bear), each with inputs as keys"
                            + (f"; {', '.join(flat)} are not tables." if flat else "."))
    return {str(name): _validate(table, kind, f"{p}, scenario '{name}'")
            for name, table in raw.items()}
