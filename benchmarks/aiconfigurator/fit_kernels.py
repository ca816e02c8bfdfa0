"""Fit physical step-time coefficients to AIConfigurator's measured kernel databases.

Reads the parquet tables that the installed ``aiconfigurator-core`` wheel ships
under ``aiconfigurator_core/systems/data/<system>/<family>/<framework>/<version>/``
and fits small, physically motivated models:

GEMM (``gemm/*/gemm_perf.parquet``), per GPU x dtype x engine, pooled over the
Llama-3.1-8B/70B projection shapes at TP 1/2/4/8 (snapped to the measured grid):

  * hyperbolic  eff(M) = eff_max * M / (M + M_half),  eff = 2MNK / (t * peak)
    (equivalent to t = 2MNK/(peak*eff_max) + 2NK*M_half/(peak*eff_max): a
    weight-streaming term plus a compute term; the implied streaming bandwidth
    is bytes_per_weight * peak * eff_max / (2 * M_half));
  * roofline    t = t0 + (t_mem^k + t_comp^k)^(1/k),
                t_mem = (N*K*bw + M*K*ba + 2*M*N) / (mem_bw * bw_frac),
                t_comp = 2MNK / (peak * eff_max)       (smooth max, k fitted).

All-reduce / NCCL collectives (``comm/*``): alpha-beta  t = alpha + bytes / alg_bw,
bus_bw = alg_bw * 2(n-1)/n (all-reduce) or (n-1)/n (all-gather, reduce-scatter,
all-to-all), fitted on log-time over all sizes and over the decode range
(<= 4 MiB) separately; measured latency interpolated at decode message sizes.

Decode attention (``attention/*/generation_attention_perf.parquet``):
t = t0 + kv_bytes / (mem_bw * kv_bw_frac), kv_bytes = b * kv_len * 2 * n_kv * d * bytes.
Prefill attention (``context_attention_perf``): t = t0 + F/(peak*eff_max) * (1 + s_half/s),
F = 2 * b * n_q * d * s^2 (causal).

MoE (``moe/*/moe_perf.parquet``, balanced routing, moe_tp=1): efficiency vs tokens per
expert tpe = num_tokens*topk/E; hyperbolic eff(tpe) and a roofline with the bytes of the
*active* local experts (AIConfigurator's own SOL accounting).

MoE routing imbalance (same table, moe_tp=1): every power_law_{1.01,1.2} row is paired with
the balanced row of the same kernel, dtype, tokens, shape and EP; ratio = t(power law) /
t(balanced). The collector's power-law generator puts the busiest EP rank on the measured
rank, so in the compute-bound regime (tpe >= 64) the ratio is the busiest-rank load factor,
fitted as I(ep) = 1 + a * ln(ep)^b (ep >= 2; alternative c0 + c1 * ln(ep)) on log ratio.

MoE all-to-all (``comm/{trtllm,vllm}/*/moe_a2a_perf.parquet`` in microseconds,
``comm/trtllm/*/trtllm_alltoall_perf.parquet`` (GB200 NVLink one/two-sided, ms),
``comm/sglang/*/wideep_deepep_{normal,ll}_perf.parquet`` in microseconds, ep = 8 * node_num
as AIConfigurator's adapter sets it): per engine x kernel x phase x dtype x EP,
t = t0 + bytes / bw with bytes = tokens_per_rank * topk * hidden * bytes_per_element *
(ep-1)/ep (num_tokens is the token count of one EP rank).

MLA (``mla/*``, DeepSeek-V3 geometry): decode kernel (``generation_mla_perf``; one layer on
one GPU, num_heads = rank-local heads) t = t0 + b * per_seq + kv_bytes / (mem_bw * kv_bw_frac),
kv_bytes = b * kv_len * 576 * bytes (latent 512 + rope 64); the same model on the decode
*module* tables (``mla_generation_module_perf``: BMM pre + MLA + BMM post) at 128 and 16
heads; prefill kernel (``context_mla_perf``) t = t0 + F/(peak*eff_max) * (1 + s_half/s),
F = b * n_heads * (192+128) * s^2 (causal).

Writes ``coefficients.toml`` and ``fit_tables.md`` next to this file. Reference peaks
(dense tensor-core FLOP/s, HBM bandwidth) are AIConfigurator's own system YAMLs.

Usage::

    /work/venv-aic/bin/python benchmarks/aiconfigurator/fit_kernels.py

Skips with a message (exit 0) when aiconfigurator is not installed.
"""

from __future__ import annotations

import datetime
import glob
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _aic

SYSTEMS = {  # AIConfigurator system name -> tokenworks-style label
    "h100_sxm": "h100-sxm",
    "h200_sxm": "h200",
    "b200_sxm": "b200",
    "gb200": "gb200",
    "b300_sxm": "b300",
    "gb300": "gb300",
}
ENGINES = ("trtllm", "vllm", "sglang")
PRIMARY_ENGINE = "trtllm"
DTYPE_LABEL = {"bfloat16": "bf16", "fp8": "fp8", "fp8_static": "fp8_static", "fp8_block": "fp8_block", "nvfp4": "nvfp4",
               "w4a16_mxfp4": "w4a16_mxfp4"}
# (weight bytes, activation-in bytes, peak key) per GEMM dtype
GEMM_BYTES = {"bfloat16": (2.0, 2.0, "bfloat16_tc_flops"), "fp8": (1.0, 1.0, "fp8_tc_flops"),
              "fp8_static": (1.0, 1.0, "fp8_tc_flops"),
              "fp8_block": (1.0, 1.0, "fp8_tc_flops"), "nvfp4": (0.5625, 0.5625, "fp4_tc_flops")}
LLAMA = {  # name: (hidden, q heads, kv heads, head dim, intermediate)
    "llama-3.1-8b": (4096, 32, 8, 128, 14336),
    "llama-3.1-70b": (8192, 64, 8, 128, 28672),
}
TPS = (1, 2, 4, 8)
M_MAX = 16384
DECODE_TOKENS = (1, 8, 32, 64, 128, 256)
DECODE_HIDDEN = 8192
MIB = 1 << 20
CORE = DATA = AIC_VER = CORE_VER = ""


def _np():
    import numpy as np

    return np


# --------------------------------------------------------------------------- fitting helpers


def fit_log(model, x0, lo, hi, *args):
    """Least squares on log(t_model) - log(t_meas); params in log space."""
    import numpy as np
    from scipy.optimize import least_squares

    t = args[-1]

    def res(p):
        return np.log(model(np.exp(p), *args[:-1])) - np.log(t)

    r = least_squares(res, np.log(x0), bounds=(np.log(lo), np.log(hi)), method="trf")
    p = np.exp(r.x)
    pred = model(p, *args[:-1])
    ape = np.abs(pred / t - 1.0) * 100.0
    return p, dict(mape_pct=float(np.mean(ape)), p90_ape_pct=float(np.percentile(ape, 90)),
                   max_ape_pct=float(np.max(ape)), n_points=len(t))


def latest_version_dir(root, system, family, engine, filename):
    q = _aic.current_versions(CORE)
    cur = _aic.current_version(q, system, engine)
    base = os.path.join(root, system, family, engine)
    if cur and os.path.exists(os.path.join(base, cur, filename)):
        return os.path.join(base, cur, filename), cur
    cands = sorted(glob.glob(os.path.join(base, "*", filename)))
    if not cands:
        return None, None
    from packaging.version import Version

    def key(p):
        try:
            return Version(os.path.basename(os.path.dirname(p)))
        except Exception:
            return Version("0")

    best = max(cands, key=key)
    return best, os.path.basename(os.path.dirname(best))


def src(path):
    return f"aiconfigurator {AIC_VER}, {_aic.rel_in_package(path, CORE)}"


# --------------------------------------------------------------------------- GEMM


