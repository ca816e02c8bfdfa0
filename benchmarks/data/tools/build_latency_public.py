#!/usr/bin/env python3
"""Build benchmarks/data/latency_public.csv and non_hbm_public.csv.

Every number below was transcribed from the cited public source (see
benchmarks/data/latency_public.md). Benchmark-client text blocks are stored
as compact "metric.statistic=value" strings; values are exactly as printed.

The InferenceX source is read from a local JSON snapshot when present
(--inferencex PATH); without it those rows are skipped.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from latency_lib import Builder, add_compact  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)


def C(**kw):
    """Context (benchmark setup) for a group of rows."""
    return kw


# --------------------------------------------------------------------------------------
def tpu_recipes(b):
    sid = "tpu-recipes-llama3x-v6e"
    b.source(sid, "https://github.com/AI-Hypercomputer/tpu-recipes/blob/b709d7342e6302a84337245770bee81e9d2a08fe/inference/trillium/vLLM/Llama3.x/README.md",
             "Serve Llama3.x with vLLM on TPU VMs (Trillium/v6e recipe)", "2025-12-03", "vendor_docs")
    base = C(engine="vllm-tpu", engine_version="vllm/vllm-tpu nightly-20251129-28607fc-39e63de (image later re-pinned to v0.12.0 with unchanged numbers)",
             model="llama-3.3-70b", hf_model_id="meta-llama/Llama-3.3-70B-Instruct", hardware="tpu-v6e", num_gpus=8, tp=8, pp=1,
             weights_dtype="bf16", input_tokens=1000, output_tokens=1000, num_prompts=3000, dataset="random (ignore-eos)",
             scenario="concurrency", spec_decode="none",
             notes="num_gpus counts TPU v6e chips (v6e-8, 2x4); weights dtype not stated, model served unquantized from HF (bf16 inferred); vllm bench serve; max-num-batched-tokens 512, max-num-seqs 256, max-model-len 2048; README says numbers 'you'd expect to see'")
    add_compact(b, sid, dict(base, concurrency=64),
                "req=2.49 out=2494.80 tot=4987.10 ttft.mean=251.04 ttft.median=198.81 ttft.p99=2501.65 "
                "tpot.mean=25.35 tpot.median=25.40 tpot.p99=25.43 itl.mean=25.35 itl.median=23.11 itl.p99=40.75")
    add_compact(b, sid, dict(base, concurrency=128),
                "req=3.54 out=3544.46 tot=7085.38 ttft.mean=512.34 ttft.median=229.09 ttft.p99=8250.26 "
                "tpot.mean=35.12 tpot.median=35.43 tpot.p99=35.49 itl.mean=35.12 itl.median=30.73 itl.p99=47.03")

    sid = "tpu-recipes-trillium-2025-02"
    b.source(sid, "https://github.com/AI-Hypercomputer/tpu-recipes/blob/ed1b2244751c45716f60330e9ba2e781f50a73a6/inference/trillium/vLLM/README.md",
             "Serve a LLM using vLLM on TPU v6e (early Trillium vLLM recipe)", "2025-02-27", "vendor_docs")
    add_compact(b, sid, C(engine="vllm-tpu", engine_version="vllm/vllm-tpu:e92694b6fe264a85371317295bca6643508034ef",
                          model="llama-3.1-8b", hf_model_id="meta-llama/Llama-3.1-8B", hardware="tpu-v6e", num_gpus=4, tp=4, pp=1,
                          weights_dtype="bf16", output_tokens=256, num_prompts=1000, dataset="sharegpt (output len 256)",
                          scenario="offline", request_rate_per_s="", spec_decode="none",
                          notes="v6e-4 (2x2), TP4, max-model-len 4096; benchmark_serving.py with default request rate (inf: all 1000 prompts at t=0); mean input 224 tok (224330/1000); weights dtype not stated (bf16 inferred); README: 'numbers vary'"),
                "req=25.99 out=3459.46 tot=9289.10 ttft.mean=12778.77 ttft.median=13841.77 ttft.p99=28706.87 "
                "tpot.mean=119.79 tpot.median=64.58 tpot.p99=2167.53 itl.mean=62.95 itl.median=43.00 itl.p99=196.68")

    sid = "tpu-recipes-qwen3.6-27b-v6e"
    b.source(sid, "https://github.com/AI-Hypercomputer/tpu-recipes/blob/90bfb0ab3370dc381d79033385687ba8f596fd75/inference/trillium/vLLM/Qwen3.6-27B/README.md",
             "Qwen3.6-27B-FP8 with vLLM on GKE, Cloud TPU v6e-4", "2026-07-13", "vendor_docs")
    base = C(engine="vllm-tpu", hf_model_id="Qwen/Qwen3.6-27B-FP8", hardware="tpu-v6e", num_gpus=4, tp=4, pp=1,
             weights_dtype="fp8", spec_decode="none")
    add_compact(b, sid, dict(base, concurrency=320, num_prompts=320, scenario="concurrency", dataset="uBench standard run (lengths not stated)",
                             notes="'Measured Official uBench Results (Cloud TPU v6e-4)'; ISL/OSL not stated"),
                "req=28.07 out=3233.91 tot=6476.25 ttft.mean=4064.88 ttft.median=4529.76 ttft.p99=8764.62 "
                "tpot.mean=30.80 tpot.median=32.35 tpot.p99=34.24 itl.mean=30.83 itl.median=27.23 itl.p99=48.47")
    ladder = [(10, "27K", 503.79, 16.81, 2.08, 532.48), (20, "6.4K", 523.48, 21.76, 2.92, 700.80),
              (80, "6.4K", 740.44, 30.17, 5.92, 1515.32), (120, "6.4K", 503.85, 30.17, 6.07, 1499.77),
              (40, "26.8K", 2329.58, 32.53, 2.90, 741.24), (80, "26.8K", 1076.65, 41.45, 4.20, 1074.49),
              (120, "26.8K", 827.27, 39.47, 4.36, 1116.49)]
    for conc, ctx, ttft, tpot, req, out in ladder:
        add_compact(b, sid, dict(base, concurrency=conc, scenario="curve_point", dataset="agentic workload, %s context" % ctx,
                                 notes="'Performance & Concurrency Ladder' table (agentic benchmark suite); context size as printed, output length not stated"),
                    "ttft.mean=%s tpot.mean=%s req=%s out=%s" % (ttft, tpot, req, out))


# --------------------------------------------------------------------------------------
def sglang_vllm060(b):
    sid = "sglang-bench-vllm060"
    b.source(sid, "https://github.com/sgl-project/sglang/blob/120affb9613cc3f5bcd055ec09c7621d3ced0ebc/benchmark/benchmark_vllm_060/README.md",
             "How to reproduce the benchmark results for SGLang v0.3.0 compared to vLLM v0.6.0", "2024-09", "engine_docs")
    setups = {
        "8b": C(model="llama-3.1-8b", hf_model_id="meta-llama/Llama-3.1-8B-Instruct", hardware="a100-80g-sxm", num_gpus=1, tp=1),
        "70b": C(model="llama-3.1-70b", hf_model_id="meta-llama/Llama-3.1-70B-Instruct", hardware="h100-sxm", num_gpus=4, tp=4),
    }
    eng = {"sglang": C(engine="sglang", engine_version="0.3.0"),
           "vllm": C(engine="vllm", engine_version="0.6.0 (--num-scheduler-steps 10)")}
    common = C(pp=1, weights_dtype="bf16", dataset="sharegpt", spec_decode="none",
               notes="sglang.bench_serving; A100 80G / H100 80G form factor not stated (SXM assumed); dtype not stated (bf16 default of the HF checkpoint inferred); radix cache disabled")
    online = [  # model, rps, prompts, engine, e2e, ttft, tpot, itl (all medians, ms)
        ("8b", 4, 1200, "sglang", 1564.17, 31.98, 13.17, 11.93), ("8b", 4, 1200, "vllm", 1691.97, 100.48, 14.14, 129.32),
        ("8b", 8, 2400, "sglang", 2175.02, 35.68, 17.85, 14.41), ("8b", 8, 2400, "vllm", 2137.16, 120.39, 17.09, 158.63),
        ("70b", 4, 1200, "sglang", 3005.24, 53.94, 25.03, 21.67), ("70b", 4, 1200, "vllm", 2915.60, 179.15, 23.58, 231.23),
        ("70b", 8, 2400, "sglang", 4064.98, 58.11, 33.07, 24.45), ("70b", 8, 2400, "vllm", 3752.38, 207.12, 29.15, 275.32)]
    for m, rps, n, e, e2e, ttft, tpot, itl in online:
        ctx = dict(common, **setups[m], **eng[e], request_rate_per_s=rps, num_prompts=n, scenario="rate")
        add_compact(b, sid, ctx, "e2e.median=%s ttft.median=%s tpot.median=%s itl.median=%s" % (e2e, ttft, tpot, itl))
    offline = [("8b", "sglang", 22.03, 4281.51), ("8b", "vllm", 21.27, 4132.37),
               ("70b", "sglang", 19.84, 3856.01), ("70b", "vllm", 19.04, 3700.64)]
    for m, e, req, out in offline:
        ctx = dict(common, **setups[m], **eng[e], num_prompts=5000, scenario="offline", request_rate_per_s="")
        add_compact(b, sid, ctx, "req=%s out=%s" % (req, out), notes="request rate inf (offline)")


# --------------------------------------------------------------------------------------
def trtllm_perf_v061(b):
    sid = "trtllm-performance-md-v0.6.1"
    b.source(sid, "https://github.com/NVIDIA/TensorRT-LLM/blob/138f96d45f90b9667426f7c47297d8c06bafac73/docs/source/performance.md",
             "Performance of TensorRT-LLM (docs/source/performance.md, v0.6.1-era; low-latency tables from v0.5)", "2023-12", "engine_docs")
    models = {"GPT-J 6B": C(model="", hf_model_id="EleutherAI/gpt-j-6b"),
              "LLaMA 7B": C(model="llama-2-7b", hf_model_id="meta-llama/Llama-2-7b-hf"),
              "LLaMA 70B": C(model="llama-2-70b", hf_model_id="meta-llama/Llama-2-70b-hf"),
              "Falcon 180B": C(model="", hf_model_id="tiiuae/falcon-180B")}
    hw = {"h100": C(hardware="h100-sxm", weights_dtype="fp8", kv_dtype="fp8"),
          "l40s": C(hardware="l40s", weights_dtype="fp8", kv_dtype="fp8"),
          "a100": C(hardware="a100-80g-sxm", weights_dtype="fp16", kv_dtype="fp16")}
    note_m = "LLaMA 7B/70B are Llama-2 per the methodology section; gptSessionBenchmark static batching (no in-flight batching)"
    thr = [  # hw, model, bs, tp, isl, osl, out tok/s (per GPU for H100; per table for L40S/A100)
        ("h100", "GPT-J 6B", 1024, 1, 128, 128, 26150), ("h100", "GPT-J 6B", 120, 1, 128, 2048, 8011),
        ("h100", "GPT-J 6B", 64, 1, 2048, 128, 2551), ("h100", "GPT-J 6B", 64, 1, 2048, 2048, 3327),
        ("h100", "LLaMA 7B", 768, 1, 128, 128, 19694), ("h100", "LLaMA 7B", 112, 1, 128, 2048, 6818),
        ("h100", "LLaMA 7B", 80, 1, 2048, 128, 2244), ("h100", "LLaMA 7B", 48, 1, 2048, 2048, 2740),
        ("h100", "LLaMA 70B", 1024, 2, 128, 128, 2657), ("h100", "LLaMA 70B", 480, 4, 128, 2048, 1486),
        ("h100", "LLaMA 70B", 96, 2, 2048, 128, 306), ("h100", "LLaMA 70B", 64, 2, 2048, 2048, 547),
        ("h100", "Falcon 180B", 1024, 4, 128, 128, 987), ("h100", "Falcon 180B", 1024, 8, 128, 2048, 724),
        ("h100", "Falcon 180B", 64, 4, 2048, 128, 112), ("h100", "Falcon 180B", 64, 4, 2048, 2048, 264),
        ("l40s", "GPT-J 6B", 64, 1, 128, 128, 3630), ("l40s", "GPT-J 6B", 64, 1, 128, 2048, 1859),
        ("l40s", "GPT-J 6B", 32, 1, 2048, 128, 616), ("l40s", "GPT-J 6B", 32, 1, 2048, 2048, 757),
        ("l40s", "LLaMA 7B", 64, 1, 128, 128, 3240), ("l40s", "LLaMA 7B", 64, 1, 128, 2048, 1622),
        ("l40s", "LLaMA 7B", 32, 1, 2048, 128, 581), ("l40s", "LLaMA 7B", 16, 1, 2048, 2048, 531),
        ("a100", "GPT-J 6B", 512, 1, 128, 128, 6374), ("a100", "GPT-J 6B", 120, 2, 128, 2048, 2192),
        ("a100", "GPT-J 6B", 60, 1, 2048, 128, 670), ("a100", "GPT-J 6B", 64, 2, 2048, 2048, 903),
        ("a100", "LLaMA 7B", 384, 1, 128, 128, 5586), ("a100", "LLaMA 7B", 60, 1, 128, 2048, 1928),
        ("a100", "LLaMA 7B", 52, 1, 2048, 128, 591), ("a100", "LLaMA 7B", 64, 2, 2048, 2048, 782),
        ("a100", "LLaMA 70B", 1280, 4, 128, 128, 670), ("a100", "LLaMA 70B", 240, 4, 128, 2048, 525),
        ("a100", "LLaMA 70B", 120, 4, 2048, 128, 79),
        ("a100", "Falcon 180B", 1024, 8, 128, 128, 232), ("a100", "Falcon 180B", 128, 8, 128, 2048, 180)]
    for h, m, bs, tp, isl, osl, v in thr:
        if h == "h100":
            col = "column 'Throughput (out tok/s/GPU)': per-GPU value"
            ver = "0.6.1"
        elif h == "l40s":
            col = "column 'Throughput (out tok/s)' (per-GPU vs total not stated; TP1 so identical)"
            ver = "0.5.0"
        else:
            col = "column 'Throughput (out tok/s)' (per-GPU vs total not stated for TP>1)"
            ver = "0.6.1"
        ctx = dict(models[m], **hw[h], engine="trtllm", engine_version=ver, num_gpus=tp, tp=tp, pp=1,
                   input_tokens=isl, output_tokens=osl, concurrency=bs, dataset="synthetic fixed ISL/OSL",
                   scenario="offline", spec_decode="none", notes="Peak Throughput table; batch size %d; %s; %s" % (bs, col, note_m))
        b.add(sid, ctx, "output_throughput", "value", v, "tok/s")
    lat = [("h100", "GPT-J 6B", 1, 128, 7), ("h100", "GPT-J 6B", 1, 2048, 29), ("h100", "LLaMA 7B", 1, 128, 7),
           ("h100", "LLaMA 7B", 1, 2048, 36), ("h100", "LLaMA 70B", 4, 128, 26), ("h100", "LLaMA 70B", 4, 2048, 109),
           ("h100", "Falcon 180B", 8, 128, 27), ("h100", "Falcon 180B", 8, 2048, 205),
           ("l40s", "GPT-J 6B", 1, 128, 12), ("l40s", "GPT-J 6B", 1, 2048, 71), ("l40s", "LLaMA 7B", 1, 128, 14),
           ("l40s", "LLaMA 7B", 1, 2048, 73),
           ("a100", "GPT-J 6B", 1, 128, 12), ("a100", "GPT-J 6B", 1, 2048, 129), ("a100", "LLaMA 7B", 1, 128, 16),
           ("a100", "LLaMA 7B", 1, 2048, 133), ("a100", "LLaMA 70B", 4, 128, 47), ("a100", "LLaMA 70B", 4, 2048, 377),
           ("a100", "Falcon 180B", 8, 128, 61), ("a100", "Falcon 180B", 8, 2048, 509)]
    for h, m, tp, isl, v in lat:
        ctx = dict(models[m], **hw[h], engine="trtllm", engine_version="0.5.0", num_gpus=tp, tp=tp, pp=1,
                   input_tokens=isl, output_tokens=1, concurrency=1, dataset="synthetic fixed ISL",
                   scenario="batch1", spec_decode="none",
                   notes="Low Latency table: '1st Token Latency (ms)' at batch size 1, measured by running with a single output token; %s" % note_m)
        b.add(sid, ctx, "ttft", "value", v, "ms")


def trtllm_blogs(b):
    sid = "trtllm-blog-h200launch"
    b.source(sid, "https://github.com/NVIDIA/TensorRT-LLM/blob/1555478c1b417a0b34de05209862ea5a2ab9add1/docs/source/blogs/H200launch.md",
             "H200 achieves nearly 12,000 tokens/sec on Llama2-13B with TensorRT-LLM", "2023-11", "engine_docs")
    rows = [("llama-2-13b", "meta-llama/Llama-2-13b-hf", 1024, 1, 128, 128, 11819), ("llama-2-13b", "meta-llama/Llama-2-13b-hf", 128, 1, 128, 2048, 4750),
            ("llama-2-13b", "meta-llama/Llama-2-13b-hf", 64, 1, 2048, 128, 1349), ("llama-2-70b", "meta-llama/Llama-2-70b-hf", 512, 1, 128, 128, 3014),
            ("llama-2-70b", "meta-llama/Llama-2-70b-hf", 512, 2, 128, 2048, 1654), ("llama-2-70b", "meta-llama/Llama-2-70b-hf", 64, 1, 2048, 128, 341),
            ("llama-2-70b", "meta-llama/Llama-2-70b-hf", 32, 1, 2048, 128, 303)]
    for m, hf, bs, tp, isl, osl, v in rows:
        ctx = C(engine="trtllm", engine_version="0.5.0 (TensorRT 9.1.0.4)", model=m, hf_model_id=hf, hardware="h200", num_gpus=tp, tp=tp, pp=1,
                weights_dtype="fp8", input_tokens=isl, output_tokens=osl, concurrency=bs, dataset="synthetic fixed ISL/OSL", scenario="offline",
                spec_decode="none", notes="'H200 FP8 Max throughput' table, 'Throughput (out tok/s/GPU)' = per-GPU value; batch = largest power of 2 that fits; table names llama_13b/llama_70b (Llama-2 assumed from the blog title); 'Preliminary measured performance'")
        b.add(sid, ctx, "output_throughput", "value", v, "tok/s")

    sid = "trtllm-blog-h100vsa100"
    b.source(sid, "https://github.com/NVIDIA/TensorRT-LLM/blob/15ed78097ea2c14b3831ca017935a32dec54476e/docs/source/blogs/H100vsA100.md",
             "H100 has 4.6x A100 Performance in TensorRT-LLM, achieving 10,000 tok/s at 100ms to first token", "2023-10", "engine_docs")
    for hw, dt, bs, osl, thr, ttft in [("h100-sxm", "fp8", 64, 128, 10907, 102), ("h100-sxm", "fp8", 1, "", 185, 7.1),
                                       ("a100-80g-sxm", "fp16", 64, 128, 3679, 481), ("a100-80g-sxm", "fp16", 1, "", 111, 12.5)]:
        ctx = C(engine="trtllm", engine_version="0.5.0 (TensorRT 9.1)", hf_model_id="EleutherAI/gpt-j-6b", hardware=hw, num_gpus=1, tp=1, pp=1,
                weights_dtype=dt, input_tokens=128, output_tokens=osl, concurrency=bs, dataset="synthetic fixed ISL/OSL",
                scenario="batch1" if bs == 1 else "offline", spec_decode="none",
                notes="'Max Throughput & Min Latency' table (SXM 80GB); batch-1 row has no output length printed")
        b.add(sid, ctx, "output_throughput", "value", thr, "tok/s")
        b.add(sid, ctx, "ttft", "value", ttft, "ms")


# --------------------------------------------------------------------------------------
def vllm_blog_fp8kv(b):
    sid = "vllm-blog-fp8-kvcache-2026"
    b.source(sid, "https://github.com/vllm-project/vllm-project.github.io/blob/c3a01c4a5807c8d900ae468897e45263373e534e/_posts/2026-04-22-fp8-kvcache.md",
             "The State of FP8 KV-Cache and Attention Quantization in vLLM (vLLM blog, Table 4/5)", "2026-04-22", "vendor_blog")
    base = C(engine="vllm", engine_version="0.19.1 (post-fix build; 'after' rows of the post)", hardware="h100-sxm", num_gpus=1, tp=1, pp=1,
             weights_dtype="bf16", input_tokens=20000, output_tokens=2000, concurrency=8, num_prompts=150,
             dataset="synthetic ~20k in / ~2k out (+-15%)", scenario="concurrency", spec_decode="none",
             notes="hardware inferred: post states all Hopper experiments run on a single H100 with FlashAttention-3 (SXM vs PCIe not stated); engine version inferred from the 'after (v0.19.1)' table")
    for model, hf, kv, ttft, itl, out in [("llama-3.1-8b", "meta-llama/Llama-3.1-8B", "bf16", 763.6, 15.18, 450.3),
                                           ("llama-3.1-8b", "meta-llama/Llama-3.1-8B", "fp8", 742.8, 12.93, 517.5),
                                           ("gpt-oss-20b", "openai/gpt-oss-20b", "bf16", 468.9, 8.09, 831.6),
                                           ("gpt-oss-20b", "openai/gpt-oss-20b", "fp8", 451.7, 7.90, 853.0),
                                           ("gpt-oss-20b", "openai/gpt-oss-20b", "fp8 (sliding-window layers kept bf16)", 456.4, 7.70, 871.8)]:
        ctx = dict(base, model=model, hf_model_id=hf, kv_dtype=kv)
        if model == "gpt-oss-20b":
            ctx["weights_dtype"] = "mxfp4 (native checkpoint)"
        add_compact(b, sid, ctx, "ttft.median=%s itl.median=%s out=%s" % (ttft, itl, out))


# --------------------------------------------------------------------------------------
IX_HW = {"h100": "h100-sxm", "h200": "h200", "b200": "b200", "b300": "b300", "gb200": "gb200", "gb300": "gb300",
         "mi300x": "mi300x", "mi325x": "mi325x", "mi355x": "mi355x"}
IX_ENGINE = {"sglang": "sglang", "trt": "trtllm", "vllm": "vllm", "atom": "other"}


def inferencex(b, path):
    sid = "inferencex-dsr1-snapshot"
    b.source(sid, "https://github.com/vngcloud/InferenceX-app/blob/7fe6d62ad57a3df061be692e86578c7111d880c7/packages/app/cypress/fixtures/api/benchmarks.json",
             "SemiAnalysis InferenceX (InferenceMAX) benchmark API snapshot, DeepSeek-R1 (fixture of the InferenceX-app, fork vngcloud/InferenceX-app; upstream SemiAnalysisAI/InferenceX-app)",
             "2026-06-14", "dashboard")
    if not path or not os.path.exists(path):
        print("InferenceX snapshot not found; skipping", file=sys.stderr)
        return
    d = json.load(open(path))
    for x in d:
        if x["disagg"] or x["is_multinode"] or x["spec_method"] != "none":
            continue
        m = x["metrics"]
        tp, ep = x["decode_tp"], x["decode_ep"]
        ngpu = x["num_decode_gpu"] or tp
        eng = IX_ENGINE.get(x["framework"], "other")
        img = x.get("image") or ""
        note = "InferenceX run %s (%s); DP-attention=%s; checkpoint id not in the snapshot (fp8 = DeepSeek-R1 FP8 weights, fp4 = NVFP4/MXFP4 quantized); per-user tok/s is the source's 'interactivity' (1/TPOT per request, averaged)" % (
            x["run_url"], x["date"], x["decode_dp_attention"])
        if eng == "other":
            note = "engine: AMD ATOM; " + note
        ctx = C(engine=eng, engine_version=img, model="deepseek-r1", hf_model_id="",
                hardware=IX_HW[x["hardware"]], num_gpus=ngpu, tp=tp, pp=1, ep=ep, dp="",
                weights_dtype=x["precision"], input_tokens=x["isl"], output_tokens=x["osl"], concurrency=x["conc"],
                dataset="random (InferenceX fixed ISL/OSL, range ratio per harness)", scenario="curve_point", spec_decode="none",
                source_date=x["date"], notes=note)
        b.add(sid, ctx, "ttft", "median", round(m["median_ttft"] * 1000, 2), "ms")
        b.add(sid, ctx, "tpot", "mean", round(m["mean_tpot"] * 1000, 3), "ms")
        b.add(sid, ctx, "per_user_throughput", "mean", round(m["mean_intvty"], 2), "tok/s/user")
        if "output_tput_per_gpu" in m:
            b.add(sid, ctx, "output_throughput", "value", round(m["output_tput_per_gpu"], 2), "tok/s",
                  "output tok/s PER GPU as published (multiply by num_gpus for the system)")
        else:
            b.add(sid, ctx, "total_throughput", "value", round(m["tput_per_gpu"], 2), "tok/s",
                  "input+output tok/s PER GPU as published (multiply by num_gpus for the system)")


# --------------------------------------------------------------------------------------
SOURCES = [tpu_recipes, sglang_vllm060, trtllm_perf_v061, trtllm_blogs, vllm_blog_fp8kv]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inferencex", default=os.path.join(HERE, "cache", "inferencex_dsr1_agg_subset.json"),
                    help="InferenceX benchmarks.json snapshot or the cached aggregated subset")
    args = ap.parse_args()
    b = Builder()
    for fn in SOURCES:
        fn(b)
    try:
        import more_sources  # noqa: F401
        for fn in more_sources.SOURCES:
            fn(b)
    except ImportError:
        pass
    inferencex(b, args.inferencex)
    n = b.write(os.path.join(DATA, "latency_public.csv"), prefix="L")
    print("latency_public.csv: %d rows" % n)
    nb = Builder()
    try:
        import non_hbm
        non_hbm.build(nb)
        n2 = nb.write(os.path.join(DATA, "non_hbm_public.csv"), prefix="N")
        print("non_hbm_public.csv: %d rows" % n2)
    except ImportError:
        pass


if __name__ == "__main__":
    main()
