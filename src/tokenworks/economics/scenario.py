"""Scenario files for the economics commands: flat TOML/YAML tables validated by pydantic.

Each command accepts a known set of keys (``SCENARIO_KEYS[command]``); unknown keys are
rejected with the list of valid ones. Values merge as: sourced defaults < scenario file <
command-line flags. This is an edge module: it reads files and returns plain dicts.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ConfigDict, ValidationError, create_model

from tokenworks.economics.tco import TCO_PARAMS
from tokenworks.errors import ScenarioError

_COST: dict[str, Any] = {"accelerator": str, "facility": str,
                         "server_capex_usd_per_accelerator": float,
                         **{k: float for k in TCO_PARAMS}}

_MARKET: dict[str, Any] = {
    "num_accelerators": int, "years": int, "depreciation_method": str,
    "on_demand_usd_per_hour": float, "price_decline_frac_per_year": float,
    "utilization_year1_frac": float, "ramp_years": int, "reserved_share_frac": float,
    "reserved_discount_frac": float, "contract_years": int, "spot_share_frac": float,
    "spot_discount_frac": float, "tax_rate_frac": float, "sga_frac_of_revenue": float,
    "discount_rate_frac": float, "new_generation_year": int, "new_generation_speedup": float,
    "new_generation_price_ratio": float, "take_or_pay_frac": float,
}

_WORKLOAD: dict[str, Any] = {
    "model": str, "tp": int, "pp": int, "ep": int, "weights_dtype": str, "kv_dtype": str,
    "input_tokens": int, "output_tokens": int, "batch": int, "prefix_hit_frac": float,
}

SCENARIO_KEYS: dict[str, dict[str, Any]] = {
    "tco": {**_COST, **_WORKLOAD, "output_tokens_per_s": float,
            "capex_premium_usd_per_server": float, "list_price": str, "price_basis": str},
    "pnl": {**_COST, **_MARKET},
    "fleet": {**_COST, **_WORKLOAD, "demand_output_tokens_per_s": float,
              "demand_output_tokens_per_day": float, "demand_requests_per_s": float,
              "ttft_slo_s": float, "tpot_slo_s": float, "peak_to_average": float, "grid": str,
              "output_tokens_per_s_per_replica": float, "accelerators_per_replica": int,
              "power_budget_mw": float, "wue_l_per_kwh": float,
              "request_mix": list[dict[str, float]]},
    "train": {**_COST, "model": str, "active_params": float, "tokens": float,
              "num_accelerators": int, "mfu_frac": float, "precision": str,
              "usd_per_gpu_hour": float, "grid": str, "compute_flops": float},
    "power": {"accelerator": str, "num_accelerators": int, "utilization_frac": float,
              "pue": float, "grid": str, "tokens_per_s": float, "idle_power_frac": float,
              "wue_l_per_kwh": float, "system": str},
    "capital": {"gpu_revenue_usd_per_year": float, "gpu_share_of_dc_cost_frac": float,
                "end_user_gross_margin_frac": float, "actual_ai_revenue_usd_per_year": float,
                "cfo_usd_per_year": float, "years": float, "reinvest_frac": float,
                "spv_multiple": float, "leverage_x_cfo": float, "asset_usd": float,
                "tokens_per_s": float, "usd_per_mtok": float, "utilization_frac": float,
                "asset_years": float},
}


def _model(command: str) -> Any:
    keys = SCENARIO_KEYS[command]
    return create_model(  # type: ignore[call-overload]
        f"{command.capitalize()}Scenario",
        __config__=ConfigDict(extra="forbid"),
        **{k: (t | None, None) for k, t in keys.items()},
    )


def read_scenario(path: str | Path, command: str) -> dict[str, Any]:
    """Validate a flat scenario file for ``command``; return only the keys it sets."""
    p = Path(path)
    if command not in SCENARIO_KEYS:
        raise ScenarioError(f"no scenario schema for command '{command}'.")
    try:
        text = p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"scenario file {p} does not exist.") from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            raw = yaml.safe_load(text) or {}
        else:
            raw = tomllib.loads(text.decode())
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise ScenarioError(f"scenario file {p} could not be parsed: {e}".splitlines()[0]) from e
    if not isinstance(raw, dict):
        raise ScenarioError(f"scenario file {p} must be a table of key = value pairs.")
    return validate_scenario(raw, command, origin=str(p))


def validate_scenario(raw: dict[str, Any], command: str, *, origin: str = "scenario") -> dict:
    """Validate a dict of scenario keys for ``command`` (unknown keys list the valid ones)."""
    valid = sorted(SCENARIO_KEYS[command])
    unknown = sorted(set(raw) - set(valid))
    if unknown:
        raise ScenarioError(f"{origin}: unknown key(s) {', '.join(unknown)} for '{command}'. "
                            f"Valid keys: {', '.join(valid)}.")
    try:
        m = _model(command).model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ScenarioError(f"{origin}: {loc}: {first['msg']} (got {first.get('input')!r}).") \
            from None
    return {k: v for k, v in m.model_dump().items() if k in raw}


def parse_set_options(items: list[str] | None, command: str) -> dict[str, Any]:
    """``--set key=value`` flags into a validated dict (numbers parsed, strings kept)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ScenarioError(f"--set {item!r} must look like key=value, e.g. pue=1.2.")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return validate_scenario(out, command, origin="--set") if out else {}


def merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers win; None values never override."""
    out: dict[str, Any] = {}
    for layer in layers:
        out.update({k: v for k, v in layer.items() if v is not None})
    return out
