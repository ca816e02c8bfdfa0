"""Second batch of transcribed sources for build_latency_public.py."""
from latency_lib import add_compact


def C(**kw):
    return kw


# --------------------------------------------------------------------------------------
# LMDeploy v0.1.0a1 "Benchmark on A100 (FP16)": static batch, per-token latency percentiles.
# rows: batch, tp, prompt_tokens, output_tokens, out tok/s, FTL ave (s), token-latency p50 (s), p99 (s)
LMD = {
    ("llama-2-7b", "meta-llama/Llama-2-7b-hf"): """
1 1 1 128 100.02 0.011 0.009 0.011
1 1 128 128 102.21 0.022 0.01 0.01
1 1 128 2048 98.92 0.022 0.01 0.01
1 1 2048 128 86.1 0.139 0.01 0.011
1 1 2048 2048 93.78 0.14 0.011 0.011
16 1 1 128 1504.72 0.021 0.01 0.013
16 1 128 128 1272.47 0.129 0.011 0.014
16 1 128 2048 1010.62 0.13 0.015 0.021
16 1 2048 128 348.87 2.897 0.02 0.025
16 1 2048 2048 601.63 2.678 0.025 0.031
32 1 1 128 2136.73 0.079 0.011 0.021
32 1 128 128 2125.47 0.214 0.012 0.035
32 1 128 2048 1462.12 0.2 0.021 0.033
32 1 2048 128 450.43 4.288 0.031 0.161
32 1 2048 2048 733.34 4.118 0.04 0.053
64 1 1 128 4154.81 0.042 0.012 0.041
64 1 128 128 3024.07 0.44 0.014 0.158
64 1 128 2048 1852.06 0.535 0.03 0.053
64 1 2048 128 493.46 6.59 0.046 0.767
64 1 2048 2048 755.65 39.105 0.047 0.207""",
    ("llama-2-13b", "meta-llama/Llama-2-13b-hf"): """
1 1 1 128 57.49 0.018 0.017 0.017
1 1 128 128 56.58 0.04 0.017 0.018
1 1 128 2048 55.29 0.04 0.018 0.019
1 1 2048 128 48.99 0.242 0.019 0.019
1 1 2048 2048 52.12 0.243 0.019 0.02
16 1 1 128 869.45 0.036 0.018 0.02
16 1 128 128 757.3 0.252 0.019 0.021
16 1 128 2048 605.88 0.253 0.026 0.034
16 1 2048 128 257.92 3.442 0.033 0.035
16 1 2048 2048 366.67 3.122 0.04 0.047
32 1 1 128 1667.5 0.034 0.019 0.023
32 1 128 128 1301.27 0.461 0.021 0.025
32 1 128 2048 860.14 0.833 0.034 0.048
32 1 2048 128 291.54 5.315 0.046 0.51
32 1 2048 2048 389.64 38.725 0.047 0.05
64 1 1 128 3049.16 0.044 0.02 0.029
64 1 128 128 2033.22 0.703 0.024 0.032
64 1 128 2048 998.86 7.805 0.045 0.063
64 1 2048 128 286.32 19.69 0.047 0.27
64 1 2048 2048 387.86 190.453 0.047 0.05""",
    ("", "internlm/internlm-20b"): """
1 2 1 128 61.14 0.018 0.016 0.018
1 2 128 128 60.03 0.042 0.016 0.017
1 2 128 2048 58.26 0.042 0.017 0.018
1 2 2048 128 51.93 0.217 0.018 0.018
1 2 2048 2048 56.36 0.217 0.018 0.018
16 2 1 128 903.01 0.034 0.017 0.02
16 2 128 128 794.13 0.227 0.018 0.021
16 2 128 2048 669.87 0.227 0.024 0.03
16 2 2048 128 288.60 3.09 0.029 0.032
16 2 2048 2048 441.46 3.172 0.035 0.041
32 2 1 128 1673.64 0.037 0.019 0.023
32 2 128 128 1347.57 0.351 0.02 0.025
32 2 128 2048 1025.62 0.391 0.031 0.043
32 2 2048 128 352.45 6.062 0.042 0.046
32 2 2048 2048 514.60 10.36 0.049 0.053
64 2 1 128 2954.34 0.05 0.021 0.03
64 2 128 128 2122.92 0.591 0.024 0.032
64 2 128 2048 1276.61 2.529 0.042 0.055
64 2 2048 128 350.82 12.382 0.05 0.249
64 2 2048 2048 512.37 111.149 0.05 0.055""",
    ("llama-2-70b", "meta-llama/Llama-2-70b-hf"): """
1 4 1 128 33.94 0.031 0.029 0.03
1 4 128 128 33.63 0.074 0.029 0.03
1 4 128 2048 32.38 0.074 0.031 0.031
1 4 2048 128 28.32 0.402 0.031 0.051
1 4 2048 2048 31.9 0.405 0.031 0.031
16 4 1 128 468.52 0.071 0.03 0.251
16 4 128 128 439.77 0.437 0.03 0.207
16 4 128 2048 482.99 0.403 0.033 0.036
16 4 2048 128 189.34 5.776 0.035 0.037
16 4 2048 2048 399.42 5.773 0.036 0.041
32 4 1 128 906.03 0.098 0.032 0.178
32 4 128 128 746.36 0.749 0.032 0.438
32 4 128 2048 853.56 0.732 0.036 0.158
32 4 2048 128 232.6 11.834 0.04 0.248
32 4 2048 2048 636.23 11.711 0.043 0.179
64 4 1 128 1425.79 0.213 0.037 0.329
64 4 128 128 1159.84 1.292 0.037 0.378
64 4 128 2048 1391.8 1.173 0.043 0.251
64 4 2048 128 270.47 17.402 0.05 0.345
64 4 2048 2048 930.46 21.29 0.055 0.299""",
}
# request-throughput benchmark: model, batch, tp, num_prompts, RPS, RPM, FTL ave (s), out tok/s, total tok/s
LMD_REQ = [(("llama-2-7b", "meta-llama/Llama-2-7b-hf"), 64, 1, 10.275, 0.092, 2562.435, 5283.547),
           (("llama-2-7b", "meta-llama/Llama-2-7b-hf"), 128, 1, 12.611, 0.205, 3210.281, 6619.357),
           (("llama-2-13b", "meta-llama/Llama-2-13b-hf"), 64, 1, 6.337, 0.159, 1474.786, 3039.398),
           (("llama-2-13b", "meta-llama/Llama-2-13b-hf"), 128, 1, 7.588, 0.412, 1765.788, 3639.128),
           (("", "internlm/internlm-20b"), 64, 2, 7.842, 0.166, 1564.696, 3311.16),
           (("", "internlm/internlm-20b"), 128, 2, 9.776, 0.34, 1950.627, 4127.855),
           (("llama-2-70b", "meta-llama/Llama-2-70b-hf"), 64, 4, 4.285, 0.301, 1000.376, 2062.7),
           (("llama-2-70b", "meta-llama/Llama-2-70b-hf"), 128, 4, 5.833, 0.633, 1361.939, 2808.216),
           (("llama-2-70b", "meta-llama/Llama-2-70b-hf"), 256, 4, 6.568, 1.49, 1533.592, 3162.15)]


