"""Fit physical GPU kernel coefficients to vidur's measured operator and collective timings.

vidur (microsoft/vidur, MIT) profiled every per-layer operator of several Llama models on
A100 and H100 nodes with PyTorch + sarathi (cuBLAS GEMMs, vLLM-style fused RMSNorm / SiLU-and-mul
/ rotary kernels, fp16), and NCCL collectives through ``torch.distributed``. This script reads
the copies under ``../shared/validation/traces/vidur_profiling/`` (relative to the repository
root; override with ``VIDUR_PROFILING_DIR``), never copies them, and writes
``coefficients.toml`` next to itself in the layout of
``benchmarks/aiconfigurator/coefficients.toml``:

GEMM (``<gpu>_<model>_mlp.csv``: attn_pre_proj = fused QKV, attn_post_proj = O, mlp_up_proj =
fused gate+up, mlp_down_proj), per GPU, pooled over models x TP degree x num_tokens:

    t = n*t0 + ((F/(P*eff_max))^k + (B/(BW*bw_frac))^k)^(1/k),   n = 1 kernel per op,
    F = 2*M*N*K,  B = 2*(N*K + M*K + M*N)   (fp16 weights, input and output activations)

with (N, K) per op from the model config and TP degree (checked against the columns of the
CSV), M = num_tokens. Also the hyperbolic form eff(M) = eff_max*M/(M + M_half) as in
``benchmarks/aiconfigurator/fit_kernels.py``.

Elementwise (input/post-attention RMSNorm, SiLU-and-mul, residual add, rotary embedding):
t = c + bytes/(BW*bw_frac) per kernel call, pooled and per op; per-op median times.

Collectives (``net_<topology>_{all_reduce,send_recv}.csv``; ``size`` is bytes of fp16 data):
alpha-beta t = latency + bytes/alg_bw, bus_bw = alg_bw*2(n-1)/n for all-reduce, fitted on all
sizes and on decode-sized messages (<= 256 tokens x 8192 x 2 B = 4 MiB) separately, per GPU
count and per (GPUs, GPUs per node) split; send/recv: latency + bytes/bw.

All fits: scipy least squares on log(t_model) - log(t_measured), parameters in log space,
fixed start points and bounds (deterministic). Errors are absolute percentage errors of the
fitted model against every point used.

Usage::

    python benchmarks/vidur_kernels/fit_vidur.py
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import math
import os
import sys
import tomllib

import numpy as np
from scipy.optimize import least_squares

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA_REL = "../shared/validation/traces/vidur_profiling"
DATA = os.environ.get("VIDUR_PROFILING_DIR") or os.path.normpath(os.path.join(ROOT, DATA_REL))
AIC_TOML = os.path.join(ROOT, "benchmarks", "aiconfigurator", "coefficients.toml")
VIDUR = "microsoft/vidur @7d475133 (MIT)"
DUPLICATES: list[tuple[str, str]] = []  # (skipped file, identical file that was fitted)

# tokenworks label -> (file prefix, dense fp16/bf16 tensor FLOP/s, HBM bytes/s, datasheet)
GPUS = {
    "a100-80g-sxm": ("a100", 312e12, 2.039e12,
                     "NVIDIA A100 80GB SXM datasheet: 312 TFLOPS dense FP16/BF16 tensor, 2,039 GB/s HBM2e"),
    "h100-sxm": ("h100", 989e12, 3.35e12,
                 "NVIDIA H100 SXM datasheet: 989 TFLOPS dense FP16/BF16 tensor, 3.35 TB/s HBM3 "
                 "(same reference peaks as [gpu.h100-sxm] in benchmarks/aiconfigurator/coefficients.toml)"),
}
# vidur model name in the file name -> (hidden, q heads, kv heads, head dim, intermediate, vocab)
MODELS = {
    "Llama-2-7b-hf": (4096, 32, 32, 128, 11008, 32000),
    "Llama-2-70b-hf": (8192, 64, 8, 128, 28672, 32000),
    "Meta-Llama-3-8B": (4096, 32, 8, 128, 14336, 128256),
    "Meta-Llama-3-70B": (8192, 64, 8, 128, 28672, 128256),
}
GEMM_OPS = ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj")
GEMM_OP_LABEL = {"attn_pre_proj": "qkv", "attn_post_proj": "o_proj", "mlp_up_proj": "gate_up",
                 "mlp_down_proj": "down"}
KERNELS_PER_GEMM_OP = 1  # one torch.nn.functional.linear (cuBLAS) call per vidur linear op, no bias
EW_OPS = ("input_layernorm", "post_attention_layernorm", "mlp_act", "add", "attn_rope")
B16 = 2.0  # bytes per fp16/bf16 element
DECODE_TOKENS = (1, 8, 32, 64, 128, 256)
DECODE_HIDDEN = 8192
DECODE_MAX_BYTES = 256 * DECODE_HIDDEN * 2  # 4 MiB
# network file topology -> label used in table names ("<gpu>" for the DGX SXM nodes)
TOPOLOGIES = {
    "a100_dgx": "a100-80g-sxm",
    "h100_dgx": "h100-sxm",
    "a100_pairwise_nvlink": "a100-pairwise-nvlink",
    "h100_pairwise_nvlink": "h100-pairwise-nvlink",
}


# --------------------------------------------------------------------------- helpers


def data_path(name):
    return os.path.join(DATA, name)


def vidur_origin(fname):
    """Path inside the vidur repository that the renamed copy came from (shared README)."""
    if fname.startswith("net_"):
        stem = fname[len("net_"):-len(".csv")]
        for op in ("all_reduce", "send_recv"):
            if stem.endswith("_" + op):
                return f"data/profiling/network/{stem[: -len(op) - 1]}/{op}.csv"
    gpu, rest = fname.split("_", 1)
    model = rest[: -len("_mlp.csv")]
    return f"data/profiling/compute/{gpu}/meta-llama/{model}/mlp.csv"


def source(files):
    origins = ", ".join(vidur_origin(f) for f in files)
    copies = ", ".join(files)
    return f"{VIDUR}: {origins} (read from {DATA_REL}/{{{copies}}})"


def read_csv(name):
    with open(data_path(name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def fit_log(model, x0, lo, hi, *args):
    """Least squares on log(t_model) - log(t_meas); params in log space. ``args[-1]`` is t."""
    t = args[-1]

    def res(p):
        return np.log(model(np.exp(p), *args[:-1])) - np.log(t)

    r = least_squares(res, np.log(x0), bounds=(np.log(lo), np.log(hi)), method="trf")
    p = np.exp(r.x)
    return p, errors(model(p, *args[:-1]), t)


def errors(pred, t):
    ape = np.abs(pred / t - 1.0) * 100.0
    return dict(mape_pct=float(np.mean(ape)), p90_ape_pct=float(np.percentile(ape, 90)),
                max_ape_pct=float(np.max(ape)), n_points=len(t))


def at_bounds(p, lo, hi, names):
    hit = [n for v, a, b, n in zip(p, lo, hi, names, strict=True)
           if abs(math.log(v / a)) < 1e-3 or abs(math.log(v / b)) < 1e-3]
    return ", ".join(hit) if hit else "none"


# --------------------------------------------------------------------------- compute (mlp.csv)


def mlp_files(prefix):
    return sorted(f for f in os.listdir(DATA) if f.startswith(prefix + "_") and f.endswith("_mlp.csv"))


def model_of(fname):
    return fname.split("_", 1)[1][: -len("_mlp.csv")]


def check_config(fname, row):
    h, nq, nkv, _d, inter, _v = MODELS[model_of(fname)]
    got = (int(row["n_embd"]), int(row["n_head"]), int(row["n_kv_head"]), int(row["n_expanded_embd"]))
    if got != (h, nq, nkv, inter) or row["use_gated_mlp"] != "True":
        sys.exit(f"{fname}: model columns {got} disagree with the configuration {h, nq, nkv, inter}")


def gemm_nk(model, tp):
    h, nq, nkv, d, inter, _v = MODELS[model]
    return {
        "attn_pre_proj": ((nq + 2 * nkv) * d // tp, h),
        "attn_post_proj": (h, nq * d // tp),
        "mlp_up_proj": (2 * inter // tp, h),
        "mlp_down_proj": (h, inter // tp),
    }


def ew_bytes(op, model, tp, m):
    """Bytes moved by one elementwise kernel call (fp16), per GPU."""
    h, nq, nkv, d, inter, _v = MODELS[model]
    if op in ("input_layernorm", "post_attention_layernorm"):
        return B16 * (2.0 * m * h + h)  # read x, write y, read weight
    if op == "mlp_act":
        return B16 * 3.0 * m * inter / tp  # SiLU-and-mul: read gate+up (2I/tp), write I/tp
    if op == "add":
        return B16 * 3.0 * m * h  # residual + x -> y
    if op == "attn_rope":  # in-place on q and k, plus cos/sin cache rows and int64 positions
        return B16 * (2.0 * m * ((nq + nkv) // tp) * d + m * d) + 8.0 * m
    raise KeyError(op)


def load_compute(prefix):
    """Rows of (file, model, tp, M, op, time_s) from every mlp.csv of one GPU."""
    rows = []
    for fname in mlp_files(prefix):
        model = model_of(fname)
        for r in read_csv(fname):
            check_config(fname, r)
            tp, m = int(r["num_tensor_parallel_workers"]), int(r["num_tokens"])
            for op in GEMM_OPS + EW_OPS:
                v = r.get(f"time_stats.{op}.median", "")
                if v not in ("", "nan") and float(v) > 0:
                    rows.append((fname, model, tp, m, op, float(v) * 1e-3))
    return rows


def roof(p, X, peak, bw):
    t0, bw_frac, eff_max, k = p
    t_mem = X["bytes"] / (bw * bw_frac)
    t_comp = X["flops"] / (peak * eff_max)
    return KERNELS_PER_GEMM_OP * t0 + (t_mem**k + t_comp**k) ** (1.0 / k)


def hyper(p, flops, m, peak):
    eff_max, m_half = p
    return flops / (peak * eff_max) * (1.0 + m_half / m)


ROOF_X0, ROOF_LO, ROOF_HI = [5e-6, 0.8, 0.7, 2.0], [1e-7, 0.05, 0.05, 1.0], [1e-4, 1.5, 1.5, 20.0]


def gemm_arrays(rows):
    g = [r for r in rows if r[4] in GEMM_OPS]
    m = np.array([r[3] for r in g], float)
    nk = [gemm_nk(r[1], r[2])[r[4]] for r in g]
    n = np.array([a for a, _ in nk], float)
    k = np.array([b for _, b in nk], float)
    t = np.array([r[5] for r in g])
    X = dict(flops=2.0 * m * n * k, bytes=B16 * (n * k + m * k + m * n))
    return g, m, n, k, t, X


def fit_gemm(label, rows, peak, bw, files):
    g, m, n, k, t, X = gemm_arrays(rows)
    p, err = fit_log(roof, ROOF_X0, ROOF_LO, ROOF_HI, X, peak, bw, t)
    t0, bw_frac, eff_max, kk = (float(v) for v in p)
    (eff_h, m_half), err_h = fit_log(hyper, [0.7, 64.0], [0.01, 0.01], [1.5, 1e5], X["flops"], m, peak, t)
    pred = roof(p, X, peak, bw)
    ops = np.array([r[4] for r in g])
    models = np.array([r[1] for r in g])
    wbytes = B16 * n * k
    big = (m <= 16) & (wbytes >= 32 * 2**20)
    bwfrac_small = wbytes[big] / (t[big] * bw)
    eff = X["flops"] / (t * peak)
    at4k = eff[m == 4096]
    shapes = sorted({(int(a), int(b)) for a, b in zip(n, k, strict=True)})
    rec = dict(
        eff_max=float(eff_h), m_half_tokens=float(m_half),
        hyperbolic_mape_pct=err_h["mape_pct"], hyperbolic_p90_ape_pct=err_h["p90_ape_pct"],
        hyperbolic_implied_mem_bw_frac=float(B16 * peak * eff_h / (2.0 * m_half) / bw),
        roofline_eff_max=eff_max, roofline_mem_bw_frac=bw_frac, roofline_t0_us=t0 * 1e6,
        roofline_smooth_k=kk, roofline_mape_pct=err["mape_pct"], roofline_p90_ape_pct=err["p90_ape_pct"],
        roofline_max_ape_pct=err["max_ape_pct"],
        roofline_params_at_bounds=at_bounds(p, ROOF_LO, ROOF_HI, ("t0", "bw_frac", "eff_max", "k")),
        kernels_per_op=KERNELS_PER_GEMM_OP,
    )
    for op in GEMM_OPS:
        sel = ops == op
        rec[f"roofline_mape_pct_{GEMM_OP_LABEL[op]}"] = errors(pred[sel], t[sel])["mape_pct"]
    for mdl in sorted(set(models.tolist())):
        sel = models == mdl
        rec[f"roofline_mape_pct_{mdl.lower().replace('-', '_').replace('.', '_')}"] = errors(
            pred[sel], t[sel])["mape_pct"]
    small = m <= 256
    rec["roofline_mape_pct_m_le_256"] = errors(pred[small], t[small])["mape_pct"]
    rec["roofline_mape_pct_m_gt_256"] = errors(pred[~small], t[~small])["mape_pct"]
    rec.update(
        mem_bw_frac_small_m_median=float(np.median(bwfrac_small)) if len(bwfrac_small) else float("nan"),
        mem_bw_frac_small_m_max=float(np.max(bwfrac_small)) if len(bwfrac_small) else float("nan"),
        eff_at_m4096_median=float(np.median(at4k)), eff_at_m4096_max=float(np.max(at4k)),
        tflops_at_m4096_median=float(np.median(at4k)) * peak / 1e12,
        eff_measured_max=float(np.max(eff)),
        peak_tflops_ref=peak / 1e12, mem_bw_gb_per_s_ref=bw / 1e9,
        n_points=err["n_points"], n_shapes=len(shapes),
        m_range=f"{int(m.min())}..{int(m.max())}",
        tp_degrees=" ".join(str(x) for x in sorted({r[2] for r in g})),
        models=", ".join(sorted(set(models.tolist()))),
        dtype="fp16 (vidur casts the model to torch.float16; same tensor-core peak and bytes as bf16)",
        statistic="median of 20 repeats of the summed CUDA-kernel time per op (torch.profiler trace)",
        engine="PyTorch + sarathi ColumnParallel/RowParallelLinear (cuBLAS), vidur 2023-2024",
        source=source(files),
    )
    return rec, (p, X, t, g)


def ew_model(p, b, bw):
    c, frac = p
    return c + b / (bw * frac)


def fit_elementwise(rows, bw, files):
    e = [r for r in rows if r[4] in EW_OPS]
    b = np.array([ew_bytes(r[4], r[1], r[2], r[3]) for r in e])
    t = np.array([r[5] for r in e])
    ops = np.array([r[4] for r in e])
    m = np.array([r[3] for r in e])
    x0, lo, hi = [3e-6, 0.8], [1e-8, 0.01], [1e-3, 1.5]
    (c, frac), err = fit_log(ew_model, x0, lo, hi, b, bw, t)
    big = b >= 64 * 2**20
    rec = dict(
        per_call_us=float(c) * 1e6, mem_bw_frac=float(frac),
        fit_mape_pct=err["mape_pct"], fit_p90_ape_pct=err["p90_ape_pct"], fit_max_ape_pct=err["max_ape_pct"],
        n_points=err["n_points"],
        median_per_call_us=float(np.median(t)) * 1e6,
        median_per_call_us_m_le_256=float(np.median(t[m <= 256])) * 1e6,
        measured_bw_frac_bytes_ge_64mib_median=float(np.median(b[big] / (t[big] * bw))) if big.any() else float("nan"),
        elementwise_op_time=f"bytes / (mem_bw * {frac:.3g}) + {c * 1e6:.3g} us per kernel call "
                            "(RMSNorm, SiLU-and-mul, residual add, rotary), pooled",
    )
    for op in EW_OPS:
        sel = ops == op
        (c_o, f_o), err_o = fit_log(ew_model, x0, lo, hi, b[sel], bw, t[sel])
        rec[f"{op}_per_call_us"] = float(c_o) * 1e6
        rec[f"{op}_mem_bw_frac"] = float(f_o)
        rec[f"{op}_fit_mape_pct"] = err_o["mape_pct"]
        rec[f"{op}_median_us"] = float(np.median(t[sel])) * 1e6
        rec[f"{op}_median_us_m_le_256"] = float(np.median(t[sel & (m <= 256)])) * 1e6
        rec[f"{op}_min_us"] = float(np.min(t[sel])) * 1e6
    rec["bytes"] = ("RMSNorm 2(2*M*h + h); SiLU-and-mul 2*3*M*I/tp; add 2*3*M*h; rotary "
                    "2(2*M*(n_q+n_kv)/tp*d + M*d) + 8M")
    rec["m_range"] = f"{int(m.min())}..{int(m.max())}"
    rec["source"] = source(files)
    return rec


# --------------------------------------------------------------------------- collectives


def alpha_beta(nbytes, t):
    def model(p, b):
        return p[0] + b / p[1]

    (alpha, bw), err = fit_log(model, [5e-6, 1e11], [1e-8, 1e8], [1e-2, 1e13], nbytes, t)
    return float(alpha), float(bw), err


def measured_near(nbytes, t, b):
    """Median measured time over sizes within a factor 2 of b (vidur's sizes are noisy
    and unevenly spaced; a local median is steadier than interpolating two neighbours)."""
    sel = (nbytes >= b / 2) & (nbytes <= b * 2)
    if not sel.any():
        return float("nan"), 0
    return float(np.median(t[sel])), int(sel.sum())


def comm_record(nbytes, t, n, kind, files, note):
    factor = 2.0 * (n - 1) / n if kind == "all_reduce" else 1.0
    alpha, bw, err = alpha_beta(nbytes, t)
    small = nbytes <= DECODE_MAX_BYTES
    a2, bw2, err2 = alpha_beta(nbytes[small], t[small])
    rec = dict(latency_us=alpha * 1e6)
    if kind == "all_reduce":
        rec.update(alg_bw_gb_per_s=bw / 1e9, bus_bw_gb_per_s=bw * factor / 1e9)
    else:
        rec.update(bw_gb_per_s=bw / 1e9)
    rec.update(fit_mape_pct=err["mape_pct"], fit_p90_ape_pct=err["p90_ape_pct"], fit_max_ape_pct=err["max_ape_pct"],
               decode_latency_us=a2 * 1e6)
    if kind == "all_reduce":
        rec.update(decode_alg_bw_gb_per_s=bw2 / 1e9, decode_bus_bw_gb_per_s=bw2 * factor / 1e9)
    else:
        rec.update(decode_bw_gb_per_s=bw2 / 1e9)
    rec.update(decode_fit_mape_pct=err2["mape_pct"], decode_fit_p90_ape_pct=err2["p90_ape_pct"],
               n_points=err["n_points"], n_points_decode=err2["n_points"],
               min_measured_us=float(np.min(t)) * 1e6,
               median_measured_us_le_64kib=float(np.median(t[nbytes <= 65536])) * 1e6)
    key = "peak_measured_bus_bw_gb_per_s" if kind == "all_reduce" else "peak_measured_bw_gb_per_s"
    rec[key] = float(np.max(nbytes / t)) * factor / 1e9
    rec["bytes_range"] = f"{int(nbytes.min())}..{int(nbytes.max())}"
    for tok in DECODE_TOKENS:
        b = tok * DECODE_HIDDEN * 2
        rec[f"t_us_{tok}tok_h{DECODE_HIDDEN}"] = measured_near(nbytes, t, b)[0] * 1e6
    for tok in DECODE_TOKENS:
        b = tok * DECODE_HIDDEN * 2
        rec[f"fit_t_us_{tok}tok_h{DECODE_HIDDEN}"] = (a2 + b / bw2) * 1e6
    # Lower envelope: kernel time cannot fall with message size, so the running minimum from the
    # largest size down bounds each point from below; small messages in vidur's eager runs are
    # bimodal (a fast mode and a mode ~20-45 us slower, see README), the envelope follows the fast one.
    env = np.minimum.accumulate(t[::-1])[::-1]
    fa, _, ferr = alpha_beta(nbytes[small], env[small])
    _, fbw_all, ferr_all = alpha_beta(nbytes, env)
    rec["floor_latency_us"] = fa * 1e6
    if kind == "all_reduce":
        rec["floor_bus_bw_gb_per_s"] = fbw_all * factor / 1e9
    else:
        rec["floor_bw_gb_per_s"] = fbw_all / 1e9
    rec["floor_decode_fit_mape_pct"] = ferr["mape_pct"]
    rec["floor_fit_mape_pct"] = ferr_all["mape_pct"]
    le = nbytes <= 256 * 1024
    rec["slow_mode_frac_le_256kib"] = float(np.mean(t[le] > 1.5 * env[le]))
    for tok in DECODE_TOKENS:
        b = tok * DECODE_HIDDEN * 2
        i = min(int(np.searchsorted(nbytes, b)), len(nbytes) - 1)
        rec[f"floor_t_us_{tok}tok_h{DECODE_HIDDEN}"] = float(env[i]) * 1e6
    rec["t_us_note"] = ("t_us_*: median measured time over message sizes within a factor 2 of "
                        "tokens x 8192 x 2 B; fit_t_us_*: decode-range alpha-beta fit; floor_*: the "
                        "same on the monotone lower envelope (running minimum from the largest size)")
    rec["implementation"] = f"nccl:{kind} via torch.distributed, eager (no CUDA graph), fp16"
    rec["statistic"] = "median over 3 repeats of the median NCCL kernel time of 11 back-to-back calls, rank 0"
    rec["topology"] = note
    rec["source"] = source(files)
    return rec


def fit_network(out):
    seen = {}
    for topo, lab in TOPOLOGIES.items():
        for kind in ("all_reduce", "send_recv"):
            fname = f"net_{topo}_{kind}.csv"
            if not os.path.exists(data_path(fname)):
                continue
            with open(data_path(fname), "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            if digest in seen:  # vidur ships byte-identical files for some topologies
                DUPLICATES.append((fname, seen[digest]))
                continue
            seen[digest] = fname
            groups = {}
            for r in read_csv(fname):
                key = (int(r["num_workers"]), int(r["devices_per_node"]), int(r["max_devices_per_node"]))
                groups.setdefault(key, []).append((float(r["size"]), float(r[f"time_stats.{kind}.median"]) * 1e-3))
            for (n, dpn, maxd), pts in sorted(groups.items()):
                pts.sort()
                nbytes = np.array([p[0] for p in pts])
                t = np.array([p[1] for p in pts])
                nodes = n // dpn
                note = (f"{n} GPUs = {nodes} node(s) x {dpn} GPU(s) per node, node has {maxd} GPUs "
                        f"(vidur network profile '{topo}')")
                rec = comm_record(nbytes, t, n, kind, [fname], note)
                if kind == "all_reduce":
                    name = (f"nccl.all_reduce.{lab}.n{n}" if nodes == 1
                            else f"nccl_multinode.all_reduce.{lab}.n{n}.per_node{dpn}")
                else:
                    name = f"p2p.{lab}" if nodes == 1 else f"p2p.{lab}.internode"
                out[name] = rec


# --------------------------------------------------------------------------- AIC comparison


def compare_aic(res, gemm_state):
    if not os.path.exists(AIC_TOML):
        return {}
    with open(AIC_TOML, "rb") as f:
        aic = tomllib.load(f)
    out = {}
    g = aic.get("gemm", {}).get("h100-sxm", {}).get("bf16")
    if g and "h100-sxm" in gemm_state:
        p_v, X, t, rows = gemm_state["h100-sxm"]
        _, peak, bw, _ = GPUS["h100-sxm"]
        p_a = np.array([g["roofline_t0_us"] * 1e-6, g["roofline_mem_bw_frac"], g["roofline_eff_max"],
                        g["roofline_smooth_k"]])
        pred_a = roof(p_a, X, peak, bw)
        pred_v = roof(p_v, X, peak, bw)
        m = np.array([r[3] for r in rows])
        ratio = t / pred_a
        # refit vidur's points with k fixed at AIC's value, so the three other parameters compare
        k_aic = float(g["roofline_smooth_k"])

        def roof_k(q, X_, peak_, bw_):
            return roof(np.array([q[0], q[1], q[2], k_aic]), X_, peak_, bw_)

        q, err_q = fit_log(roof_k, ROOF_X0[:3], ROOF_LO[:3], ROOF_HI[:3], X, peak, bw, t)
        rec = dict(
            aic_roofline_eff_max=g["roofline_eff_max"], aic_roofline_mem_bw_frac=g["roofline_mem_bw_frac"],
            aic_roofline_t0_us=g["roofline_t0_us"], aic_roofline_smooth_k=g["roofline_smooth_k"],
            vidur_roofline_eff_max=float(p_v[2]), vidur_roofline_mem_bw_frac=float(p_v[1]),
            vidur_roofline_t0_us=float(p_v[0]) * 1e6, vidur_roofline_smooth_k=float(p_v[3]),
            vidur_fit_k_fixed_at_aic_eff_max=float(q[2]), vidur_fit_k_fixed_at_aic_mem_bw_frac=float(q[1]),
            vidur_fit_k_fixed_at_aic_t0_us=float(q[0]) * 1e6, vidur_fit_k_fixed_at_aic_mape_pct=err_q["mape_pct"],
            aic_model_on_vidur_points_mape_pct=errors(pred_a, t)["mape_pct"],
            vidur_model_on_vidur_points_mape_pct=errors(pred_v, t)["mape_pct"],
            vidur_measured_over_aic_model_median=float(np.median(ratio)),
            vidur_measured_over_aic_model_median_m_le_16=float(np.median(ratio[m <= 16])),
            vidur_measured_over_aic_model_median_m_ge_1024=float(np.median(ratio[m >= 1024])),
            n_points=len(t),
            source=f"AIC: {os.path.relpath(AIC_TOML, ROOT)} [gemm.h100-sxm.bf16]; vidur: [gemm.h100-sxm.bf16] here",
        )
        # the two models at a few named shapes (Llama-2-70B, TP 1), microseconds
        for op, (nn, kk) in gemm_nk("Llama-2-70b-hf", 1).items():
            for mm in (1, 64, 4096):
                xx = dict(flops=np.array([2.0 * mm * nn * kk]), bytes=np.array([B16 * (nn * kk + mm * kk + mm * nn)]))
                sel = [i for i, r in enumerate(rows) if r[1] == "Llama-2-70b-hf" and r[2] == 1 and r[4] == op
                       and r[3] == mm]
                tag = f"{GEMM_OP_LABEL[op]}_{nn}x{kk}_m{mm}"
                rec[f"us_{tag}_vidur_measured"] = float(np.median(t[sel])) * 1e6 if sel else float("nan")
                rec[f"us_{tag}_aic_model"] = float(roof(p_a, xx, peak, bw)[0]) * 1e6
        out["compare_aic.gemm.h100-sxm.bf16"] = rec
    for n in (2, 4, 8):
        a = aic.get("nccl", {}).get("all_reduce", {}).get("h100-sxm", {}).get(f"n{n}")
        v = res.get(f"nccl.all_reduce.h100-sxm.n{n}")
        if not (a and v):
            continue
        rec = {}
        for key in ("latency_us", "bus_bw_gb_per_s", "decode_latency_us", "fit_mape_pct", "min_measured_us",
                    "peak_measured_bus_bw_gb_per_s"):
            rec[f"aic_{key}"] = a[key]
            rec[f"vidur_{key}"] = v[key]
        for tok in DECODE_TOKENS:
            key = f"t_us_{tok}tok_h{DECODE_HIDDEN}"
            rec[f"aic_{key}"] = a[key]
            rec[f"vidur_{key}"] = v[key]
            rec[f"vidur_over_aic_{tok}tok"] = v[key] / a[key]
            rec[f"vidur_floor_{key}"] = v[f"floor_{key}"]
        rec["vidur_floor_latency_us"] = v["floor_latency_us"]
        rec["vidur_floor_bus_bw_gb_per_s"] = v["floor_bus_bw_gb_per_s"]
        rec["vidur_slow_mode_frac_le_256kib"] = v["slow_mode_frac_le_256kib"]
        rec["source"] = (f"AIC: {os.path.relpath(AIC_TOML, ROOT)} [nccl.all_reduce.h100-sxm.n{n}] "
                         f"({a['engine']}); vidur: [nccl.all_reduce.h100-sxm.n{n}] here")
        out[f"compare_aic.nccl.all_reduce.h100-sxm.n{n}"] = rec
    return out


# --------------------------------------------------------------------------- output


def fmt(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        txt = f"{v:.4g}" if abs(v) < 1e5 else f"{v:.6g}"
        return txt if any(c in txt for c in ".en") else txt + ".0"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def table(lines, name, rec):
    lines.append("")
    lines.append(f"[{name}]")
    for k, v in rec.items():
        lines.append(f"{k} = {fmt(v)}")


def write_toml(tables, path):
    L = [
        "# Physical kernel coefficients fitted to vidur's measured operator and collective timings.",
        "# Generated by benchmarks/vidur_kernels/fit_vidur.py from microsoft/vidur @7d475133",
        "# data/profiling/{compute,network}/ (MIT), read at run time from",
        f"# {DATA_REL}/ (copies renamed <gpu>_<model>_mlp.csv, net_<topology>_<op>.csv);",
        "# only derived numbers are stored here, each table's `source` names the vidur file(s).",
        "# Same model forms and key names as benchmarks/aiconfigurator/coefficients.toml (fit_kernels.py).",
        "# Fractions (eff_*, *_bw_frac) are relative to the datasheet peaks in [gpu.*]. Errors are on",
        "# measured kernel time (APE, %) of the fitted model over every point used.",
        "# Measured by vidur with PyTorch + sarathi (cuBLAS, fp16) and NCCL via torch.distributed (eager).",
        "# Layout: [gemm.<gpu>.bf16] (vidur ran fp16: same peak and bytes), [elementwise.<gpu>],",
        "# [nccl.all_reduce.<gpu>.n<n>] (one node), [nccl_multinode.all_reduce.<gpu>.n<n>.per_node<d>],",
        "# [p2p.<gpu>] (send/recv within a node), [p2p.<gpu>.internode], [compare_aic.*] (H100 vs AIC).",
        "# <gpu> is a100-80g-sxm / h100-sxm (vidur's a100_dgx / h100_dgx nodes and compute profiles), or",
        "# a100-pairwise-nvlink / h100-pairwise-nvlink (vidur's 4-GPU pairwise-NVLink node profiles).",
        "",
        "[meta]",
        f'vidur = "{VIDUR}"',
        'license = "MIT (microsoft/vidur); data read at run time, not redistributed"',
        'generated_by = "benchmarks/vidur_kernels/fit_vidur.py"',
        f'generated_on = "{GENERATED_ON}"',
        f'data_dir = "{DATA_REL}"',
        'fit = "scipy.optimize.least_squares (trf) on log(t_model) - log(t_measured), params in log space"',
        'gemm_shapes = "vidur Llama-2-7B/70B (A100, H100) and Llama-3-8B/70B (A100 only) qkv (fused), o_proj, '
        'gate_up (fused), down at TP 1/2/4/8, exact (N, K) from the model config"',
    ]
    if DUPLICATES:
        dup = "; ".join(f"{a} = {b}" for a, b in DUPLICATES)
        L.append(f'identical_files_skipped = "{dup}"')
    for name, rec in tables.items():
        table(L, name, rec)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(L) + "\n")


GENERATED_ON = os.environ.get("FIT_DATE") or str(datetime.date.today())


def summary(tables):
    print("\nGEMM roofline (t = t0 + ((F/(P*eff))^k + (B/(BW*f))^k)^(1/k))")
    for gpu in GPUS:
        r = tables.get(f"gemm.{gpu}.bf16")
        if r:
            print(f"  {gpu}: eff_max {r['roofline_eff_max']:.3f}  bw_frac {r['roofline_mem_bw_frac']:.3f}  "
                  f"t0 {r['roofline_t0_us']:.2f} us  k {r['roofline_smooth_k']:.2f}  MAPE "
                  f"{r['roofline_mape_pct']:.1f} %  p90 {r['roofline_p90_ape_pct']:.1f} %  n {r['n_points']}  "
                  f"| hyperbolic eff_max {r['eff_max']:.3f} M_half {r['m_half_tokens']:.0f} "
                  f"MAPE {r['hyperbolic_mape_pct']:.1f} %")
    print("\nElementwise (t = c + bytes/(BW*f))")
    for gpu in GPUS:
        r = tables.get(f"elementwise.{gpu}")
        if r:
            print(f"  {gpu}: c {r['per_call_us']:.2f} us  f {r['mem_bw_frac']:.3f}  MAPE {r['fit_mape_pct']:.1f} %  "
                  f"median {r['median_per_call_us']:.1f} us (M<=256: {r['median_per_call_us_m_le_256']:.1f})")
    print("\nCollectives (latency us [decode fit] / bus or p2p GB/s [all sizes] / MAPE all, decode)")
    for name, r in tables.items():
        if name.startswith(("nccl", "p2p")):
            bwv = r.get("bus_bw_gb_per_s", r.get("bw_gb_per_s"))
            toks = " ".join(f"{r[f't_us_{x}tok_h{DECODE_HIDDEN}']:.0f}" for x in DECODE_TOKENS)
            fl = " ".join(f"{r[f'floor_t_us_{x}tok_h{DECODE_HIDDEN}']:.0f}" for x in DECODE_TOKENS)
            fbw = r.get("floor_bus_bw_gb_per_s", r.get("floor_bw_gb_per_s"))
            print(f"  {name}: {r['latency_us']:.1f} [{r['decode_latency_us']:.1f}] us / {bwv:.0f} GB/s / "
                  f"{r['fit_mape_pct']:.1f}, {r['decode_fit_mape_pct']:.1f} %  | t(1..256 tok) {toks}\n"
                  f"      floor: {r['floor_latency_us']:.1f} us / {fbw:.0f} GB/s / decode MAPE "
                  f"{r['floor_decode_fit_mape_pct']:.1f} % | t {fl} | slow-mode frac "
                  f"{r['slow_mode_frac_le_256kib']:.2f}")


def main():
    if not os.path.isdir(DATA):
        print(f"SKIP: vidur profiling data not found at {DATA}")
        return
    tables, gemm_state = {}, {}
    for gpu, (_prefix, peak, bw, sheet) in GPUS.items():
        tables[f"gpu.{gpu}"] = dict(mem_bw_gb_per_s=bw / 1e9, bf16_tflops=peak / 1e12, fp16_tflops=peak / 1e12,
                                    source=sheet)
    for gpu, (prefix, peak, bw, _sheet) in GPUS.items():
        files = mlp_files(prefix)
        if not files:
            continue
        rows = load_compute(prefix)
        rec, state = fit_gemm(gpu, rows, peak, bw, files)
        tables[f"gemm.{gpu}.bf16"] = rec
        gemm_state[gpu] = state
        tables[f"elementwise.{gpu}"] = fit_elementwise(rows, bw, files)
    net = {}
    fit_network(net)
    for dup, kept in DUPLICATES:
        for rec in net.values():
            if kept in rec["source"]:
                rec["identical_file"] = (f"{dup} is byte-identical to {kept} and is not fitted separately; "
                                         "which node measured it is unknown")
    tables.update(net)
    tables.update(compare_aic(tables, gemm_state))
    path = os.path.join(HERE, "coefficients.toml")
    write_toml(tables, path)
    summary(tables)
    print(f"\nwrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
