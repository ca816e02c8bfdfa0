"""Measured serving latency and throughput as prediction points for the step-time model.

Reads the repository's transcribed public measurements (``benchmarks/data/latency_public.csv``,
``benchmarks/data/moe_vendor_public.csv``; every row cites its source), TensorRT-LLM's
perf-overview tables and the MLPerf Inference v4.1/v5.1 Offline results of AMD's vLLM harness
from ``../shared/validation`` (never copied), keeps the rows tokenworks can
model (a catalog model and accelerator, a known engine, stated lengths or lengths recoverable
from the row's notes, a closed-loop concurrency or an offline max-load run, no speculative
decoding) and predicts each with the analytic steady state (``perf.steady.steady_state``), the
same function ``tokenworks estimate`` uses:

* ``batch1`` / ``concurrency`` / ``curve_point`` rows: ``B`` = the client concurrency (capped by
  the engine's limits and the KV cache); TTFT, TPOT/ITL, E2E, per-user and system throughput
  (Little's law with the front end, as a benchmark client sees it);
* ``offline`` rows (all requests queued at once): ``B`` = the largest batch the engine holds;
  throughput and TPOT only (an offline TTFT is queueing);
* ``rate`` rows (Poisson) need the simulator: ``benchmarks/validate_serving_runs.py``.

Run ``python benchmarks/latency_data.py`` for a summary of what loads and what is skipped.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tokenworks.errors import TokenworksError
from tokenworks.hardware import get_accelerator
from tokenworks.model.arch import ModelArch
from tokenworks.model.catalog import get_model
from tokenworks.model.flops import active_linear_params
from tokenworks.perf import (
    Calibration,
    Deployment,
    StepCostModel,
    causal_pairs,
    make_deployment,
    plan_memory,
)
from tokenworks.perf.engine import engine_defaults
from tokenworks.perf.shape import sharded_shape
from tokenworks.perf.steady import steady_state

ROOT = Path(__file__).resolve().parents[1]
VAL = ROOT.parent / "shared" / "validation"
LATENCY_CSV = ROOT / "benchmarks" / "data" / "latency_public.csv"
VENDOR_CSV = ROOT / "benchmarks" / "data" / "moe_vendor_public.csv"
TRT_CSV = VAL / "measured" / "trtllm_perf_overview_v014_v020.csv"
MLPERF_CSV = VAL / "measured" / "mlperf_v4_v5.csv"

# Engines as the rows name them -> the tokenworks engine profile that predicts them.
# ASSUMPTION: NVIDIA NIM for LLMs runs TensorRT-LLM for these models (NIM docs), vLLM on TPU
# is vLLM; LMDeploy's TurboMind (a C++ runtime without Python scheduling, like TensorRT-LLM)
# is predicted with the trtllm profile and kept out of the fit (validation only).
ENGINE_MAP = {"vllm": "vllm", "vllm-tpu": "vllm", "sglang": "sglang", "trtllm": "trtllm",
              "lmdeploy": "trtllm"}
VALIDATION_ONLY_ENGINES = ("lmdeploy",)
HARDWARE_PREFIX = {"a100-80g (sxm/pcie not stated)": "a100-80g-sxm",
                   "h100 (form factor not stated)": "h100-sxm"}
# Sources transcribed twice (the same runs in both files); the first copy is kept.
DUPLICATE_SOURCES = {"gpustack-perflab-qwen3-8b-h100-latency": "gpustack-perf-lab-qwen3-8b-h100-latency",
                     "vllm-blog-2026-04-22-fp8kv": "vllm-blog-fp8-kvcache-2026"}
# Offline runs whose lengths are drawn from a dataset (ShareGPT...) over a finite number of
# prompts: the run's average includes the ramp-down tail and long-prompt stragglers, which a
# steady state does not see; they are predicted and reported but not fitted.
FIXED_LENGTH_DATASETS = ("random", "synthetic", "fixed")
MODEL_ALIASES = {"qwq-32b": "qwen2.5-32b", "meta-llama/llama-2-7b": "llama-2-7b",
                 "qwen/qwen3-14b": "qwen3-14b"}
# Weights column -> (weights dtype, kv dtype when the row gives none).
DTYPES = (("int4", "int4"), ("int8", "int8"), ("awq", "int4"), ("gptq", "int4"),
          ("nvfp4", "nvfp4"), ("mxfp4", "mxfp4"), ("fp4", "nvfp4"), ("fp8", "fp8"),
          ("fp16", "fp16"), ("bf16", "bf16"))
METRICS = ("ttft", "tpot", "itl", "e2e", "per_user_throughput", "output_throughput",
           "total_throughput", "request_throughput")


@dataclass(frozen=True, slots=True)
class Point:
    """One measured number with everything its prediction needs but the calibration."""

    source: str
    row_id: str
    engine_row: str  # as the source names it
    engine: str  # the tokenworks profile
    model: ModelArch
    dep: Deployment
    isl: int
    osl: int
    concurrency: int | None  # None: offline max load
    metric: str
    measured: float  # SI: s, tokens/s, requests/s
    per_gpu: bool  # a throughput divided by the GPUs of the group
    num_gpus: int
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None
    frontend: bool = True  # served over HTTP (a benchmark client); False: offline API call
    tags: tuple[str, ...] = field(default=())
    gpu_memory_utilization: float | None = None  # None: the engine's default

    @property
    def gpu(self) -> str:
        return self.dep.accelerator.name

    @property
    def label(self) -> str:
        c = "offline" if self.concurrency is None else f"c{self.concurrency}"
        return (f"{self.source} {self.engine_row} {self.model.name} {self.dep.weights_dtype} "
                f"{self.gpu} tp{self.dep.tp} {self.isl}/{self.osl} {c} {self.metric}")

    @property
    def kind(self) -> str:
        """The target the row belongs to: batch-1 TPOT, moderate-load TPOT, low-load TTFT..."""
        c = self.concurrency
        if self.metric in ("tpot", "itl", "per_user_throughput"):
            if c == 1:
                return "tpot_batch1"
            if c is not None and c <= 64:
                return "tpot_moderate"
            return "tpot_high"
        if self.metric == "ttft":
            return "ttft_low" if c is not None and c <= 8 else "ttft_loaded"
        if self.metric == "e2e":
            return "e2e"
        return "throughput_offline" if c is None else "throughput_loaded"


def _num(s: str) -> float | None:
    try:
        v = float(s)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _model(row: dict) -> ModelArch | None:
    for name in (row.get("model", ""), row.get("hf_model_id", "")):
        key = name.strip().lower()
        key = MODEL_ALIASES.get(key, key)
        if not key:
            continue
        for cand in (key, key.split("/")[-1].replace("-instruct", "")):
            try:
                return get_model(cand)
            except TokenworksError:
                continue
    return None


def _hardware(name: str) -> str | None:
    key = name.strip().lower()
    key = HARDWARE_PREFIX.get(key, key)
    try:
        return get_accelerator(key).name
    except TokenworksError:
        return None


# ASSUMPTION: the FP8 checkpoints of these families are 128×128 block-scaled (DeepSeek-V3's
# recipe; Qwen3-*-FP8, GLM-4.5-FP8, Kimi-K2 and MiniMax follow it), so a row's "fp8" runs the
# block-scaled kernels; other FP8 checkpoints (ModelOpt, Llama, Mixtral) are per-tensor.
BLOCK_FP8_FAMILIES = ("deepseek", "qwen3", "qwq", "glm", "kimi", "minimax")


def _dtype(text: str, model: ModelArch, hf_id: str = "") -> str | None:
    t = text.strip().lower()
    out = None
    if not t:
        # ASSUMPTION: a row that does not state the weights ran the checkpoint it names: an
        # -FP8 / -NVFP4 / -AWQ repository in that format, a natively quantised model (gpt-oss
        # MXFP4 experts, DeepSeek-V3/R1 FP8) in its own format, any other in bf16 (the dtype
        # of the catalog's checkpoints); the sources say "unquantized checkpoint, bf16
        # inferred".
        h = hf_id.lower()
        if hf_id or not text:
            native = model.native_expert_dtype or model.native_linear_dtype or "bf16"
            out = next((dt for needle, dt in DTYPES if needle in h), native)
    else:
        out = next((dt for needle, dt in DTYPES if needle in t), None)
    if out == "fp8" and model.name.startswith(BLOCK_FP8_FAMILIES):
        out = "fp8_block"
    return out


# A run over a length distribution whose printed totals give the actual mean lengths (SGLang's
# "random" dataset draws lengths below the nominal ones): those means are what ran.
_ACTUAL = re.compile(r"actual mean tokens/request in/out = (\d+)/(\d+)")
_LENGTHS = (
    re.compile(r"mean (\d+) in / (\d+) out"),
    re.compile(r"totals in=(\d+) out=(\d+) tokens over (\d+) requests"),
)
_FLAG_TOKENS = re.compile(r"max-num-batched-tokens[ =](\d+)")
_FLAG_SEQS = re.compile(r"max-num-seqs[ =](\d+)")


def _lengths(row: dict) -> tuple[int, int] | None:
    m = _ACTUAL.search(row.get("notes", ""))
    if m:
        return int(m.group(1)), int(m.group(2))
    isl, osl = _num(row["input_tokens"]), _num(row["output_tokens"])
    if isl and osl:
        return int(isl), int(osl)
    text = f"{row.get('dataset', '')} {row.get('notes', '')}"
    m = _LENGTHS[0].search(text)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = _LENGTHS[1].search(text)
    if m:
        n = int(m.group(3))
        return round(int(m.group(1)) / n), round(int(m.group(2)) / n)
    return None


# The engine profiles describe engines from these versions on (vLLM V1-era scheduling and
# CUDA graphs, SGLang's overlap scheduler, TensorRT-LLM's in-flight batching with paged KV and
# XQA); older rows are predicted and reported, not fitted.
MODERN = {"vllm": (0, 6), "sglang": (0, 3), "trtllm": (0, 10)}


def _legacy(engine: str, version: str) -> bool:
    m = re.search(r"(\d+)\.(\d+)", version or "")
    floor = MODERN.get(engine)
    if m is None or floor is None:
        return False
    return (int(m.group(1)), int(m.group(2))) < floor


def _value(row: dict) -> tuple[float, bool] | None:
    """The row's value in SI units and whether it is per GPU."""
    v = _num(row["value"])
    if v is None or v <= 0:
        return None
    unit = row["unit"].strip().lower()
    notes = row.get("notes", "").lower()
    if unit == "ms":
        return v / 1e3, False
    if unit == "s":
        return v, False
    if unit in ("tok/s", "tok/s/user", "req/s"):
        return v, "per gpu" in notes
    if unit == "tok/s/gpu":
        return v, True
    return None


