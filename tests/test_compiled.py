"""The mypyc-compiled engine modules and their pure-Python source give the same results.

setup.py compiles ``tokenworks._compiled.COMPILED_MODULES`` when it can; these tests check the
listed modules exist, that a build is whole (all compiled or none), and that a simulation in a
subprocess with ``TOKENWORKS_PURE_PYTHON=1`` (source) produces the same per-request table, bit
for bit, as one with the installed build. Without a compiled build both runs use the source
and the comparison is trivially equal; the build in use is printed in the test's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tokenworks._compiled import COMPILED_MODULES, engine_build

ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import hashlib, json, sys
import tokenworks
from tokenworks._compiled import engine_build

def digest(scenario):
    res = tokenworks.simulate(scenario)
    table = res.requests
    h = hashlib.sha256()
    for name in table.column_names:
        h.update(name.encode())
        h.update(repr(table.column(name).to_pylist()).encode())
    return h.hexdigest()

out = {}
for name, scenario in json.loads(sys.argv[1]).items():
    out[name] = digest(scenario)
out["build"] = engine_build()
print(json.dumps(out))
"""


def _scenarios() -> dict:
    base = {
        "model": "llama-3-70b",
        "hardware": {"accelerator": "a100-80g-sxm"},
        "deployment": {"tp": 2, "weights_dtype": "bf16", "kv_dtype": "bf16",
                       "gpu_memory_utilization_frac": 0.95},
        "scheduler": {"max_num_batched_tokens": 512, "max_num_seqs": 128,
                      "chunked_prefill": True},
        "workload": {"arrivals": {"kind": "poisson", "rate_per_s": 0.5},
                     "prompt_tokens": 1500, "output_tokens": 300, "num_requests": 300},
        "seed": 0,
    }
    busy = json.loads(json.dumps(base))
    busy["model"] = "llama-3.1-8b"
    busy["hardware"] = {"accelerator": "h100-sxm"}
    busy["deployment"] = {"tp": 1, "num_replicas": 2}
    busy["cache"] = {"prefix_cache": "lru_blocks"}
    busy["router"] = {"kind": "least_outstanding"}
    busy["workload"] = {
        "arrivals": {"kind": "poisson", "rate_per_s": 40.0},
        "prompt_tokens": {"kind": "lognormal", "mean": 1000, "cv": 1.0},
        "output_tokens": {"kind": "lognormal", "mean": 250, "cv": 1.0},
        "shared_prefix": {"num_prefixes": 5, "prefix_tokens": 256, "zipf_exponent": 1.0,
                          "frac_with_prefix": 0.5},
        "num_requests": 400, "max_prompt_tokens": 8000,
    }
    exact = json.loads(json.dumps(busy))
    exact["scheduler"]["exact"] = True
    out = {"anchor": base, "busy-prefix-cache": busy, "busy-exact": exact}
    # Long outputs: decode jumps longer than SCALAR_STEPS and wider than a cached page take
    # the array path of the step time (issue #9: mypyc rejected its ndarray).
    out["long-output"] = {
        "model": "llama-3.1-8b", "hardware": {"accelerator": "h100-sxm"},
        "deployment": {"tp": 1},
        "scheduler": {"max_num_batched_tokens": 2048, "max_num_seqs": 256},
        "cache": {"prefix_cache": "lru_blocks"},
        "workload": {"arrivals": {"kind": "constant", "rate_per_s": 4},
                     "prompt_tokens": 1, "output_tokens": 1448, "num_requests": 60,
                     "shared_prefix": {"num_prefixes": 60, "prefix_tokens": 1000,
                                       "zipf_exponent": 0.0}},
    }
    # Every policy, queue, preemption mode and cache kind, under memory pressure (a small
    # KV cache forces preemption) with long, varied outputs.
    for policy in ("decode_first", "prefill_first"):
        for cache in ("none", "lru_blocks", "radix"):
            for preemption, queue in (("recompute", "fcfs"), ("swap", "priority")):
                sc = json.loads(json.dumps(busy))
                sc["deployment"] = {"tp": 1, "gpu_memory_utilization_frac": 0.25}
                sc["scheduler"] = {"max_num_batched_tokens": 1024, "max_num_seqs": 64,
                                   "policy": policy, "preemption": preemption,
                                   "queue": queue, "chunked_prefill": cache != "radix"}
                sc["cache"] = {"prefix_cache": cache}
                if preemption == "swap":
                    sc["hardware"] = {"accelerator": "h100-sxm", "system": "hgx-h100-8"}
                    sc["cache"]["tiers"] = [{"name": "dram"}]
                sc["workload"]["output_tokens"] = {"kind": "lognormal", "mean": 900, "cv": 1.2}
                sc["workload"]["num_requests"] = 150
                if queue == "priority":
                    sc["workload"]["priorities"] = [{"priority": 0, "frac": 0.3},
                                                    {"priority": 1, "frac": 0.7}]
                out[f"{policy}-{cache}-{preemption}-{queue}"] = sc
    tiers = json.loads(json.dumps(busy))
    tiers["cache"] = {"prefix_cache": "lru_blocks", "tiers": [{"name": "dram"}, {"name": "nvme"}],
                      "tier_load": "overlapped"}
    tiers["hardware"] = {"accelerator": "h100-sxm", "system": "hgx-h100-8"}
    out["kv-tiers"] = tiers
    # MoE layouts (issue #12): data-parallel attention with its per-prompt chunk cap (no
    # prefill jumps), expert parallelism, and speculative decoding (a drafter formula inside
    # the compiled step formula).
    moe = {
        "model": "deepseek-v3", "hardware": {"accelerator": "h200"},
        "deployment": {"tp": 1, "dp": 8, "ep": 8, "weights_dtype": "fp8_block"},
        "scheduler": {"max_num_batched_tokens": 4096, "max_num_seqs": 256},
        "workload": {"arrivals": {"kind": "poisson", "rate_per_s": 6.0},
                     "prompt_tokens": {"kind": "lognormal", "mean": 1500, "cv": 0.8},
                     "output_tokens": {"kind": "lognormal", "mean": 300, "cv": 0.8},
                     "num_requests": 150, "max_prompt_tokens": 6000},
        "seed": 3,
    }
    out["moe-dp-attention"] = moe
    mtp = json.loads(json.dumps(moe))
    mtp["deployment"] = {"tp": 8, "ep": 8, "weights_dtype": "fp8_block",
                         "speculative": {"method": "mtp", "num_tokens": 2}}
    out["moe-tp-ep-mtp"] = mtp
    eagle = json.loads(json.dumps(busy))
    eagle["deployment"] = {"tp": 1, "num_replicas": 2,
                           "speculative": {"method": "eagle", "acceptance_length": 2.5}}
    out["dense-eagle"] = eagle
    for example in ("agentic.yaml", "disagg-h100-h200.yaml"):
        out[example] = str(ROOT / "examples" / example)
    return out


