"""tokenworks: model the AI token factory end to end.

The public API is ``__all__`` (pinned by ``tests/test_public_api.py``); everything else is
private. Names load lazily so ``import tokenworks`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# First: with TOKENWORKS_PURE_PYTHON=1 the compiled modules load from source (_compiled.py).
from tokenworks import _compiled  # noqa: F401

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS = {
    # answers
    "estimate": "tokenworks.api",
    "Estimate": "tokenworks.api",
    "simulate": "tokenworks.api",
    "plan": "tokenworks.api",
    "PlanResult": "tokenworks.api",
    "SimulationResult": "tokenworks.api",
    "Scenario": "tokenworks.api",
    "load_scenario": "tokenworks.api",
    "run_ledger": "tokenworks.claims",
    # catalogs
    "get_model": "tokenworks.model",
    "list_models": "tokenworks.model",
    "load_config_file": "tokenworks.model",
    "get_accelerator": "tokenworks.hardware",
    "list_accelerators": "tokenworks.hardware",
    "get_system": "tokenworks.hardware",
    # model math
    "param_counts": "tokenworks.model",
    "weight_bytes": "tokenworks.model",
    "kv_bytes_per_token": "tokenworks.model",
    "kv_cache_bytes": "tokenworks.model",
    "prefill_flops": "tokenworks.model",
    "decode_flops_per_token": "tokenworks.model",
    "expected_distinct_experts": "tokenworks.model",
    # perf
    "make_deployment": "tokenworks.perf",
    "plan_memory": "tokenworks.perf",
    "StepCostModel": "tokenworks.perf",
    "steady_state": "tokenworks.perf",
    "load_calibration": "tokenworks.api",
    "save_calibration": "tokenworks.api",
    # errors
    "TokenworksError": "tokenworks.errors",
    "ConfigError": "tokenworks.errors",
    "CatalogError": "tokenworks.errors",
    "UnknownNameError": "tokenworks.errors",
    "InfeasibleError": "tokenworks.errors",
    "ScenarioError": "tokenworks.errors",
    "SimulationError": "tokenworks.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenworks' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
