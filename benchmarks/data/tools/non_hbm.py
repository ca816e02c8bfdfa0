"""Published per-user output speeds of non-HBM (SRAM-centric / dataflow) LLM services.

Vendor claims and third-party (Artificial Analysis, LLMPerf) measurements of hosted APIs;
these are end-to-end API numbers, not kernel timings. See latency_public.md.
"""


def C(**kw):
    return kw


def build(b):
    # ---- Groq: LLMPerf leaderboard (Anyscale), measured from AWS us-west-2, Dec 2023 / Jan 2024
    sid = "llmperf-leaderboard-groq"
    b.source(sid, "https://github.com/ray-project/llmperf-leaderboard/blob/27aa9b6a6c4282f6d5599b9199fbb57256a2dcd8/raw_data/summary/groq_70b.json",
             "LLMPerf Leaderboard (Anyscale/ray-project): Groq llama2-70b-4096 summary + README tables", "2024-01-09", "dashboard")
    ctx = C(engine="groq", engine_version="GroqCloud API model llama2-70b-4096", model="llama-2-70b", hf_model_id="meta-llama/Llama-2-70b-chat-hf",
            hardware="groq-lpu", input_tokens=550, output_tokens=150, concurrency=5, num_prompts=150,
            dataset="llmperf synthetic (550 in / 150 out, stddev 0)", scenario="concurrency", spec_decode="none",
            notes="client-side measurement over the public API (includes network); chip count and numerics not disclosed; per-request output tok/s; summary timestamp 1704851704 (2024-01-10 UTC)")
    for metric, stat, v, unit in [("per_user_throughput", "mean", 184.16, "tok/s/user"), ("per_user_throughput", "median", 185.05, "tok/s/user"),
                                  ("itl", "mean", 5.384, "ms"), ("itl", "median", 5.321, "ms"), ("itl", "p99", 6.566, "ms"),
                                  ("ttft", "mean", 227.86, "ms"), ("ttft", "median", 221.89, "ms"), ("ttft", "p99", 350.03, "ms"),
                                  ("e2e", "mean", 815.11, "ms"), ("output_throughput", "value", 441.85, "tok/s")]:
        b.add(sid, ctx, metric, stat, v, unit,
              "values converted from seconds in the raw summary (x1000)" if unit == "ms" else
              ("overall output tok/s across the 5 concurrent clients" if metric == "output_throughput" else ""))

    sid = "techpowerup-groq-2024-02"
    b.source(sid, "https://techpowerup.com/news-tags/Processor?page=3", "TechPowerUp: Groq LPU inference chip news (Feb 2024)", "2024-02", "blog")
    for model, hf, v, extra in [("llama-2-70b", "meta-llama/Llama-2-70b-chat-hf", 300, "Llama 2 70B with 4096-token context"),
                                ("llama-2-7b", "meta-llama/Llama-2-7b-chat-hf", 750, "Llama 2 7B with 2048-token context"),
                                ("mixtral-8x7b", "mistralai/Mixtral-8x7B-Instruct-v0.1", 480, "Mixtral 8x7B")]:
        b.add(sid, C(engine="groq", model=model, hf_model_id=hf, hardware="groq-lpu", scenario="batch1", spec_decode="none",
                     notes="vendor-reported API speed quoted by the article (%s); load and numerics not stated" % extra),
              "per_user_throughput", "value", v, "tok/s/user")

    # ---- Cerebras
    sid = "cerebras-inference-launch-2024-08"
    b.source(sid, "https://cerebras.ai/blog/introducing-cerebras-inference-ai-at-instant-speed",
             "Cerebras: Introducing Cerebras Inference - AI at Instant Speed", "2024-08-27", "vendor_blog")
    for model, hf, v, chips in [("llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct", 1800, 1), ("llama-3.1-70b", "meta-llama/Llama-3.1-70B-Instruct", 450, 4)]:
        b.add(sid, C(engine="cerebras", model=model, hf_model_id=hf, hardware="cerebras-wse3", num_gpus=chips, weights_dtype="16-bit",
                     scenario="batch1", spec_decode="none",
                     notes="vendor claim, per user; 'native 16-bit weights'; num_gpus = CS-3 systems (8B fits on one CS-3; 70B spans 4 CS-3 per The Register Hot Chips report / Cerebras); Artificial Analysis quoted >1,800 and >446 tok/s"),
              "per_user_throughput", "value", v, "tok/s/user")

    sid = "tomshardware-cerebras-405b-2024-11"
    b.source(sid, "https://www.tomshardware.com/tech-industry/artificial-intelligence/cerebras-video-shows-ai-writing-code-75x-faster-than-worlds-fastest-ai-gpu-cloud-worlds-largest-chip-beats-awss-fastest-in-head-to-head-comparison",
             "Tom's Hardware: Cerebras runs Llama 3.1 405B at 969 tokens/s", "2024-11-20", "blog")
    ctx = C(engine="cerebras", model="llama-3.1-405b", hf_model_id="meta-llama/Llama-3.1-405B-Instruct", hardware="cerebras-wse3",
            weights_dtype="bf16", scenario="batch1", spec_decode="none",
            notes="Cerebras-reported (Nov 18 2024); bf16 per Cerebras' announcement as discussed on HN; system count not disclosed")
    b.add(sid, ctx, "per_user_throughput", "value", 969, "tok/s/user")
    b.add(sid, ctx, "ttft", "value", 240, "ms", "printed as 0.24 seconds")

    # ---- SambaNova blog quoting Artificial Analysis (Sept 2024)
    sid = "sambanova-blog-sn40l-2024-09"
    b.source(sid, "https://sambanova.ai/blog/sn40l-chip-best-inference-solution",
             "SambaNova: Why SambaNova's SN40L Chip is The Best for Inference (Table 1, numbers from artificialanalysis.ai)", "2024-09-10", "vendor_blog")
    table = [("sambanova", "sambanova-sn40l", "16-bit", [("llama-3.1-405b", 129), ("llama-3.1-70b", 457), ("llama-3.1-8b", 1042)]),
             ("cerebras", "cerebras-wse3", "16-bit", [("llama-3.1-70b", 445), ("llama-3.1-8b", 1837)]),
             ("groq", "groq-lpu", "8-bit (as stated by SambaNova)", [("llama-3.1-70b", 250), ("llama-3.1-8b", 751)])]
    hf = {"llama-3.1-405b": "meta-llama/Llama-3.1-405B-Instruct", "llama-3.1-70b": "meta-llama/Llama-3.1-70B-Instruct",
          "llama-3.1-8b": "meta-llama/Llama-3.1-8B-Instruct"}
    for eng, hw, dt, vals in table:
        for model, v in vals:
            b.add(sid, C(engine=eng, model=model, hf_model_id=hf[model], hardware=hw, weights_dtype=dt, scenario="batch1",
                         spec_decode="none",
                         notes="'User throughput in output tokens/sec' from Artificial Analysis as republished by SambaNova; SN40L count not disclosed in the table"),
                  "per_user_throughput", "value", v, "tok/s/user")

    sid = "sambanova-sc-talk-dsr1"
    b.source(sid, "https://62dac.conference-program.com/presentation/?id=SSSN027&sess=sess258",
             "SambaNova SN40L: Unleashing Agentic AI with Dataflow (conference talk abstract)", "2025", "vendor_docs")
    b.add(sid, C(engine="sambanova", model="deepseek-r1", hf_model_id="deepseek-ai/DeepSeek-R1", hardware="sambanova-sn40l", num_gpus=16,
                 scenario="batch1", spec_decode="",
                 notes="'a single rack of 16 SN40L RDUs serves DeepSeek-R1 671B at 198 tokens/s'; num_gpus = SN40L sockets; numerics not stated"),
          "per_user_throughput", "value", 198, "tok/s/user")
