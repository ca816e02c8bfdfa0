"""MLPerf Inference v4.1/v5.1 Llama-2-70B Server rows: predicted vs measured TTFT and TPOT
p50/p99 per system at the submitted arrival rate (results: docs/accuracy-serving.md).

Measurements: ../shared/validation/measured/mlperf_v4_v5.csv (closed division, TensorRT-LLM
submissions on H100-SXM, H200-SXM and B200-SXM; Offline rows for the capacity check) and
mlperf_benchmark_definitions.csv (OpenOrca, 24,576 samples, TTFT <= 2 s, TPOT <= 200 ms at p99).
Each Server row is simulated with Poisson arrivals at its ``target_qps`` (MLPerf Server's
loadgen issues queries as a Poisson process at the target rate) over all its GPUs.

Sources for the workload and the engine settings:

* Input lengths: the 101 percentiles in ``OPENORCA_INPUT_PERCENTILES`` are computed from the
  per-sample ``tok_input_length`` of the official MLPerf dataset
  (open_orca_gpt4_tokenized_llama.sampled_24576.pkl, built by mlcommons/inference
  language/llama2-70b/processorca.py with seqlen_limit 1024, 6,144 samples from each of the
  cot/niv/flan/t0 origins), as extracted to github:openshift-psap/performance-dashboard
  mlperf-data/summaries/llama2-70b-99.csv @7cd1065d1e2c53ee745cbda08e2a8f13a42c93bb.
  Cross-check: github:FlashLab-MBZUAI/HBFSim validation/calibration/
  h100-llama2-70b-calibration-protocol.json @96cf1b37cd60e8fabb77967a591cf60edb8d1f23 pins the
  same file by digest with input tokens min 48, max 1,021, sum 5,463,976 (mean 222.3) —
  identical to the CSV. Median 152, p90 519, p99 791. ``--lengths-csv`` replays the CSV itself.
* Output lengths: Llama-2-70B's generated tokens, not the GPT-4 reference answers of the
  dataset (mean 218.9). Mean 294 = "Tokens per sample: 294.45" of the reference FP16 run
  (mlcommons/inference language/llama2-70b/README.md); cv 0.64 from the ``token_count`` of the
  199 distinct samples in NVIDIA's v4.1 TEST06 accuracy logs (mlcommons/inference_results_v4.1
  closed/NVIDIA/compliance/*/llama2-70b-99/*/TEST06/accuracy/mlperf_log_accuracy.json:
  mean 280, median 238, p90 512, max 1,024). ASSUMPTION: lognormal with that mean and cv,
  <= 1,024 (generation_config max_output_len), independent of the input length.
* Engine per (round, accelerator), ``ENGINES``: NVIDIA's submitted TensorRT-LLM configs —
  v4.1 closed/NVIDIA/configs/llama2-70b/{__init__,Server/__init__}.py (mlcommons/
  inference_results_v4.1): H100-SXM TP2 with gpu_batch_size 1,024, H200-SXM TP1 with 896,
  max_num_tokens 4,096, no chunked context (the v4.1 harness builds its SchedulerConfig with
  the policy only, llm_core.cc), max_util scheduling; v5.1 (mlcommons/inference_results_v5.1
  closed/NVIDIA/configs/B200-SXM-180GBx8/Server/llama2-70b.py, closed/{Dell,Cisco,HPE,
  ASUSTeK}/configs/*H200*/Server/llama2-70b.py): TP1, gpu_batch_size 2,048, chunked context,
  max_num_tokens 3,584 (B200, fp4) and 1,536 (H200, fp8), FP8 KV cache.
  ASSUMPTION: the other submitters' systems ran NVIDIA's settings (some changed them, e.g. HPE
  v4.1 batch 2,048); the v4.1 single-B200 row, whose config is not published, runs the v4.1
  H200 settings; KV memory keeps tokenworks' 0.9 utilisation (TRT-LLM's
  kvcache_free_gpu_mem_frac 0.90/0.95 is a fraction of the memory left after the weights).
* FP8 weights where the table says fp8 or fp16 (NVIDIA's v4.1 harness sets use_fp8=True; see
  the precision_note); NVFP4 weights where it says fp4 (v5.1 B200).

Run: ``python benchmarks/validate_mlperf_server.py [--requests 48000] [--sensitivity]
[--interactive] [--offline] [--anchor-offline] [--two-point]
[--step-line] [--fit]
[--calibration FILE] [--lengths-csv FILE] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

MEASURED = Path(__file__).resolve().parents[1].parent / "shared" / "validation" / "measured"
MLPERF = MEASURED / "mlperf_v4_v5.csv"
ACC = {"NVIDIA H100-SXM-80GB": "h100-sxm", "NVIDIA H200-SXM-141GB": "h200",
       "NVIDIA B200-SXM-180GB": "b200"}

# Percentiles 0, 1, ..., 100 of tok_input_length over the 24,576 MLPerf OpenOrca samples
# (source in the module docstring).
OPENORCA_INPUT_PERCENTILES = (
    48, 56, 63, 67, 71, 73, 76, 79, 81, 83, 85, 87, 89, 91, 92, 94, 96, 97, 99, 101, 102, 104,
    105, 106, 108, 109, 111, 112, 114, 115, 117, 118, 120, 121, 122, 124, 126, 127, 129, 130,
    132, 133, 135, 137, 139, 141, 143, 145, 148, 150, 152, 155, 158, 160, 164, 167, 170, 174,
    178, 182, 186, 190, 194, 199, 203, 207, 211, 216, 221, 227, 232, 238, 245, 252, 259, 266,
    274, 283, 291, 301, 312, 324, 337, 355, 370, 390, 414, 436, 463, 492, 519, 541, 562, 581,
    598, 614, 632, 652, 687, 791, 1021)
OUTPUT_MEAN_TOKENS = 294.0
OUTPUT_CV = 0.64

# (round, accelerator) -> TensorRT-LLM settings of the submitted systems (docstring sources).
ENGINES = {
    ("v4.1", "NVIDIA H100-SXM-80GB"): {"tp": 2, "max_num_seqs": 1024, "max_num_batched_tokens": 4096,
                                       "chunked_prefill": False},
    ("v4.1", "NVIDIA H200-SXM-141GB"): {"tp": 1, "max_num_seqs": 896, "max_num_batched_tokens": 4096,
                                        "chunked_prefill": False},
    ("v4.1", "NVIDIA B200-SXM-180GB"): {"tp": 1, "max_num_seqs": 896, "max_num_batched_tokens": 4096,
                                        "chunked_prefill": False},
    # max_num_tokens counts decode tokens too, so 1,536 caps the running batch below 2,048.
    ("v5.1", "NVIDIA H200-SXM-141GB"): {"tp": 1, "max_num_seqs": 1536, "max_num_batched_tokens": 1536,
                                        "chunked_prefill": True},
    ("v5.1", "NVIDIA B200-SXM-180GB"): {"tp": 1, "max_num_seqs": 2048, "max_num_batched_tokens": 3584,
                                        "chunked_prefill": True},
}
# Interactive (TTFT <= 450 ms, TPOT <= 40 ms; v5.1 only): closed/NVIDIA/configs/
# B200-SXM-180GBx8/Interactive/llama2-70b.py (batch 768, max_num_tokens 768) and closed/{Dell,
# Cisco}/configs/*H200*/Interactive/llama2-70b.py (batch 512, max_num_tokens 256), TP1, chunked.
INTERACTIVE_ENGINES = {
    ("v5.1", "NVIDIA H200-SXM-141GB"): {"tp": 1, "max_num_seqs": 256, "max_num_batched_tokens": 256,
                                        "chunked_prefill": True},
    ("v5.1", "NVIDIA B200-SXM-180GB"): {"tp": 1, "max_num_seqs": 768, "max_num_batched_tokens": 768,
                                        "chunked_prefill": True},
}
# The settings this script used before the configs above were read (vLLM-like defaults).
LEGACY_ENGINE = {"max_num_seqs": 512, "max_num_batched_tokens": 8192, "chunked_prefill": True}


def rows(scenario_name: str = "Server") -> pd.DataFrame:
    d = pd.read_csv(MLPERF)
    d = d[(d.scenario == scenario_name) & d.model.str.startswith("llama2-70b") &
          (d.division == "closed") & d.accelerator.isin(list(ACC)) & (d.nodes == 1) &
          d.software.fillna("").str.contains("TensorRT")]
    if scenario_name != "Offline":
        d = d[d.target_qps.notna() & d.ttft_p50_ms.notna()]
        keys = ["version", "system", "target_qps", "ttft_p50_ms", "tpot_p50_ms"]
    else:
        keys = ["version", "system", "result"]
    # The 99 and 99.9 variants often repeat the same run: keep distinct measurements only.
    return d.drop_duplicates(keys).reset_index(drop=True)


def weights_dtype(row) -> str:
    return "nvfp4" if str(row.weight_data_types).lower() == "fp4" else "fp8"


def openorca_inputs(lengths_csv: str | None = None) -> list[float]:
    """Input-length values to resample from: the dataset itself when ``lengths_csv`` is given,
    else the percentile table expanded to 2,000 equally likely values (linear interpolation
    between percentiles; mean 222.6 vs 222.3, p99 797 vs 791)."""
    if lengths_csv:
        d = pd.read_csv(lengths_csv)
        col = "input_length" if "input_length" in d else "input_tokens"
        return d[col].astype(float).tolist()
    u = (np.arange(2000) + 0.5) / 2000 * 100
    return np.interp(u, np.arange(101), OPENORCA_INPUT_PERCENTILES).tolist()


def engine(row, kind: str, max_num_seqs: int | None) -> dict:
    table = INTERACTIVE_ENGINES if row.scenario == "Interactive" else ENGINES
    e = dict(table[(row.version, row.accelerator)])
    if kind == "legacy":
        e.update(LEGACY_ENGINE)
    if max_num_seqs:
        e["max_num_seqs"] = max_num_seqs
    return e


def scenario(row, *, n: int, inputs, engine_kind: str = "sourced",
             max_num_seqs: int | None = None, calibration: str | None = None,
             rate_per_s: float | None = None) -> dict:
    """``inputs``: a list of values (resampled) or a float (lognormal mean, cv 0.7, the old
    assumption, for the sensitivity runs)."""
    e = engine(row, engine_kind, max_num_seqs)
    gpus = int(row.accelerators_total)
    prompt = ({"kind": "empirical", "values": inputs} if isinstance(inputs, list)
              else {"kind": "lognormal", "mean": float(inputs), "cv": 0.7})
    sc = {"name": f"mlperf-{row.system}", "model": "llama-2-70b",
          "hardware": {"accelerator": ACC[row.accelerator]},
          "deployment": {"tp": e["tp"], "num_replicas": max(gpus // e["tp"], 1),
                         "weights_dtype": weights_dtype(row), "kv_dtype": "fp8"},
          "scheduler": {"chunked_prefill": e["chunked_prefill"],
                        "max_num_batched_tokens": e["max_num_batched_tokens"],
                        "max_num_seqs": e["max_num_seqs"]},
          "cache": {"prefix_cache": "none"}, "router": {"kind": "least_outstanding"},
          "workload": {"arrivals": {"kind": "poisson",
                                    "rate_per_s": float(rate_per_s or row.target_qps)},
                       "prompt_tokens": prompt,
                       "output_tokens": {"kind": "lognormal", "mean": OUTPUT_MEAN_TOKENS,
                                         "cv": OUTPUT_CV},
                       "max_prompt_tokens": 1024, "max_output_tokens": 1024,
                       "num_requests": n},
          "seed": 0}
    if calibration:
        sc["calibration"] = calibration
    return sc


def predict(sc: dict) -> dict[str, float]:
    from tokenworks.api import simulate

    res = simulate(sc)
    t = res.requests
    col = lambda c: np.asarray(t.column(c).to_numpy(zero_copy_only=False), np.float64)  # noqa: E731
    ttft, tpot, arrival = col("ttft_s"), col("tpot_s"), col("arrived_at_s")
    e2e = col("e2e_s")
    # Steady state only: drop the first 10% of arrivals (warm-up) and the last 10% (the queue
    # drains after the last arrival, so their batches are smaller); MLPerf runs >= 10 minutes.
    order = np.argsort(arrival)
    keep = order[len(order) // 10: len(order) - len(order) // 10]
    ttft, tpot, e2e = ttft[keep], tpot[keep], e2e[keep]
    done = np.isfinite(ttft) & np.isfinite(tpot)
    # Steadiness: median TTFT of the last quarter of the kept arrivals over the first quarter;
    # > 1.5 means the queue is still building up (demand above the simulated capacity).
    quarter = max(len(keep) // 4, 1)
    drift = float(np.nanmedian(ttft[-quarter:]) / np.nanmedian(ttft[:quarter]))
    q = lambda x, p: float(np.percentile(x, p) * 1e3) if x.size else float("nan")  # noqa: E731
    rate = float(sc["workload"]["arrivals"]["rate_per_s"])
    reps = res.summary.get("replicas") or []
    return {"ttft_p50_ms": q(ttft[done], 50), "ttft_p99_ms": q(ttft[done], 99),
            "tpot_p50_ms": q(tpot[done], 50), "tpot_p99_ms": q(tpot[done], 99),
            "num_unfinished": int((~done).sum()),
            "num_preemptions": int(res.summary.get("num_preemptions") or 0),
            "ttft_drift": drift,
            "queue_growing": float(drift > 1.5 or bool((res.summary.get("queue") or {})
                                                        .get("growing"))),
            # Little's law: requests in flight per replica = rate x mean E2E / replicas.
            "in_flight_per_replica": rate * float(np.mean(e2e[done])) / max(len(reps), 1),
            "kv_usage_mean_frac": float(np.mean([r["kv_usage_mean_frac"] for r in reps]))
            if reps else float("nan")}


def measured_in_flight(row, gpus_per_replica: int) -> float:
    """Little's law on the published results: rate x mean latency per replica (mean latency
    from TTFT p50 + 293 x TPOT p50 where the log gives none)."""
    e2e_ms = row.latency_mean_ms
    if not np.isfinite(e2e_ms):
        e2e_ms = row.ttft_p50_ms + (OUTPUT_MEAN_TOKENS - 1) * row.tpot_p50_ms
    return float(row.target_qps) * e2e_ms / 1e3 / max(
        int(row.accelerators_total) // gpus_per_replica, 1)


GROUPS = (("v4.1", "NVIDIA H100-SXM-80GB", 8), ("v4.1", "NVIDIA H100-SXM-80GB", 4),
          ("v4.1", "NVIDIA H200-SXM-141GB", 8), ("v5.1", "NVIDIA H200-SXM-141GB", 8),
          ("v5.1", "NVIDIA B200-SXM-180GB", 8), ("v4.1", "NVIDIA B200-SXM-180GB", 1))
METRICS = ("ttft_p50_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p99_ms")


def group_table(df: pd.DataFrame, prefix: str, label: str) -> None:
    print(f"\n{label}: median pred/meas per group")
    print("| group | rows | TTFT p50 | TTFT p99 | TPOT p50 | TPOT p99 | in flight/replica sim (meas) "
          "| rows overloaded |")
    print("|---|---|---|---|---|---|---|---|")
    for ver, acc, gpus in GROUPS:
        g = df[(df.version == ver) & (df.accelerator == acc) & (df.gpus == gpus)]
        if g.empty:
            continue
        cells = [f"{(g[f'{prefix}_{k}'] / g[f'measured_{k}']).median():.2f}×" for k in METRICS]
        print(f"| {ver} {ACC[acc]} {gpus} GPU | {len(g)} | " + " | ".join(cells) +
              f" | {g[f'{prefix}_in_flight_per_replica'].median():.0f} "
              f"({g.measured_in_flight_per_replica.median():.0f}) "
              f"| {int(g[f'{prefix}_queue_growing'].sum())} |")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=_positive_int, default=48000)
    ap.add_argument("--calibration", default=None)
    ap.add_argument("--lengths-csv", default=None,
                    help="per-sample OpenOrca lengths (input_length column) to replay")
    ap.add_argument("--sensitivity", action="store_true",
                    help="also the old engine (512 seqs, 8,192 chunked) and a 300-token lognormal")
    ap.add_argument("--offline", action="store_true",
                    help="capacity check: Offline tokens/s at a saturating arrival rate")
    ap.add_argument("--anchor-offline", action="store_true",
                    help="also scale the efficiencies so simulated Offline capacity matches "
                         "the published Offline result, then rerun the Server rows")
    ap.add_argument("--interactive", action="store_true",
                    help="the v5.1 Interactive rows (with their engine settings) instead")
    ap.add_argument("--step-line", action="store_true",
                    help="per-step time vs batch: measured (Little's law) vs StepCostModel")
    ap.add_argument("--two-point", action="store_true",
                    help="v5.1: step overhead from Interactive + compute from Offline, "
                         "then predict Server")
    ap.add_argument("--fit", action="store_true",
                    help="fit a calibration per accelerator on three v4.1 setups, score all")
    ap.add_argument("--max-num-seqs", type=_positive_int, default=None, help="override the batch cap")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if not MLPERF.exists():
        print(f"{MLPERF} not found; nothing to validate")
        return 0
    inputs = openorca_inputs(args.lengths_csv)
    if args.offline:
        return offline_main(args, inputs)
    if args.fit:
        return fit_main(args, inputs)
    if args.two_point:
        return two_point_main(args, inputs)
    if args.step_line:
        return step_line_main(args, inputs)
    variants = {"pred": (inputs, "sourced")}
    if args.sensitivity:
        variants |= {"legacy": (inputs, "legacy"), "in300": (300.0, "sourced")}
    factors: dict[tuple, float] = {}
    tmp = None
    if args.anchor_offline:
        import tempfile

        tmp = tempfile.TemporaryDirectory()
        factors = anchor_factors(inputs, Path(tmp.name))
        variants["anchored"] = (inputs, "sourced")
    out = []
    cache: dict[tuple, dict[str, float]] = {}  # rows with the same setup share one simulation
    todo = rows("Interactive" if args.interactive else "Server")
    todo = todo[[(v, a) in (INTERACTIVE_ENGINES if args.interactive else ENGINES)
                 for v, a in zip(todo.version, todo.accelerator, strict=True)]]
    for r in todo.itertuples(index=False):
        tp = engine(r, "sourced", None)["tp"]
        rec = {"version": r.version, "submitter": r.submitter, "system": r.system,
               "accelerator": r.accelerator, "gpus": int(r.accelerators_total),
               "target_qps": float(r.target_qps),
               "measured_in_flight_per_replica": measured_in_flight(r, tp)}
        for k in METRICS:
            rec[f"measured_{k}"] = float(getattr(r, k))
        for name, (inp, kind) in variants.items():
            key = (r.version, r.accelerator, int(r.accelerators_total), float(r.target_qps),
                   weights_dtype(r), name)
            cal = args.calibration
            if name == "anchored":
                f = factors[(*key[:3], weights_dtype(r))]
                cal = scaled_calibration(ACC[r.accelerator], f, Path(tmp.name))
                rec["anchor_factor"] = f
            if key not in cache:
                cache[key] = predict(scenario(r, n=args.requests, inputs=inp, engine_kind=kind,
                                              max_num_seqs=args.max_num_seqs, calibration=cal))
            rec |= {f"{name}_{k}": v for k, v in cache[key].items()}
        out.append(rec)
        print(json.dumps(rec, default=float), flush=True)
    df = pd.DataFrame(out)
    print("\n| system | GPUs | qps | TTFT p50 meas/pred (ms) | TTFT p99 | TPOT p50 | TPOT p99 |")
    print("|---|---|---|---|---|---|---|")
    for r in df.itertuples(index=False):
        cells = [f"{getattr(r, 'measured_' + k):.0f} / {getattr(r, 'pred_' + k):.0f}"
                 for k in METRICS]
        print(f"| {r.version} {r.system} | {r.gpus} | {r.target_qps:g} | " + " | ".join(cells)
              + " |")
    for name in variants:
        group_table(df, name, name)
    if args.json:
        df.to_json(args.json, orient="records", indent=1)
    if tmp is not None:
        tmp.cleanup()
    return 0


def offline_capacity(r, inputs: list[float], calibration: str | None,
                     batches: int = 6) -> float:
    """Simulated Offline samples/s of the whole system: one replica fed at 3x its share of the
    measured rate (a queue that never empties, as when Offline issues all samples at once)
    with ``batches`` x its batch cap of requests; completions per second over the steady
    window (10%-90% of completions), times the number of replicas (replicas are independent).
    Runs the Server engine settings of ``ENGINES`` (NVIDIA's Offline configs differ only in
    the batch cap, e.g. 896 vs 1,024 on H100)."""
    from tokenworks.api import simulate

    e = ENGINES[(r.version, r.accelerator)]
    replicas = max(int(r.accelerators_total) // e["tp"], 1)
    sc = scenario(r, n=batches * e["max_num_seqs"], inputs=inputs, calibration=calibration,
                  rate_per_s=3 * float(r.samples_per_s_offline) / replicas)
    sc["deployment"]["num_replicas"] = 1
    t = simulate(sc).requests
    fin = np.sort(np.asarray(t.column("finished_at_s").to_numpy(zero_copy_only=False), float))
    fin = fin[np.isfinite(fin)]
    lo, hi = fin[len(fin) // 10], fin[len(fin) - len(fin) // 10 - 1]
    return replicas * (len(fin) - 2 * (len(fin) // 10)) / (hi - lo)


def scaled_calibration(accelerator: str, factor: float, workdir: Path, *,
                       memory: bool = True, step_overhead_s: float | None = None) -> str:
    """The packaged calibration of ``accelerator`` with the kernel fractions (GEMM and attention
    compute and, if ``memory``, memory) multiplied by ``factor`` (capped at 1) and, if given,
    the per-step overhead replaced."""
    from dataclasses import replace

    from tokenworks.io.calibration import save_calibration
    from tokenworks.perf.calibration import default_calibration

    base = default_calibration(accelerator)
    names = ("gemm_compute_frac", "gemm_compute_frac_lowp", "gemm_compute_frac_fp4",
             "prefill_attention_frac")
    if memory:
        names += ("gemm_memory_frac", "gemm_memory_frac_fp4", "attention_memory_frac")
    # Fractions of peak stay <= 1: a factor that would need more is reported as saturated.
    kw: dict[str, float] = {k: min(1.0, getattr(base, k) * factor) for k in names}
    if step_overhead_s is not None:
        kw["step_overhead_s"] = step_overhead_s
    tag = f"{accelerator}-{factor:.4f}-{int(memory)}-{step_overhead_s or 0:.4f}"
    return str(save_calibration(replace(base, **kw), workdir / f"{tag}.toml"))


def capacity_factor(r, inputs: list[float], workdir: Path, **kw) -> float:
    """Efficiency factor at which the simulated Offline capacity of setup ``r`` equals the
    published one (bisection in log space, 8 steps, +-1.5%)."""
    target = float(r.samples_per_s_offline)
    lo, hi = np.log(0.1), np.log(2.0)
    for _ in range(8):
        mid = 0.5 * (lo + hi)
        cal = scaled_calibration(ACC[r.accelerator], float(np.exp(mid)), workdir, **kw)
        if offline_capacity(r, inputs, cal) > target:
            hi = mid
        else:
            lo = mid
    return float(np.exp(0.5 * (lo + hi)))


def two_point_main(args, inputs: list[float]) -> int:
    """v5.1 H200 and B200: two knobs from two non-Server measurements. For each per-step
    overhead on a grid, the compute efficiency is set so the simulated Offline capacity
    matches the published Offline result; the overhead kept is the one whose simulated
    Interactive TPOT p50 (median-rate Interactive row) matches the published one (log-linear
    interpolation between grid points). Then every Server and Interactive row of the setup is
    predicted with that calibration: the Server latencies are out of sample."""
    import tempfile

    grid_s = (0.005, 0.010, 0.015, 0.020, 0.025, 0.030)
    off = rows("Offline")
    inter, server = rows("Interactive"), rows("Server")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for ver, acc in (("v5.1", "NVIDIA H200-SXM-141GB"), ("v5.1", "NVIDIA B200-SXM-180GB")):
            o = off[(off.version == ver) & (off.accelerator == acc) & (off.accelerators_total == 8)]
            ir = inter[(inter.version == ver) & (inter.accelerator == acc)
                       & (inter.accelerators_total == 8)].sort_values("target_qps")
            probe = ir.iloc[len(ir) // 2]
            errs, facs = [], []
            for oh in grid_s:
                f = capacity_factor(o.iloc[0], inputs, work, memory=False, step_overhead_s=oh)
                cal = scaled_calibration(ACC[acc], f, work, memory=False, step_overhead_s=oh)
                p = predict(scenario(probe, n=args.requests, inputs=inputs, calibration=cal))
                errs.append(np.log(p["tpot_p50_ms"] / probe.tpot_p50_ms))
                facs.append(f)
                print(json.dumps({"setup": [ver, acc], "step_overhead_s": oh, "compute_factor": f,
                                  "interactive_tpot_ratio": float(np.exp(errs[-1]))}), flush=True)
            e = np.asarray(errs)
            k = int(np.argmax(e >= 0)) if (e >= 0).any() else len(e) - 1
            if k == 0 or e[k] < 0:
                oh, f = grid_s[k], facs[k]
            else:
                w = -e[k - 1] / (e[k] - e[k - 1])
                oh = grid_s[k - 1] + w * (grid_s[k] - grid_s[k - 1])
                f = capacity_factor(o.iloc[0], inputs, work, memory=False, step_overhead_s=oh)
            cal = scaled_calibration(ACC[acc], f, work, memory=False, step_overhead_s=oh)
            for d in (server, ir):
                sub = d[(d.version == ver) & (d.accelerator == acc) & (d.accelerators_total == 8)]
                for r in sub.drop_duplicates(["target_qps"]).itertuples(index=False):
                    p = predict(scenario(r, n=args.requests, inputs=inputs, calibration=cal))
                    rec = {"scenario": r.scenario, "accelerator": acc, "qps": float(r.target_qps),
                           "step_overhead_s": oh, "compute_factor": f,
                           "measured_in_flight_per_replica": measured_in_flight(r, 1),
                           **{f"measured_{m}": float(getattr(r, m)) for m in METRICS},
                           **{f"pred_{m}": v for m, v in p.items()}}
                    out.append(rec)
                    print(json.dumps(rec, default=float), flush=True)
    df = pd.DataFrame(out)
    print("\n| setup | scenario | rates | TTFT p50 | TTFT p99 | TPOT p50 | TPOT p99 | in flight sim "
          "(meas) | overloaded |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (acc, scen), g in df.groupby(["accelerator", "scenario"]):
        cells = [f"{(g[f'pred_{m}'] / g[f'measured_{m}']).median():.2f}×" for m in METRICS]
        print(f"| {ACC[acc]} | {scen} | {len(g)} | " + " | ".join(cells) +
              f" | {g.pred_in_flight_per_replica.median():.0f} "
              f"({g.measured_in_flight_per_replica.median():.0f}) "
              f"| {int(g.pred_queue_growing.sum())} |")
    if args.json:
        df.to_json(args.json, orient="records", indent=1)
    return 0


def step_line_main(args, inputs: list[float]) -> int:
    """Per-step time against batch, measured vs simulated (v5.1 H200 and B200, TP1).

    Measured: every Interactive and Server row gives one point (B, TPOT p50) with B = requests
    in flight per replica (Little's law, ``measured_in_flight``); a least-squares line
    TPOT = a + b x B is fitted through them. Simulated: ``StepCostModel.step_time_s`` of a
    steady-state step with B decodes at the mean context (mean input + half the mean output)
    and the prefill tokens that step must carry on average (B x mean input / mean output),
    with the packaged calibration (or ``--calibration``)."""
    from tokenworks.hardware import get_accelerator
    from tokenworks.io.calibration import load_calibration
    from tokenworks.model.catalog import get_model
    from tokenworks.perf.deployment import make_deployment
    from tokenworks.perf.step import StepCostModel, causal_pairs

    mean_in = float(np.mean(inputs))
    model = get_model("llama-2-70b")
    cal = load_calibration(args.calibration) if args.calibration else None
    for acc, wd in (("NVIDIA H200-SXM-141GB", "fp8"), ("NVIDIA B200-SXM-180GB", "nvfp4")):
        pts = []
        for scen in ("Interactive", "Server"):
            d = rows(scen)
            d = d[(d.version == "v5.1") & (d.accelerator == acc) & (d.accelerators_total == 8)]
            pts += [(measured_in_flight(r, 1), float(r.tpot_p50_ms)) for r in
                    d.itertuples(index=False)]
        bs, ts = np.asarray(pts).T
        b, a = np.polyfit(bs, ts, 1)
        dep = make_deployment(model, get_accelerator(ACC[acc]), tp=1, pp=1, weights_dtype=wd,
                              kv_dtype="fp8")
        cost = StepCostModel(model, dep, cal)
        grid = np.array([50.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 1500.0])
        pre = grid * mean_in / OUTPUT_MEAN_TOKENS
        ctx = mean_in + OUTPUT_MEAN_TOKENS / 2
        sim_ms = 1e3 * np.array([cost.step_time_s(
            num_prefill_tokens=p, prefill_attention_pairs=p / mean_in * causal_pairs(mean_in, 0),
            prefill_kv_tokens=p, num_decode_seqs=g, decode_kv_tokens=g * ctx)
            for g, p in zip(grid, pre, strict=True)])
        sb, sa = np.polyfit(grid[grid >= 250], sim_ms[grid >= 250], 1)
        print(json.dumps({"accelerator": acc, "measured_points": len(bs),
                          "measured_a_ms": a, "measured_b_ms_per_seq": b,
                          "measured_b_range": [float(bs.min()), float(bs.max())],
                          "sim_batch": grid.tolist(), "sim_step_ms": sim_ms.round(1).tolist(),
                          "measured_line_ms": (a + b * grid).round(1).tolist(),
                          "sim_line_b_ge_250": {"a_ms": sa, "b_ms_per_seq": sb}}), flush=True)
    return 0


def anchor_factors(inputs: list[float], workdir: Path) -> dict[tuple, float]:
    """Per (round, accelerator, GPUs, weights) Offline setup: the efficiency factor (compute
    and memory) at which the simulated Offline capacity equals the published one. The Server
    latencies stay out of sample."""
    out = {}
    off = rows("Offline").drop_duplicates(["version", "accelerator", "accelerators_total",
                                           "weight_data_types"])
    for r in off.itertuples(index=False):
        key = (r.version, r.accelerator, int(r.accelerators_total), weights_dtype(r))
        out[key] = capacity_factor(r, inputs, workdir)
        print(json.dumps({"offline_anchor": list(key), "factor": out[key],
                          "measured_samples_per_s": float(r.samples_per_s_offline)}), flush=True)
    return out


def offline_main(args, inputs: list[float]) -> int:
    """Capacity: simulated vs published Offline samples/s per distinct setup
    (``offline_capacity``)."""
    d = rows("Offline").drop_duplicates(["version", "accelerator", "accelerators_total",
                                         "weight_data_types"])
    out = []
    for r in d.itertuples(index=False):
        sps = float(r.samples_per_s_offline)
        sim_sps = offline_capacity(r, inputs, args.calibration)
        rec = {"version": r.version, "accelerator": r.accelerator,
               "gpus": int(r.accelerators_total), "weights": weights_dtype(r),
               "measured_samples_per_s": sps, "measured_tokens_per_s": float(r.result),
               "sim_samples_per_s": sim_sps, "sim_over_measured": sim_sps / sps}
        out.append(rec)
        print(json.dumps(rec), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


def fit_on_rows(train: pd.DataFrame, *, inputs, n: int, max_evaluations: int,
                workdir: Path) -> tuple[object, dict]:
    """``tokenworks calibrate`` on published percentiles: fit compute/memory efficiency and the
    per-step overhead so the simulated TTFT p50 and TPOT p50 of the training rows match their
    measured values (log residuals, robust loss; api.calibrate.fit_residuals). Percentiles,
    not per-request data, are all MLPerf publishes, so this is the aggregate form of the fit."""
    from tokenworks.hardware import get_accelerator
    from tokenworks.io.calibration import save_calibration
    from tokenworks.perf.calibration import default_calibration
    from tokenworks.perf.fit import DEFAULT_PARAMS, fit_residuals

    acc = get_accelerator(ACC[train.iloc[0].accelerator])
    base = default_calibration(acc.name)
    meas = np.log(np.r_[train.ttft_p50_ms.to_numpy(float), train.tpot_p50_ms.to_numpy(float)])

    def residuals(cal) -> np.ndarray:
        path = save_calibration(cal, workdir / "candidate.toml")
        preds = [predict(scenario(r, n=n, inputs=inputs, calibration=str(path)))
                 for r in train.itertuples(index=False)]
        got = np.r_[[p["ttft_p50_ms"] for p in preds], [p["tpot_p50_ms"] for p in preds]]
        return np.log(got) - meas

    before = residuals(base)
    cal, evals = fit_residuals(residuals, base, DEFAULT_PARAMS, max_evaluations=max_evaluations)
    after = residuals(cal)
    info = {"accelerator": acc.name, "train_rows": len(train), "evaluations": evals,
            "median_abs_log_err_before": float(np.median(np.abs(before))),
            "median_abs_log_err_after": float(np.median(np.abs(after))),
            "fitted": {p: float(getattr(cal, p)) for p in DEFAULT_PARAMS},
            "base": {p: float(getattr(base, p)) for p in DEFAULT_PARAMS}}
    return cal, info


def fit_main(args, inputs) -> int:
    """Per accelerator: fit on three distinct v4.1 setups (H100, H200), score every distinct
    setup of that accelerator (v4.1 in sample, v5.1 out of sample) before and after."""
    import tempfile

    from tokenworks.io.calibration import save_calibration

    d = rows().drop_duplicates(["version", "accelerator", "accelerators_total", "target_qps"])
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for acc_name in ("NVIDIA H100-SXM-80GB", "NVIDIA H200-SXM-141GB"):
            sub = d[d.accelerator == acc_name]
            train = sub[sub.version == "v4.1"].drop_duplicates(["accelerators_total",
                                                               "target_qps"]).head(3)
            cal, info = fit_on_rows(train, inputs=inputs, n=args.requests,
                                    max_evaluations=40, workdir=work)
            path = save_calibration(cal, work / f"{ACC[acc_name]}.toml")
            scored = []
            for r in sub.itertuples(index=False):
                b = predict(scenario(r, n=args.requests, inputs=inputs))
                a = predict(scenario(r, n=args.requests, inputs=inputs, calibration=str(path)))
                scored.append({"version": r.version, "gpus": int(r.accelerators_total),
                               "qps": float(r.target_qps),
                               **{f"measured_{k}": float(getattr(r, k)) for k in METRICS},
                               **{f"before_{k}": v for k, v in b.items()},
                               **{f"after_{k}": v for k, v in a.items()}})
            info["rows"] = scored
            out[acc_name] = info
            print(json.dumps(info, default=float), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