def _stat_ok(row: dict) -> bool:
    return row["statistic"] in ("mean", "median", "value")


def load_rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@cache
def load_points() -> tuple[tuple[Point, ...], tuple[tuple[str, str], ...]]:
    """All predictable points and (row_id, reason) for each skipped row."""
    points: list[Point] = []
    skipped: list[tuple[str, str]] = []
    rows = load_rows(LATENCY_CSV) + load_rows(VENDOR_CSV)
    # One statistic per (run, metric): the mean, else the median, else the bare value; for TTFT
    # and E2E the median first: their means carry the run's start-up (every client's first
    # request arriving at once, a slow first request: 3.7 s mean vs 54 ms median TTFT in the
    # SGLang Ministral-3 run), which a steady state does not have.
    rank = {"mean": 0, "median": 1, "value": 2}
    rank_latency = {"median": 0, "mean": 1, "value": 2}
    best: dict[tuple, dict] = {}
    for r in rows:
        if not _stat_ok(r) or r["source_id"] in DUPLICATE_SOURCES:
            continue
        key = tuple(r[k] for k in ("source_id", "engine", "model", "hf_model_id", "hardware",
                                   "tp", "pp", "ep", "dp", "weights_dtype", "kv_dtype",
                                   "input_tokens", "output_tokens", "concurrency",
                                   "request_rate_per_s", "dataset", "scenario", "spec_decode",
                                   "metric", "notes"))
        rk = rank_latency if r["metric"] in ("ttft", "e2e") else rank
        if key not in best or rk[r["statistic"]] < rk[best[key]["statistic"]]:
            best[key] = r
    for r in best.values():
        p = _point(r)
        if isinstance(p, str):
            skipped.append((r["row_id"], p))
        else:
            points.append(p)
    # A run with one impossible number (below the physical floor) has its setup misreported:
    # all its rows are kept out of the fit.
    for tag in ("below_floor", "warmup"):
        bad = {_run(p) for p in points if tag in p.tags}
        points = [p if _run(p) not in bad or tag in p.tags else
                  Point(**{**{f: getattr(p, f) for f in p.__dataclass_fields__},
                           "tags": (*p.tags, tag)}) for p in points]
    trt, trt_skipped = _trt_points()
    points += trt
    skipped += trt_skipped
    mlp, mlp_skipped = _mlperf_points()
    points += mlp
    skipped += mlp_skipped
    return tuple(points), tuple(skipped)


