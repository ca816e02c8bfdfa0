"""Fit the roofline calibration on measured throughput; write data/calibration.toml and docs.

Sources (read by path from ../shared/validation, never copied):

* TensorRT-LLM perf-overview tables v0.14.0 and v0.20
  (``measured/trtllm_perf_overview_v014_v020.csv``): offline max-load output tokens/s of a whole
  TP group, fixed ISL/OSL. The main fit.
* vidur NCCL all-reduce profiles (``traces/vidur_profiling/net_{a100,h100}_dgx_all_reduce.csv``,
  microsoft/vidur @7d475133, MIT): fit of ``comm_efficiency_frac`` and ``comm_latency_s``.
* MLPerf Inference v4.1/v5.1 Offline (``measured/mlperf_v4_v5.csv``) and Splitwise step times
  (``traces/splitwise_sim_profiles/perf_model.csv``): held-out validation (other engines and
  datasets), see ``benchmarks/perf_accuracy.py``.

Offline max load (the TRT-LLM tables) is simulated as a steady state (Orca-style in-flight
batching): the engine holds ``B`` sequences, each step decodes one token for all of them at
mean context ``ISL + OSL/2`` and, mixed into the same step, prefills ``B·ISL/OSL`` prompt
tokens (the rate at which finished sequences are replaced). Output tokens/s = ``B / step``.
``B`` is the largest batch whose KV fits (TensorRT-LLM ``kv_cache_free_gpu_mem_fraction`` 0.95
of the memory left after weights, activations and engine overhead, ISL+OSL tokens reserved per
sequence in 64-token blocks, as the GUARANTEED_NO_EVICT scheduler does), capped by
``max_batch_size`` and by ``max_num_tokens × OSL / (ISL + OSL)`` (each step holds at most
``max_num_tokens`` tokens).

Run: ``python benchmarks/calibrate.py [--write]`` (``--write`` updates
``src/tokenworks/data/calibration.toml`` and the perf section of ``docs/accuracy.md``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from tokenworks.errors import InfeasibleError
from tokenworks.hardware import get_accelerator
from tokenworks.io.calibration import save_calibration
from tokenworks.model.arch import ModelArch
from tokenworks.model.catalog import get_model
from tokenworks.perf import (
    Calibration,
    CalibrationOverride,
    Deployment,
    StepCostModel,
    make_deployment,
    plan_memory,
    steady_state,
)

VAL = Path(__file__).resolve().parents[1].parent / "shared" / "validation"
TRT = VAL / "measured" / "trtllm_perf_overview_v014_v020.csv"
NET = VAL / "traces" / "vidur_profiling"
ROOT = Path(__file__).resolve().parents[1]

MODEL_MAP = {"Llama-3.1-70B": "llama-3.1-70b", "Llama-3.3-70B": "llama-3.3-70b",
             "Llama-3.1-8B": "llama-3.1-8b", "Mistral-7B": "mistral-7b",
             "Mixtral-8x7B": "mixtral-8x7b", "Mixtral-8x22B": "mixtral-8x22b",
             "Llama-3.1-405B": "llama-3.1-405b", "Llama-4-Maverick": "llama-4-maverick"}
GPU_MAP = {"H100-SXM-80GB": "h100-sxm", "H200-SXM-141GB": "h200", "A100-SXM4-80GB": "a100-80g-sxm",
           "L40S-48GB": "l40s", "B200-180GB (DGX B200)": "b200"}
# A100-PCIE-80GB is not in the accelerator catalog: those rows are skipped (reported).
PRECISION = {"FP16": ("fp16", "fp16"), "FP8": ("fp8", "fp8"), "FP4": ("nvfp4", "fp8")}

# ASSUMPTION: trtllm-bench runs with TensorRT-LLM's BuildConfig defaults max_batch_size 2048 and
# max_num_tokens 8192, 64-token KV blocks, and kv_cache_free_gpu_mem_fraction 0.95 (the CSV note).
MAX_BATCH = 2048
MAX_NUM_TOKENS = 8192
KV_FREE_FRAC = 0.95
BLOCK = 64


@dataclass(frozen=True, slots=True)
class Case:
    """One measured throughput with everything its prediction needs but the calibration."""

    label: str
    model: ModelArch
    dep: Deployment
    isl: int
    osl: int
    batch: int
    measured_tok_s: float
    slice_tags: tuple[str, ...]


def max_offline_batch(model: ModelArch, dep: Deployment, isl: int, osl: int) -> int:
    """Largest batch TensorRT-LLM would hold at offline max load (see module docstring)."""
    plan = plan_memory(model, dep, gpu_memory_utilization_frac=1.0, kv_block_size_tokens=BLOCK,
                       max_seq_len_tokens=isl + osl, max_num_batched_tokens=MAX_NUM_TOKENS,
                       max_num_seqs=MAX_BATCH)
    per_seq = plan.kv_bytes_per_token_per_gpu * math.ceil((isl + osl) / BLOCK) * BLOCK
    b_kv = int(KV_FREE_FRAC * plan.kv_bytes_per_gpu // per_seq)
    b_tok = int(MAX_NUM_TOKENS * osl / (isl + osl))
    return max(0, min(b_kv, MAX_BATCH, max(b_tok, 1)))


def offline_tok_s(cost: StepCostModel, batch: int, isl: int, osl: int) -> float:
    """Steady-state output tokens/s of one replica holding ``batch`` sequences."""
    return steady_state(cost, batch=batch, input_tokens=isl, output_tokens=osl).output_tokens_per_s


def load_trt_cases() -> tuple[list[Case], list[str]]:
    df = pd.read_csv(TRT)
    cases, skipped = [], []
    for r in df.itertuples():
        gpu = GPU_MAP.get(r.gpu)
        name = MODEL_MAP.get(r.model)
        tag = f"{r.model} {r.precision} {r.gpu} tp{r.tp} {r.isl}/{r.osl} ({r.engine_version})"
        if gpu is None or name is None:
            skipped.append(f"{tag}: {'accelerator' if gpu is None else 'model'} not in catalog")
            continue
        w, kv = PRECISION[r.precision]
        m = get_model(name)
        dep = make_deployment(m, get_accelerator(gpu), tp=int(r.tp), pp=int(r.pp),
                              weights_dtype=w, kv_dtype=kv)
        try:
            b = max_offline_batch(m, dep, int(r.isl), int(r.osl))
        except InfeasibleError as e:
            skipped.append(f"{tag}: model does not fit in our memory plan ({str(e)[:80]}…)")
            continue
        if b < 1:
            skipped.append(f"{tag}: no room for one sequence in our memory plan")
            continue
        tags = [f"gpu:{gpu}", f"prec:{r.precision}", f"version:{r.engine_version}"]
        tags.append("moe" if m.is_moe else "dense")
        if gpu in ("h100-sxm", "h200", "b200") and not m.is_moe:
            tags.append("dense_hopper_blackwell")
        cases.append(Case(label=tag, model=m, dep=dep, isl=int(r.isl), osl=int(r.osl), batch=b,
                          measured_tok_s=float(r.value), slice_tags=tuple(tags)))
    return cases, skipped


def predict(cases: list[Case], cal: Calibration) -> np.ndarray:
    return np.array([offline_tok_s(StepCostModel(c.model, c.dep, cal), c.batch, c.isl, c.osl)
                     for c in cases])


# ---------------------------------------------------------------------------------- fitting
FIT_PARAMS = ("compute_efficiency_frac", "prefill_compute_efficiency_frac",
              "memory_efficiency_frac", "step_overhead_s", "comm_efficiency_frac",
              "comm_latency_s")
# Physical bounds: no kernel sustains more than ~95% of datasheet FLOP/s or HBM bandwidth.
LOWER = np.array([0.05, 0.05, 0.05, 0.0, 0.05, 0.0])
UPPER = np.array([0.95, 0.95, 0.95, 0.05, 0.95, 2e-4])
X0 = np.array([0.6, 0.6, 0.8, 3e-3, 0.6, 2e-5])
OVERRIDE_PARAMS = FIT_PARAMS[:4]  # per-accelerator: efficiencies and overhead; comm stays global
EXCLUDED_FROM_GLOBAL = ("l40s",)  # PCIe card, no NVLink: fitted only through its own override


def _with(base: Calibration, x, names) -> Calibration:
    return replace(base, **{n: float(v) for n, v in zip(names, x, strict=True)})


# Weight of the pull of an override towards the global value, per unit log-ratio: a weak prior
# (equivalent to a few rows) that keeps trade-offs between parameters from wandering off.
PRIOR_WEIGHT = 0.3
OVERHEAD_FLOOR_S = 5e-4  # log-ratio of overheads is taken above this floor


def fit(cases: list[Case], base: Calibration, names=FIT_PARAMS, x0=X0, lo=LOWER, hi=UPPER,
        prior: np.ndarray | None = None):
    """Least squares on log(predicted / measured) (scipy.optimize.least_squares, TRF).

    ``prior``: values the parameters are weakly pulled towards (``PRIOR_WEIGHT``).
    """
    meas = np.log([c.measured_tok_s for c in cases])

    def resid(x: np.ndarray) -> np.ndarray:
        r = np.log(predict(cases, _with(base, x, names))) - meas
        if prior is None:
            return r
        pull = PRIOR_WEIGHT * np.log((x + OVERHEAD_FLOOR_S) / (prior + OVERHEAD_FLOOR_S))
        return np.concatenate([r, pull])

    r = least_squares(resid, np.clip(x0, lo, hi), bounds=(lo, hi), x_scale="jac",
                      diff_step=1e-3)
    return _with(base, r.x, names), r


def fit_comm() -> tuple[float, float, float]:
    """Fit (comm_efficiency_frac, comm_latency_s) on vidur's intra-node NCCL all-reduce times.

    t = latency + 2(p−1)/p · bytes / (scale-up bandwidth × eff)  (ring, NCCL busBw definition).
    Returns (eff, latency_s, median abs % error).
    """
    rows = []
    for gpu, acc in (("h100", "h100-sxm"), ("a100", "a100-80g-sxm")):
        d = pd.read_csv(NET / f"net_{gpu}_dgx_all_reduce.csv")
        d = d[d.devices_per_node == d.num_workers]  # one node: NVLink only
        bw = get_accelerator(acc).scaleup_bytes_per_s
        p = d["num_workers"].to_numpy(float)
        rows.append(np.column_stack([2 * (p - 1) / p * d["size"].to_numpy(float) / bw,
                                     d["time_stats.all_reduce.median"].to_numpy(float) * 1e-3]))
    a = np.vstack(rows)  # (ideal seconds at peak link, measured seconds)

    def resid(x: np.ndarray) -> np.ndarray:
        return np.log(x[1] + a[:, 0] / x[0]) - np.log(a[:, 1])

    r = least_squares(resid, [0.7, 1e-5], bounds=([0.05, 0.0], [1.0, 1e-3]), x_scale="jac")
    err = np.median(np.abs(np.exp(r.fun) - 1)) * 100
    return float(r.x[0]), float(r.x[1]), float(err)


def errors(pred: np.ndarray, cases: list[Case]) -> np.ndarray:
    meas = np.array([c.measured_tok_s for c in cases])
    return (pred - meas) / meas * 100.0


def stats(err: np.ndarray) -> tuple[int, float, float, float]:
    a = np.abs(err)
    if len(a) == 0:
        return 0, float("nan"), float("nan"), float("nan")
    return len(a), float(np.median(a)), float(np.mean(a)), float(np.median(err))


def summarize(err: np.ndarray) -> str:
    n, med, mean, bias = stats(err)
    return f"n={n}, median |err| {med:.1f}%, mean |err| {mean:.1f}%, median signed {bias:+.1f}%"


SLICES = {
    "dense on H100/H200/B200 (target ≤ 15%)": lambda c: "dense_hopper_blackwell" in c.slice_tags,
    "MoE (Mixtral-8x7B/8x22B, Llama-4-Maverick)": lambda c: "moe" in c.slice_tags,
    "A100-SXM4-80GB (FP16)": lambda c: "gpu:a100-80g-sxm" in c.slice_tags,
    "FP4 (B200, v0.20)": lambda c: "prec:FP4" in c.slice_tags,
    "FP8 (H100/H200/L40S)": lambda c: "prec:FP8" in c.slice_tags,
    "FP16 (A100/H100)": lambda c: "prec:FP16" in c.slice_tags,
    "L40S (PCIe, no NVLink)": lambda c: "gpu:l40s" in c.slice_tags,
    "TP = 1": lambda c: c.dep.tp == 1,
    "TP = 8": lambda c: c.dep.tp == 8,
    "ISL/OSL 20000/2000 (long context)": lambda c: c.isl == 20000,
    "all rows": lambda c: True,
}


def tp_scaling_errors(cases: list[Case], pred: np.ndarray) -> np.ndarray:
    """% error of predicted throughput(tp) / throughput(smallest tp) within a config group."""
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(cases):
        key = (c.model.name, c.dep.accelerator.name, c.dep.weights_dtype, c.isl, c.osl,
               c.label.rsplit("(", 1)[1])
        groups.setdefault(key, []).append(i)
    out = []
    for idx in groups.values():
        if len(idx) < 2:
            continue
        ref = min(idx, key=lambda i: cases[i].dep.tp)
        for i in idx:
            if i == ref:
                continue
            m = cases[i].measured_tok_s / cases[ref].measured_tok_s
            p = pred[i] / pred[ref]
            out.append((p - m) / m * 100)
    return np.array(out)


def _row(name: str, err: np.ndarray) -> str:
    n, med, mean, bias = stats(err)
    return f"| {name} | {n} | {med:.1f} | {mean:.1f} | {bias:+.1f} |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true",
                    help="write src/tokenworks/data/calibration.toml and docs/accuracy.md")
    args = ap.parse_args(argv)
    if not TRT.exists():
        print(f"validation data not found at {VAL}; nothing to fit.", file=sys.stderr)
        return 1
    v_eff, v_lat, comm_err = fit_comm()
    print(f"vidur NCCL all-reduce fit: eff={v_eff:.3f}, latency={v_lat * 1e6:.1f} µs, "
          f"median |err| {comm_err:.1f}%")
    cases, skipped = load_trt_cases()
    print(f"{len(cases)} TRT-LLM rows usable, {len(skipped)} skipped")
    fit_cases = [c for c in cases if c.dep.accelerator.name not in EXCLUDED_FROM_GLOBAL]
    base = Calibration(comm_efficiency_frac=v_eff, comm_latency_s=v_lat)
    x0 = np.array([*X0[:4], v_eff, v_lat])
    cal, _ = fit(fit_cases, base, x0=x0)
    err_global = errors(predict(cases, cal), cases)
    print("global:", {n: round(getattr(cal, n), 6) for n in FIT_PARAMS}, summarize(err_global))
    overrides = []
    gpus = sorted({c.dep.accelerator.name for c in cases})
    for gpu in gpus:
        sub = [c for c in cases if c.dep.accelerator.name == gpu]
        glob = np.array([getattr(cal, n) for n in OVERRIDE_PARAMS])
        g, _ = fit(sub, cal, names=OVERRIDE_PARAMS, x0=glob, lo=LOWER[:4], hi=UPPER[:4],
                   prior=glob)
        overrides.append(CalibrationOverride(
            match=gpu, source=f"TensorRT-LLM perf-overview rows on {gpu} (n={len(sub)})",
            **{n: round(float(getattr(g, n)), 6) for n in OVERRIDE_PARAMS}))
    final = replace(cal, **{n: round(float(getattr(cal, n)), 8) for n in FIT_PARAMS},
                    overrides=tuple(overrides))
    pred_final = predict(cases, final)
    err_final = errors(pred_final, cases)
    print("packaged (global + per-accelerator overrides):", summarize(err_final))
    # Leave one accelerator out: global fit without it (no override), evaluated on it.
    loao = {}
    for gpu in gpus:
        train = [c for c in fit_cases if c.dep.accelerator.name != gpu]
        test = [c for c in cases if c.dep.accelerator.name == gpu]
        g, _ = fit(train, base, x0=np.array([getattr(cal, n) for n in FIT_PARAMS]))
        loao[gpu] = errors(predict(test, g), test)
        print(f"leave-out {gpu}:", summarize(loao[gpu]))
    tp_err_final = tp_scaling_errors(cases, pred_final)
    tp_err_global = tp_scaling_errors(cases, predict(cases, cal))
    print("TP scaling ratio:", summarize(tp_err_final))
    if args.write:
        today = dt.date.today().isoformat()
        _, med_g, mean_g, _ = stats(err_global)
        _, med_f, mean_f, _ = stats(err_final)
        out = replace(
            final,
            source=("TensorRT-LLM perf-overview v0.14.0/v0.20 offline max-load output tokens/s "
                    "(../shared/validation/measured/trtllm_perf_overview_v014_v020.csv, "
                    f"{len(cases)} rows; L40S only in its override); least squares on log error "
                    "by benchmarks/calibrate.py"),
            fit_date=today,
            fit_error=(f"in-sample output tokens/s: global params median |err| {med_g:.1f}% "
                       f"(mean {mean_g:.1f}%); with overrides median {med_f:.1f}% "
                       f"(mean {mean_f:.1f}%); see docs/accuracy.md"),
            extra=(("note_comm_vidur", f"vidur NCCL all-reduce fit for comparison: eff "
                    f"{v_eff:.3f}, latency {v_lat * 1e6:.1f} us, median |err| {comm_err:.1f}%"),),
        )
        save_calibration(out, ROOT / "src" / "tokenworks" / "data" / "calibration.toml")
        write_docs(cases, skipped, cal, final, err_global, err_final, loao, tp_err_global,
                   tp_err_final, (v_eff, v_lat, comm_err), today)
        print("wrote src/tokenworks/data/calibration.toml and docs/accuracy.md")
    return 0


BEGIN, END = "<!-- perf-accuracy:begin (benchmarks/calibrate.py) -->", "<!-- perf-accuracy:end -->"


def write_docs(cases, skipped, cal, final, err_global, err_final, loao, tp_g, tp_f, comm,
               today) -> None:
    from perf_accuracy import render  # sibling module in benchmarks/

    body = render(cases=cases, skipped=skipped, cal=cal, final=final, err_global=err_global,
                  err_final=err_final, loao=loao, tp_g=tp_g, tp_f=tp_f, comm=comm, today=today,
                  slices=SLICES, row=_row, stats=stats)
    path = ROOT / "docs" / "accuracy.md"
    text = path.read_text() if path.exists() else "# Accuracy\n"
    block = f"{BEGIN}\n{body}\n{END}"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
