"""Predicted vs measured step times (results: docs/accuracy-serving.md).

Sources (read by path from ../shared/validation/traces, never copied):

* Splitwise-sim ``perf_model.csv`` (Mutinifni/splitwise-sim @8f99e7dc, MIT): measured
  Llama-2-70B prompt time (ms) for ``batch_size`` prompts of ``prompt_size`` tokens, and mean
  token (decode iteration) time (ms) while generating ``token_size`` tokens, at TP2/4/8 on
  DGX-A100 and DGX-H100 (vLLM-era engine, bf16). Each configuration was run ~5 times; we take
  the median.
* vidur profiling (microsoft/vidur @7d475133, MIT): per-operator CUDA times (ms) of one
  transformer layer's linear ops (``attn_pre_proj``, ``attn_post_proj``, ``mlp_up_proj``,
  ``mlp_down_proj``) against ``num_tokens`` and ``num_tensor_parallel_workers``; and NCCL
  all-reduce times against message size and GPU count. Compared with StepCostModel's
  ``linear`` op group per layer, and with its all-reduce term.

Run: ``python benchmarks/validate_step_times.py [--calibration FILE]``; prints JSON and a
markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tokenworks.errors import ConfigError
from tokenworks.io.calibration import load_calibration
from tokenworks.model import get_model
from tokenworks.perf.calibration import Calibration
from tokenworks.perf.deployment import make_deployment
from tokenworks.perf.step import StepCostModel, causal_pairs
from tokenworks.units import MS

VAL = Path(__file__).resolve().parents[1].parent / "shared" / "validation"
SPLITWISE = VAL / "traces" / "splitwise_sim_profiles" / "perf_model.csv"
VIDUR = VAL / "traces" / "vidur_profiling"
ACC = {"a100-80gb": "a100-80g-sxm", "h100-80gb": "h100-sxm", "a100": "a100-80g-sxm",
       "h100": "h100-sxm"}
VIDUR_MODELS = {"Llama-2-70b-hf": "llama-2-70b", "Llama-2-7b-hf": "llama-2-7b",
                "Meta-Llama-3-70B": "llama-3-70b", "Meta-Llama-3-8B": "llama-3-8b"}
LINEAR_OPS = ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj")


def calibration_from(path: str | None) -> Calibration | None:
    """``None`` uses the packaged fitted calibration (StepCostModel's default)."""
    return load_calibration(path) if path else None


def splitwise_rows(cal: Calibration | None) -> pd.DataFrame:
    d = pd.read_csv(SPLITWISE)
    d = d[(d.model == "llama2-70b") & d.hardware.isin(["a100-80gb", "h100-80gb"])]
    g = d.groupby(["hardware", "tensor_parallel", "prompt_size", "batch_size", "token_size"])[
        ["prompt_time", "token_time"]].median().reset_index()
    model = get_model("llama-2-70b")
    cms: dict[tuple[str, int], StepCostModel] = {}
    rows = []
    for r in g.itertuples(index=False):
        key = (ACC[r.hardware], int(r.tensor_parallel))
        if key not in cms:
            dep = make_deployment(model, key[0], tp=key[1], weights_dtype="bf16",
                                  kv_dtype="bf16")
            cms[key] = StepCostModel(model, dep, cal)
        cm = cms[key]
        b, p, t = int(r.batch_size), int(r.prompt_size), int(r.token_size)
        # One prefill step for b prompts of p tokens (the engine batches them together).
        pre = cm.step_time_s(num_prefill_tokens=b * p, prefill_attention_pairs=b * causal_pairs(p, 0),
                             prefill_kv_tokens=b * p)
        # ASSUMPTION: the mean token time is a decode step at the mean context p + t/2.
        dec = cm.decode_step_time_s(b, p + t / 2.0)
        rows.append({"hardware": r.hardware, "tp": key[1], "batch": b, "prompt": p, "tokens": t,
                     "prompt_ms": r.prompt_time, "pred_prompt_ms": pre / MS,
                     "token_ms": r.token_time, "pred_token_ms": dec / MS})
    out = pd.DataFrame(rows)
    out["prompt_err"] = out.pred_prompt_ms / out.prompt_ms - 1.0
    out["token_err"] = out.pred_token_ms / out.token_ms - 1.0
    return out


def vidur_linear_rows(cal: Calibration | None) -> pd.DataFrame:
    rows = []
    for f in sorted(VIDUR.glob("*_mlp.csv")):
        gpu, name = f.stem.split("_", 1)
        name = name.removesuffix("_mlp")
        if name not in VIDUR_MODELS:
            continue
        model = get_model(VIDUR_MODELS[name])
        d = pd.read_csv(f)
        meas = sum(d[f"time_stats.{op}.median"] for op in LINEAR_OPS)
        for tp in sorted(d.num_tensor_parallel_workers.unique()):
            try:
                dep = make_deployment(model, ACC[gpu], tp=int(tp), weights_dtype="bf16",
                                      kv_dtype="bf16")
            except ConfigError as e:  # report unsupported tp splits, keep going
                print(f"skip {name} tp={tp}: {e}", file=sys.stderr)
                continue
            cm = StepCostModel(model, dep, cal)
            sel = d.num_tensor_parallel_workers == tp
            for n, m_ms in zip(d.num_tokens[sel], meas[sel], strict=True):
                b = cm.breakdown(num_prefill_tokens=int(n),
                                 prefill_attention_pairs=causal_pairs(int(n), 0),
                                 prefill_kv_tokens=int(n))
                pred = b.op("gemm").time_s / model.num_layers
                rows.append({"gpu": gpu, "model": name, "tp": int(tp), "num_tokens": int(n),
                             "linear_ms": float(m_ms), "pred_linear_ms": pred / MS})
    out = pd.DataFrame(rows)
    out["err"] = out.pred_linear_ms / out.linear_ms - 1.0
    return out


def splitwise_calibrated(cal: Calibration | None) -> list[dict]:
    """``tokenworks calibrate``'s step-timing fit on each Splitwise (hardware, tp) group:
    median abs error before (packaged calibration) and after, and the fitted factors.
    In-sample: the same rows are fitted and scored (an upper bound on accuracy elsewhere)."""
    from tokenworks.perf.fit import StepTimings, fit_step_times

    d = pd.read_csv(SPLITWISE)
    d = d[(d.model == "llama2-70b") & d.hardware.isin(["a100-80gb", "h100-80gb"])]
    g = d.groupby(["hardware", "tensor_parallel", "prompt_size", "batch_size", "token_size"])[
        ["prompt_time", "token_time"]].median().reset_index()
    model = get_model("llama-2-70b")
    out = []
    for (hw, tp), x in g.groupby(["hardware", "tensor_parallel"]):
        b = x.batch_size.to_numpy(float)
        p = x.prompt_size.to_numpy(float)
        t = x.token_size.to_numpy(float)
        z = np.zeros_like(b)
        steps = StepTimings(
            num_prefill_tokens=np.r_[b * p, z], prefill_attention_pairs=np.r_[b * causal_pairs(p, 0), z],
            prefill_kv_tokens=np.r_[b * p, z], num_decode_seqs=np.r_[z, b],
            decode_kv_tokens=np.r_[z, b * (p + t / 2.0)],
            time_s=np.r_[x.prompt_time.to_numpy(), x.token_time.to_numpy()] * MS)
        dep = make_deployment(model, ACC[hw], tp=int(tp), weights_dtype="bf16", kv_dtype="bf16")
        fit = fit_step_times(model, dep, steps, base=cal, source=f"Splitwise {hw} tp{tp}")
        out.append({"hardware": hw, "tp": int(tp), "n": int(steps.time_s.size),
                    "before": fit.error_before.step_frac, "after": fit.error_after.step_frac,
                    **{k: v for k, v in fit.fitted}, "evaluations": fit.num_evaluations,
                    "wall_s": fit.wall_s})
    return out


def summarize(errs: pd.Series) -> dict[str, float]:
    a = np.abs(errs.to_numpy())
    return {"n": int(a.size), "median_abs_err": float(np.median(a)),
            "p90_abs_err": float(np.quantile(a, 0.9)), "mean_signed_err": float(errs.mean())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibration", default=None)
    ap.add_argument("--csv-dir", default=None, help="write the per-row tables here")
    args = ap.parse_args(argv)
    if not VAL.exists():
        print(f"{VAL} not found; nothing to validate", file=sys.stderr)
        return 0
    cal = calibration_from(args.calibration)
    sw = splitwise_rows(cal)
    vl = vidur_linear_rows(cal)
    res: dict[str, dict] = {}
    for (hw, tp), g in sw.groupby(["hardware", "tp"]):
        res[f"splitwise {hw} tp{tp} prompt"] = summarize(g.prompt_err)
        res[f"splitwise {hw} tp{tp} token"] = summarize(g.token_err)
    for (gpu, name), g in vl.groupby(["gpu", "model"]):
        res[f"vidur linear {gpu} {name}"] = summarize(g.err)
        big = g[g.num_tokens >= 512]
        if len(big):
            res[f"vidur linear {gpu} {name} (>=512 tok)"] = summarize(big.err)
    cal_rows = splitwise_calibrated(cal)
    print(json.dumps(res, indent=1))
    print("\n| Splitwise group | steps | error before | after | compute | memory | overhead |")
    print("|---|---|---|---|---|---|---|")
    for r in cal_rows:
        print(f"| {r['hardware']} tp{r['tp']} | {r['n']} | {r['before']:.0%} | {r['after']:.1%} | "
              f"{r['gemm_compute_frac']:.2f} | {r['gemm_memory_frac']:.2f} | "
              f"{r['step_overhead_s'] / MS:.1f} ms |")
    print("\n| set | n | median abs err | p90 abs err | mean signed err |\n|---|---|---|---|---|")
    for k, v in res.items():
        print(f"| {k} | {v['n']} | {v['median_abs_err']:.0%} | {v['p90_abs_err']:.0%} | "
              f"{v['mean_signed_err']:+.0%} |")
    if args.csv_dir:
        Path(args.csv_dir).mkdir(parents=True, exist_ok=True)
        sw.to_csv(Path(args.csv_dir) / "splitwise_step_times.csv", index=False)
        vl.to_csv(Path(args.csv_dir) / "vidur_linear.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