def lmdeploy_a100(b):
    sid = "lmdeploy-a100-fp16-v0.1"
    b.source(sid, "https://github.com/InternLM/lmdeploy/blob/3e391df4673326f79363eebe030876861a9b7090/docs/en/benchmark/a100_fp16.md",
             "LMDeploy: Benchmark on A100 (FP16), lmdeploy v0.1.0a1", "2023-11", "engine_docs")
    base = C(engine="lmdeploy", engine_version="0.1.0a1 (TurboMind)", hardware="a100-80g-sxm", pp=1, weights_dtype="fp16",
             kv_dtype="fp16", spec_decode="none")
    for (model, hf), text in LMD.items():
        for line in text.strip().splitlines():
            bs, tp, pin, pout, thr, ftl, p50, p99 = line.split()
            bs, tp = int(bs), int(tp)
            ctx = dict(base, model=model, hf_model_id=hf, num_gpus=tp, tp=tp, input_tokens=int(pin), output_tokens=int(pout),
                       concurrency=bs, dataset="synthetic fixed prompt/output tokens (profile_generation)",
                       scenario="batch1" if bs == 1 else "concurrency",
                       notes="Static Inference Benchmark table on 8x A100-80G box (form factor not stated; SXM assumed), CUDA 11.8; "
                             "'batch' concurrent requests; itl = per-token latency percentiles 50%%/99%% printed in seconds; "
                             "ttft = FTL(ave); throughput(out tok/s) for the whole batch")
            add_compact(b, sid, ctx, "out=%s ttft.mean=%ss itl.median=%ss itl.p99=%ss" % (thr, ftl, p50, p99))
    for (model, hf), bs, tp, rps, ftl, out, tot in LMD_REQ:
        ctx = dict(base, model=model, hf_model_id=hf, num_gpus=tp, tp=tp, concurrency=bs, num_prompts=3000, dataset="sharegpt (profile_throughput)",
                   scenario="offline", notes="Request Throughput Benchmark table (profile_throughput: 3000 prompts, 'batch' = concurrent client threads); RPS = requests/s")
        add_compact(b, sid, ctx, "req=%s ttft.mean=%ss out=%s tot=%s" % (rps, ftl, out, tot))


