"""Disaggregated vs co-located serving: goodput under tight TTFT+TPOT SLOs at equal GPU count
(results: docs/accuracy-serving.md).

What DistServe (Zhong et al., OSDI'24) and Splitwise (Patel et al., ISCA'24) report
(shared/validation/measured/papers.csv): DistServe serves 7.4× more requests within SLO than
vLLM (OSDI; 4.48× in the earlier arXiv version the seeds quote) with >90% SLO attainment;
Splitwise 1.4× throughput at 20% lower cost. DistServe's chatbot setting: OPT-13B on A100-80GB,
ShareGPT, TTFT SLO 0.25 s and TPOT SLO 0.1 s.

Our setting: Llama-2-13B (the same size class as OPT-13B) on A100-80GB, request lengths drawn
from the Azure 2023 conversation trace (read by path; prompts capped at 2,048 and outputs at
1,024 tokens so every request fits Llama-2's 4,096-token context), Poisson arrivals. Goodput = the largest
arrival rate at which ≥ 90% of requests meet both SLOs, per GPU, found by bisection. Compared:

* co-located vLLM without chunked prefill (DistServe's baseline: prefill-first batching, so
  prefills stall running decodes);
* co-located with chunked prefill (Sarathi-Serve style, the stronger modern baseline);
* disaggregated 1 prefill + 1 decode replica (and 1P+3D / 2P+2D at 4 GPUs).

Run: ``python benchmarks/validate_disagg.py [--requests 1500]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

AZURE_CONV = (Path(__file__).resolve().parents[1].parent / "shared" / "validation" / "traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv")
MODEL, ACC = "llama-2-13b", "a100-80g-sxm"
# DistServe (OSDI'24) chatbot SLOs for OPT-13B on ShareGPT: TTFT 0.25 s, TPOT 0.1 s. Our
# prompts (Azure conversation, mean ~1,050 tokens) are longer, so a 0.25 s TTFT is missed by
# >10% of requests even on an idle replica (zero-load TTFT p90 = 0.22 s, p99 = 0.48 s); the TTFT
# SLO is scaled to 0.5 s and the TPOT SLO kept (chatbot) or halved (tight-tpot).
SLOS = {"chatbot": (0.5, 0.10), "tight-tpot": (0.5, 0.05), "tight-ttft": (0.3, 0.10)}
ATTAINMENT = 0.90


def _lengths() -> dict:
    if AZURE_CONV.exists():
        return {"prompt_tokens": {"kind": "empirical", "trace": str(AZURE_CONV),
                                  "column": "prompt_tokens"},
                "output_tokens": {"kind": "empirical", "trace": str(AZURE_CONV),
                                  "column": "output_tokens"}}
    # ASSUMPTION (fallback without the trace): Azure conv means 1,155 in / 211 out, cv 1.
    return {"prompt_tokens": {"kind": "lognormal", "mean": 1155, "cv": 1.0},
            "output_tokens": {"kind": "lognormal", "mean": 211, "cv": 1.0}}


def colocated(n_gpus: int, rate: float, n: int, *, chunked: bool) -> dict:
    return {"name": f"coloc-{n_gpus}", "model": MODEL, "hardware": {"accelerator": ACC},
            "deployment": {"tp": 1, "num_replicas": n_gpus},
            "scheduler": {"chunked_prefill": chunked, "policy": "prefill_first",
                          "max_num_batched_tokens": 2048 if chunked else 8192,
                          "max_num_seqs": 256},
            "cache": {"prefix_cache": "none"}, "router": {"kind": "least_outstanding"},
            "workload": {"arrivals": {"kind": "poisson", "rate_per_s": rate},
                         "num_requests": n, "max_prompt_tokens": 2048,
                         "max_output_tokens": 1024, **_lengths()},
            "seed": 1}


def disaggregated(n_prefill: int, n_decode: int, rate: float, n: int) -> dict:
    pool = {"accelerator": ACC, "tp": 1}
    return {"name": f"disagg-{n_prefill}p{n_decode}d", "model": MODEL,
            "pools": {"prefill": pool | {"num_replicas": n_prefill},
                      # A100 HGX: NVLink within the node; DistServe places P and D in one node.
                      "decode": pool | {"num_replicas": n_decode},
                      "transfer": {"link_gbit_per_s": 600 * 8 / 2, "latency_s": 1e-5}},
            "scheduler": {"chunked_prefill": False, "max_num_batched_tokens": 8192,
                          "max_num_seqs": 256},
            "cache": {"prefix_cache": "none"}, "router": {"kind": "least_outstanding"},
            "workload": {"arrivals": {"kind": "poisson", "rate_per_s": rate},
                         "num_requests": n, "max_prompt_tokens": 2048,
                         "max_output_tokens": 1024, **_lengths()},
            "seed": 1}


def attainment(scenario: dict, ttft_slo: float, tpot_slo: float) -> float:
    from tokenworks.api import simulate

    t = simulate(scenario).requests
    ttft = np.asarray(t.column("ttft_s").to_numpy(zero_copy_only=False), np.float64)
    tpot = np.asarray(t.column("tpot_s").to_numpy(zero_copy_only=False), np.float64)
    tpot = np.where(np.isnan(tpot) & np.isfinite(ttft), 0.0, tpot)  # 1-token outputs
    ok = np.isfinite(ttft) & (ttft <= ttft_slo) & np.isfinite(tpot) & (tpot <= tpot_slo)
    return float(ok.mean()) if ok.size else 0.0


def goodput(make, ttft_slo: float, tpot_slo: float, *, lo: float = 0.05, hi: float = 64.0,
            iters: int = 9) -> float:
    """Largest rate with ≥ 90% attainment (bisection in log space; 0 when even ``lo`` fails)."""
    if attainment(make(lo), ttft_slo, tpot_slo) < ATTAINMENT:
        return 0.0
    while attainment(make(hi), ttft_slo, tpot_slo) >= ATTAINMENT and hi < 1e4:
        lo, hi = hi, hi * 2
    for _ in range(iters):
        mid = (lo * hi) ** 0.5
        if attainment(make(mid), ttft_slo, tpot_slo) >= ATTAINMENT:
            lo = mid
        else:
            hi = mid
    return lo


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    n = args.requests
    configs = {
        "coloc-2 (vLLM, no chunking)": (2, lambda r: colocated(2, r, n, chunked=False)),
        "coloc-2 (chunked prefill)": (2, lambda r: colocated(2, r, n, chunked=True)),
        "disagg 1P+1D": (2, lambda r: disaggregated(1, 1, r, n)),
        "coloc-4 (vLLM, no chunking)": (4, lambda r: colocated(4, r, n, chunked=False)),
        "coloc-4 (chunked prefill)": (4, lambda r: colocated(4, r, n, chunked=True)),
        "disagg 1P+3D": (4, lambda r: disaggregated(1, 3, r, n)),
        "disagg 2P+2D": (4, lambda r: disaggregated(2, 2, r, n)),
    }
    out: dict[str, dict] = {}
    for slo_name, (ttft_slo, tpot_slo) in SLOS.items():
        row = {}
        for name, (gpus, make) in configs.items():
            t0 = time.perf_counter()
            g = goodput(make, ttft_slo, tpot_slo)
            row[name] = {"goodput_req_per_s": g, "per_gpu": g / gpus,
                         "wall_s": time.perf_counter() - t0}
            print(slo_name, name, json.dumps(row[name]), flush=True)
        for g in (2, 4):
            best_d = max(v["per_gpu"] for k, v in row.items() if "disagg" in k
                         and configs[k][0] == g)
            for base in ("vLLM, no chunking", "chunked prefill"):
                b = row[f"coloc-{g} ({base})"]["per_gpu"]
                row[f"gain {g} GPUs vs {base}"] = best_d / b if b > 0 else float("inf")
        out[slo_name] = row
    print(json.dumps(out, indent=1, default=float))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
