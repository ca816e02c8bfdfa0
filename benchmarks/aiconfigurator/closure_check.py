"""Closure check: rebuild AIConfigurator's static-batch TPOT from the fitted coefficients alone.

Reads only ``coefficients.toml`` and ``answers.csv`` (question 6c) in this folder, so it runs
without aiconfigurator installed. For each dense Llama-3.1 configuration it sums, per decode
step at the mean context (ISL + OSL/2):

  4 GEMMs/layer (roofline fit of the GEMM dtype) + logits GEMM (bf16)
  + decode attention (t0 + kv_bytes/(BW*kv_bw_frac) + b*c_seq)
  + 2 all-reduces/layer + 1 (TRT-LLM custom all-reduce, decode-range alpha-beta)
  + 3 element-wise ops/layer + 1 at bytes/(0.8*BW) + 3 us (AIConfigurator's own formula)

and compares with the TPOT AIConfigurator printed. The residual says how much of
AIConfigurator's kernel-table model the compact coefficients reproduce.

Usage: python benchmarks/aiconfigurator/closure_check.py [--markdown]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
LLAMA = {"llama-3.1-8b": (32, 4096, 32, 8, 128, 14336), "llama-3.1-70b": (80, 8192, 64, 8, 128, 28672)}
VOCAB = 128256
ISL, OSL = 1500, 300


def gemm_t(c, m, n, k, bw_w, bw_a):
    peak = c["peak_tflops_ref"] * 1e12
    bw = c["mem_bw_gb_per_s_ref"] * 1e9
    t_mem = (n * k * bw_w + m * k * bw_a + 2.0 * m * n) / (bw * c["roofline_mem_bw_frac"])
    t_comp = 2.0 * m * n * k / (peak * c["roofline_eff_max"])
    kk = c["roofline_smooth_k"]
    return c["roofline_t0_us"] * 1e-6 + (t_mem**kk + t_comp**kk) ** (1.0 / kk)


def step_time(co, gpu, model, tp, b, dtype):
    layers, h, nq, nkv, d, inter = LLAMA[model]
    g = co["gemm"][gpu]["bf16" if dtype == "bf16" else "fp8_static"]
    gb = co["gemm"][gpu]["bf16"]
    wb = 2.0 if dtype == "bf16" else 1.0
    shapes = [((nq + 2 * nkv) * d // tp, h), (h, nq * d // tp), (2 * inter // tp, h), (h, inter // tp)]
    t_gemm = layers * sum(gemm_t(g, b, n, k, wb, wb) for n, k in shapes)
    t_gemm += gemm_t(gb, b, VOCAB // tp, h, 2.0, 2.0)
    a = co["attention_decode"][gpu]
    if dtype != "bf16":
        a = a["fp8"]
    kvb = 1.0 if dtype != "bf16" else 2.0
    L = ISL + OSL / 2
    kv_bytes = b * L * 2 * (nkv // tp) * d * kvb
    bw = a["mem_bw_gb_per_s_ref"] * 1e9
    t_attn = layers * (a["t0_us"] * 1e-6 + kv_bytes / (bw * a["kv_bw_frac"]) + b * a["per_seq_ns"] * 1e-9)
    t_ar = 0.0
    if tp > 1:
        ar = co["allreduce"][gpu][f"tp{tp}"]
        msg = b * h * 2.0
        t_ar = (2 * layers + 1) * (ar["decode_latency_us"] * 1e-6 + msg / (ar["decode_alg_bw_gb_per_s"] * 1e9))
    fw = co["framework_system"][gpu]
    c0, sc = fw["mem_op_constant_latency_us"] * 1e-6, fw["mem_op_bw_scaling"]
    ew = 2 * layers * (c0 + b * 8 * h / (bw * sc)) + layers * (c0 + b * 6 * inter / tp / (bw * sc)) + c0
    return t_gemm + t_attn + t_ar + ew, dict(gemm=t_gemm, attn=t_attn, ar=t_ar, elementwise=ew)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    with open(os.path.join(HERE, "coefficients.toml"), "rb") as f:
        co = tomllib.load(f)
    path = os.path.join(HERE, "answers.csv")
    if not os.path.exists(path):
        print("SKIP: answers.csv not found (run cli_answers.py first)")
        sys.exit(0)
    rows = {}
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["question"] == "6c" and r["metric"] in ("tpot", "oom_warning"):
                rows.setdefault((r["gpu"], r["config"]), {})[r["metric"]] = float(r["value"])
    errs = []
    out = ["| GPU | config | AIC TPOT ms | coefficients ms | diff % | gemm / attn / AR / elementwise ms |",
           "|---|---|---|---|---|---|"]
    for (gpu, cfg), v in sorted(rows.items()):
        m = re.match(r"(llama-3\.1-\d+b) (\w+) tp(\d+) bs(\d+)", cfg)
        if not m or "tpot" not in v:
            continue
        model, dtype, tp, b = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        t, parts = step_time(co, gpu, model, tp, b, dtype)
        diff = (t * 1e3 / v["tpot"] - 1.0) * 100.0
        errs.append(abs(diff))
        out.append(f"| {gpu} | {model} {dtype} tp{tp} bs{b} | {v['tpot']:.2f} | {t * 1e3:.2f} | {diff:+.1f} | "
                   + " / ".join(f"{parts[x] * 1e3:.2f}" for x in ("gemm", "attn", "ar", "elementwise")) + " |")
    if not errs:
        print("no 6c rows in answers.csv")
        return
    errs.sort()
    summary = (f"{len(errs)} configurations: mean |diff| {sum(errs) / len(errs):.1f} %, "
               f"median {errs[len(errs) // 2]:.1f} %, max {errs[-1]:.1f} %")
    print("\n".join(out) if args.markdown else "\n".join(out[2:]))
    print(summary)


if __name__ == "__main__":
    main()
