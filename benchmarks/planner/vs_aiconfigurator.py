"""The AIConfigurator question (benchmarks/aiconfigurator/README.md, 6b) asked of the planner.

Llama-3.1-70B BF16, 1,500 input / 300 output tokens, TTFT <= 1 s, TPOT <= 30 ms, 8 GPUs,
H100 SXM and H200, aggregated and disaggregated. AIConfigurator's SLOs act on means; the
planner's on p90 (also run with p50 for the closest reading). Prints one row per
(GPU, mode, percentile): configuration, tok/s/GPU, tok/s/user, TTFT, TPOT. Run:
``python benchmarks/planner/vs_aiconfigurator.py`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import os

import pytest

from tokenworks.api.plan import load_plan
from tokenworks.planner import LocalBackend, plan

pytestmark = pytest.mark.benchmark


def question(gpu: str, mode: str, pct: str) -> dict:
    return {"name": f"aic-6b {gpu} {mode} {pct}", "model": "llama-3.1-70b",
            "demand": {"input_tokens": 1500, "output_tokens": 300},
            "slo": {"ttft_s": 1.0, "tpot_s": 0.030, "percentile": pct},
            "search": {"hardware": [gpu], "tp": [1, 2, 4, 8], "weights_dtypes": ["bf16"],
                       "kv_dtypes": ["bf16"], "modes": [mode],
                       "max_num_batched_tokens": [2048, 4096, 8192],
                       "max_num_seqs": [64, 128, 256, 512],
                       "pd_ratios": [[1, 1], [1, 2], [2, 1], [1, 3], [3, 1], [2, 3], [3, 2],
                                     [1, 6], [2, 6], [4, 4], [6, 2], [2, 2]]},
            "budget": {"max_gpus": 8}, "simulation": {"top_k": 8, "num_requests": 1500}}


def main() -> None:
    backend = LocalBackend(os.cpu_count())
    print("| GPU | mode | SLO at | configuration (units × unit) | GPUs used | tok/s/GPU | "
          "tok/s/user (p50) | TTFT p50 / p90 ms | TPOT p50 / p90 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for gpu in ("h100-sxm", "h200"):
        for mode in ("aggregated", "disaggregated"):
            for pct in ("p90", "p50"):
                r = plan(load_plan(question(gpu, mode, pct)), backend=backend)
                b = r.recommendation
                if b is None:
                    print(f"| {gpu} | {mode} | {pct} | none meets the SLO | | | | | |")
                    continue
                lat = b.latency_s
                # tok/s/GPU over the 8 GPUs the question gives (unused GPUs count, as in AIC).
                per8 = b.output_tokens_per_s_per_gpu * b.num_gpus / 8
                print(f"| {gpu} | {mode} | {pct} | {b.units}× {b.label} | {b.num_gpus} | "
                      f"{per8:,.1f} | {b.output_tokens_per_s_per_user:.1f} | "
                      f"{1e3 * lat['ttft_p50']:.0f} / {1e3 * lat['ttft_p90']:.0f} | "
                      f"{1e3 * lat['tpot_p50']:.1f} / {1e3 * lat['tpot_p90']:.1f} |")


if __name__ == "__main__":
    main()