# --------------------------------------------------------------------------------------
def nim_benchmarking(b):
    sid = "nvidia-nim-benchmarking-perf"
    b.source(sid, "https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance.md",
             "NVIDIA NIM LLMs Benchmarking: Performance (Llama-3.3-70b-instruct NIM 1.8.0 tables)", "2025", "vendor_docs")
    base = C(engine="other", engine_version="NVIDIA NIM llama-3.3-70b-instruct 1.8.0", model="llama-3.3-70b",
             hf_model_id="meta-llama/Llama-3.3-70B-Instruct", hardware="h100-sxm", num_gpus=2, tp=2, pp=1, weights_dtype="fp8",
             dataset="synthetic fixed ISL/OSL (AIPerf)", spec_decode="none",
             notes="engine is the NIM container (backend not stated on the page; NIM fp8 TP2 profiles are TensorRT-LLM engines); '2 x H100 80G' (SXM assumed); throughput column = total output tok/s; statistic of TTFT/ITL not printed (recorded as value; AIPerf reports averages by default)")
    rows = [(1, 406.77, 18.58, 51.67), (5, 546.7, 21.83, 218.48), (25, 688.69, 38.75, 623.4), (50, 834.51, 59.73, 814.37),
            (100, 7996.25, 92.91, 917.26), (150, 34794.22, 92.86, 920.9), (200, 61680.22, 93.06, 920.54), (250, 88605.32, 93.2, 920.12)]
    for conc, ttft, itl, thr in rows:
        ctx = dict(base, input_tokens=5000, output_tokens=500, concurrency=conc, scenario="batch1" if conc == 1 else "curve_point")
        add_compact(b, sid, ctx, "ttft=%s itl=%s out=%s" % (ttft, itl, thr))
    ctx = dict(base, input_tokens=500, output_tokens=2000, concurrency=1, scenario="batch1")
    add_compact(b, sid, ctx, "ttft=47.77 itl=18.91 out=52.85")


SOURCES = [lmdeploy_a100, nim_benchmarking]


