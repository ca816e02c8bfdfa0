"""Build the packaged step-time calibration (src/tokenworks/data/calibration.toml) and report
its accuracy (docs/accuracy.md, section "Step time and latency").

Two stages, each with its sources:

1. **Kernel coefficients per accelerator** (no serving data): GEMM, attention, MoE and
   all-reduce coefficients fitted on measured kernel timings —
   ``benchmarks/aiconfigurator/coefficients.toml`` (NVIDIA AIConfigurator 0.12.0 databases:
   H100, H200, B200, GB200, B300, GB300; TensorRT-LLM kernels, plus vLLM's and SGLang's own
   GEMM and custom all-reduce tables as engine-on-accelerator overrides) and
   ``benchmarks/vidur_kernels/coefficients.toml`` (vidur's profiling: A100 GEMM and
   elementwise). Accelerators without kernel tables fall back to the global (H100) values.
2. **Engine overheads, fitted on serving measurements** (``benchmarks/latency_data.py``): per
   engine the per-step time, the per-running-sequence time and the front end (HTTP,
   tokenisation, streaming), and per accelerator without kernel tables its GEMM and attention
   bandwidth and compute fractions — jointly on batch-1 and moderate-concurrency TPOT/ITL,
   low-load TTFT, closed-loop and offline throughput (TensorRT-LLM's perf-overview tables
   included). Least squares on log(predicted / measured) with a Cauchy loss (scale 15%: a
   few rows a steady state cannot explain do not steer the fit), each source
   weighted 1/sqrt(its points) so no single source dominates, log-normal priors on the
   fractions (centred on the H100 kernel values, factor 1.5).

3. **Machines without HBM** (Groq, Cerebras, SambaNova): two coefficients per vendor on its own
   published per-user speeds (``benchmarks/non_hbm.py``).

Validation: in-sample, leave-one-source-out (refit without the source, predict it) and
leave-one-GPU-out (refit without the accelerator; its own coefficients fall back to the
global values) errors by target, written to docs/accuracy.md. Reserved for independent
validation and never read here: llm-d's sim-to-real study, MLPerf v6.0, TensorRT-LLM >= 1.0
perf-overview tables.

Run: ``python benchmarks/calibrate.py`` (report only) or ``--write`` (update the packaged
calibration and docs/accuracy.md); ``--quick`` skips the leave-one-out refits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import multiprocessing as mp
import os
import sys
import tomllib
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from tokenworks.hardware import get_accelerator
from tokenworks.perf import Calibration, CalibrationOverride, calibration_to_toml
from tokenworks.perf.deployment import is_weight_only

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_sections import write_section
from latency_data import Point, load_points, predict
from non_hbm import vendor_overrides

ROOT = Path(__file__).resolve().parents[1]
AIC = ROOT / "benchmarks" / "aiconfigurator" / "coefficients.toml"
VIDUR = ROOT / "benchmarks" / "vidur_kernels" / "coefficients.toml"
OUT = ROOT / "src" / "tokenworks" / "data" / "calibration.toml"
ACCURACY = ROOT / "docs" / "accuracy.md"
AIC_GPUS = ("h100-sxm", "h200", "b200", "gb200", "b300", "gb300")
ENGINES = ("vllm", "sglang", "trtllm")
AR_IMPL = {"vllm": "vllm_vllm_custom_graph", "sglang": "sglang_sglang_customallreduce_graph"}


def _r(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


# ------------------------------------------------------------------ stage 1: kernel tables

def _eff(t: dict) -> float:
    """A GEMM table's large-M efficiency: the fitted asymptote, or where that exceeds the
    datasheet peak (a low smooth-max exponent trades off against it), the best measured."""
    v = t["roofline_eff_max"]
    return _r(v if v <= 1.0 else t["eff_at_m8192_max"])


def _measured(t: dict) -> bool:
    """False for a GEMM table whose large-M rate or small-M bandwidth sits at the datasheet
    peak: AIConfigurator fills missing measurements with speed-of-light estimates, and those
    are not kernel measurements."""
    return t["eff_at_m8192_median"] < 0.95 and t["mem_bw_frac_small_m_median"] < 0.95


def _gemm(t: dict) -> dict[str, float]:
    return {"gemm_compute_frac": _eff(t),
            "gemm_memory_frac": _r(t["roofline_mem_bw_frac"]),
            "gemm_launch_s": _r(t["roofline_t0_us"] * 1e-6),
            "gemm_sharpness": _r(t["roofline_smooth_k"])}


def _allreduce(tables: dict[int, dict], link_gb_s: float) -> dict[str, float]:
    """The small-message all-reduce line (latency + bus bandwidth fraction) through the
    measured decode-size points of the TP 2/4/8 tables (1-256 tokens of hidden 8,192, bf16),
    least squares on log time: the range a decode step's all-reduces live in."""
    toks, tps, ts = [], [], []
    for tp, t in tables.items():
        for n in (1, 8, 32, 64, 128, 256):
            key = f"t_us_{n}tok_h8192"
            if key in t:
                toks.append(n)
                tps.append(tp)
                ts.append(t[key] * 1e-6)
    toks, tps, ts = np.array(toks, float), np.array(tps, float), np.array(ts)
    bus_bytes = toks * 8192 * 2 * 2 * (tps - 1) / tps

    def res(x):
        lat, frac = math.exp(x[0]), math.exp(x[1])
        return np.log((lat + bus_bytes / (link_gb_s * 1e9 * frac)) / ts)

    sol = least_squares(res, [math.log(5e-6), math.log(0.5)],
                        bounds=([math.log(1e-7), math.log(0.01)], [math.log(1e-3), 0.0]))
    return {"comm_latency_s": _r(math.exp(sol.x[0])),
            "comm_bus_frac": _r(min(math.exp(sol.x[1]), 1.0))}


def _ring(aic: dict, g: str, link_gb_s: float) -> dict[str, float]:
    """NCCL's ring all-reduce for large messages: the largest measured group's full-range
    latency and bus bandwidth."""
    tabs = aic.get("nccl", {}).get("all_reduce", {}).get(g, {})
    for n in ("n8", "n4", "n2"):
        if n in tabs:
            t = tabs[n]
            return {"comm_ring_latency_s": _r(t["latency_us"] * 1e-6),
                    "comm_ring_bus_frac": _r(min(t["bus_bw_gb_per_s"] / link_gb_s, 1.0))}
    return {}