def _run(p: Point) -> tuple:
    return (p.source, p.engine_row, p.model.name, p.gpu, p.dep.tp, p.dep.weights_dtype, p.isl,
            p.osl, p.concurrency)


def _point(r: dict) -> Point | str:
    metric = r["metric"]
    if metric not in METRICS:
        return f"metric {metric} not predicted"
    if r["spec_decode"] not in ("", "none"):
        return "speculative decoding (benchmarks/spec_decode.py: acceptance not stated here)"
    engine = ENGINE_MAP.get(r["engine"])
    if engine is None and r["engine"] == "other" and "NIM" in r["notes"] + r["engine_version"]:
        engine = "trtllm"
    if engine is None:
        return f"engine {r['engine']} has no profile"
    model = _model(r)
    if model is None:
        return "model not in the catalog"
    hw = _hardware(r["hardware"])
    if hw is None:
        return "accelerator not in the catalog"
    w = _dtype(r["weights_dtype"], model, r.get("hf_model_id", "") or r.get("model", ""))
    if w is None:
        return "weights dtype not stated"
    kv = _dtype(r["kv_dtype"], model) or ("fp8" if engine == "trtllm" and w in
                                          ("fp8", "nvfp4", "mxfp4") else "bf16")
    lengths = _lengths(r)
    if lengths is None:
        return "lengths not stated"
    scen = r["scenario"]
    conc: int | None
    # vLLM benchmark_latency.py: one static batch of ``concurrency`` prompts, prefilled
    # together, then decoded to the end (no server, no arrivals): its E2E is predicted as such.
    static = "benchmark_latency" in r.get("notes", "")
    if static and metric != "e2e":
        return "static-batch rate (its batch's E2E row is predicted)"
    if static or scen in ("batch1", "concurrency", "curve_point"):
        c = _num(r["concurrency"]) or (1.0 if scen == "batch1" else None)
        if not c:
            return "concurrency not stated"
        conc = int(c)
    elif scen == "offline":
        conc = None
        if metric in ("ttft", "e2e"):
            return "offline TTFT/E2E is queueing"
    else:
        return f"scenario {scen} needs the simulator"
    val = _value(r)
    if val is None:
        return f"unit {r['unit']} not predicted"
    tp = int(_num(r["tp"]) or 1)
    pp = int(_num(r["pp"]) or 1)
    dp = int(_num(r["dp"]) or 1)
    # InferenceX's flag: attention data-parallel over the tp ranks of each group (TensorRT-LLM
    # enable_attention_dp, SGLang --enable-dp-attention), experts over the same ranks; the
    # row's GPU count holds every group of the run.
    dp_flag = not _num(r["dp"]) and "DP-attention=True" in r.get("notes", "")
    if dp_flag:
        dp = tp
    ep_text = r["ep"].strip().lower()
    # "yes": vLLM --enable-expert-parallel, EP over tp × dp
    ep = tp * dp if ep_text.startswith("yes") else int(_num(r["ep"]) or 1)
    if dp > 1 and not model.is_moe:
        dp = 1  # data-parallel replicas of a dense model: the rows are per-replica rates
    given = int(_num(r["num_gpus"]) or 0)
    if dp > 1 and tp % dp == 0 and (dp_flag or given == tp or (
            not given and engine in ("sglang", "trtllm"))):
        # SGLang (--tp 8 --dp 8 --enable-dp-attention) and TensorRT-LLM (tp_size 8 with
        # attention DP) count every GPU in tp: attention runs tp / dp wide on dp ranks.
        tp //= dp
    if dp > 1:
        ep = tp * dp
    try:
        dep = make_deployment(model, hw, tp=tp, pp=pp, ep=ep if model.is_moe else 1, dp=dp,
                              weights_dtype=w, kv_dtype=kv)
    except TokenworksError as e:
        return f"deployment invalid: {e}"
    num_gpus = int(_num(r["num_gpus"]) or dep.num_gpus)
    notes = r.get("notes", "")
    mt = _FLAG_TOKENS.search(notes)
    ms = _FLAG_SEQS.search(notes)
    # An offline LLM.generate call (no HTTP front end): the Qwen speed benchmark. vLLM's
    # benchmark_latency static batches keep the per-call time: fitted without it, the three
    # vLLM CI latency tests (static batch 8, 32/128 tokens) alone raised vLLM's per-sequence
    # time from 0 to 75 us to explain ~50 ms per call of input and output processing.
    frontend = r["source_id"] != "qwen25-speed-benchmark-vllm"
    tags = (f"engine:{engine}", f"gpu:{hw}", "moe" if model.is_moe else "dense",
            f"source:{r['source_id']}") + (("static_batch",) if static else ())
    if conc is None:
        # Offline runs of N prompts all queued at once (vllm bench serve --request-rate inf,
        # sglang bench_serving): admission waves, ramp-down and length spread, not a steady
        # state; trtllm-bench's perf-overview tables are long enough to be one.
        tags += ("finite_run",)
    if _legacy(r["engine"], r["engine_version"]):
        tags += ("legacy_engine",)
    if metric in ("tpot", "itl") and not model.is_moe:
        # A decode step streams the dense weights at least once: below that time at the full
        # datasheet bandwidth the row's dtype or setup must be misreported (or speculative).
        sh = sharded_shape(model, dep)
        floor = sh.dense_params_per_gpu * sh.weight_bytes_per_param / \
            dep.accelerator.memory_bytes_per_s
        if val[0] < 0.9 * floor:
            tags += ("below_floor",)
    if metric == "ttft" and conc == 1:
        # One request on an idle server: its prompt's FLOPs at a tenth of the datasheet's
        # peak, ten times over, plus a second of front end, is a ceiling no warmed-up engine
        # misses; above it the run timed a warm-up (graph capture, JIT compilation) and all
        # its rows are kept out of the fit.
        # ASSUMPTION: the ceiling (10 x the prompt at 10% of peak + 1 s) is a loose
        # plausibility bound, not a model; it sets apart only runs timed hundreds of times
        # slower than physics allows (two SGLang cookbook runs on MI300X, 4.2 s for 610
        # tokens).
        peak = max(v for _, v in dep.accelerator.peak_flops_per_s)
        ceiling = 1.0 + 10 * 2 * active_linear_params(model) * lengths[0] / dep.num_gpus / \
            (0.1 * peak)
        if val[0] > ceiling:
            tags += ("warmup",)
    return Point(source=r["source_id"], row_id=r["row_id"], engine_row=r["engine"], engine=engine,
                 model=model, dep=dep, isl=lengths[0], osl=lengths[1], concurrency=conc,
                 metric=metric, measured=val[0], per_gpu=val[1], num_gpus=num_gpus,
                 max_num_seqs=int(ms.group(1)) if ms else None,
                 max_num_batched_tokens=int(mt.group(1)) if mt else None,
                 frontend=frontend, tags=tags)