def llama_shapes():
    shapes = []
    for name, (h, nq, nkv, d, inter) in LLAMA.items():
        for tp in TPS:
            shapes += [
                (name, tp, "qkv", (nq + 2 * nkv) * d // tp, h),
                (name, tp, "o_proj", h, nq * d // tp),
                (name, tp, "gate_up", 2 * inter // tp, h),
                (name, tp, "down", h, inter // tp),
            ]
    return shapes


def snap(v, grid):
    return min(grid, key=lambda g: abs(math.log(g / v)))


def gemm_models():
    np = _np()

    def hyper(p, flops, peak):
        eff_max, m_half, m = p[0], p[1], flops[1]
        return flops[0] / (peak * eff_max) * (1.0 + m_half / m)

    def roof(p, X, peak, bw):
        t0, bw_frac, eff_max, k = p
        t_mem = X["bytes"] / (bw * bw_frac)
        t_comp = X["flops"] / (peak * eff_max)
        return t0 + (t_mem**k + t_comp**k) ** (1.0 / k)

    return hyper, roof, np


def fit_gemm(system, engine, out, tables):
    np = _np()
    import pandas as pd

    path, ver = latest_version_dir(DATA, system, "gemm", engine, "gemm_perf.parquet")
    if not path:
        return
    spec = _aic.system_spec(CORE, system)["gpu"]
    df = pd.read_parquet(path, columns=["gemm_dtype", "kernel_source", "m", "n", "k", "latency"])
    ngrid, kgrid = sorted(df.n.unique()), sorted(df.k.unique())
    shapes = llama_shapes()
    snapped = sorted({(snap(n, ngrid), snap(k, kgrid)) for (_nm, _tp, _op, n, k) in shapes})
    hyper, roof, _ = gemm_models()
    # fp8_static as AIConfigurator derives it: the dynamic-fp8 table minus the measured
    # compute_scale (amax) and scale_matrix (quantize) kernels, floored at the SOL roofline.
    qdir = os.path.join(DATA, system, "quantize", engine, ver)
    cs_p, sm_p = (os.path.join(qdir, f) for f in ("computescale_perf.parquet", "scale_matrix_perf.parquet"))
    if os.path.exists(cs_p) and os.path.exists(sm_p):
        fp8 = df[df.gemm_dtype == "fp8"]
        cs = pd.read_parquet(cs_p).query("quant_dtype == 'fp8'").groupby(["m", "k"]).latency.min()
        sm = pd.read_parquet(sm_p).query("quant_dtype == 'fp8'").groupby(["m", "k"]).latency.min()
        st = fp8.join(cs.rename("cs"), on=["m", "k"]).join(sm.rename("sm"), on=["m", "k"]).dropna()
        if len(st):
            sol_ms = np.maximum(2.0 * st.m * st.n * st.k / spec["fp8_tc_flops"],
                                (st.n * st.k + st.m * st.k + 2.0 * st.m * st.n) / spec["mem_bw"]) * 1e3
            st = st.assign(latency=np.maximum(st.latency - st.cs - st.sm, sol_ms), gemm_dtype="fp8_static")
            df = pd.concat([df, st[df.columns]], ignore_index=True)
    for dtype, (bw_w, bw_a, peak_key) in GEMM_BYTES.items():
        peak = spec.get(peak_key)
        sub = df[df.gemm_dtype == dtype]
        if sub.empty or not peak:
            continue
        sub = sub[(sub.m <= M_MAX)]
        sub = sub.set_index(["n", "k"]).loc[lambda d: d.index.isin(snapped)].reset_index()
        # several kernels per point (some engines' fp8_block): keep the fastest, as the engine's autotuner would
        nk = sub.groupby("kernel_source").size().to_dict()
        sub = sub.groupby(["m", "n", "k"], as_index=False)["latency"].min()
        if len(sub) < 20:
            continue
        m, n, k = (sub[c].to_numpy(dtype=float) for c in ("m", "n", "k"))
        t = sub.latency.to_numpy() * 1e-3  # ms -> s
        flops = 2.0 * m * n * k
        X = dict(flops=flops, bytes=n * k * bw_w + m * k * bw_a + 2.0 * m * n)
        (eff_max_h, m_half), err_h = fit_log(hyper, [0.7, 64.0], [0.01, 0.01], [1.5, 1e5], (flops, m), peak, t)
        (t0, bw_frac, eff_max_r, kk), err_r = fit_log(
            roof, [5e-6, 0.8, 0.7, 2.0], [1e-7, 0.05, 0.05, 1.0], [1e-4, 1.5, 1.5, 20.0], X, peak, spec["mem_bw"], t
        )
        implied_bw_frac = bw_w * peak * eff_max_h / (2.0 * m_half) / spec["mem_bw"]
        # measured: weight-streaming bandwidth at M <= 16 for big weights (>= 32 MiB)
        wbytes = n * k * bw_w
        big = (m <= 16) & (wbytes >= 32 * MIB)
        bwfrac_small = wbytes[big] / (t[big] * spec["mem_bw"])
        eff = flops / (t * peak)
        at8k = eff[m == 8192]
        rec = dict(
            eff_max=eff_max_h, m_half_tokens=m_half, hyperbolic_mape_pct=err_h["mape_pct"],
            hyperbolic_p90_ape_pct=err_h["p90_ape_pct"], hyperbolic_implied_mem_bw_frac=implied_bw_frac,
            roofline_eff_max=eff_max_r, roofline_mem_bw_frac=bw_frac, roofline_t0_us=t0 * 1e6,
            roofline_smooth_k=kk, roofline_mape_pct=err_r["mape_pct"], roofline_p90_ape_pct=err_r["p90_ape_pct"],
            roofline_max_ape_pct=err_r["max_ape_pct"],
            mem_bw_frac_small_m_median=float(np.median(bwfrac_small)) if len(bwfrac_small) else float("nan"),
            mem_bw_frac_small_m_max=float(np.max(bwfrac_small)) if len(bwfrac_small) else float("nan"),
            eff_at_m8192_median=float(np.median(at8k)) if len(at8k) else float("nan"),
            eff_at_m8192_max=float(np.max(at8k)) if len(at8k) else float("nan"),
            tflops_at_m8192_median=float(np.median(at8k)) * peak / 1e12 if len(at8k) else float("nan"),
            peak_tflops_ref=peak / 1e12, mem_bw_gb_per_s_ref=spec["mem_bw"] / 1e9,
            n_points=err_h["n_points"], n_shapes=len(snapped), m_range="1..16384",
            kernels=", ".join(f"{a} ({b})" for a, b in nk.items()),
            engine=f"{engine} {ver}", source=src(path),
        )
        out.setdefault("gemm", {}).setdefault(engine, {})[(system, dtype)] = rec
        if engine == PRIMARY_ENGINE:
            # per-shape efficiency table at a few M (exact grid points)
            for (nm, tp, op, n0, k0) in shapes:
                ns, ks = snap(n0, ngrid), snap(k0, kgrid)
                row = sub[(sub.n == ns) & (sub.k == ks)].set_index("m").latency * 1e-3
                cells = {}
                for mm in (1, 16, 128, 1024, 8192):
                    if mm in row.index:
                        tt = row.loc[mm]
                        cells[mm] = (2.0 * mm * ns * ks / (tt * peak), ns * ks * bw_w / (tt * spec["mem_bw"]))
                tables.setdefault("gemm_shapes", []).append((system, dtype, nm, tp, op, n0, k0, ns, ks, cells))


# --------------------------------------------------------------------------- communication


def alpha_beta(nbytes, t):
    def model(p, b):
        return p[0] + b / p[1]

    (alpha, bw), err = fit_log(model, [5e-6, 1e11], [1e-8, 1e8], [1e-2, 1e13], nbytes, t)
    return alpha, bw, err


def interp_loglog(x, y, xq):
    np = _np()
    order = np.argsort(x)
    x, y = np.asarray(x)[order], np.asarray(y)[order]
    return float(np.exp(np.interp(np.log(xq), np.log(x), np.log(y))))


def comm_record(nbytes, t, n, kind, path, impl, ver):
    np = _np()
    factor = {"all_reduce": 2.0 * (n - 1) / n}.get(kind, (n - 1) / n)
    alpha, bw, err = alpha_beta(nbytes, t)
    small = nbytes <= 4 * MIB
    a2, bw2, err2 = alpha_beta(nbytes[small], t[small]) if small.sum() >= 3 else (float("nan"),) * 2 + ({},)
    rec = dict(
        latency_us=alpha * 1e6, alg_bw_gb_per_s=bw / 1e9, bus_bw_gb_per_s=bw * factor / 1e9,
        fit_mape_pct=err["mape_pct"], fit_max_ape_pct=err["max_ape_pct"],
        decode_latency_us=a2 * 1e6, decode_alg_bw_gb_per_s=bw2 / 1e9,
        decode_fit_mape_pct=err2.get("mape_pct", float("nan")),
        min_measured_us=float(np.min(t)) * 1e6,
        peak_measured_bus_bw_gb_per_s=float(np.max(nbytes / t)) * factor / 1e9,
        bytes_range=f"{int(nbytes.min())}..{int(nbytes.max())}",
    )
    if kind == "all_reduce":
        for tok in DECODE_TOKENS:
            b = tok * DECODE_HIDDEN * 2
            rec[f"t_us_{tok}tok_h{DECODE_HIDDEN}"] = interp_loglog(nbytes, t, b) * 1e6
    rec["implementation"] = impl
    rec["engine"] = ver
    rec["source"] = src(path)
    return rec


def fit_comm(system, out):
    import pandas as pd

    spec = _aic.system_spec(CORE, system)
    # engine custom all-reduce (message_size is an element count, bf16)
    for engine in ENGINES:
        path, ver = latest_version_dir(DATA, system, "comm", engine, "custom_allreduce_perf.parquet")
        if not path:
            continue
        df = pd.read_parquet(path)
        for ks, g in df.groupby("kernel_source"):
            impl = f"{engine}:{ks}"
            for n, gg in g.groupby("num_gpus"):
                gg = gg.sort_values("message_size")
                nbytes = gg.message_size.to_numpy(float) * 2.0
                t = gg.latency.to_numpy() * 1e-3
                rec = comm_record(nbytes, t, int(n), "all_reduce", path, impl, f"{engine} {ver}")
                out.setdefault("allreduce", {}).setdefault(impl, {})[(system, int(n))] = rec
    # NCCL: the version AIConfigurator uses for this system (misc.nccl_version), else newest
    want = str((spec.get("misc") or {}).get("nccl_version") or "")
    p = os.path.join(DATA, system, "comm", "nccl", want, "nccl_perf.parquet")
    if want and os.path.exists(p):
        path, ver = p, want
    else:
        path, ver = latest_version_dir(DATA, system, "comm", "nccl", "nccl_perf.parquet")
    if not path:
        return
    df = pd.read_parquet(path)
    df = df[df.nccl_dtype == "half"]
    for (op, n), g in df.groupby(["op_name", "num_gpus"]):
        g = g.sort_values("message_size")
        nbytes = g.message_size.to_numpy(float) * 2.0
        t = g.latency.to_numpy() * 1e-3
        rec = comm_record(nbytes, t, int(n), op, path, f"nccl:{op}", f"nccl {ver} (dir; table says "
                          f"{g.version.iloc[0]})")
        out.setdefault("nccl", {}).setdefault(op, {})[(system, int(n))] = rec


# --------------------------------------------------------------------------- attention

LLAMA_HEADS = {(64, 8), (32, 4), (16, 2), (8, 1), (32, 8), (16, 4), (8, 2), (4, 1)}
KV_BYTES = {"bfloat16": 2.0, "fp8": 1.0}


def fit_attention(system, engine, out, tables):
    np = _np()
    import pandas as pd

    spec = _aic.system_spec(CORE, system)["gpu"]
    bw = spec["mem_bw"]
    path, ver = latest_version_dir(DATA, system, "attention", engine, "generation_attention_perf.parquet")
    if path:
        g = pd.read_parquet(path)
        g = g[(g.head_dim == 128) & (g.window_size == 0) & (g.beam_width == 1)]
        g = g[[(a, b) in LLAMA_HEADS for a, b in zip(g.num_heads, g.num_key_value_heads, strict=True)]]
        for kvd, gg in g.groupby("kv_cache_dtype"):
            if kvd not in KV_BYTES:
                continue
            b = gg.batch_size.to_numpy(float)
            kv_len = (gg.isl + gg.step - 1).to_numpy(float)  # AIConfigurator: s = isl + step, kv_len = s - 1
            nkv = gg.num_key_value_heads.to_numpy(float)
            kvb = b * kv_len * 2.0 * nkv * 128 * KV_BYTES[kvd]
            t = gg.latency.to_numpy() * 1e-3
            keep = kv_len >= 1
            kvb, t, b, kv_len, nq = kvb[keep], t[keep], b[keep], kv_len[keep], gg.num_heads.to_numpy()[keep]
            nkv = nkv[keep]

            def model(p, x):
                return p[0] + x / (bw * p[1])

            def model3(p, x):
                return p[0] + x[0] / (bw * p[1]) + x[1] * p[2]

            (t0s, fracs), errs = fit_log(model, [5e-6, 0.7], [1e-7, 0.01], [1e-3, 1.5], kvb, t)
            (t0, frac, cseq), err = fit_log(model3, [5e-6, 0.7, 1e-7], [1e-7, 0.01, 1e-12], [1e-3, 1.5, 1e-3],
                                            (kvb, b), t)
            achieved = kvb / (t * bw)
            big = kvb >= 256 * MIB
            rec = dict(kv_bw_frac=frac, t0_us=t0 * 1e6, per_seq_ns=cseq * 1e9, fit_mape_pct=err["mape_pct"],
                       fit_p90_ape_pct=err["p90_ape_pct"], fit_max_ape_pct=err["max_ape_pct"],
                       simple_kv_bw_frac=fracs, simple_t0_us=t0s * 1e6, simple_fit_mape_pct=errs["mape_pct"],
                       achieved_frac_kv_ge_256mib_median=float(np.median(achieved[big])) if big.any() else float("nan"),
                       achieved_frac_max=float(np.max(achieved)), n_points=err["n_points"],
                       mem_bw_gb_per_s_ref=bw / 1e9, kv_dtype=DTYPE_LABEL.get(kvd, kvd),
                       heads="Llama-3.1 8B/70B GQA at TP1-8 (n_q,n_kv) in " + str(sorted(LLAMA_HEADS)),
                       engine=f"{engine} {ver}", source=src(path))
            out.setdefault("attention_decode", {}).setdefault(engine, {})[(system, kvd)] = rec
            if engine == PRIMARY_ENGINE:
                sel = (nq == 16) & (nkv == 2)
                for bb in (1, 8, 32, 64, 256):
                    for L in (1023, 4095, 8191, 32767):
                        s = sel & (b == bb) & (kv_len == L)
                        if s.any():
                            tables.setdefault("attn_decode", []).append(
                                (system, kvd, bb, L + 1, float(t[s][0] * 1e6), float(achieved[s][0])))
    path, ver = latest_version_dir(DATA, system, "attention", engine, "context_attention_perf.parquet")
    if path:
        c = pd.read_parquet(path)
        c = c[(c.head_dim == 128) & (c.window_size == 0) & (c.beam_width == 1)]
        c = c[[(a, b) in LLAMA_HEADS for a, b in zip(c.num_heads, c.num_key_value_heads, strict=True)]]
        for (ad, kvd), cc in c.groupby(["attn_dtype", "kv_cache_dtype"]):
            if (ad, kvd) not in (("bfloat16", "bfloat16"), ("fp8", "fp8")):
                continue
            peak = spec["bfloat16_tc_flops"] if ad == "bfloat16" else spec["fp8_tc_flops"]
            b, s, nq = (cc[x].to_numpy(float) for x in ("batch_size", "isl", "num_heads"))
            F = 2.0 * b * nq * 128 * s * s
            t = cc.latency.to_numpy() * 1e-3

            def model(p, X, peak=peak):
                F, s = X
                return p[0] + F / (peak * p[1]) * (1.0 + p[2] / s)

            (t0, eff_max, s_half), err = fit_log(model, [5e-6, 0.6, 256.0], [1e-7, 0.01, 1.0], [1e-2, 1.5, 1e5],
                                                 (F, s), t)
            eff = F / (t * peak)
            rec = dict(eff_max=eff_max, s_half_tokens=s_half, t0_us=t0 * 1e6, fit_mape_pct=err["mape_pct"],
                       fit_p90_ape_pct=err["p90_ape_pct"], fit_max_ape_pct=err["max_ape_pct"],
                       achieved_eff_max=float(np.max(eff)),
                       achieved_eff_s_ge_4096_median=float(np.median(eff[s >= 4096])),
                       peak_tflops_ref=peak / 1e12, n_points=err["n_points"],
                       attn_dtype=DTYPE_LABEL[ad], kv_dtype=DTYPE_LABEL[kvd],
                       flops="2*b*n_q*d*s^2 (causal)", engine=f"{engine} {ver}", source=src(path))
            out.setdefault("attention_prefill", {}).setdefault(engine, {})[(system, ad)] = rec
            if engine == PRIMARY_ENGINE:
                for ss in (512, 1024, 2048, 4096, 8192, 16384):
                    e1 = eff[(s == ss) & (b == 1) & (nq == 16)]
                    ea = eff[s == ss]
                    if len(ea):
                        tables.setdefault("attn_prefill", []).append(
                            (system, ad, ss, float(e1.max()) if len(e1) else float("nan"), float(np.median(ea)),
                             float(ea.max()), peak))


# --------------------------------------------------------------------------- MoE

MOE_NAMES = {
    (4096, 14336, 2, 8): "Mixtral-8x7B", (6144, 16384, 2, 8): "Mixtral-8x22B",
    (7168, 2048, 8, 256): "DeepSeek-V3/R1", (7168, 2048, 8, 384): "Kimi-K2",
    (4096, 1536, 8, 128): "Qwen3-235B-A22B", (2048, 768, 8, 128): "Qwen3-30B-A3B",
    (2880, 2880, 4, 128): "gpt-oss-120b", (2880, 2880, 4, 32): "gpt-oss-20b",
    (5120, 8192, 1, 16): "Llama-4-Scout", (5120, 8192, 1, 128): "Llama-4-Maverick",
}
MOE_DTYPES = {"bfloat16": (2.0, "bfloat16_tc_flops"), "fp8": (1.0, "fp8_tc_flops"),
              "fp8_block": (1.0, "fp8_tc_flops"), "nvfp4": (0.5625, "fp4_tc_flops"),
              "w4a16_mxfp4": (0.53125, "bfloat16_tc_flops")}


def fit_moe(system, engine, out, tables):
    np = _np()
    import pandas as pd

    path, ver = latest_version_dir(DATA, system, "moe", engine, "moe_perf.parquet")
    if not path:
        return
    spec = _aic.system_spec(CORE, system)["gpu"]
    bw = spec["mem_bw"]
    df = pd.read_parquet(path)
    df = df[(df.distribution == "balanced") & (df.moe_tp_size == 1)]
    if "kernel_source" in df:
        # one kernel per point: prefer the engine's default (non min-latency) path
        df = df[~df.kernel_source.astype(str).str.contains("min_latency")]
    for dtype, (wb, peak_key) in MOE_DTYPES.items():
        peak = spec.get(peak_key)
        d = df[df.moe_dtype == dtype]
        if d.empty or not peak:
            continue
        gated = ~d.kernel_source.astype(str).str.contains("nongated") if "kernel_source" in d else True
        ng = np.where(gated, 3.0, 2.0)
        T, h, inter, topk, E, ep = (d[c].to_numpy(float) for c in ("num_tokens", "hidden_size", "inter_size", "topk",
                                                                "num_experts", "moe_ep_size"))
        t = d.latency.to_numpy() * 1e-3
        routed = T * topk / ep  # token-expert pairs computed on this rank
        F = 2.0 * routed * h * inter * ng
        active = np.minimum(E / ep, np.maximum(routed, 1.0))  # AIConfigurator SOL: min(E/ep, T*topk/ep)
        wbytes = active * ng * h * inter * wb
        X = dict(F=F, bytes=wbytes + routed * (2 * h * 2.0 + inter * ng * wb))
        tpe = T * topk / E

        def roof(p, X, peak=peak):
            t0, bwf, eff, k = p
            a, c = X["bytes"] / (bw * bwf), X["F"] / (peak * eff)
            return t0 + (a**k + c**k) ** (1.0 / k)

        (t0, bwf, effr, kk), err_r = fit_log(roof, [2e-5, 0.6, 0.5, 2.0], [1e-7, 0.01, 0.01, 1.0],
                                              [1e-2, 1.5, 1.5, 20.0], X, t)
        eff = F / (t * peak)
        m = tpe >= 1.0

        def hyper(p, x, peak=peak):
            Fv, tp = x
            return Fv / (peak * p[0]) * (1.0 + p[1] / tp)

        (eff_max, tpe_half), err_h = fit_log(hyper, [0.6, 64.0], [0.01, 0.01], [1.5, 1e6], (F[m], tpe[m]), t[m])
        small = T <= 16
        bwfrac = wbytes[small] / (t[small] * bw)
        shapes = sorted({(int(a), int(b_), int(c), int(e)) for a, b_, c, e in zip(h, inter, topk, E, strict=True)})
        names = [MOE_NAMES.get(s_, f"h{s_[0]}/i{s_[1]}/top{s_[2]}/E{s_[3]}") for s_ in shapes]
        rec = dict(eff_max=eff_max, tpe_half=tpe_half, hyperbolic_mape_pct=err_h["mape_pct"],
                   hyperbolic_p90_ape_pct=err_h["p90_ape_pct"],
                   roofline_eff_max=effr, roofline_mem_bw_frac=bwf, roofline_t0_us=t0 * 1e6,
                   roofline_smooth_k=kk, roofline_mape_pct=err_r["mape_pct"],
                   roofline_p90_ape_pct=err_r["p90_ape_pct"],
                   active_weight_bw_frac_tokens_le16_median=float(np.median(bwfrac)),
                   peak_tflops_ref=peak / 1e12, mem_bw_gb_per_s_ref=bw / 1e9,
                   n_points=err_r["n_points"], shapes="; ".join(names),
                   engine=f"{engine} {ver}", source=src(path))
        out.setdefault("moe", {}).setdefault(engine, {})[(system, dtype)] = rec
        if engine == PRIMARY_ENGINE:
            for s_, nm in zip(shapes, names, strict=True):
                if nm.startswith("h"):
                    continue
                sel = (h == s_[0]) & (s_[1] == inter) & (topk == s_[2]) & (s_[3] == E)
                for eps in sorted(set(ep[sel])):
                    if eps not in (1, 8):
                        continue
                    cells = {}
                    for tp_ in (1.0, 4.0, 16.0, 64.0, 256.0):
                        ss = sel & (ep == eps) & np.isclose(tpe, tp_, rtol=0.34)
                        if ss.any():
                            cells[tp_] = float(np.median(eff[ss]))
                    tables.setdefault("moe_shapes", []).append((system, dtype, nm, int(eps), cells))


# --------------------------------------------------------------------------- MoE routing imbalance

MOE_KEYS = ["kernel_source", "moe_dtype", "num_tokens", "hidden_size", "inter_size", "topk",
            "num_experts", "moe_ep_size"]
IMB_ALPHAS = ("1.01", "1.2")
IMB_TPE_BINS = (0.0, 0.1, 1.0, 4.0, 16.0, 64.0, 256.0, math.inf)
IMB_TPE_MIN = 64.0  # compute-bound regime for the load-factor fit
IMB_EPS = (8, 16, 32, 64, 72)
IMB_MODEL = "I(ep) = 1 + a * ln(ep)^b; t(power law) = I(ep) * t(balanced), tpe >= 64, ep >= 2"
IMB_ALT_MODEL = "I(ep) = c0 + c1 * ln(ep) (I(1) = c0 free), tpe >= 64, ep >= 1"


def imbalance_ratios(path):
    """Power-law / balanced latency ratio per paired row (moe_tp = 1)."""
    import pandas as pd

    df = pd.read_parquet(path, columns=[*MOE_KEYS, "moe_tp_size", "distribution", "latency"])
    df = df[df.moe_tp_size == 1]
    df = df.groupby([*MOE_KEYS, "distribution"], as_index=False).latency.min()
    bal = df[df.distribution == "balanced"].set_index(MOE_KEYS).latency
    out = {}
    for alpha in IMB_ALPHAS:
        pl = df[df.distribution == f"power_law_{alpha}"].set_index(MOE_KEYS).latency
        r = (pl / bal).dropna().rename("ratio").reset_index()
        r["tpe"] = r.num_tokens * r.topk / r.num_experts
        out[alpha] = r
    return out


def fit_moe_imbalance(system, engine, out, tables):
    """Busiest-rank load factor of the power-law routing tables vs balanced routing."""
    np = _np()
    import pandas as pd

    path, ver = latest_version_dir(DATA, system, "moe", engine, "moe_perf.parquet")
    if not path:
        return
    for alpha, r in imbalance_ratios(path).items():
        if r.empty:
            continue
        if engine == PRIMARY_ENGINE:
            b = pd.cut(r.tpe, IMB_TPE_BINS)
            med = r.groupby(["moe_ep_size", b], observed=True).ratio.median()
            cnt = r.groupby(["moe_ep_size", b], observed=True).ratio.size()
            tables.setdefault("moe_imb_bins", []).append((system, alpha, med, cnt))
        cb = r[r.tpe >= IMB_TPE_MIN]
        ep = cb.moe_ep_size.to_numpy(float)
        ratio = cb.ratio.to_numpy(float)
        m = ep >= 2
        if m.sum() < 10:
            continue

        def load(p, e):
            return 1.0 + p[0] * np.log(e) ** p[1]

        def alt(p, e):
            return p[0] + p[1] * np.log(e)

        (a, bb), err = fit_log(load, [0.3, 1.0], [1e-4, 0.05], [10.0, 5.0], ep[m], ratio[m])
        (c0, c1), err_alt = fit_log(alt, [1.1, 0.2], [0.3, 1e-5], [3.0, 5.0], ep, ratio)
        rec = dict(a=float(a), b=float(bb), n_points=err["n_points"], mape_pct=err["mape_pct"],
                   p90_ape_pct=err["p90_ape_pct"], max_ape_pct=err["max_ape_pct"],
                   ep_range=f"{int(ep[m].min())}..{int(ep[m].max())}", model=IMB_MODEL)
        for e in IMB_EPS:
            rec[f"factor_ep{e}"] = float(load((a, bb), float(e)))
        rec.update(alt_c0=float(c0), alt_c1=float(c1), alt_mape_pct=err_alt["mape_pct"],
                   alt_model=IMB_ALT_MODEL)
        med = cb.groupby("moe_ep_size").ratio.median()
        for e, v in med.items():
            rec[f"median_ratio_ep{int(e)}"] = float(v)
        small = r[(r.tpe > 0.1) & (r.tpe <= 4.0)].ratio
        rec.update(
            median_ratio_tpe_0p1_to_4=float(small.median()) if len(small) else float("nan"),
            distribution=f"power_law_{alpha}", alpha=float(alpha), tpe_min=IMB_TPE_MIN,
            pairing="same kernel_source, moe_dtype, num_tokens, hidden, inter, topk, E, ep; "
                    "moe_tp = 1",
            dtypes=", ".join(sorted(cb.moe_dtype.unique())),
            kernels=", ".join(sorted(cb.kernel_source.unique())),
            n_shapes=int(cb.groupby(["hidden_size", "inter_size", "topk", "num_experts"]).ngroups),
            engine=f"{engine} {ver}", source=src(path))
        key = (system, "alpha_" + alpha.replace(".", "_"))
        out.setdefault("moe_imbalance", {}).setdefault(engine, {})[key] = rec


# --------------------------------------------------------------------------- MoE all-to-all

A2A_CONVENTION = ("bytes = tokens_per_rank * topk * hidden * bytes_per_element * (ep-1)/ep "
                  "(num_tokens column = tokens on one EP rank; topk copies per token, the "
                  "(ep-1)/ep share leaves the rank)")
A2A_BPE = {"bfloat16": 2.0, "fp8": 1.0, "nvfp4": 0.5625, "fp4": 0.5625}
DSV3_A2A = (7168, 8, 256)  # (hidden, topk, experts) for the measured reference times


def a2a_bpe(kernel, phase, dtype):
    """Payload bytes per hidden element of one token copy (see README, MoE all-to-all)."""
    if dtype == "default":  # sglang/vLLM DeepEP: FP8 dispatch, BF16 combine (collector)
        return 1.0 if phase == "dispatch" else 2.0
    if phase == "combine" and dtype != "fp4" and ("ht" in kernel or "nvlink" in kernel):
        return 2.0  # DeepEP normal and TRT-LLM NVLink standard combine move BF16
    return A2A_BPE[dtype]


def a2a_rows(system):
    """All MoE all-to-all rows of one system in one long format (latency in seconds).

    Columns: engine, ver, path, device, kernel, phase, dtype, ep, nodes, sms, hidden, topk,
    experts, tokens, t.
    """
    import pandas as pd

    spec = _aic.system_spec(CORE, system)
    gpn = int((spec.get("node") or {}).get("num_gpus_per_node") or 8)
    parts = []
    for engine in ("trtllm", "vllm"):
        path, ver = latest_version_dir(DATA, system, "comm", engine, "moe_a2a_perf.parquet")
        if not path:
            continue
        d = pd.read_parquet(path)
        parts.append(pd.DataFrame(dict(
            engine=engine, ver=ver, path=path, device=d.device,
            kernel=d.comm_backend.str.replace("trtllm_", ""),
            phase=d.phase, dtype=d.comm_dtype, ep=d.ep_size, nodes=d.node_num, sms=d.sms,
            hidden=d.hidden_size, topk=d.topk, experts=d.num_experts, tokens=d.num_tokens,
            t=d.latency * 1e-6)))  # moe_a2a latency is in microseconds
    # TRT-LLM NVLink one/two-sided all-to-all (GB200 only; latency already in ms)
    path, ver = latest_version_dir(DATA, system, "comm", "trtllm", "trtllm_alltoall_perf.parquet")
    if path:
        d = pd.read_parquet(path)
        d = d[d.distribution == "balanced"]
        lowp = d.op_name == "alltoall_combine_low_precision"
        parts.append(pd.DataFrame(dict(
            engine="trtllm", ver=ver, path=path, device=d.device,
            kernel=d.kernel_source.map({"NVLinkTwoSided": "nvlink_two_sided",
                                        "NVLinkOneSided": "nvlink_one_sided"}),
            phase=d.op_name.str.replace("alltoall_", "").str.replace("_low_precision", ""),
            dtype=d.moe_dtype.where(~lowp, "fp4"), ep=d.moe_ep_size,
            nodes=-(-d.moe_ep_size // gpn), sms=0, hidden=d.hidden_size, topk=d.topk,
            experts=d.num_experts, tokens=d.num_tokens, t=d.latency * 1e-3)))
    # SGLang DeepEP tables: no ep column; AIConfigurator's adapter sets ep = 8 * node_num.
    # The newest directory first; node counts it lacks come from older directories (the
    # multi-node curves AIConfigurator keeps as backward-fill sources).
    import glob as _glob

    from packaging.version import Version

    base = os.path.join(DATA, system, "comm", "sglang")
    for fname, kernel in (("wideep_deepep_normal_perf.parquet", "deepep_ht"),
                          ("wideep_deepep_ll_perf.parquet", "deepep_ll")):
        cands = sorted(_glob.glob(os.path.join(base, "*", fname)),
                       key=lambda p: Version(os.path.basename(os.path.dirname(p))), reverse=True)
        seen = set()
        for path in cands:
            ver = os.path.basename(os.path.dirname(path))
            d = pd.read_parquet(path)
            d = d[~d.node_num.isin(seen)]
            if d.empty:
                continue
            seen |= set(d.node_num.unique().tolist())
            for phase in ("dispatch", "combine"):
                if kernel == "deepep_ht":
                    t = (d[f"{phase}_transmit_us"] + d[f"{phase}_notify_us"]) * 1e-6
                    sms = d[f"{phase}_sms"]
                else:
                    t, sms = d[f"{phase}_avg_t_us"] * 1e-6, 0
                parts.append(pd.DataFrame(dict(
                    engine="sglang", ver=ver, path=path, device=d.device, kernel=kernel,
                    phase=phase,
                    dtype="default", ep=d.node_num * 8, nodes=d.node_num, sms=sms,
                    hidden=d.hidden_size, topk=d.num_topk, experts=d.num_experts,
                    tokens=d.num_token, t=t)))
    if not parts:
        return None
    df = pd.concat(parts, ignore_index=True)
    return df[(df.t > 0) & (df.tokens > 0)]


def a2a_link(system, ep, nodes):
    """(long, short) description of the links one EP group of `ep` ranks spans."""
    spec = _aic.system_spec(CORE, system)
    gpn = int((spec.get("node") or {}).get("num_gpus_per_node") or 8)
    if system in ("gb200", "gb300"):
        return (f"NVLink (NVL72 domain; {ep} ranks = {-(-ep // gpn)} tray(s) of {gpn}, "
                "no network hop)", "NVL72")
    if nodes <= 1 and ep <= gpn:
        return f"NVLink, intra-node ({gpn} GPUs per node)", "NVLink"
    return (f"inter-node: {nodes} nodes x {gpn} GPUs (RDMA between nodes, NVLink inside)",
            f"RDMA, {nodes} nodes")


def fit_moe_a2a(system, out, tables):
    np = _np()

    df = a2a_rows(system)
    if df is None:
        return
    keys = ["engine", "kernel", "phase", "dtype", "ep", "nodes"]
    for (engine, kernel, phase, dtype, ep, nodes), g in df.groupby(keys):
        if phase == "prepare":  # metadata exchange only: report, no bytes model
            tables.setdefault("a2a_prepare", []).append(
                (system, engine, kernel, dtype, int(ep), float(g.t.median() * 1e6),
                 float(g.t.max() * 1e6)))
            continue
        sms_avail = sorted(g.sms.unique().tolist())
        sms = 20 if 20 in sms_avail else sms_avail[-1]  # AIConfigurator default sms = 20
        g = g[g.sms == sms]
        bpe = a2a_bpe(kernel, phase, dtype)
        tok, topk, hid = (g[c].to_numpy(float) for c in ("tokens", "topk", "hidden"))
        nbytes = tok * topk * hid * bpe * (ep - 1) / ep
        t = g.t.to_numpy(float)
        if len(t) < 5 or ep < 2:
            continue
        alpha, bw, err = alpha_beta(nbytes, t)
        link, link_short = a2a_link(system, int(ep), int(nodes))
        ds = g[(g.hidden == DSV3_A2A[0]) & (g.topk == DSV3_A2A[1]) & (g.experts == DSV3_A2A[2])]
        ds = ds.groupby("tokens").t.median()
        shapes = sorted({(int(a), int(b), int(c)) for a, b, c in
                         zip(g.hidden, g.topk, g.experts, strict=True)})
        rec = dict(
            t0_us=alpha * 1e6, bw_gb_per_s=bw / 1e9, bytes_per_element=bpe,
            convention=A2A_CONVENTION, n_points=err["n_points"], mape_pct=err["mape_pct"],
            p90_ape_pct=err["p90_ape_pct"], max_ape_pct=err["max_ape_pct"],
            tokens_per_rank_range=f"{int(tok.min())}..{int(tok.max())}",
            min_measured_us=float(t.min() * 1e6),
            peak_measured_bw_gb_per_s=float(np.max(nbytes / t)) / 1e9,
            bw_at_upper_bound=bool(bw >= 0.99e13),
            # share of the bytes term in the fitted time at the largest message: small values
            # mean the curve is latency-bound over the measured range and bw is ill-determined
            bytes_term_share_at_max=float(nbytes.max() / bw / (alpha + nbytes.max() / bw)),
            ep=int(ep), node_num=int(nodes), link=link, link_short=link_short,
            comm_backend=kernel, phase=phase, comm_dtype=dtype, sms=int(sms),
            shapes="; ".join(f"h{a}/top{b}/E{c}" for a, b, c in shapes))
        for tk in (1, 16, 128, 1024, 8192):
            if tk in ds.index:
                rec[f"t_us_dsv3_{tk}tok"] = float(ds.loc[tk] * 1e6)
        ver, path = g.ver.iloc[0], g.path.iloc[0]
        rec.update(device=str(g.device.iloc[0]), engine=f"{engine} {ver}", source=src(path))
        label = f"{kernel}_{phase}"
        if dtype != "default":
            label += f"_{DTYPE_LABEL.get(dtype, dtype)}"
        out.setdefault("moe_a2a", {}).setdefault(engine, {})[(system, label, int(ep))] = rec


# --------------------------------------------------------------------------- MLA

MLA_KV_ELEMS = 512 + 64  # kv_lora_rank + qk_rope_head_dim (DeepSeek-V3), per token per layer
MLA_CTX_ELEMS = 192 + 128  # qk head dim (nope 128 + rope 64) + v head dim, per head
MLA_MODULE_HEADS = (128, 16)  # attention-DP / TP1 rank and TP8 rank of DeepSeek-V3


def mla_decode_fit(b, kv_len, t, bpe, bw):
    """t = t0 + b * per_seq + kv_bytes / (mem_bw * kv_bw_frac); kv_bytes = b*kv_len*576*bpe."""
    np = _np()
    kvb = b * kv_len * MLA_KV_ELEMS * bpe

    def model(p, x):
        return p[0] + x / (bw * p[1])

    def model3(p, x):
        return p[0] + x[0] / (bw * p[1]) + x[1] * p[2]

    (t0s, fracs), errs = fit_log(model, [5e-6, 0.7], [1e-7, 0.01], [1e-3, 1.5], kvb, t)
    (t0, frac, cseq), err = fit_log(model3, [5e-6, 0.7, 1e-7], [1e-7, 0.01, 1e-12],
                                    [1e-3, 1.5, 1e-3], (kvb, b), t)
    achieved = kvb / (t * bw)
    big = kvb >= 256 * MIB
    return dict(
        kv_bw_frac=frac, t0_us=t0 * 1e6, per_seq_ns=cseq * 1e9, n_points=err["n_points"],
        mape_pct=err["mape_pct"], p90_ape_pct=err["p90_ape_pct"], max_ape_pct=err["max_ape_pct"],
        simple_kv_bw_frac=fracs, simple_t0_us=t0s * 1e6, simple_mape_pct=errs["mape_pct"],
        achieved_frac_kv_ge_256mib_median=(float(np.median(achieved[big])) if big.any()
                                           else float("nan")),
        achieved_frac_max=float(np.max(achieved)), mem_bw_gb_per_s_ref=bw / 1e9,
        kv_bytes="b * kv_len * 576 * bytes_per_element (latent 512 + rope 64, one layer)",
        kv_len="isl + step - 1 (AIConfigurator: s = isl + step)")


def fit_mla(system, engine, out, tables):
    np = _np()
    import pandas as pd

    spec = _aic.system_spec(CORE, system)["gpu"]
    bw = spec["mem_bw"]
    # op-level decode kernel: one layer on one GPU, num_heads = rank-local query heads
    path, ver = latest_version_dir(DATA, system, "mla", engine, "generation_mla_perf.parquet")
    if path:
        g = pd.read_parquet(path)
        # AIConfigurator keys the table on (kv dtype, num_heads, batch, s) and keeps the first row
        g = g.drop_duplicates(["kv_cache_dtype", "num_heads", "batch_size", "isl", "step"])
        for kvd, gg in g.groupby("kv_cache_dtype"):
            if kvd not in KV_BYTES:
                continue
            b = gg.batch_size.to_numpy(float)
            kv_len = (gg.isl + gg.step - 1).to_numpy(float)
            t = gg.latency.to_numpy(float) * 1e-3
            keep = kv_len >= 1
            rec = mla_decode_fit(b[keep], kv_len[keep], t[keep], KV_BYTES[kvd], bw)
            nh = gg.num_heads.to_numpy()[keep]
            kvb = (b * kv_len * MLA_KV_ELEMS * KV_BYTES[kvd])[keep]
            ach = kvb / (t[keep] * bw)
            for h in (16, 128):
                s_ = (nh == h) & (kvb >= 256 * MIB)
                rec[f"achieved_frac_h{h}_kv_ge_256mib_median"] = (
                    float(np.median(ach[s_])) if s_.any() else float("nan"))
            rec.update(kv_dtype=DTYPE_LABEL[kvd], bytes_per_element=KV_BYTES[kvd],
                       heads="pooled over rank-local num_heads "
                             + "/".join(str(x) for x in sorted(set(nh.tolist()))),
                       kernels=", ".join(sorted(gg.kernel_source.unique())),
                       engine=f"{engine} {ver}", source=src(path))
            out.setdefault("mla_decode", {}).setdefault(engine, {})[(system, kvd)] = rec
            if engine in (PRIMARY_ENGINE, "sglang"):
                for bb in (1, 32, 256):
                    for L in (1023, 8191, 65535):
                        for h in (16, 128):
                            s_ = (b == bb) & (kv_len == L) & (gg.num_heads.to_numpy() == h)
                            if s_.any():
                                tt = float(t[s_][0])
                                frac = bb * L * MLA_KV_ELEMS * KV_BYTES[kvd] / (tt * bw)
                                tables.setdefault("mla_decode", []).append(
                                    (system, engine, kvd, h, bb, L + 1, tt * 1e6, frac))
    # module-level decode (BMM pre + MLA + BMM post, DeepSeek-V3), fitted per head count
    fname = "mla_generation_module_perf.parquet"
    path, ver = latest_version_dir(DATA, system, "mla", engine, fname)
    if path:
        g = pd.read_parquet(path)
        g = g[g.model == "deepseek-ai/DeepSeek-V3"]
        for (kvd, gem), gg in g.groupby(["kv_cache_dtype", "gemm_type"]):
            if kvd not in KV_BYTES:
                continue
            kernels = ", ".join(sorted(gg.kernel_source.unique()))
            # several attention kernels for one point (vLLM): keep the fastest
            gg = gg.groupby(["num_heads", "batch_size", "isl", "step"],
                            as_index=False).latency.min()
            for h in MLA_MODULE_HEADS:
                hh = gg[gg.num_heads == h]
                if len(hh) < 20:
                    continue
                b = hh.batch_size.to_numpy(float)
                kv_len = (hh.isl + hh.step - 1).to_numpy(float)
                t = hh.latency.to_numpy(float) * 1e-3
                rec = mla_decode_fit(b, kv_len, t, KV_BYTES[kvd], bw)
                rec.update(kv_dtype=DTYPE_LABEL[kvd], gemm_dtype=DTYPE_LABEL.get(gem, gem),
                           bytes_per_element=KV_BYTES[kvd], num_heads=int(h),
                           scope="module: MLA BMM pre + generation MLA + BMM post (one layer, "
                                 "one GPU); t0 includes the head-proportional BMM weights",
                           kernels=kernels, engine=f"{engine} {ver}", source=src(path))
                key = (system, kvd, gem, int(h))
                out.setdefault("mla_decode_module", {}).setdefault(engine, {})[key] = rec
    # op-level prefill (context) kernel
    path, ver = latest_version_dir(DATA, system, "mla", engine, "context_mla_perf.parquet")
    if path:
        c = pd.read_parquet(path)
        c = c.drop_duplicates(["mla_dtype", "kv_cache_dtype", "num_heads", "batch_size", "isl"])
        for (ad, kvd), cc in c.groupby(["mla_dtype", "kv_cache_dtype"]):
            # FP8 KV: the FMHA runs in FP8 (the rows reach 1.04-1.08x the dense BF16 peak on
            # B300/GB300 although mla_dtype says bfloat16), so the FP8 peak is the reference.
            math = "fp8" if kvd == "fp8" else ad
            peak = spec.get({"bfloat16": "bfloat16_tc_flops", "fp8": "fp8_tc_flops"}.get(math, ""))
            if not peak or kvd not in KV_BYTES:
                continue
            b, s, nq = (cc[x].to_numpy(float) for x in ("batch_size", "isl", "num_heads"))
            F = b * nq * MLA_CTX_ELEMS * s * s  # AIConfigurator: 2 * (192+128) * s^2 / 2 (causal)
            t = cc.latency.to_numpy(float) * 1e-3

            def model(p, X, peak=peak):
                F, s = X
                return p[0] + F / (peak * p[1]) * (1.0 + p[2] / s)

            (t0, eff_max, s_half), err = fit_log(model, [5e-6, 0.6, 256.0], [1e-7, 0.01, 1.0],
                                                 [1e-2, 1.5, 1e5], (F, s), t)
            eff = F / (t * peak)
            label = DTYPE_LABEL[ad] if kvd == ad else f"{DTYPE_LABEL[kvd]}kv"
            rec = dict(eff_max=eff_max, s_half_tokens=s_half, t0_us=t0 * 1e6,
                       mape_pct=err["mape_pct"], p90_ape_pct=err["p90_ape_pct"],
                       max_ape_pct=err["max_ape_pct"], n_points=err["n_points"],
                       achieved_eff_max=float(np.max(eff)),
                       achieved_eff_s_ge_4096_median=float(np.median(eff[s >= 4096])),
                       peak_tflops_ref=peak / 1e12, peak_ref_dtype=DTYPE_LABEL[math],
                       mla_dtype_column=DTYPE_LABEL[ad], kv_dtype=DTYPE_LABEL[kvd],
                       flops="b * n_heads * (192+128) * s^2 (causal; AIConfigurator's count)",
                       heads="pooled over rank-local num_heads "
                             + "/".join(str(int(x)) for x in sorted(set(nq.tolist()))),
                       engine=f"{engine} {ver}", source=src(path))
            out.setdefault("mla_prefill", {}).setdefault(engine, {})[(system, label)] = rec


# --------------------------------------------------------------------------- framework overheads


def framework_overheads():
    """Constants AIConfigurator adds beyond measured kernels (read from its source, 0.12.0)."""
    rows = {}
    for system in SYSTEMS:
        s = _aic.system_spec(CORE, system)
        rows[system] = dict(
            mem_op_constant_latency_us=s["gpu"].get("mem_empirical_constant_latency", 0) * 1e6,
            mem_op_bw_scaling=s["gpu"].get("mem_bw_empirical_scaling_factor"),
            p2p_latency_us=s["node"].get("p2p_latency", 0) * 1e6,
            inter_node_bw_gb_per_s=s["node"].get("inter_node_bw", 0) / 1e9,
            intra_node_bw_gb_per_s=s["node"].get("intra_node_bw", 0) / 1e9,
            other_mem_gib=s["misc"].get("other_mem", 0) / 2**30,
            source=f"aiconfigurator {AIC_VER}, aiconfigurator_core/systems/{system}.yaml",
        )
    return rows


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


def table(lines, name, rec, comment=None):
    lines.append("")
    if comment:
        lines.append(f"# {comment}")
    lines.append(f"[{name}]")
    for k, v in rec.items():
        lines.append(f"{k} = {fmt(v)}")


def write_toml(res, fw, path):
    L = [
        "# Physical step-time coefficients fitted to AIConfigurator's measured kernel databases.",
        f"# Generated by benchmarks/aiconfigurator/fit_kernels.py on {datetime.date.today()} from the PyPI",
        f"# wheels aiconfigurator {AIC_VER} / aiconfigurator-core {CORE_VER} (Apache-2.0, NVIDIA). Only derived",
        "# numbers are stored here; each table's `source` names the parquet file inside the installed wheel.",
        "# Fractions (eff_*, *_bw_frac) are relative to the reference peaks in [gpu.*] (AIConfigurator's",
        "# system YAMLs: dense tensor-core FLOP/s and HBM bandwidth). Errors are on kernel time (APE, %).",
        "# Layout: [gemm.<gpu>.<dtype>] (TensorRT-LLM, the primary engine), [gemm_engine.<engine>.<gpu>.<dtype>],",
        "# [allreduce.<gpu>.tp<n>] (TensorRT-LLM custom all-reduce), [allreduce_impl.<impl>.<gpu>.tp<n>],",
        "# [nccl.<op>.<gpu>.n<n>], [attention_decode.<gpu>] (bf16 KV) / [attention_decode.<gpu>.<kv dtype>],",
        "# [attention_prefill.<gpu>.<dtype>], [moe.<gpu>.<dtype>], [framework.<engine>], [framework_system.<gpu>].",
        "",
        "[meta]",
        f'aiconfigurator_version = "{AIC_VER}"',
        f'aiconfigurator_core_version = "{CORE_VER}"',
        'license = "Apache-2.0 (NVIDIA); data read at run time from the installed wheel, not redistributed"',
        'generated_by = "benchmarks/aiconfigurator/fit_kernels.py"',
        f'gemm_m_range = "1..{M_MAX}"',
        'gemm_shapes = "Llama-3.1-8B/70B qkv, o_proj, gate_up (fused), down at TP 1/2/4/8, snapped to the '
        'nearest measured (N,K) grid point in log space"',
    ]
    for system, lab in SYSTEMS.items():
        s = _aic.system_spec(CORE, system)["gpu"]
        table(L, f"gpu.{lab}", dict(
            mem_bw_gb_per_s=s["mem_bw"] / 1e9, bf16_tflops=s["bfloat16_tc_flops"] / 1e12,
            fp8_tflops=s["fp8_tc_flops"] / 1e12, fp4_tflops=s.get("fp4_tc_flops", 0) / 1e12,
            source=f"aiconfigurator {AIC_VER}, aiconfigurator_core/systems/{system}.yaml"))
    for engine in ENGINES:
        for (system, dtype), rec in sorted(res.get("gemm", {}).get(engine, {}).items()):
            name = (f"gemm.{SYSTEMS[system]}.{DTYPE_LABEL[dtype]}" if engine == PRIMARY_ENGINE
                    else f"gemm_engine.{engine}.{SYSTEMS[system]}.{DTYPE_LABEL[dtype]}")
            table(L, name, rec)
    for impl, d in sorted(res.get("allreduce", {}).items()):
        for (system, n), rec in sorted(d.items()):
            if impl == "trtllm:TRTLLM":
                table(L, f"allreduce.{SYSTEMS[system]}.tp{n}", rec)
            safe = impl.replace(":", "_").lower()
            table(L, f"allreduce_impl.{safe}.{SYSTEMS[system]}.tp{n}", rec)
    for op, d in sorted(res.get("nccl", {}).items()):
        for (system, n), rec in sorted(d.items()):
            table(L, f"nccl.{op}.{SYSTEMS[system]}.n{n}", rec)
    for engine in ENGINES:
        for (system, kvd), rec in sorted(res.get("attention_decode", {}).get(engine, {}).items()):
            base = "attention_decode" if engine == PRIMARY_ENGINE else f"attention_decode_engine.{engine}"
            name = f"{base}.{SYSTEMS[system]}" + ("" if kvd == "bfloat16" else f".{DTYPE_LABEL[kvd]}")
            table(L, name, rec)
        for (system, ad), rec in sorted(res.get("attention_prefill", {}).get(engine, {}).items()):
            base = "attention_prefill" if engine == PRIMARY_ENGINE else f"attention_prefill_engine.{engine}"
            table(L, f"{base}.{SYSTEMS[system]}.{DTYPE_LABEL[ad]}", rec)
        for (system, dt), rec in sorted(res.get("moe", {}).get(engine, {}).items()):
            base = "moe" if engine == PRIMARY_ENGINE else f"moe_engine.{engine}"
            table(L, f"{base}.{SYSTEMS[system]}.{DTYPE_LABEL[dt]}", rec)
    for name, rec in framework_table().items():
        table(L, f"framework.{name}", rec)
    for system, rec in fw.items():
        table(L, f"framework_system.{SYSTEMS[system]}", rec)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(L + new_family_tables(res)) + "\n")


def new_family_tables(res):
    """TOML lines of the MoE imbalance, MoE all-to-all and MLA tables (appended at the end)."""
    L = [
        "",
        "# ---- MoE routing imbalance, MoE all-to-all, MLA (see README for the conventions):",
        "# [moe_imbalance.<engine>.<gpu>.alpha_<1_01|1_2>],",
        "# [moe_a2a.<engine>.<gpu>.<kernel>_<phase>[_<dtype>].ep<n>],",
        "# [mla_decode.<engine>.<gpu>.<kv dtype>],",
        "# [mla_decode_module.<engine>.<gpu>.<kv>.<gemm>.h<heads>],",
        "# [mla_prefill.<engine>.<gpu>.<bf16|fp8kv>].",
    ]
    for engine in ENGINES:
        for (system, alpha), rec in sorted(res.get("moe_imbalance", {}).get(engine, {}).items()):
            table(L, f"moe_imbalance.{engine}.{SYSTEMS[system]}.{alpha}", rec)
    for engine in ENGINES:
        for (system, label, ep), rec in sorted(res.get("moe_a2a", {}).get(engine, {}).items()):
            table(L, f"moe_a2a.{engine}.{SYSTEMS[system]}.{label}.ep{ep}", rec)
    for engine in ENGINES:
        for (system, kvd), rec in sorted(res.get("mla_decode", {}).get(engine, {}).items()):
            table(L, f"mla_decode.{engine}.{SYSTEMS[system]}.{DTYPE_LABEL[kvd]}", rec)
        mod = res.get("mla_decode_module", {}).get(engine, {})
        for (system, kvd, gem, h), rec in sorted(mod.items()):
            name = (f"mla_decode_module.{engine}.{SYSTEMS[system]}.{DTYPE_LABEL[kvd]}."
                    f"{DTYPE_LABEL.get(gem, gem)}.h{h}")
            table(L, name, rec)
        for (system, label), rec in sorted(res.get("mla_prefill", {}).get(engine, {}).items()):
            table(L, f"mla_prefill.{engine}.{SYSTEMS[system]}.{label}", rec)
    return L


def framework_table():
    """Read from the package source (0.12.0); see README "Per-step overheads". Not fitted."""
    return {
        "trtllm": dict(
            step_overhead_ms=0.0,
            ttft_queue_factor="min(2 + (ceil(isl*b/ctx_tokens) - 3)/20, 4) x per-request prefill",
            tpot_mix_steps_dropped=3,
            prefill_dispatch_overhead_ms_per_layer=0.0,
            kv_cache_reserved_frac=0.015,
            free_gpu_memory_fraction=0.9,
            max_num_tokens=8192,
            source=f"aiconfigurator {AIC_VER}, aiconfigurator_core/sdk/backends/trtllm_backend.py, base_backend.py",
        ),
        "vllm": dict(
            step_overhead_ms=0.0,
            ttft_queue_factor="min(1 + log2(b)/8, 2) x per-request prefill",
            tpot_mix_steps_dropped=0,
            prefill_dispatch_overhead_ms_per_layer=0.8,
            throughput_cap="Little's law: b*(osl-1)/(ttft + tpot*(osl-1))",
            gpu_memory_utilization=0.92,
            source=f"aiconfigurator {AIC_VER}, aiconfigurator_core/sdk/backends/vllm_backend.py",
        ),
        "sglang": dict(
            step_overhead_ms=0.0,
            ttft_queue_factor="min(2 + (ceil(isl*b/ctx_tokens) - 3)/20, 4) x per-request prefill",
            tpot_mix_steps_dropped=3,
            prefill_dispatch_overhead_ms_per_layer=0.0,
            activation_mem_overhead_frac=0.15,
            other_mem_overhead_frac=0.20,
            source=f"aiconfigurator {AIC_VER}, aiconfigurator_core/sdk/backends/sglang_backend.py",
        ),
        "all_engines": dict(
            elementwise_op_time="bytes / (mem_bw * 0.8) + 3 us per op call (norms, activation, embedding, residual)",
            elementwise_calls_per_layer=3,
            static_decode_stride_tokens=32,
            cuda_graph="not modelled as a term: kernel tables are per-kernel timings; comm tables carry graph and "
                       "eager variants for vLLM/SGLang custom all-reduce",
            source=f"aiconfigurator {AIC_VER}, aiconfigurator_core/sdk/models/llama.py, Rust engine "
                   "operators/elementwise.rs (source snapshot), systems/*.yaml",
        ),
    }


def write_tables(res, tables, path):
    L = [f"# Fit tables (generated by fit_kernels.py from aiconfigurator {AIC_VER})", ""]
    L += ["## GEMM (TensorRT-LLM tables), pooled over Llama-3.1 8B/70B shapes, M = 1..16384", "",
          "| GPU | dtype | eff_max | M_half | hyp. MAPE % | roof eff_max | roof bw_frac | t0 µs | k | roof MAPE % "
          "| roof p90 % | meas. bw frac M≤16 (median/max) | eff @M=8192 median | TFLOP/s @8192 |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (system, dtype), r in sorted(res["gemm"].get(PRIMARY_ENGINE, {}).items()):
        L.append(f"| {SYSTEMS[system]} | {DTYPE_LABEL[dtype]} | {r['eff_max']:.3f} | {r['m_half_tokens']:.0f} | "
                 f"{r['hyperbolic_mape_pct']:.1f} | {r['roofline_eff_max']:.3f} | {r['roofline_mem_bw_frac']:.3f} | "
                 f"{r['roofline_t0_us']:.2f} | {r['roofline_smooth_k']:.2f} | {r['roofline_mape_pct']:.1f} | "
                 f"{r['roofline_p90_ape_pct']:.1f} | {r['mem_bw_frac_small_m_median']:.2f} / "
                 f"{r['mem_bw_frac_small_m_max']:.2f} | {r['eff_at_m8192_median']:.3f} | "
                 f"{r['tflops_at_m8192_median']:.0f} |")
    L += ["", "## GEMM by engine (hyperbolic eff_max / M_half; roofline bw_frac / eff_max / MAPE)", "",
          "| GPU | dtype | " + " | ".join(ENGINES) + " |", "|---|---|" + "---|" * len(ENGINES)]
    keys = sorted({k for e in ENGINES for k in res["gemm"].get(e, {})})
    for key in keys:
        cells = []
        for e in ENGINES:
            r = res["gemm"].get(e, {}).get(key)
            cells.append("—" if not r else f"{r['eff_max']:.2f} / {r['m_half_tokens']:.0f}; "
                         f"{r['roofline_mem_bw_frac']:.2f} / {r['roofline_eff_max']:.2f} / "
                         f"{r['roofline_mape_pct']:.0f}%")
        L.append(f"| {SYSTEMS[key[0]]} | {DTYPE_LABEL[key[1]]} | " + " | ".join(cells) + " |")
    L += ["", "## GEMM per Llama shape (TensorRT-LLM): efficiency vs peak / weight-bandwidth fraction at M", "",
          "| GPU | dtype | model | TP | op | N×K (grid) | M=1 | M=16 | M=128 | M=1024 | M=8192 |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (system, dtype, nm, tp, op, n0, k0, ns, ks, cells) in tables.get("gemm_shapes", []):
        if system not in ("h100_sxm", "b200_sxm") or dtype not in ("bfloat16", "fp8", "fp8_static"):
            continue
        c = " | ".join(f"{cells[m][0]:.2f} / {cells[m][1]:.2f}" if m in cells else "—"
                       for m in (1, 16, 128, 1024, 8192))
        L.append(f"| {SYSTEMS[system]} | {DTYPE_LABEL[dtype]} | {nm} | {tp} | {op} | {n0}×{k0} ({ns}×{ks}) | {c} |")
    L += ["", "## All-reduce, alpha-beta fits (t = latency + bytes / alg_bw), bf16, NVLink", "",
          "| GPU | impl | n | latency µs | bus GB/s | MAPE % | decode-range latency µs | decode MAPE % | "
          + " | ".join(f"{t} tok µs" for t in DECODE_TOKENS) + " |",
          "|---|---|---|---|---|---|---|---|" + "---|" * len(DECODE_TOKENS)]
    for impl, d in sorted(res.get("allreduce", {}).items()):
        for (system, n), r in sorted(d.items()):
            dec = " | ".join(f"{r[f't_us_{t}tok_h{DECODE_HIDDEN}']:.1f}" for t in DECODE_TOKENS)
            L.append(f"| {SYSTEMS[system]} | {impl} | {n} | {r['latency_us']:.1f} | {r['bus_bw_gb_per_s']:.0f} | "
                     f"{r['fit_mape_pct']:.1f} | {r['decode_latency_us']:.1f} | {r['decode_fit_mape_pct']:.1f} | {dec} |")
    for (system, n), r in sorted(res.get("nccl", {}).get("all_reduce", {}).items()):
        dec = " | ".join(f"{r[f't_us_{t}tok_h{DECODE_HIDDEN}']:.1f}" for t in DECODE_TOKENS)
        L.append(f"| {SYSTEMS[system]} | nccl | {n} | {r['latency_us']:.1f} | {r['bus_bw_gb_per_s']:.0f} | "
                 f"{r['fit_mape_pct']:.1f} | {r['decode_latency_us']:.1f} | {r['decode_fit_mape_pct']:.1f} | {dec} |")
    L += ["", "## Other NCCL collectives (half), alpha-beta", "",
          "| GPU | op | n | latency µs | bus GB/s | MAPE % | min measured µs |", "|---|---|---|---|---|---|---|"]
    for op, d in sorted(res.get("nccl", {}).items()):
        if op == "all_reduce":
            continue
        for (system, n), r in sorted(d.items()):
            L.append(f"| {SYSTEMS[system]} | {op} | {n} | {r['latency_us']:.1f} | {r['bus_bw_gb_per_s']:.0f} | "
                     f"{r['fit_mape_pct']:.1f} | {r['min_measured_us']:.1f} |")
    L += ["", "## Decode attention: t = t0 + kv_bytes / (mem_bw · kv_bw_frac) + b · c_seq", "",
          "| GPU | engine | KV dtype | kv_bw_frac | t0 µs | c_seq ns | MAPE % | p90 % | 2-param (no c_seq) frac / t0 µs"
          " / MAPE % | achieved frac (KV ≥ 256 MiB, median) | max achieved |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in ENGINES:
        for (system, kvd), r in sorted(res.get("attention_decode", {}).get(e, {}).items()):
            L.append(f"| {SYSTEMS[system]} | {e} | {DTYPE_LABEL[kvd]} | {r['kv_bw_frac']:.3f} | {r['t0_us']:.1f} | "
                     f"{r['per_seq_ns']:.0f} | {r['fit_mape_pct']:.1f} | {r['fit_p90_ape_pct']:.1f} | "
                     f"{r['simple_kv_bw_frac']:.3f} / {r['simple_t0_us']:.1f} / {r['simple_fit_mape_pct']:.1f} | "
                     f"{r['achieved_frac_kv_ge_256mib_median']:.3f} | {r['achieved_frac_max']:.3f} |")
    L += ["", "### Decode attention, Llama-3.1-70B at TP4 (16 q / 2 kv heads, d=128), TensorRT-LLM: "
          "kernel µs (achieved HBM fraction)", "",
          "| GPU | KV | batch | KV len | µs | frac |", "|---|---|---|---|---|---|"]
    for (system, kvd, bb, L_, us, fr) in tables.get("attn_decode", []):
        if system in ("h100_sxm", "h200_sxm", "b200_sxm", "gb200"):
            L.append(f"| {SYSTEMS[system]} | {DTYPE_LABEL[kvd]} | {bb} | {L_} | {us:.1f} | {fr:.2f} |")
    L += ["", "## Prefill attention: t = t0 + F/(peak·eff_max)·(1 + s_half/s), F = 2·b·n_q·d·s²", "",
          "| GPU | engine | dtype | eff_max | s_half | t0 µs | MAPE % | achieved max | median eff s≥4096 |",
          "|---|---|---|---|---|---|---|---|---|"]
    for e in ENGINES:
        for (system, ad), r in sorted(res.get("attention_prefill", {}).get(e, {}).items()):
            L.append(f"| {SYSTEMS[system]} | {e} | {DTYPE_LABEL[ad]} | {r['eff_max']:.3f} | {r['s_half_tokens']:.0f} | "
                     f"{r['t0_us']:.1f} | {r['fit_mape_pct']:.1f} | {r['achieved_eff_max']:.3f} | "
                     f"{r['achieved_eff_s_ge_4096_median']:.3f} |")
    L += ["", "### Prefill attention achieved TFLOP/s vs sequence length (TensorRT-LLM)", "",
          "| GPU | dtype | s | b=1, 16 heads | median over b, heads | max |", "|---|---|---|---|---|---|"]
    for (system, ad, ss, e1, em, ex, peak) in tables.get("attn_prefill", []):
        if system in ("h100_sxm", "h200_sxm", "b200_sxm", "gb200"):
            L.append(f"| {SYSTEMS[system]} | {DTYPE_LABEL[ad]} | {ss} | {e1 * peak / 1e12:.0f} | {em * peak / 1e12:.0f} "
                     f"| {ex * peak / 1e12:.0f} |")
    L += ["", "## MoE layer (balanced routing, moe_tp=1, all EP), pooled over shapes", "",
          "| GPU | engine | dtype | eff_max | tpe_half | hyp. MAPE % | roof eff_max | roof bw_frac | t0 µs | k | "
          "roof MAPE % | active-weight bw frac, ≤16 tokens |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in ENGINES:
        for (system, dt), r in sorted(res.get("moe", {}).get(e, {}).items()):
            L.append(f"| {SYSTEMS[system]} | {e} | {DTYPE_LABEL[dt]} | {r['eff_max']:.3f} | {r['tpe_half']:.0f} | "
                     f"{r['hyperbolic_mape_pct']:.1f} | {r['roofline_eff_max']:.3f} | {r['roofline_mem_bw_frac']:.3f} | "
                     f"{r['roofline_t0_us']:.1f} | {r['roofline_smooth_k']:.2f} | {r['roofline_mape_pct']:.1f} | "
                     f"{r['active_weight_bw_frac_tokens_le16_median']:.2f} |")
    L += ["", "### MoE efficiency (fraction of dense peak) vs tokens per expert, named shapes (TensorRT-LLM)", "",
          "| GPU | dtype | model | EP | tpe≈1 | 4 | 16 | 64 | 256 |", "|---|---|---|---|---|---|---|---|---|"]
    for (system, dt, nm, eps, cells) in tables.get("moe_shapes", []):
        if system in ("h100_sxm", "h200_sxm", "b200_sxm", "gb200"):
            c = " | ".join(f"{cells[x]:.3f}" if x in cells else "—" for x in (1.0, 4.0, 16.0, 64.0, 256.0))
            L.append(f"| {SYSTEMS[system]} | {DTYPE_LABEL[dt]} | {nm} | {eps} | {c} |")
    L += new_family_md(res, tables)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(L) + "\n")


def _f(v, fmt=".2f"):
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def new_family_md(res, tables):
    """fit_tables.md sections for MoE imbalance, MoE all-to-all and MLA."""
    L = ["", "## MoE routing imbalance: t(power law) / t(balanced), moe_tp = 1", "",
         f"Fit (compute-bound points, tpe = T·topk/E ≥ {IMB_TPE_MIN:.0f}, ep ≥ 2, pooled over "
         "dtypes, shapes and kernels, least squares on log ratio): `I(ep) = 1 + a·ln(ep)^b`; "
         "alternative `I(ep) = c0 + c1·ln(ep)` (fitted on ep ≥ 1). MAPE is on the ratio.", "",
         "| GPU | engine | alpha | a | b | I(8) | I(16) | I(32) | I(64) | I(72) | MAPE % | n | "
         "c0 / c1 / MAPE % | median ratio ep=1 | median ratio, 0.1 < tpe ≤ 4 |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in ENGINES:
        for (system, _al), r in sorted(res.get("moe_imbalance", {}).get(e, {}).items()):
            fac = " | ".join(f"{r[f'factor_ep{x}']:.2f}" for x in IMB_EPS)
            L.append(f"| {SYSTEMS[system]} | {e} | {r['alpha']} | {r['a']:.3f} | {r['b']:.3f} | "
                     f"{fac} | {r['mape_pct']:.1f} | {r['n_points']} | {r['alt_c0']:.3f} / "
                     f"{r['alt_c1']:.3f} / {r['alt_mape_pct']:.1f} | "
                     f"{_f(r.get('median_ratio_ep1'))} | {_f(r['median_ratio_tpe_0p1_to_4'])} |")
    L += ["", "### Median ratio by EP size and tokens-per-expert bin (TensorRT-LLM)", "",
          "Ratio < 1 at small tpe (0.1 < tpe ≤ 4, weight-streaming regime): the balanced "
          "pattern spreads the T·topk routed slots over min(E, T·topk) distinct experts, the "
          "power-law pattern piles them onto fewer, so fewer expert weights are read. The "
          "saving is largest at EP 1–4 (≈ 0.8) and fades to ≈ 1 at EP ≥ 64, where a rank holds "
          "only a few experts and all of them are touched under either pattern; at tpe ≤ 0.1 "
          "both patterns touch about T·topk experts. Above tpe ≈ 16 the busiest rank's extra "
          "tokens dominate and the ratio grows with EP and with T (the generator's power law "
          "spans 1…0.8·T tokens per expert, so the skew grows with the batch: compare the "
          "(64, 256] and (256, inf] columns). EP 1 > 1 at large tpe is the grouped-GEMM cost of "
          "unequal experts on one GPU.", ""]
    bins = [f"({_bin(IMB_TPE_BINS[i])}, {_bin(IMB_TPE_BINS[i + 1])}]"
            for i in range(len(IMB_TPE_BINS) - 1)]
    for (system, alpha, med, cnt) in tables.get("moe_imb_bins", []):
        L += [f"**{SYSTEMS[system]}, power_law_{alpha}** (pairs per cell: "
              f"{int(cnt.min())}–{int(cnt.max())})", "",
              "| EP | " + " | ".join(f"tpe {b}" for b in bins) + " |",
              "|---|" + "---|" * len(bins)]
        for ep in sorted({k[0] for k in med.index}):
            row = med.loc[ep]
            cells = []
            for iv in _intervals():
                v = [float(x) for k, x in row.items() if k.left == iv[0] and k.right == iv[1]]
                cells.append(_f(v[0]) if v else "—")
            L.append(f"| {int(ep)} | " + " | ".join(cells) + " |")
        L.append("")
    L += ["## MoE all-to-all (dispatch / combine): t = t0 + bytes / bw", "",
          f"Convention: {A2A_CONVENTION}. Bytes per element: the table's comm dtype (bf16 2, "
          "fp8 1, nvfp4/fp4 0.5625 incl. block scales); `default` (SGLang/vLLM DeepEP, no dtype "
          "axis) = FP8 dispatch (1) and BF16 combine (2); DeepEP-normal and TRT-LLM NVLink "
          "standard combine move BF16 (2) whatever the key. `∞` marks fits at the bandwidth bound, "
          "`*` fits whose bytes term is < 30 % of the time even at the largest message (flat, "
          "latency-bound curves: bw ill-determined). `t DSv3` = measured µs for hidden 7168 / "
          "top-8 / 256 experts at 1 / 128 / 8192 tokens per rank.", "",
          "| GPU | engine | kernel_phase | dtype | EP | nodes | link | t0 µs | bw GB/s | B/elem | "
          "MAPE % | p90 % | tokens/rank | t DSv3 1 / 128 / 8192 tok µs | device |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in ENGINES:
        for (system, _label, ep), r in sorted(res.get("moe_a2a", {}).get(e, {}).items(),
                                             key=lambda kv: (list(SYSTEMS).index(kv[0][0]),
                                                             kv[0][1], kv[0][2])):
            bw = "∞" if r["bw_at_upper_bound"] else f"{r['bw_gb_per_s']:.0f}"
            if r["bytes_term_share_at_max"] < 0.3:
                bw += "*"
            ds = " / ".join(_f(r.get(f"t_us_dsv3_{x}tok"), ".1f") for x in (1, 128, 8192))
            L.append(f"| {SYSTEMS[system]} | {e} | {r['comm_backend']}_{r['phase']} | "
                     f"{r['comm_dtype']} | {ep} | {r['node_num']} | {r['link_short']} | "
                     f"{r['t0_us']:.1f} | {bw} | {r['bytes_per_element']:.3g} | "
                     f"{r['mape_pct']:.1f} | {r['p90_ape_pct']:.1f} | "
                     f"{r['tokens_per_rank_range']} | "
                     f"{ds} | {r['device']} |")
    prep = tables.get("a2a_prepare", [])
    if prep:
        L += ["", "### TRT-LLM NVLink two-sided `prepare` phase (routing metadata; no bytes model)",
              "", "| GPU | dtype | EP | median µs | max µs |", "|---|---|---|---|---|"]
        for (system, _e, _k, dt, ep, med, mx) in sorted(prep):
            L.append(f"| {SYSTEMS[system]} | {dt} | {ep} | {med:.1f} | {mx:.1f} |")
    L += ["", "## MLA decode kernel: t = t0 + b·per_seq + kv_bytes / (mem_bw · kv_bw_frac)", "",
          "kv_bytes = b · kv_len · 576 · bytes (DeepSeek-V3 latent 512 + rope 64 per token per "
          "layer, shared by all heads); one layer on one GPU; pooled over the rank-local head "
          "counts 1…128; kv_len = isl + step − 1.", "",
          "| GPU | engine | KV | kv_bw_frac | t0 µs | per_seq ns | MAPE % | p90 % | "
          "2-param frac / t0 µs / MAPE % | "
          "achieved frac KV ≥ 256 MiB: all / 16 heads / 128 heads |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for e in ENGINES:
        for (system, kvd), r in sorted(res.get("mla_decode", {}).get(e, {}).items()):
            L.append(f"| {SYSTEMS[system]} | {e} | {DTYPE_LABEL[kvd]} | {r['kv_bw_frac']:.3f} | "
                     f"{r['t0_us']:.1f} | {r['per_seq_ns']:.0f} | {r['mape_pct']:.1f} | "
                     f"{r['p90_ape_pct']:.1f} | {r['simple_kv_bw_frac']:.3f} / "
                     f"{r['simple_t0_us']:.1f} / {r['simple_mape_pct']:.1f} | "
                     f"{r['achieved_frac_kv_ge_256mib_median']:.2f} / "
                     f"{_f(r['achieved_frac_h16_kv_ge_256mib_median'])} / "
                     f"{_f(r['achieved_frac_h128_kv_ge_256mib_median'])} |")
    L += ["", "### MLA decode module (BMM pre + MLA + BMM post, DeepSeek-V3), same model per head "
          "count", "",
          "| GPU | engine | KV | GEMM | heads | kv_bw_frac | t0 µs | per_seq ns | MAPE % | "
          "achieved frac KV ≥ 256 MiB | kernels |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in ENGINES:
        mod = res.get("mla_decode_module", {}).get(e, {})
        for (system, kvd, gem, h), r in sorted(mod.items()):
            L.append(f"| {SYSTEMS[system]} | {e} | {DTYPE_LABEL[kvd]} | "
                     f"{DTYPE_LABEL.get(gem, gem)} | {h} | {r['kv_bw_frac']:.3f} | "
                     f"{r['t0_us']:.1f} | {r['per_seq_ns']:.0f} | "
                     f"{r['mape_pct']:.1f} | {_f(r['achieved_frac_kv_ge_256mib_median'])} | "
                     f"{r['kernels']} |")
    L += ["", "### MLA decode kernel, measured µs (achieved HBM fraction of the KV read)", "",
          "| GPU | engine | KV | heads | batch | KV len | µs | frac |",
          "|---|---|---|---|---|---|---|---|"]
    for (system, e, kvd, h, bb, kl, us, fr) in tables.get("mla_decode", []):
        if system in ("h100_sxm", "h200_sxm", "b200_sxm", "gb200"):
            L.append(f"| {SYSTEMS[system]} | {e} | {DTYPE_LABEL[kvd]} | {h} | {bb} | {kl} | "
                     f"{us:.1f} | {fr:.2f} |")
    L += ["", "## MLA prefill kernel: t = t0 + F/(peak·eff_max)·(1 + s_half/s), "
          "F = b·n_heads·(192+128)·s² (causal)", "",
          "| GPU | engine | table | peak ref | eff_max | s_half | t0 µs | MAPE % | p90 % | "
          "achieved max | median eff s ≥ 4096 |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in ENGINES:
        for (system, label), r in sorted(res.get("mla_prefill", {}).get(e, {}).items()):
            L.append(f"| {SYSTEMS[system]} | {e} | {label} | {r['peak_ref_dtype']} "
                     f"{r['peak_tflops_ref']:.0f} T | {r['eff_max']:.3f} | "
                     f"{r['s_half_tokens']:.0f} | "
                     f"{r['t0_us']:.1f} | {r['mape_pct']:.1f} | {r['p90_ape_pct']:.1f} | "
                     f"{r['achieved_eff_max']:.3f} | {r['achieved_eff_s_ge_4096_median']:.3f} |")
    return L


def _bin(x):
    return "inf" if math.isinf(x) else f"{x:g}"


def _intervals():
    return [(IMB_TPE_BINS[i], IMB_TPE_BINS[i + 1]) for i in range(len(IMB_TPE_BINS) - 1)]


def main():
    global CORE, DATA, AIC_VER, CORE_VER
    CORE = _aic.require_aic()
    DATA = _aic.data_root(CORE)
    AIC_VER, CORE_VER = _aic.aic_version(), _aic.core_version()
    import warnings

    warnings.filterwarnings("ignore")
    print(f"aiconfigurator {AIC_VER} / core {CORE_VER}: {DATA}")
    res, tables = {}, {}
    for system in SYSTEMS:
        if not os.path.isdir(os.path.join(DATA, system)):
            print(f"  no data directory for {system}")
            continue
        for engine in ENGINES:
            fit_gemm(system, engine, res, tables)
            fit_attention(system, engine, res, tables)
            fit_moe(system, engine, res, tables)
            fit_moe_imbalance(system, engine, res, tables)
            fit_mla(system, engine, res, tables)
        fit_comm(system, res)
        fit_moe_a2a(system, res, tables)
        print(f"  {system}: done")
    fw = framework_overheads()
    write_toml(res, fw, os.path.join(_aic.HERE, "coefficients.toml"))
    write_tables(res, tables, os.path.join(_aic.HERE, "fit_tables.md"))
    print("wrote coefficients.toml and fit_tables.md")


if __name__ == "__main__":
    main()