# AIConfigurator MoE dtype tables -> (compute fraction, memory fraction) parameters.
MOE_PARAMS = {"bf16": ("moe_compute_frac", "moe_memory_frac"),
              "fp8": ("moe_compute_frac_lowp", "moe_memory_frac_lowp"),
              "fp8_block": ("moe_compute_frac_block", "moe_memory_frac_block"),
              "nvfp4": ("moe_compute_frac_fp4", "moe_memory_frac_fp4"),
              "w4a16_mxfp4": ("moe_weight_only_compute_frac", "moe_weight_only_memory_frac")}
# The decode-time (low-latency) all-to-all kernels each engine runs, dispatch and combine.
A2A_KERNELS = {"trtllm": (("nvlink_two_sided_dispatch_fp8", "nvlink_two_sided_combine_bf16"),
                          ("deepep_ll_dispatch_fp8", "deepep_ll_combine_bf16")),
               "vllm": (("deepep_ll_dispatch", "deepep_ll_combine"),),
               "sglang": (("deepep_ll_dispatch", "deepep_ll_combine"),)}


def _moe(tab: dict) -> dict[str, float]:
    """MoE fractions (clamped to 1: the fits' active-weight accounting can exceed the
    datasheet), launch time and sharpness from one GPU's AIConfigurator MoE tables."""
    vals: dict[str, float] = {}
    for fmt, (c, m) in MOE_PARAMS.items():
        if fmt in tab:
            vals[c] = _r(min(tab[fmt]["roofline_eff_max"], 1.0))
            vals[m] = _r(min(tab[fmt]["roofline_mem_bw_frac"], 1.0))
    if "bf16" in tab:
        vals["moe_launch_s"] = _r(tab["bf16"]["roofline_t0_us"] * 1e-6)
        vals["moe_sharpness"] = _r(max(tab["bf16"]["roofline_smooth_k"], 1.0))
    return vals


def _imbalance(aic: dict, engine: str, g: str) -> dict[str, float]:
    """Routing imbalance on the busiest expert-parallel rank (power-law α = 1.01 routing,
    AIConfigurator's default for DeepSeek-style MoE)."""
    t = aic.get("moe_imbalance", {}).get(engine, {}).get(g, {}).get("alpha_1_01")
    return {} if not t else {"moe_imbalance_a": _r(t["a"]), "moe_imbalance_b": _r(t["b"])}


def _a2a(aic: dict, engine: str, g: str, link_gb_s: float) -> dict[str, float]:
    """Latency per phase and bandwidth (as a fraction of the scale-up link) of the engine's
    decode all-to-all, at the largest EP group inside one node (dispatch and combine)."""
    tabs = aic.get("moe_a2a", {}).get(engine, {}).get(g, {})
    for disp, comb in A2A_KERNELS.get(engine, ()):
        if disp not in tabs or comb not in tabs:
            continue
        eps = sorted(set(tabs[disp]) & set(tabs[comb]), key=lambda e: int(e[2:]))
        eps = [e for e in eps if int(e[2:]) <= 8] or eps
        d, c = tabs[disp][eps[-1]], tabs[comb][eps[-1]]
        bd, bc = d["bytes_per_element"], c["bytes_per_element"]
        bw = (bd + bc) / (bd / d["bw_gb_per_s"] + bc / c["bw_gb_per_s"])
        return {"a2a_latency_s": _r(0.5 * (d["t0_us"] + c["t0_us"]) * 1e-6),
                "a2a_bus_frac": _r(min(bw / link_gb_s, 1.0))}
    return {}


def _mla(aic: dict, engine: str, g: str) -> dict[str, float]:
    """MLA decode from the engine's generation-module table (16 heads per GPU: TP8 of
    DeepSeek-V3's 128; bf16 latent cache; block-scaled FP8 projections)."""
    t = aic.get("mla_decode_module", {}).get(engine, {}).get(g, {}).get("bf16", {})
    r = t.get("fp8_block", {}).get("h16")
    if not r:
        return {}
    # The module is the whole attention block (AIConfigurator's MLAModule stands for the
    # granular q_a/kv_a, q_b, batched matmuls, attention and o_proj ops): the step already
    # counts its four projection GEMMs' launches, so the attention keeps the rest.
    gemm_t0 = aic["gemm"][g]["bf16"]["roofline_t0_us"] if g in aic.get("gemm", {}) else 3.3
    return {"mla_attention_launch_s": _r(max(r["t0_us"] - 4 * gemm_t0, 0.0) * 1e-6),
            "mla_attention_per_seq_s": _r(r["per_seq_ns"] * 1e-9),
            "mla_attention_memory_frac": _r(min(r["kv_bw_frac"], 1.0))}