# TensorRT-LLM perf-overview tables (throughput at offline max load, trtllm-bench).
TRT_MODELS = {"Llama-3.1-70B": "llama-3.1-70b", "Llama-3.3-70B": "llama-3.3-70b",
              "Llama-3.1-8B": "llama-3.1-8b", "Mistral-7B": "mistral-7b",
              "Mixtral-8x7B": "mixtral-8x7b", "Mixtral-8x22B": "mixtral-8x22b",
              "Llama-3.1-405B": "llama-3.1-405b", "Llama-4-Maverick": "llama-4-maverick"}
TRT_GPUS = {"H100-SXM-80GB": "h100-sxm", "H200-SXM-141GB": "h200",
            "A100-SXM4-80GB": "a100-80g-sxm", "L40S-48GB": "l40s",
            "B200-180GB (DGX B200)": "b200"}
TRT_PRECISION = {"FP16": ("fp16", "fp16"), "FP8": ("fp8", "fp8"), "FP4": ("nvfp4", "fp8")}
# ASSUMPTION: trtllm-bench runs with max_batch_size 2048, max_num_tokens 8192 and
# kv_cache_free_gpu_mem_fraction 0.95 (the CSV's note), 64-token KV blocks.
TRT_KV_FRAC = 0.95


def _trt_points() -> tuple[list[Point], list[tuple[str, str]]]:
    if not TRT_CSV.exists():
        return [], [("trtllm-perf-overview", f"{TRT_CSV} not found")]
    points, skipped = [], []
    for i, r in enumerate(load_rows(TRT_CSV)):
        rid = f"T{i:04d}"
        name, gpu = TRT_MODELS.get(r["model"]), TRT_GPUS.get(r["gpu"])
        if name is None or gpu is None:
            skipped.append((rid, "model or accelerator not in the catalog"))
            continue
        w, kv = TRT_PRECISION[r["precision"]]
        m = get_model(name)
        try:
            dep = make_deployment(m, gpu, tp=int(r["tp"]), pp=int(r["pp"] or 1),
                                  weights_dtype=w, kv_dtype=kv)
        except TokenworksError as e:
            skipped.append((rid, f"deployment invalid: {e}"))
            continue
        points.append(Point(
            source=f"trtllm-perf-overview-{r['engine_version']}", row_id=rid, engine_row="trtllm",
            engine="trtllm", model=m, dep=dep, isl=int(r["isl"]), osl=int(r["osl"]),
            concurrency=None, metric="output_throughput", measured=float(r["value"]),
            per_gpu=False, num_gpus=int(r["num_gpus"]), frontend=False,
            tags=("engine:trtllm", f"gpu:{gpu}", "moe" if m.is_moe else "dense",
                  f"source:trtllm-perf-overview-{r['engine_version']}")))
    return points, skipped