def _run(pure: bool) -> dict:
    env = dict(os.environ)
    env.pop("TOKENWORKS_PURE_PYTHON", None)
    if pure:
        env["TOKENWORKS_PURE_PYTHON"] = "1"
    r = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(_scenarios())], env=env,
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_listed_modules_exist():
    for module in COMPILED_MODULES:
        assert (ROOT / "src" / (module.replace(".", "/") + ".py")).is_file(), module


def test_build_is_whole():
    # "mixed": a partly failed build, or engine files edited since `pip install -e .`.
    assert engine_build() in ("compiled", "python")


def test_compiled_and_pure_python_agree_bit_for_bit():
    installed = _run(pure=False)
    source = _run(pure=True)
    assert source.pop("build") == "python"
    build = installed.pop("build")
    print("installed engine build:", build)
    if os.environ.get("TOKENWORKS_EXPECT_COMPILED", "") == "1":
        # CI (.ci/run) builds with mypyc: comparing the source with itself would prove nothing.
        assert build == "compiled", f"expected the compiled engine, got {build!r}"
    assert installed == source


def test_pure_python_switch_values():
    import warnings

    from tokenworks._compiled import pure_python_requested

    assert pure_python_requested("1") and pure_python_requested(" TRUE ")
    assert not pure_python_requested(None) and not pure_python_requested("0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not pure_python_requested("maybe")
    assert len(caught) == 1 and "'maybe'" in str(caught[0].message)
