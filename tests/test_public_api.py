"""The curated public API: pinned so a change to it is a deliberate decision."""

from __future__ import annotations

import subprocess
import sys

import tokenworks

EXPECTED = {
    "__version__", "estimate", "Estimate", "simulate", "SimulationResult", "Scenario", "plan",
    "PlanResult",
    "load_scenario", "run_ledger", "get_model", "list_models", "load_config_file",
    "get_accelerator", "list_accelerators", "get_system", "param_counts", "weight_bytes",
    "kv_bytes_per_token", "kv_cache_bytes", "prefill_flops", "decode_flops_per_token",
    "expected_distinct_experts", "make_deployment", "plan_memory", "StepCostModel",
    "steady_state", "load_calibration", "save_calibration", "TokenworksError", "ConfigError",
    "CatalogError", "UnknownNameError", "InfeasibleError", "ScenarioError", "SimulationError",
}


def test_all_is_pinned():
    assert set(tokenworks.__all__) == EXPECTED


def test_every_public_name_resolves():
    for name in tokenworks.__all__:
        assert getattr(tokenworks, name) is not None


def test_unknown_attribute_raises():
    try:
        tokenworks.no_such_thing  # noqa: B018
    except AttributeError as e:
        assert "no_such_thing" in str(e)
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_lazy():
    """``import tokenworks`` must not pull in the simulator, pyarrow or pandas."""
    code = "import sys, tokenworks; print(any(m in sys.modules for m in ('pyarrow', 'pandas', 'tokenworks.serving')))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "False", r.stderr


def test_python_api_answers_the_readme_question():
    e = tokenworks.estimate("llama-3.1-70b", "h200", num_gpus=8, tp=8, weights_dtype="fp8",
                            input_tokens=2048, output_tokens=256)
    assert e.ttft_s > 0 and e.tpot_s > 0 and e.usd_per_million_output_tokens > 0