# MLPerf Inference Offline results of AMD's vLLM harness (closed division; AMD and the partners
# that ran it): the only measurements of AMD parts in the compute-bound, max-load regime.
MLPERF_GPUS = {"MI300X": "mi300x", "MI325X": "mi325x"}
# AMD's harness settings per (round, benchmark, part) — mlcommons/inference_results_v5.1
# @965182b0 closed/AMD/code/{llama2-70b-99,mixtral-8x7b}/harness_llm/models/*/offline_mi3{00,25}x.yaml
# (tensor_parallel_size 1, device_count 8: eight TP1 instances; kv_cache_dtype fp8 from
# harness_llm/common/config.yaml; Quark FP8 w_fp8_a_fp8 weights) and inference_results_v4.1
# @198fc467 closed/AMD/code/llama2-70b-99/test_VllmFp8 (TP1, DP8, gpu-memory-utilization 0.99,
# harness defaults max_num_seqs 2048, max_num_batched_tokens 65536). Partners ran the same
# files (a few changed the token budget to 65,000 or memory to 0.97).
# ASSUMPTION: the MI300X results used offline_mi300x.yaml (the READMEs run the MI325X file and
# say to change --config-name for other parts); the partners' small changes are ignored.
MLPERF_SETTINGS = {  # (round, benchmark, part): (max_num_seqs, max_num_batched_tokens, mem)
    ("v4.1", "llama2-70b-99", "mi300x"): (2048, 65536, 0.99),
    ("v5.1", "llama2-70b-99", "mi300x"): (1792, 40960, 0.98),
    ("v5.1", "llama2-70b-99", "mi325x"): (2700, 65536, 0.98),
    ("v5.1", "mixtral-8x7b", "mi300x"): (5000, 51200, 0.97),
    ("v5.1", "mixtral-8x7b", "mi325x"): (4736, 51200, 0.96),
}
# Mean input lengths of the datasets: Llama-2-70B on OpenOrca 222.3 tokens (the official
# 24,576-sample pickle; benchmarks/validate_mlperf_server.py); Mixtral-8x7B 427.4 tokens over
# the 15,000 samples of 09292024_mixtral_15k_mintoken2_v1.pkl (tok_input_len, as tabulated in
# github:openshift-psap/performance-dashboard mlperf-data/summaries/mixtral-8x7b.csv @67033ba,
# not an MLCommons document). Output lengths are each run's own: tokens/s / samples/s.
MLPERF_MODELS = {"llama2-70b-99": ("llama-2-70b", 222), "mixtral-8x7b": ("mixtral-8x7b", 427)}


