"""Planner speed: analytic screening throughput and a full Llama-3.1-70B plan.

Run: ``python benchmarks/planner/plan_speed.py [--workers 2]``. Prints the number of
candidate configurations screened and the wall time, then a full plan (screen + simulation
of the survivors + verification) over H100, H200, B200 (NVIDIA) and MI300X (AMD), aggregated
and disaggregated, at a stated demand and SLO. Results go in docs/performance.md and
docs/planner.md (not asserted: timings depend on the machine).
"""

from __future__ import annotations

import argparse
import os
import time

import pytest

from tokenworks.api.plan import load_plan
from tokenworks.planner import LocalBackend, plan, screen
from tokenworks.planner.screen import price_screen

pytestmark = pytest.mark.benchmark

HARDWARE = ["h100-sxm", "h200", "b200", "mi300x"]
QUESTION = {
    "name": "llama-3.1-70b chat, 2 vendors",
    "model": "llama-3.1-70b",
    "demand": {"input_tokens": 1500, "output_tokens": 300, "rate_per_s": 20.0},
    "slo": {"ttft_s": 1.0, "tpot_s": 0.03, "percentile": "p90"},
    "search": {"hardware": HARDWARE, "tp": [1, 2, 4, 8], "weights_dtypes": ["bf16", "fp8"],
               "max_num_batched_tokens": [2048, 4096, 8192],
               "max_num_seqs": [64, 128, 256]},
    "simulation": {"top_k": 16, "num_requests": 1500},
}
WIDE = {**QUESTION, "search": {**QUESTION["search"],
                               "hardware": [*HARDWARE, "gb200", "a100-80g-sxm", "h100-pcie"],
                               "max_num_batched_tokens": [1024, 2048, 4096, 8192, 16384]}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    args = ap.parse_args()
    spec = load_plan(WIDE)
    t = time.perf_counter()
    table, _ = screen(spec)
    priced = price_screen(spec, table)
    dt = time.perf_counter() - t
    print(f"screen: {table.num_rows:,} candidates ({int(priced['feasible'].sum()):,} feasible) "
          f"in {dt:.2f} s = {table.num_rows / dt:,.0f} candidates/s")
    spec = load_plan(QUESTION)
    t = time.perf_counter()
    r = plan(spec, backend=LocalBackend(args.workers))
    dt = time.perf_counter() - t
    print(f"full plan ({args.workers} workers): {dt:.1f} s; screened "
          f"{r.screen['num_candidates']:,}, simulated {r.screen['num_simulated']}")
    for line in r.explanation.lines if r.explanation else r.diagnosis:
        print("  " + line)
    for p in r.candidates[:6]:
        print(f"  #{p.rank} {p.units}x {p.label}: {p.num_gpus} GPUs, "
              f"${p.usd_per_million_output_tokens:.3f}/M out, "
              f"{p.output_tokens_per_s_per_gpu:,.0f} tok/s/GPU, "
              f"{p.output_tokens_per_s_per_user:.1f} tok/s/user, meets={p.meets_slo}")


if __name__ == "__main__":
    main()