# --------------------------------------------------------------------------------------
# SGLang cookbook pages (sgl-project/sgl-cookbook), parsed by extract_bench_markdown.py into
# cache/sgl_cookbook_runs.json (commit 7b5bd9c05e3d86da5161ac2be9b91c19a34bf49d).
COOKBOOK_COMMIT = "7b5bd9c05e3d86da5161ac2be9b91c19a34bf49d"
COOKBOOK = {
    "docs/autoregressive/Llama/Llama3.1.md": dict(
        date="2026-01-18", title="SGLang cookbook: Llama 3.1 (speed benchmark)",
        ctx=C(model="llama-3.1-70b", hf_model_id="meta-llama/Llama-3.1-70B", hardware="a100 (40GB/80GB not stated)",
              weights_dtype="bf16", notes="'NVIDIA A100 GPU (8x)', memory size/form factor not stated; unquantized checkpoint served without --quantization (bf16 inferred)")),
    "docs/autoregressive/Llama/Llama4.md": dict(
        date="2026-03-18", title="SGLang cookbook: Llama 4 (speed benchmark on MI300X)",
        ctx=C(hardware="mi300x", weights_dtype="bf16", notes="'AMD MI300x GPU', TP8; unquantized checkpoint (bf16 inferred)")),
    "docs/autoregressive/Qwen/Qwen3.md": dict(
        date="2026-01-14", title="SGLang cookbook: Qwen3 (speed benchmark)",
        ctx=C(model="qwen3-235b-a22b", hf_model_id="Qwen/Qwen3-235B-A22B-Instruct-2507", hardware="b200", weights_dtype="bf16",
              notes="Instruct-2507 checkpoint; unquantized (bf16 inferred)")),
    "docs/autoregressive/OpenAI/GPT-OSS.md": dict(
        date="2026-01-30", title="SGLang cookbook: GPT-OSS (speed benchmark)",
        ctx=C(model="gpt-oss-120b", hf_model_id="openai/gpt-oss-120b", hardware="b200", weights_dtype="mxfp4 (MoE weights; native checkpoint)",
              dataset="sharegpt (bench_serving default)", notes="bench command gives no dataset flag: bench_serving default ShareGPT")),
    "docs/autoregressive/DeepSeek/DeepSeek-R1.md": dict(
        date="2026-02-10", title="SGLang cookbook: DeepSeek-R1 (speed benchmark)",
        ctx=C(model="deepseek-r1", hf_model_id="deepseek-ai/DeepSeek-R1-0528", hardware="b200", weights_dtype="fp8", notes="native FP8 checkpoint")),
    "docs/autoregressive/DeepSeek/DeepSeek-V3.md": dict(
        date="2026-02-10", title="SGLang cookbook: DeepSeek-V3 (speed benchmark on MI300X)",
        ctx=C(model="deepseek-v3", hf_model_id="deepseek-ai/DeepSeek-V3", hardware="mi300x", weights_dtype="fp8",
              dataset="sharegpt (bench_serving default; random-len flags ignored)",
              notes="bench command passes --random-input/output-len without --dataset-name, so bench_serving's default ShareGPT applies (mean input ~200-300 tok per totals)")),
}


def sgl_cookbook(b):
    import json
    import os
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cache", "sgl_cookbook_runs.json")
    runs = json.load(open(path))
    for p, meta in COOKBOOK.items():
        sid = "sgl-cookbook-" + os.path.basename(p)[:-3].lower()
        b.source(sid, "https://github.com/sgl-project/sgl-cookbook/blob/%s/%s" % (COOKBOOK_COMMIT, p), meta["title"], meta["date"], "engine_docs")
        for r in runs[p]:
            L, B, E, env = r["launch"], r["bench"], r["extra"], r["env"]
            hf = L.get("model-path") or L.get("model")
            ctx = dict(meta["ctx"])
            if "hf_model_id" not in ctx:
                ctx["hf_model_id"] = hf
                ctx["model"] = {"meta-llama/Llama-4-Scout-17B-16E-Instruct": "llama-4-scout",
                                "meta-llama/Llama-4-Maverick-17B-128E-Instruct": "llama-4-maverick"}.get(hf, "")
            tp = int(L.get("tp", env.get("tensor parallelism", 0)) or 0)
            spec = L.get("speculative-algorithm", "none")
            if spec != "none":
                spec = "%s (steps %s, topk %s, draft tokens %s)" % (spec, L.get("speculative-num-steps"), L.get("speculative-eagle-topk"),
                                                                   L.get("speculative-num-draft-tokens"))
            n_in, n_out, n = int(E["total_input_tokens"]), int(E["total_output_tokens"]), int(E["completed"])
            ds = ctx.get("dataset") or ("random (range ratio default)" if B.get("dataset-name") == "random" else B.get("dataset-name", ""))
            conc = int(E["concurrency"])
            notes = "; ".join(x for x in [ctx.get("notes", ""),
                                          "sglang %s" % env.get("sglang_version", ""),
                                          "actual mean tokens/request in/out = %.0f/%.0f (from printed totals)" % (n_in / n, n_out / n),
                                          "launch flags: %s" % " ".join("--%s %s" % kv for kv in L.items() if kv[0] not in ("host", "port", "model", "model-path")),
                                          "source line %d" % r["line"]] if x)
            c = dict(ctx, engine="sglang", engine_version=env.get("sglang_version", ""), num_gpus=tp, tp=tp, pp=1,
                     ep=L.get("ep", ""), dp=L.get("dp", ""),
                     input_tokens=B.get("random-input-len", "") if B.get("dataset-name") == "random" else "",
                     output_tokens=B.get("random-output-len", "") if B.get("dataset-name") == "random" else "",
                     concurrency=conc, num_prompts=n, dataset=ds, scenario="batch1" if conc == 1 else "concurrency",
                     spec_decode=spec, notes=notes)
            for metric, stat, unit, v in r["metrics"]:
                b.add(sid, c, metric, stat, v, unit)