def kernel_overrides() -> tuple[list[CalibrationOverride], list[str]]:
    """Per-accelerator and engine-on-accelerator overrides from measured kernel tables."""
    aic = tomllib.loads(AIC.read_text())
    out: list[CalibrationOverride] = []
    notes = []
    src_aic = "AIConfigurator 0.12.0 kernel databases (benchmarks/aiconfigurator/coefficients.toml)"
    for g in AIC_GPUS:
        link = get_accelerator(g).scaleup_bytes_per_s / 1e9
        vals: dict[str, float] = {}
        gm = aic["gemm"].get(g, {})
        if "bf16" in gm and _measured(gm["bf16"]):
            vals |= _gemm(gm["bf16"])
        if "fp8_static" in gm and _measured(gm["fp8_static"]):
            vals["gemm_compute_frac_lowp"] = _eff(gm["fp8_static"])
        if "fp8_block" in gm and _measured(gm["fp8_block"]):
            vals["gemm_compute_frac_block"] = _eff(gm["fp8_block"])
            vals["gemm_memory_frac_block"] = _r(min(gm["fp8_block"]["roofline_mem_bw_frac"], 1.0))
        if "nvfp4" in gm and _measured(gm["nvfp4"]):
            vals["gemm_compute_frac_fp4"] = _eff(gm["nvfp4"])
            vals["gemm_memory_frac_fp4"] = _r(gm["nvfp4"]["roofline_mem_bw_frac"])
        ad = aic.get("attention_decode", {}).get(g)
        if ad:
            vals |= {"attention_memory_frac": _r(min(ad["kv_bw_frac"], 1.0)),
                     "attention_launch_s": _r(ad["t0_us"] * 1e-6),
                     "attention_per_seq_s": _r(ad["per_seq_ns"] * 1e-9)}
        ap = aic.get("attention_prefill", {}).get(g, {}).get("bf16")
        if ap:
            vals |= {"prefill_attention_frac": _r(ap["eff_max"]),
                     "prefill_attention_half_tokens": _r(ap["s_half_tokens"]),
                     "prefill_attention_launch_s": _r(ap["t0_us"] * 1e-6)}
        vals |= _moe(aic.get("moe", {}).get(g, {}))
        vals |= _imbalance(aic, "trtllm", g) | _a2a(aic, "trtllm", g, link)
        vals |= _mla(aic, "trtllm", g)
        vals |= _ring(aic, g, link)
        if vals:
            out.append(CalibrationOverride(match=g, source=f"{src_aic}: {g} GEMM (TensorRT-LLM), "
                                           "decode/prefill attention, MoE, all-to-all", **vals))
        # TensorRT-LLM's own custom all-reduce; vLLM's and SGLang's graph-captured ones and
        # their GEMM tables.
        ar = {n: aic["allreduce"][g][f"tp{n}"] for n in (2, 4, 8)
              if f"tp{n}" in aic.get("allreduce", {}).get(g, {})}
        if ar:
            out.append(CalibrationOverride(match=f"engine:trtllm/{g}",
                                           source=f"{src_aic}: {g} TensorRT-LLM all-reduce",
                                           **_allreduce(ar, link)))
        for eng in ("vllm", "sglang"):
            v: dict[str, float] = {}
            ge = aic.get("gemm_engine", {}).get(eng, {}).get(g, {})
            if "bf16" in ge and _measured(ge["bf16"]):
                v |= _gemm(ge["bf16"])
            if "fp8_static" in ge and _measured(ge["fp8_static"]):
                v["gemm_compute_frac_lowp"] = _eff(ge["fp8_static"])
            if "fp8_block" in ge and _measured(ge["fp8_block"]):
                v["gemm_compute_frac_block"] = _eff(ge["fp8_block"])
                v["gemm_memory_frac_block"] = _r(min(ge["fp8_block"]["roofline_mem_bw_frac"], 1.0))
            for dtn in ("bf16", "fp8_static"):
                if dtn in ge and not _measured(ge[dtn]):
                    notes.append(f"{eng} {g} {dtn} GEMM table is at the datasheet peak "
                                 "(speed-of-light fill); TensorRT-LLM's table used instead")
            impl = aic.get("allreduce_impl", {}).get(AR_IMPL[eng], {}).get(g, {})
            ar = {n: impl[f"tp{n}"] for n in (2, 4, 8) if f"tp{n}" in impl}
            if ar:
                v |= _allreduce(ar, link)
            v |= _moe(aic.get("moe_engine", {}).get(eng, {}).get(g, {}))
            v |= _imbalance(aic, eng, g) | _a2a(aic, eng, g, link) | _mla(aic, eng, g)
            if v:
                out.append(CalibrationOverride(
                    match=f"engine:{eng}/{g}",
                    source=f"{src_aic}: {g} {eng} GEMM, CUDA-graph custom all-reduce, MoE "
                           "and all-to-all", **v))
    if VIDUR.exists():
        vd = tomllib.loads(VIDUR.read_text())
        g = "a100-80g-sxm"
        gm = vd["gemm"][g]["bf16"]
        el = vd["elementwise"][g]
        out.append(CalibrationOverride(
            match=g, source="vidur profiling (microsoft/vidur, MIT; "
            "benchmarks/vidur_kernels/coefficients.toml): A100 GEMM and elementwise kernels",
            **_gemm(gm), elementwise_launch_s=_r(el["per_call_us"] * 1e-6)))
    else:
        notes.append(f"{VIDUR} missing: A100 uses the global kernel values")
    return out, notes


# ------------------------------------------------------ stage 2: engine and device fit

# Per engine: fitted overheads. Per accelerator without kernel tables: fitted fractions.
ENGINE_PARAMS = ("step_overhead_s", "per_seq_overhead_s", "frontend_s")
# Fitted once for all engines and parts: the weight-only INT4 (AWQ/GPTQ) GEMM's streaming rate,
# for which no kernel table exists.
GLOBAL_PARAMS = ("weight_only_memory_frac",)
DEVICE_PARAMS = ("gemm_memory_frac", "gemm_compute_frac", "attention_memory_frac")
PCIE_PARAMS = ("comm_bus_frac",)  # devices whose TP collectives run over PCIe
LOW = {"weight_only_memory_frac": 0.05, "comm_bus_frac": 0.05, "step_overhead_s": 1e-5,
       "per_seq_overhead_s": 1e-8, "frontend_s": 1e-4, "gemm_memory_frac": 0.2,
       "gemm_compute_frac": 0.15, "attention_memory_frac": 0.2}
# ASSUMPTION: no kernel streams memory at more than 95% of the datasheet bandwidth (copy
# kernels reach about 90%; AIConfigurator's best H100 fractions are 0.93): the memory fractions'
# upper bound.
MAX_MEMORY_FRAC = 0.95
HIGH = {"weight_only_memory_frac": MAX_MEMORY_FRAC, "comm_bus_frac": 1.0,
        "step_overhead_s": 0.05, "per_seq_overhead_s": 2e-4, "frontend_s": 0.5,
        "gemm_memory_frac": MAX_MEMORY_FRAC, "gemm_compute_frac": 1.0,
        "attention_memory_frac": MAX_MEMORY_FRAC}
X0 = {"weight_only_memory_frac": 0.6, "comm_bus_frac": 0.7, "step_overhead_s": 1e-3,
      "per_seq_overhead_s": 5e-6, "frontend_s": 0.01, "gemm_memory_frac": 0.8,
      "gemm_compute_frac": 0.7, "attention_memory_frac": 0.8}

# ASSUMPTION: a device fraction's prior is log-normal around the H100 kernel value with a
# factor-1.5 width for NVIDIA parts (the same cuBLAS/CUTLASS kernels): a few rows cannot move a
# bandwidth fraction far without strong evidence. Other vendors run other kernel libraries
# (hipBLASLt and AITER, XLA), for which the H100 value is a weaker guide: factor 2.
PRIOR_SIGMA = math.log(1.5)
PRIOR_SIGMA_OTHER_VENDOR = math.log(2.0)
PRIOR_POINTS = 3.0  # the prior counts as this many points of one source