def _mlperf_points() -> tuple[list[Point], list[tuple[str, str]]]:
    if not MLPERF_CSV.exists():
        return [], [("mlperf", f"{MLPERF_CSV} not found")]
    points, skipped = [], []
    for i, r in enumerate(load_rows(MLPERF_CSV)):
        rid = f"M{i:04d}"
        if (r["division"] != "closed" or r["scenario"] != "Offline" or r["result_valid"] != "VALID"
                or "AMD" not in r["accelerator"]):
            continue
        gpu = next((g for k, g in MLPERF_GPUS.items() if k in r["accelerator"]), None)
        spec = MLPERF_MODELS.get(r["model"])
        if gpu is None or spec is None or not r["software"].startswith("vLLM"):
            skipped.append((rid, "MLPerf: not an AMD vLLM Offline row of a modelled benchmark"))
            continue
        name, isl = spec
        cfg = MLPERF_SETTINGS.get((r["version"], r["model"], gpu))
        sps = _num(r["samples_per_s"]) or _num(r["samples_per_s_offline"])
        if cfg is None or not sps:
            skipped.append((rid, "MLPerf: harness settings or samples/s not known"))
            continue
        osl = round(float(r["result"]) / sps)
        m = get_model(name)
        w = "fp8" if r["weight_data_types"] in ("fp8", "") else r["weight_data_types"]
        try:
            dep = make_deployment(m, gpu, tp=1, weights_dtype=w, kv_dtype="fp8")
        except TokenworksError as e:
            skipped.append((rid, f"deployment invalid: {e}"))
            continue
        # One source per round: the submitters ran AMD's harness with its settings, so their
        # results are replicates of one setup, not independent evidence.
        source = f"mlperf-{r['version']}-offline"
        version = re.search(r"vLLM (\d+\.\d+)", r["software"])
        tags = ("engine:vllm", f"gpu:{gpu}", "moe" if m.is_moe else "dense",
                f"source:{source}", "mlperf")
        if version and _legacy("vllm", version.group(1)):
            tags += ("legacy_engine",)
        points.append(Point(
            source=source, row_id=rid, engine_row="vllm", engine="vllm", model=m, dep=dep,
            isl=isl, osl=osl, concurrency=None, metric="output_throughput",
            measured=float(r["result"]), per_gpu=False, num_gpus=int(r["accelerators_total"]),
            max_num_seqs=cfg[0], max_num_batched_tokens=cfg[1], gpu_memory_utilization=cfg[2],
            frontend=False, tags=tags))
    return points, skipped