SOURCES.append(sgl_cookbook)


def trtllm_blogs_h200(b):
    sid = "trtllm-blog-falcon180b-h200"
    b.source(sid, "https://github.com/NVIDIA/TensorRT-LLM/blob/3c44cb974badec8966108b16054a99c0923e410d/docs/source/blogs/Falcon180B-H200.md",
             "Falcon-180B on a single H200 GPU with INT4 AWQ, and 6.7x faster Llama-70B over A100", "2023-12", "engine_docs")
    rows = [(1, 128, 3803, 960), (8, 128, 3803, 960), (1, 2048, 2941, 192), (8, 2048, 3163, 560), (1, 4096, 1946, 96), (8, 4096, 2263, 640)]
    for g, osl, v, bs in rows:
        ctx = C(engine="trtllm", engine_version="0.7a", model="llama-2-70b", hf_model_id="meta-llama/Llama-2-70b-hf", hardware="h200", num_gpus=g,
                tp=1 if g == 1 else "", pp=1 if g == 1 else "", weights_dtype="fp8", input_tokens=128, output_tokens=osl, concurrency=bs,
                dataset="synthetic fixed ISL/OSL", scenario="offline", spec_decode="none",
                notes="'Throughput (out tok/s/GPU)' = output_seqlen*batch/latency/tp, per GPU; 8xH200 = 'max TP/PP/DP config' (split not stated); batch sizes from the footnote; 'Preliminary measured performance'")
        b.add(sid, ctx, "output_throughput", "value", v, "tok/s")
    sid = "trtllm-blog-xqa"
    b.source(sid, "https://github.com/NVIDIA/TensorRT-LLM/blob/585c756579dc4d01f21fc13c2f604cdb461ac4f0/docs/source/blogs/XQA-kernel.md",
             "New XQA-kernel provides 2.4x more Llama-70B throughput within the same latency budget", "2024-01", "engine_docs")
    for g, wo, w in [(1, 1227, 2941), (8, 13232, 25300)]:
        for xqa, v in (("without XQA", wo), ("with XQA", w)):
            ctx = C(engine="trtllm", engine_version="0.8a", model="llama-2-70b", hf_model_id="meta-llama/Llama-2-70b-hf", hardware="h200", num_gpus=g,
                    weights_dtype="fp8", input_tokens=128, output_tokens=2048, dataset="synthetic fixed ISL/OSL", scenario="offline", spec_decode="none",
                    notes="H200 table, %s; column labelled tok/s/GPU (the 8-GPU values look like whole-system totals; recorded as printed); model 'Llama-70B' = Llama-2-70B assumed from the blog series; dtype FP8 per the companion H100 figure caption, not stated for H200 table" % xqa)
            b.add(sid, ctx, "output_throughput", "value", v, "tok/s")


SOURCES.append(trtllm_blogs_h200)