def fit_targets(points: list[Point]) -> list[Point]:
    """The points the overheads are fitted on: dense models, engines with a profile, steady
    runs (not finite offline runs over a length distribution)."""
    # TTFT under load depends on how the benchmark started its clients (all at once, then
    # staggered): the simulator replays those runs (benchmarks/validate_serving_runs.py).
    return [p for p in points if p.engine_row != "lmdeploy"
            and "finite_run" not in p.tags and "legacy_engine" not in p.tags
            and "below_floor" not in p.tags and "warmup" not in p.tags
            and p.kind != "ttft_loaded"]


def device_names(points: list[Point], overrides: list[CalibrationOverride]) -> list[str]:
    """Accelerators in the data without their own kernel GEMM table."""
    have = {o.match for o in overrides if o.gemm_compute_frac is not None}
    return sorted({p.gpu for p in points} - have)


# The MoE parameters a device's rows exercise, by the experts' weight format.
MOE_BY_DTYPE = {"bf16": ("moe_compute_frac", "moe_memory_frac"),
                "fp16": ("moe_compute_frac", "moe_memory_frac"),
                "fp8": ("moe_compute_frac_lowp", "moe_memory_frac_lowp"),
                "fp8_block": ("moe_compute_frac_block", "moe_memory_frac_block"),
                "nvfp4": ("moe_compute_frac_fp4", "moe_memory_frac_fp4"),
                "mxfp4": ("moe_compute_frac_fp4", "moe_memory_frac_fp4")}
for _n in {n for pair in MOE_BY_DTYPE.values() for n in pair} | {
        "moe_weight_only_compute_frac", "moe_weight_only_memory_frac"}:
    LOW[_n], X0[_n] = 0.03, getattr(Calibration(), _n)
    HIGH[_n] = MAX_MEMORY_FRAC if "memory" in _n else 1.0


# The FP8 (per-tensor) GEMM's compute fraction of a part whose rows run FP8 GEMMs: AMD's MLPerf
# Offline runs are compute-bound and put it far from the H100 kernel value (MI300X's FP8 GEMMs
# reach a much smaller share of their datasheet peak than its 16-bit ones).
LOW["gemm_compute_frac_lowp"], HIGH["gemm_compute_frac_lowp"] = 0.1, 1.0
X0["gemm_compute_frac_lowp"] = Calibration().gemm_compute_frac_lowp


def _device_params(name: str, points: list[Point] = ()) -> tuple[str, ...]:
    """Fractions fitted for an accelerator without kernel tables: GEMM and attention (and the
    FP8 GEMM's compute fraction when its rows run FP8 weights), the collective's bus fraction
    over PCIe, and the MoE fractions of the formats its MoE rows run (a W4A16 path counts as
    its own)."""
    pcie = get_accelerator(name).scaleup_bytes_per_s is None
    lowp = any(p.gpu == name and p.dep.weights_dtype == "fp8" and not is_weight_only(p.dep)
               for p in points)
    moe: list[str] = []
    for p in points:
        if p.gpu != name or "moe" not in p.tags:
            continue
        if is_weight_only(p.dep):
            pair = ("moe_weight_only_compute_frac", "moe_weight_only_memory_frac")
        else:
            pair = MOE_BY_DTYPE.get(p.dep.weights_dtype, ())
        moe += [n for n in pair if n not in moe]
    return DEVICE_PARAMS + (("gemm_compute_frac_lowp",) if lowp else ()) + \
        (PCIE_PARAMS if pcie else ()) + tuple(moe)


class Fit:
    """The joint fit: a parameter vector <-> a Calibration with engine/device overrides."""

    def __init__(self, base: Calibration, engines: list[str], devices: list[str],
                 points: list[Point] = ()) -> None:
        self.base, self.engines, self.devices = base, engines, devices
        self.names = [("global", n) for n in GLOBAL_PARAMS] + \
            [(f"engine:{e}", n) for e in engines for n in ENGINE_PARAMS] + \
            [(d, n) for d in devices for n in _device_params(d, points)]

    def x0(self) -> np.ndarray:
        return np.log([X0[n] for _, n in self.names])

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.log([LOW[n] for _, n in self.names]),
                np.log([HIGH[n] for _, n in self.names]))

    def calibration(self, x: np.ndarray) -> Calibration:
        by: dict[str, dict[str, float]] = defaultdict(dict)
        for (m, n), v in zip(self.names, x, strict=True):
            by[m][n] = _r(float(math.exp(v)), 5)
        extra = []
        base = self.base
        if "global" in by:
            base = replace(base, **by.pop("global"))
        for m, vals in by.items():
            src = ("fitted on serving latency and throughput (benchmarks/calibrate.py)"
                   if m.startswith("engine:") else
                   "fitted on serving measurements for want of kernel tables "
                   "(benchmarks/calibrate.py)")
            extra.append(CalibrationOverride(match=m, source=src, **vals))
        # Device fits go before the kernel overrides' engine entries so that engine-level
        # values still apply on top; order inside the tuple only matters per match key.
        return replace(base, overrides=(*extra, *base.overrides))


def residuals(points: list[Point], cal: Calibration) -> np.ndarray:
    return np.array([math.log(predict(p, cal) / p.measured) if p.measured > 0 else np.nan
                     for p in points])


def _solve(f: Fit, points: list[Point], x0: np.ndarray | None, max_nfev: int) -> np.ndarray:
    """Least squares on log(predicted / measured), Cauchy loss, sources weighted
    1/sqrt(points), log-normal priors on the device fractions."""
    by_source = defaultdict(int)
    for p in points:
        by_source[p.source] += 1
    w = np.array([1.0 / math.sqrt(by_source[p.source]) for p in points])
    lo, hi = f.bounds()
    prior_idx = [i for i, (m, _) in enumerate(f.names) if not m.startswith("engine:")
                 and m != "global"]
    kernel = Calibration()  # the H100 kernel values the device priors centre on
    prior_mu = np.array([math.log(getattr(kernel, f.names[i][1])) for i in prior_idx])
    # The prior counts as PRIOR_POINTS points of the mean weight.
    prior_w = math.sqrt(PRIOR_POINTS * float(np.mean(w ** 2)))
    sigma = np.array([PRIOR_SIGMA if get_accelerator(f.names[i][0]).vendor.lower() == "nvidia"
                      else PRIOR_SIGMA_OTHER_VENDOR for i in prior_idx])

    def res(x: np.ndarray) -> np.ndarray:
        r = residuals(points, f.calibration(x))
        r = np.where(np.isfinite(r), r, 2.0) * w
        pr = (x[prior_idx] - prior_mu) / sigma * prior_w if prior_idx else np.zeros(0)
        return np.concatenate([r, pr])

    start = np.clip(f.x0() if x0 is None else x0, lo + 1e-6, hi - 1e-6)
    starts = [start]
    if prior_idx:
        # The robust loss makes the objective non-convex: from the prior alone, a part whose
        # kernels run far from the H100 values (MI300X's FP8 GEMMs) stays near the prior, its
        # evidence treated as outliers. A start from the plain least-squares fit (the usual
        # initialisation of a robust fit); the lowest robust cost wins.
        # And starts with every device fraction at 0.6x and 0.35x of the prior (MoE kernels
        # on some parts stream at a third of the H100 rate).
        ls = least_squares(res, start, bounds=(lo, hi), loss="linear", x_scale=1.0,
                           diff_step=1e-3, max_nfev=max_nfev)
        starts.append(np.clip(ls.x, lo + 1e-6, hi - 1e-6))
        for scale in (0.6, 0.35):
            low = start.copy()
            low[prior_idx] += math.log(scale)
            starts.append(np.clip(low, lo + 1e-6, hi - 1e-6))
    best = None
    for s0 in starts:
        sol = least_squares(res, s0, bounds=(lo, hi), loss="cauchy", f_scale=0.15,
                            x_scale=1.0, diff_step=1e-3, max_nfev=max_nfev)
        if best is None or sol.cost < best.cost:
            best = sol
    return best.x