# ------------------------------------------------------------------------------ prediction

def _batch(p: Point, cost: StepCostModel) -> tuple[int, int] | None:
    """(batch, token budget) the engine runs the point at; None when nothing fits."""
    ed = engine_defaults(p.engine, p.dep.accelerator)
    seqs = p.max_num_seqs or ed.max_num_seqs
    tokens = p.max_num_batched_tokens or ed.max_num_batched_tokens
    tokens = max(tokens, min(seqs, 8192))
    util = TRT_KV_FRAC if p.source.startswith("trtllm-perf-overview") else \
        p.gpu_memory_utilization or ed.gpu_memory_utilization_frac
    try:
        plan = _plan(p.model, p.dep, util, ed.block_size_tokens, p.isl + p.osl, tokens, seqs)
    except TokenworksError:
        return None
    cap = min(plan, seqs)
    if p.concurrency is None:
        new = p.isl
        cap = min(cap, max(1, math.floor(tokens * p.osl / (p.osl + new))))
        return (cap, tokens) if cap >= 1 else None
    return (max(1, min(p.concurrency, cap)), tokens) if cap >= 1 else None


def _static_e2e(cost: StepCostModel, b: int, isl: int, osl: int, budget: int) -> float:
    """A static batch (vLLM benchmark_latency): ``b`` prompts prefilled in steps of up to the
    token budget, then ``osl − 1`` decode steps of all ``b`` at their mean context."""
    total = b * isl
    n = max(math.ceil(total / max(budget, 1)), 1)
    chunk = total / n
    t = n * float(cost.step_time_s(num_prefill_tokens=chunk,
                                   prefill_attention_pairs=chunk * causal_pairs(isl, 0) / isl,
                                   prefill_kv_tokens=chunk))
    return t + (osl - 1) * float(cost.step_time_s(num_decode_seqs=b,
                                                  decode_kv_tokens=b * (isl + osl / 2.0)))