def jetstream_experimental_v5e(b):
    sid = "jetstream-experimental-jax-v5e"
    b.source(sid, "https://github.com/AI-Hypercomputer/JetStream/blob/acd4f5ad50ed2fb38e0e5bd7defd81e34a62706c/experimental/jax/README.md",
             "JetStream experimental JAX inference framework README (offline benchmarking result)", "2024-08", "engine_docs")
    ctx = C(engine="jetstream", engine_version="experimental/jax framework (2024-08)", model="llama-2-7b", hf_model_id="meta-llama/Llama-2-7b-chat-hf",
            hardware="tpu-v5e", num_gpus=8, tp=8, pp=1, weights_dtype="bf16", num_prompts=1000,
            dataset="offline set of 1000 requests (mean 219 in / 292 out tokens from printed totals)", scenario="offline", spec_decode="none",
            notes="v5e-8, 8-way TP; mini_offline_benchmarking.py; README: ~45% better than MaxText+JetStream as of 2024/08/16; weights dtype not stated (bf16 assumed default); input token throughput printed 2980.65 tok/s")
    b.add(sid, ctx, "output_throughput", "value", 3975.33, "tok/s")


SOURCES.append(jetstream_experimental_v5e)


def github_threads(b):
    """Benchmark outputs pasted in GitHub issues/PRs whose thread excerpt states model, GPU and setup."""
    sid = "vllm-issue-17788"
    b.source(sid, "https://github.com/vllm-project/vllm/issues/17788",
             "[Performance]: benchmark_serving results for Qwen3-32B vs Qwen2-32B-FP8 are almost the same", "2025-05-07", "engine_issue")
    add_compact(b, sid, C(engine="vllm", engine_version="0.8.5.post1", model="qwen3-32b", hf_model_id="Qwen/Qwen3-32B",
                          hardware="h100-nvl (95GB, PCIe card)", num_gpus=1, tp=1, pp=1, weights_dtype="bf16", num_prompts=1000,
                          dataset="sharegpt (mean 217 in / 201 out tok from totals)", scenario="offline", spec_decode="none",
                          notes="request rate inf (all 1000 prompts at t=0); --max-num-seqs 32, chunked prefill + prefix caching on, max-model-len 32000; only the first part of the result block is in the stored thread"),
                "req=3.26 out=653.61 tot=1362.23 ttft.mean=146809.12 ttft.median=148069.33 ttft.p99=286485.34")

    sid = "vllm-pr-29217"
    b.source(sid, "https://github.com/vllm-project/vllm/pull/29217",
             "[Model][Qwen3VL] Tune Triton w8a8 block fp8 kernel for L40s (baseline run)", "2025-11-22", "engine_pr")
    add_compact(b, sid, C(engine="vllm", hf_model_id="Qwen/Qwen3-VL-32B-Instruct-FP8", hardware="l40s", num_gpus=1, tp=1, pp=1,
                          weights_dtype="fp8 (w8a8 block)", num_prompts=1000, dataset="sharegpt text-only (mean 217 in / 190 out tok from totals)",
                          scenario="offline", spec_decode="none",
                          notes="'Before' (untuned kernel) run; request rate inf; max-model-len 24000, no prefix caching; image/video inputs disabled; only the first part of the block is in the stored thread"),
                "req=3.27 out=621.91 tot=1333.62 ttft.mean=124986.70 ttft.median=123096.83 ttft.p99=257832.38")

    sid = "vllm-pr-25135"
    b.source(sid, "https://github.com/vllm-project/vllm/pull/25135",
             "Llamas 3.1 405B fp4 changes upstreaming from 355_wip (upstream TP1 run)", "2025-09-18", "engine_pr")
    add_compact(b, sid, C(engine="vllm", engine_version="upstream main (2025-09)", model="llama-3.1-405b", hf_model_id="",
                          hardware="mi355x", num_gpus=1, tp=1, pp=1, weights_dtype="fp4 (MXFP4 checkpoint per PR title)",
                          input_tokens="", output_tokens=1024, concurrency=64, num_prompts=320,
                          dataset="random (mean 1022 in / 1024 out tok from totals)", scenario="concurrency", spec_decode="none",
                          notes="MI355X inferred from the '355_wip' branch name in the PR title; checkpoint id not in the excerpt"),
                "req=0.77 out=793.27 tot=1584.66 ttft.mean=5240.27 ttft.median=5150.59 ttft.p99=13542.02 "
                "tpot.mean=75.58 tpot.median=76.05 tpot.p99=79.35 itl.mean=75.58 itl.median=66.27 itl.p99=73.04 "
                "e2e.mean=82558.95 e2e.median=82994.12 e2e.p99=89413.31")


SOURCES.append(github_threads)