def fit(points: list[Point], base: Calibration, engines: list[str], devices: list[str],
        x0: np.ndarray | None = None) -> tuple[Calibration, np.ndarray, Fit]:
    """Two stages. (1) The engines' overheads and the global weight-only rate, on the
    accelerators whose kernels are measured (AIConfigurator, vidur): there the step time's
    kernel terms are known, so what is left is the engine's. (2) Each accelerator without
    kernel tables alone, on its own rows, with the engines fixed: its GEMM, attention and
    MoE fractions (and its PCIe collective rate)."""
    f = Fit(base, engines, devices, points)
    # ASSUMPTION: an engine's own overheads do not depend on the model: they are identified
    # on dense models, whose kernel terms are the best measured.
    known = [p for p in points if p.gpu not in devices and "dense" in p.tags]
    fa = Fit(base, engines, [], known)
    xa = _solve(fa, known, None if x0 is None else x0[:len(fa.names)], max_nfev=300)
    stage = fa.calibration(xa)
    xs = list(xa)
    for d in devices:
        mine = [p for p in points if p.gpu == d]
        fd = Fit(stage, [], [d], mine)
        fd.names = [n for n in fd.names if n[0] == d]
        xd = _solve(fd, mine, None, max_nfev=600)
        stage = fd.calibration(xd)
        xs += list(xd)
    x = np.array(xs)
    return f.calibration(x), x, f


# ---------------------------------------------------------------------- error reporting

TARGETS = {
    "tpot_batch1": "TPOT/ITL at concurrency 1",
    "tpot_moderate": "TPOT/ITL at concurrency 2–64",
    "tpot_high": "TPOT/ITL above 64",
    "ttft_low": "TTFT at concurrency ≤ 8",
    "ttft_loaded": "TTFT above 8",
    "e2e": "E2E latency (closed loop)",
    "throughput_loaded": "throughput, closed loop",
    "throughput_offline": "throughput, offline max load",
}
# The sets a point is reported in (first match wins).
SETS = (
    ("fit", "dense and MoE models, current engines (the fitted set)"),
    ("ttft_loaded", "TTFT above concurrency 8 (benchmark start-up dominates: simulator)"),
    ("finite_run", "offline runs of N prompts over a length distribution (not a steady state)"),
    ("legacy_engine", "engine versions before the profiles (TensorRT-LLM < 0.10, vLLM < 0.6)"),
    ("lmdeploy", "LMDeploy TurboMind (predicted with the trtllm profile; not fitted)"),
    ("below_floor", "runs with a number below the physical floor of their stated setup"),
    ("warmup", "runs whose TTFT at concurrency 1 is above a physical ceiling (a timed warm-up)"),
)


def set_of(p: Point, train_ids: set[int]) -> str:
    if id(p) in train_ids:
        return "fit"
    if p.kind == "ttft_loaded":
        return "ttft_loaded"
    for tag in ("below_floor", "warmup", "finite_run", "legacy_engine"):
        if tag in p.tags:
            return tag
    return "lmdeploy" if p.engine_row == "lmdeploy" else "other"


def target_rows(points: list[Point], idx: list[int], pred: np.ndarray,
                loso: np.ndarray | None, logo: np.ndarray | None) -> list[str]:
    """One table row per target over the points ``idx``."""
    sel = [points[i] for i in idx]
    ins = err_table(sel, pred[idx])
    lso = err_table(sel, loso[idx]) if loso is not None else {}
    lgo = err_table(sel, logo[idx]) if logo is not None else {}
    rows = []
    for k, label in (*TARGETS.items(), ("all", "all")):
        if k not in ins:
            continue
        n, med, mean = ins[k]
        rows.append(f"| {label} | {n} | {_pct(med)} | {_pct(mean)} | "
                    f"{_pct(lso[k][1]) if k in lso else '—'} | "
                    f"{_pct(lgo[k][1]) if k in lgo else '—'} |")
    return rows


def err_table(points: list[Point], pred: np.ndarray) -> dict[str, tuple[int, float, float]]:
    """Per target: (n, median |error| %, mean |error| %)."""
    out = {}
    e = np.abs(pred / np.array([p.measured for p in points]) - 1.0) * 100
    kinds = np.array([p.kind for p in points])
    for k in TARGETS:
        sel = (kinds == k) & np.isfinite(e)
        if sel.any():
            out[k] = (int(sel.sum()), float(np.median(e[sel])), float(np.mean(e[sel])))
    sel = np.isfinite(e)
    if sel.any():
        out["all"] = (int(sel.sum()), float(np.median(e[sel])), float(np.mean(e[sel])))
    return out


# The leave-out refit's inputs, inherited by forked workers (the key is a lambda).
_LEAVE_OUT: dict[str, tuple] = {}


def _leave_one(g: str) -> tuple[str, list[tuple[int, float]]]:
    """Refit without group ``g`` and predict its points (one worker's task)."""
    points, base, engines, devices, key = _LEAVE_OUT["args"]
    train = [p for p in points if key(p) != g]
    test = [i for i, p in enumerate(points) if key(p) == g]
    tr_devices = [d for d in devices if any(p.gpu == d for p in train)]
    tr_engines = [e for e in engines if any(p.engine == e for p in train)]
    cal, _, _ = fit(train, base, tr_engines, tr_devices)
    return g, [(i, predict(points[i], cal)) for i in test]