@cache
def _plan(model, dep, util, block, seq, tokens, seqs) -> int:
    return plan_memory(model, dep, gpu_memory_utilization_frac=util, kv_block_size_tokens=block,
                       max_seq_len_tokens=seq, max_num_batched_tokens=tokens,
                       max_num_seqs=seqs).max_concurrent_sequences


def predict(p: Point, cal: Calibration) -> float:
    """The model's value of ``p``'s metric (SI units); NaN when the deployment cannot run it."""
    cost = StepCostModel(p.model, p.dep, cal, engine=p.engine)
    bt = _batch(p, cost)
    if bt is None:
        return float("nan")
    b, tokens = bt
    if "static_batch" in p.tags:
        front = cost.calibration.frontend_s if p.frontend else 0.0
        return front + _static_e2e(cost, b, p.isl, p.osl, tokens)
    ss = steady_state(cost, batch=b, input_tokens=p.isl, output_tokens=p.osl,
                      max_num_batched_tokens=tokens, frontend=p.frontend)
    m = p.metric
    if m == "ttft":
        return ss.ttft_s
    if m in ("tpot", "itl"):
        return ss.step_time_s
    if m == "e2e":
        return ss.e2e_s
    if m == "per_user_throughput":
        if not p.frontend:  # generated tokens / wall time of the call, prefill included
            return p.osl / (ss.engine_ttft_s + (p.osl - 1) * ss.step_time_s)
        return 1.0 / ss.step_time_s
    # System throughput: offline = the engine's capacity; closed loop = Little's law on the
    # client's requests (front end included).
    cycle = ss.e2e_s if (p.concurrency is not None and p.frontend) else \
        ss.engine_ttft_s + (p.osl - 1) * ss.step_time_s
    replicas = max(p.num_gpus // p.dep.num_gpus, 1)
    req_s = b * replicas / cycle
    out = {"output_throughput": req_s * p.osl, "total_throughput": req_s * (p.isl + p.osl),
           "request_throughput": req_s}[m]
    return out / p.num_gpus if p.per_gpu else out


def main() -> int:
    points, skipped = load_points()
    print(f"{len(points)} points; {len(skipped)} rows skipped")
    print("by engine/gpu:", Counter((p.engine_row, p.gpu) for p in points).most_common())
    print("by kind:", Counter(p.kind for p in points).most_common())
    print("skipped:", Counter(r for _, r in skipped).most_common(20))
    return 0


if __name__ == "__main__":
    sys.exit(main())