def leave_out(points: list[Point], base: Calibration, engines: list[str], devices: list[str],
              key, label: str) -> np.ndarray:
    """Refit without each group (``key(point)``) and predict the group with that fit; a
    device left out loses its fitted fractions (it falls back to the global values). The
    refits are independent, so they run on every core (forked workers); each is the same
    deterministic fit, so the result does not depend on the number of workers."""
    pred = np.full(len(points), np.nan)
    groups = sorted({key(p) for p in points})
    _LEAVE_OUT["args"] = (points, base, engines, devices, key)
    workers = max(1, min(os.cpu_count() or 1, len(groups)))
    pool = mp.get_context("fork").Pool(workers) if (
        workers > 1 and "fork" in mp.get_all_start_methods()) else None
    try:
        done = pool.imap_unordered(_leave_one, groups) if pool else map(_leave_one, groups)
        for n, (g, vals) in enumerate(done, 1):
            for i, v in vals:
                pred[i] = v
            print(f"  {label} {n}/{len(groups)} {g}: {len(vals)} points", flush=True)
    finally:
        if pool is not None:
            pool.terminate()
        _LEAVE_OUT.clear()
    return pred


def _pct(x: float) -> str:
    return f"{x:.1f}%"


RATES = ("per_user_throughput", "output_throughput", "total_throughput", "request_throughput")


def time_error(p: Point, v: float) -> float:
    """Signed error on the time scale: + means the model is slower than measured (a rate's
    error is inverted)."""
    return (p.measured / v - 1.0) if p.metric in RATES else (v / p.measured - 1.0)


def _layout(p: Point) -> str:
    d = p.dep
    if d.pp > 1:
        return "pipeline parallel (pp > 1)"
    if d.dp > 1:
        return "data-parallel attention + EP"
    if d.ep > 1:
        return "tensor parallel + EP"
    return "tensor parallel only"


def _fmt(p: Point) -> str:
    from tokenworks.perf.deployment import is_weight_only as wo
    w = p.dep.weights_dtype
    if wo(p.dep):
        return "weight-only (INT4/INT8 AWQ-GPTQ, FP4/FP8 dequantised: W4A16/W8A16)"
    if w in ("bf16", "fp16"):
        return "16-bit"
    if w == "fp8":
        return "FP8 per-tensor"
    if w == "fp8_block":
        return "FP8 block-scaled"
    if w in ("nvfp4", "mxfp4", "fp4"):
        return "FP4 on FP4 tensor cores"
    return w


SLICES = (
    ("Models", lambda p: "MoE" if "moe" in p.tags else "dense"),
    ("Vendor", lambda p: {"nvidia": "NVIDIA", "amd": "AMD", "google": "Google"}.get(
        p.dep.accelerator.vendor.lower(), p.dep.accelerator.vendor)),
    ("Metric", lambda p: "latency rows (TTFT, TPOT/ITL, E2E, per-user speed)"
     if p.metric in ("ttft", "tpot", "itl", "e2e", "per_user_throughput") else
     "throughput rows"),
    ("Layout", _layout),
    ("Weight format", _fmt),
)


# The comparisons issue #12 names, and pipeline parallelism.
NAMED = (
    ("DeepSeek-R1/V3 on 8× H200", lambda p: p.model.name.startswith("deepseek")
     and p.gpu == "h200" and p.dep.num_gpus == 8),
    ("DeepSeek-R1/V3 on 8× B200", lambda p: p.model.name.startswith("deepseek")
     and p.gpu == "b200" and p.dep.num_gpus == 8),
    ("gpt-oss on 8× B200", lambda p: p.model.name.startswith("gpt-oss") and p.gpu == "b200"),
    ("gpt-oss on H100 (no 8× H200 rows)", lambda p: p.model.name.startswith("gpt-oss")
     and p.gpu == "h100-sxm"),
    ("Llama-4-Maverick on MI300X", lambda p: p.model.name == "llama-4-maverick"
     and p.gpu == "mi300x"),
)


def pp_check(points: list[Point], pred: np.ndarray) -> list[str]:
    """Pipeline parallelism against the one public source that runs the same model, engine
    and lengths at TP1, TP2, TP4 and PP2 (GPUStack perf lab, gpt-oss-120b on H100, vLLM).
    Its runs are finite offline batches (not a steady state), so the absolute numbers are not
    comparable; the ratios between layouts are."""
    sel = {}
    for i, p in enumerate(points):
        if (p.source.startswith("gpustack-perflab-gpt-oss-120b") and p.gpu == "h100-sxm"
                and p.engine == "vllm" and p.metric == "output_throughput"
                and p.concurrency is None and (p.isl, p.osl) == (215, 196)):
            sel[(p.dep.tp, p.dep.pp)] = (p.measured, pred[i])
    pairs = (((1, 2), (2, 1), "PP2 / TP2 (same 2 GPUs)"), ((1, 2), (1, 1), "PP2 / TP1"),
             ((2, 1), (1, 1), "TP2 / TP1"))
    L = ["", "### Pipeline parallelism (ratios between layouts)", "",
         "GPUStack perf lab, gpt-oss-120b on H100 with vLLM, 215/196 tokens, max load: the "
         "only public source with TP and PP runs of one setup (finite offline runs, so the "
         "ratios are compared, not the absolute rates).", "",
         "| ratio of output throughput | measured | predicted | error |",
         "|---|---:|---:|---:|"]
    for a, b, label in pairs:
        if a in sel and b in sel:
            m, q = sel[a][0] / sel[b][0], sel[a][1] / sel[b][1]
            L.append(f"| {label} | {m:.2f} | {q:.2f} | {(q / m - 1) * 100:+.0f}% |")
    return L if len(L) > 6 else []


def named_table(points: list[Point], tidx: list[int], pred: np.ndarray,
                loso: np.ndarray | None) -> list[str]:
    """The named comparisons: error over their rows and the lowest-concurrency TPOT row."""
    L = ["", "### Named comparisons", "",
         "| comparison | n | median |error| | bias | leave-one-source-out median | "
         "a TPOT row: measured → predicted |", "|---|---:|---:|---:|---:|---|"]
    for label, sel in NAMED:
        idx = [i for i in tidx if sel(points[i]) and np.isfinite(pred[i])]
        if not idx:
            L.append(f"| {label} | 0 | — | — | — | no public row in the data |")
            continue
        meas = np.array([points[i].measured for i in idx])
        e = np.abs(pred[idx] / meas - 1)
        bias = np.median([time_error(points[i], pred[i]) for i in idx])
        lso = "—"
        if loso is not None:
            v = loso[idx]
            k = np.isfinite(v)
            lso = _pct(float(np.median(np.abs(v[k] / meas[k] - 1))) * 100) if k.any() else "—"
        tp = sorted((i for i in idx if points[i].metric in ("tpot", "itl")),
                    key=lambda i: (points[i].concurrency or 10**9, points[i].row_id))
        ex = "—"
        if tp:
            p = points[tp[0]]
            ex = (f"{p.row_id} {p.engine_row} {p.dep.layout.replace(', pp=1', '')} "
                  f"{p.dep.weights_dtype} {p.isl}/{p.osl} c{p.concurrency}: "
                  f"{p.measured * 1e3:.1f} → {pred[tp[0]] * 1e3:.1f} ms")
        L.append(f"| {label} | {len(idx)} | {_pct(float(np.median(e)) * 100)} | "
                 f"{bias * 100:+.1f}% | {lso} | {ex} |")
    return L


def slice_tables(points: list[Point], tidx: list[int], pred: np.ndarray,
                 loso: np.ndarray | None, logo: np.ndarray | None) -> list[str]:
    """Fitted-set errors by model kind, vendor, metric, layout and weight format (medians of
    |error|; bias = median signed error on the time scale, + = the model is slower)."""
    L = ["", "### Slices of the fitted set", "",
         "Bias is the median signed error on the time scale (a rate's error inverted): "
         "positive means the model is slower than measured.", "",
         "| slice | value | n | in-sample median | bias | leave-one-source-out median | "
         "leave-one-GPU-out median |", "|---|---|---:|---:|---:|---:|---:|"]
    for title, key in SLICES:
        groups = defaultdict(list)
        for i in tidx:
            groups[key(points[i])].append(i)
        for val, idx in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            meas = np.array([points[i].measured for i in idx])
            ok = np.isfinite(pred[idx])
            if not ok.any():
                continue
            e_in = np.abs(pred[idx][ok] / meas[ok] - 1)
            bias = np.median([time_error(points[i], pred[i]) for i in idx
                              if np.isfinite(pred[i])])

            def other(arr, idx=idx, meas=meas):
                if arr is None:
                    return "—"
                v = arr[idx]
                k = np.isfinite(v)
                return _pct(float(np.median(np.abs(v[k] / meas[k] - 1))) * 100) if k.any() \
                    else "—"
            L.append(f"| {title} | {val} | {int(ok.sum())} | {_pct(float(np.median(e_in)) * 100)}"
                     f" | {bias * 100:+.1f}% | {other(loso)} | {other(logo)} |")
    return L


def render(cal: Calibration, f: Fit, x: np.ndarray, points: list[Point], train: list[Point],
           pred: np.ndarray, loso: np.ndarray | None, logo: np.ndarray | None,
           skipped: tuple, notes: list[str]) -> tuple[str, str]:
    """The docs/accuracy.md section and the per-row table (docs/accuracy_latency_rows.md)."""
    train_ids = {id(p) for p in train}
    tidx = [i for i, p in enumerate(points) if id(p) in train_ids]
    tp = [points[i] for i in tidx]
    L = ["## Step time and latency (issues #11, #12)", "",
         "Generated by `python benchmarks/calibrate.py --write` on "
         f"{dt.date.today().isoformat()}; every row with its error is in "
         "[accuracy_latency_rows.md](accuracy_latency_rows.md).", "",
         "The step time is a sum of physical terms (perf/step.py) whose kernel coefficients "
         "come from measured kernel timings (AIConfigurator 0.12.0 for H100/H200/B200/GB200/"
         "B300/GB300: GEMMs by format, attention, MLA, grouped MoE GEMMs with their routing "
         "imbalance, all-reduce and MoE all-to-all; vidur for A100; `data/calibration.toml` "
         "names each table's source). Only the engines' own overheads (on dense models, where "
         "the kernels are best measured), and the fractions of accelerators without kernel "
         "tables (GEMM, attention and MoE, each accelerator alone on its rows), are fitted on "
         "serving measurements — jointly on latency and throughput, "
         f"{len(tp)} points from {len({p.source for p in tp})} sources "
         "(`benchmarks/latency_data.py` says which rows are used and why others are not).", "",
         "| fitted | parameter | value |", "|---|---|---:|"]
    for (m, n), v in zip(f.names, x, strict=True):
        val = math.exp(v)
        shown = f"{val * 1e3:.3g} ms" if n.endswith("_s") else f"{val:.3f}"
        L.append(f"| {m} | {n} | {shown} |")
    L += ["", "### Error by target, fitted set (dense and MoE models, current engines)", "",
          "Median and mean |predicted / measured − 1|. Leave-one-source-out refits without "
          "the source and predicts it; leave-one-GPU-out refits without the accelerator, whose "
          "fitted fractions then fall back to the global (H100 kernel) values.", "",
          "| target | n | in-sample median | mean | leave-one-source-out median | "
          "leave-one-GPU-out median |", "|---|---:|---:|---:|---:|---:|"]
    L += target_rows(points, tidx, pred, loso, logo)
    for cls in ("dense", "moe"):
        idx = [i for i in tidx if cls in points[i].tags]
        L += ["", f"#### {'Dense' if cls == 'dense' else 'MoE'} models only", "",
              "| target | n | in-sample median | mean | leave-one-source-out median | "
              "leave-one-GPU-out median |", "|---|---:|---:|---:|---:|---:|"]
        L += target_rows(points, idx, pred, loso, logo)
    b1 = [i for i in tidx if points[i].kind == "tpot_batch1"]
    if b1:
        L += ["", "### Batch-1 TPOT by weight format (fitted set)", "",
              "| weights | points | distinct (model, GPU, TP, engine) | in-sample median | "
              "leave-one-source-out median |", "|---|---:|---:|---:|---:|"]
        for label, sel in (("16-bit and FP8", lambda p: p.dep.weights_dtype not in
                            ("int4", "int8")),
                           ("weight-only INT4/INT8 (AWQ, GPTQ)", lambda p: p.dep.weights_dtype
                            in ("int4", "int8"))):
            idx = [i for i in b1 if sel(points[i])]
            if not idx:
                continue
            keys = {(points[i].model.name, points[i].gpu, points[i].dep.tp, points[i].engine)
                    for i in idx}
            e_in = np.median(np.abs(pred[idx] / np.array([points[i].measured for i in idx]) - 1))
            lso_txt = "—"
            if loso is not None:
                e_lo = np.abs(loso[idx] / np.array([points[i].measured for i in idx]) - 1)
                lso_txt = _pct(float(np.nanmedian(e_lo)) * 100)
            L.append(f"| {label} | {len(idx)} | {len(keys)} | {_pct(float(e_in) * 100)} | "
                     f"{lso_txt} |")
    L += slice_tables(points, tidx, pred, loso, logo)
    L += named_table(points, tidx, pred, loso)
    L += pp_check(points, pred)
    L += ["", "### By accelerator and engine, fitted set", "",
          "| accelerator | engine | n | median | mean |", "|---|---|---:|---:|---:|"]
    groups = defaultdict(list)
    for i in tidx:
        groups[(points[i].gpu, points[i].engine)].append(i)
    for (g, e), idx in sorted(groups.items()):
        r = err_table([points[i] for i in idx], pred[idx]).get("all")
        if r:
            L.append(f"| {g} | {e} | {r[0]} | {_pct(r[1])} | {_pct(r[2])} |")
    L += ["", "### Points outside the fit (reported, not fitted)", "",
          "| set | n | median | mean |", "|---|---:|---:|---:|"]
    sets = defaultdict(list)
    for i, p in enumerate(points):
        sets[set_of(p, train_ids)].append(i)
    for key, label in SETS[1:]:
        idx = sets.get(key)
        if not idx:
            continue
        r = err_table([points[i] for i in idx], pred[idx]).get("all")
        if r:
            L.append(f"| {label} | {r[0]} | {_pct(r[1])} | {_pct(r[2])} |")
    reasons = defaultdict(int)
    for _, why in skipped:
        reasons[why] += 1
    L += ["", f"Rows not predicted ({len(skipped)}): " + "; ".join(
        f"{why} ({n})" for why, n in sorted(reasons.items(), key=lambda kv: -kv[1])) + "."]
    if notes:
        L += ["", "Notes: " + " ".join(notes)]
    rows = ["# Step-time model: every measured point and its prediction", "",
            "Generated by `python benchmarks/calibrate.py --write`. Set: the report set "
            "(docs/accuracy.md). Values in SI units (s, tokens/s, requests/s).", "",
            "| row | source | set | engine | model | dtype | GPU | TP | ISL/OSL | conc. | metric "
            "| measured | predicted | error |", "|---|---|---|---|---|---|---|---:|---|---:|---|"
            "---:|---:|---:|"]
    for i, p in sorted(enumerate(points), key=lambda t: (set_of(t[1], train_ids) != "fit",
                                                         t[1].kind, t[1].source, t[1].row_id)):
        v = pred[i]
        err = f"{(v / p.measured - 1) * 100:+.1f}%" if np.isfinite(v) else "n/a"
        rows.append(f"| {p.row_id} | {p.source} | {set_of(p, train_ids)} | {p.engine_row} | "
                    f"{p.model.name} | {p.dep.weights_dtype} | {p.gpu} | {p.dep.tp} | "
                    f"{p.isl}/{p.osl} | {p.concurrency or 'offline'} | {p.metric} | "
                    f"{p.measured:.4g} | {v:.4g} | {err} |")
    return "\n".join(L) + "\n", "\n".join(rows) + "\n"


BEGIN = "<!-- BEGIN step-time section: generated by benchmarks/calibrate.py -->"
END = "<!-- END step-time section -->"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="update calibration.toml and docs")
    ap.add_argument("--quick", action="store_true", help="skip leave-one-out refits")
    args = ap.parse_args()
    overrides, notes = kernel_overrides()
    base = Calibration(overrides=tuple(overrides), source="see [[override]] sources")
    points, skipped = load_points()
    points = list(points)
    train = fit_targets(points)
    engines = [e for e in ENGINES if any(p.engine == e for p in train)]
    devices = device_names(train, overrides)
    print(f"{len(points)} points ({len(train)} fitted); engines {engines}; "
          f"devices fitted {devices}; {len(skipped)} rows skipped")
    cal, x, f = fit(train, base, engines, devices)
    for (m, n), v in zip(f.names, x, strict=True):
        print(f"  {m:28s} {n:24s} {math.exp(v):.4g}")
    pred = np.array([predict(p, cal) for p in points])
    train_ids = {id(p) for p in train}
    tidx = [i for i, p in enumerate(points) if id(p) in train_ids]
    for k, (n, med, mean) in err_table(train, pred[tidx]).items():
        print(f"  fitted set {k:20s} n={n:4d} median {med:5.1f}%  mean {mean:5.1f}%")
    loso = logo = None
    if not args.quick:
        full = np.full(len(points), np.nan)
        lp = leave_out(train, base, engines, devices, key=lambda p: p.source, label="source")
        for j, i in enumerate(tidx):
            full[i] = lp[j]
        loso = full
        full = np.full(len(points), np.nan)
        lg = leave_out(train, base, engines, devices, key=lambda p: p.gpu, label="gpu")
        for j, i in enumerate(tidx):
            full[i] = lg[j]
        logo = full
    # Machines without HBM: two coefficients per vendor on their own published numbers.
    cal = replace(cal, overrides=(*cal.overrides, *vendor_overrides(cal)))
    if args.write:
        today = dt.date.today().isoformat()
        ins = err_table(train, pred[tidx])["all"]
        stamped = replace(cal, source="global values: H100 kernel coefficients (AIConfigurator "
                          "0.12.0); overrides name their sources", fit_date=today,
                          fit_error=f"fitted set median |error| {ins[1]:.1f}% over {ins[0]} "
                          "serving points; see docs/accuracy.md")
        OUT.write_text(calibration_to_toml(stamped, header=(
            "tokenworks step-time calibration, written by benchmarks/calibrate.py --write.\n"
            "Kernel coefficients per accelerator from measured kernel databases; engine "
            "overheads fitted on\npublic serving measurements; accuracy in docs/accuracy.md.")))
        section, rows = render(cal, f, x, points, train, pred, loso, logo, skipped, notes)
        write_section(ACCURACY, BEGIN, END, section)
        (ROOT / "docs" / "accuracy_latency_rows.md").write_text(rows)
        print(f"wrote {OUT}, {ACCURACY} and docs/accuracy_latency_rows.md")
    for n in notes:
        print("note:", n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
