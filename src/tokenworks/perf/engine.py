"""The serving engine: its profile (defaults per engine), its limits, and the one rule they
obey wherever they are used.

Units: tokens, sequences, fractions. ``max_num_seqs`` caps the sequences in a batch,
``max_num_batched_tokens`` the tokens of one step (every running decode plus prefill chunks),
``gpu_memory_utilization_frac`` the share of device memory the engine may use (vLLM names).
The estimator (``perf.estimator``) and the simulator's replicas (``serving``) check the same
rule here, so a setting one accepts the other accepts too.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenworks.dtypes import get_dtype
from tokenworks.errors import ConfigError, check_range
from tokenworks.hardware import Accelerator
from tokenworks.perf.deployment import Deployment, is_weight_only
from tokenworks.units import GIB

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "MIXES_PREFILL",
    "VENDOR_STACK_KINDS",
    "EngineDefaults",
    "check_batch",
    "check_engine",
    "check_engine_limits",
    "check_engine_support",
    "default_policy",
    "engine_defaults",
    "mixes_prefill",
]


def check_engine_limits(*, max_num_seqs: int, max_num_batched_tokens: int) -> None:
    """vLLM's rule: every running decode needs a token of the step's budget, so
    ``max_num_batched_tokens >= max_num_seqs``."""
    for name, v in (("max_num_seqs", max_num_seqs),
                    ("max_num_batched_tokens", max_num_batched_tokens)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} = {v!r} must be a whole number >= 1.")
    if max_num_batched_tokens < max_num_seqs:
        raise ConfigError(
            f"max_num_batched_tokens = {max_num_batched_tokens} is below max_num_seqs = "
            f"{max_num_seqs}; every running decode needs a token each step (vLLM rule). "
            "Raise max_num_batched_tokens or lower max_num_seqs.")


def check_batch(batch: int, *, max_num_seqs: int, max_num_batched_tokens: int) -> None:
    """A batch the engine can run: at most ``max_num_seqs`` sequences, each decoding one token
    within the step's ``max_num_batched_tokens``."""
    check_range("batch", batch, low=1)
    if batch > max_num_seqs:
        raise ConfigError(f"batch = {batch} exceeds max_num_seqs = {max_num_seqs}, the engine's "
                          f"cap on concurrent sequences. Lower the batch or raise "
                          f"--max-num-seqs.")
    if batch > max_num_batched_tokens:
        raise ConfigError(f"batch = {batch} decodes {batch} tokens a step, more than "
                          f"max_num_batched_tokens = {max_num_batched_tokens}. Lower the batch "
                          f"or raise --max-num-batched-tokens.")


# ------------------------------------------------------------------------------ engine profiles

ENGINES = ("vllm", "sglang", "trtllm")
DEFAULT_ENGINE = "vllm"  # the engine most users run (issue #11)
# Whether the engine's default scheduler runs prompt chunks in the same step as the running
# decodes (a "mixed" step) or in steps of their own while the decodes wait. vLLM V1's scheduler
# fills every step's token budget with prompt chunks beside the decodes (chunked prefill,
# Sarathi-Serve); TensorRT-LLM's in-flight batching runs context and generation requests in
# one step; SGLang does not (`enable_mixed_chunk: bool = False`, sglang/srt/server_args.py):
# a waiting prompt gets a prefill batch of its own and the running decodes pause for it
# (prefill-first).
MIXES_PREFILL = {"vllm": True, "sglang": False, "trtllm": True}
# Parts that run their vendors' own serving stacks (Groq, Cerebras, SambaNova): the engine
# profiles' defaults and overheads do not apply to them.
VENDOR_STACK_KINDS = ("lpu", "wafer", "asic")


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineDefaults:
    """What an engine does when its user sets nothing, on one accelerator.

    ``max_num_batched_tokens``: tokens per step (vLLM ``max_num_batched_tokens``, SGLang
    ``chunked_prefill_size``, TensorRT-LLM ``max_num_tokens``); ``max_num_seqs``: running
    sequences (``max_num_seqs`` / ``max_running_requests`` / ``max_batch_size``);
    ``gpu_memory_utilization_frac``: device memory the engine may use (``gpu_memory_utilization``
    / ``mem_fraction_static`` / ``free_gpu_memory_fraction``); ``block_size_tokens``: KV page.
    """

    engine: str
    max_num_seqs: int
    max_num_batched_tokens: int
    gpu_memory_utilization_frac: float
    block_size_tokens: int
    source: str


def mixes_prefill(engine: str | None) -> bool:
    """Whether ``engine`` runs prompt chunks in the decodes' steps (``MIXES_PREFILL``); no
    engine (a vendor's own stack): mixed, as the default engine."""
    return MIXES_PREFILL.get(engine or DEFAULT_ENGINE, True)


def default_policy(engine: str | None) -> str:
    """The simulator's scheduler policy (``serving.scheduler.POLICIES``) that matches the
    engine's default: ``decode_first`` (mixed steps) or ``prefill_first`` (SGLang)."""
    return "decode_first" if mixes_prefill(engine) else "prefill_first"


def check_engine(engine: str) -> str:
    """The engine's canonical name (``ConfigError`` naming the valid ones)."""
    e = str(engine).strip().lower()
    aliases = {"tensorrt-llm": "trtllm", "trt-llm": "trtllm", "tensorrt_llm": "trtllm"}
    e = aliases.get(e, e)
    if e not in ENGINES:
        raise ConfigError(f"engine = {engine!r} is not known; choose one of {', '.join(ENGINES)} "
                          f"(default {DEFAULT_ENGINE}).")
    return e


def engine_defaults(engine: str, accelerator: Accelerator) -> EngineDefaults:
    """The engine's defaults on ``accelerator`` (an OpenAI-compatible server, as users run it).

    vLLM (vllm/engine/arg_utils.py ``EngineArgs.get_batch_defaults``, v0.9-v0.11): on a device
    with >= 70 GiB that is not an A100, 8,192 batched tokens and 1,024 sequences for the API
    server; otherwise 2,048 and 256; TPU v6e 1,024, v5e 512, v5p 256 tokens;
    ``gpu_memory_utilization`` 0.9, block size 16.
    SGLang (python/sglang/srt/server_args.py): ``chunked_prefill_size`` 2,048 below 35 GiB,
    8,192 below 160 GiB, 16,384 above; ``mem_fraction_static`` 0.88 when it cannot size it.
    TensorRT-LLM (trtllm-serve / LLM API ``BuildConfig``): ``max_batch_size`` 2,048,
    ``max_num_tokens`` 8,192, ``free_gpu_memory_fraction`` 0.9, 32-token blocks.
    """
    e = check_engine(engine)
    mem_gib = accelerator.memory_bytes / GIB
    if accelerator.kind in VENDOR_STACK_KINDS:
        # ASSUMPTION: SRAM/dataflow systems (Groq, Cerebras, SambaNova) run their vendors'
        # own serving stacks, not the named engine: a few hundred sequences per replica and
        # small prefill chunks (the activations of a step must fit beside the weights on chip).
        return EngineDefaults(engine=e, max_num_seqs=256, max_num_batched_tokens=512,
                              gpu_memory_utilization_frac=0.95, block_size_tokens=16,
                              source="assumed for a vendor dataflow stack (no public defaults)")
    if e == "vllm":
        big = mem_gib >= 70 and "a100" not in accelerator.name
        tokens, seqs = (8192, 1024) if big else (2048, 256)
        tpu = {"tpu-v6e": 1024, "tpu-v5e": 512, "tpu-v5p": 256}
        if accelerator.name in tpu:
            tokens = tpu[accelerator.name]
            seqs = min(seqs, tokens)
        return EngineDefaults(engine=e, max_num_seqs=seqs, max_num_batched_tokens=tokens,
                              gpu_memory_utilization_frac=0.9, block_size_tokens=16,
                              source="vllm/engine/arg_utils.py EngineArgs.get_batch_defaults "
                                     "(OpenAI API server)")
    if e == "sglang":
        tokens = 2048 if mem_gib < 35 else 8192 if mem_gib < 160 else 16384
        # ASSUMPTION: SGLang sizes max_running_requests from its KV pool; 1,024 stands for that
        # cap (the KV capacity check applies on top).
        return EngineDefaults(engine=e, max_num_seqs=1024, max_num_batched_tokens=tokens,
                              gpu_memory_utilization_frac=0.88, block_size_tokens=1,
                              source="sglang/srt/server_args.py (chunked_prefill_size by GPU "
                                     "memory; mem_fraction_static fallback 0.88)")
    # ASSUMPTION: TensorRT-LLM's free_gpu_memory_fraction (of the memory left after weights)
    # is applied as a fraction of the whole device, like vLLM's setting.
    return EngineDefaults(engine=e, max_num_seqs=2048, max_num_batched_tokens=8192,
                          gpu_memory_utilization_frac=0.9, block_size_tokens=32,
                          source="TensorRT-LLM LLM API BuildConfig / KvCacheConfig defaults")


def check_engine_support(engine: str | None, dep: Deployment) -> tuple[str, ...]:
    """Refuse (``ConfigError``) what ``engine`` cannot run on ``dep``'s accelerator and
    precision; return warnings for what it runs on a slower path than the format suggests.

    Sources: TensorRT-LLM's support matrix (docs/source/reference/support-matrix.md: NVIDIA
    GPUs only; FP8 on Ada, Hopper and Blackwell; NVFP4 on Blackwell); vLLM's quantization
    table (docs/features/quantization: FP8 W8A16 and FP4 W4A16 through Marlin on Ampere and
    Hopper, MXFP4 on Hopper through Marlin/Triton for gpt-oss).
    """
    if engine is None or dep.accelerator.kind in VENDOR_STACK_KINDS:
        return ()
    e = check_engine(engine)
    acc = dep.accelerator
    w = get_dtype(dep.weights_dtype)
    out: list[str] = []
    if e == "trtllm":
        if acc.vendor.lower() != "nvidia":
            raise ConfigError(f"TensorRT-LLM runs on NVIDIA GPUs only, not {acc.name} "
                              f"({acc.vendor}); use --engine vllm or sglang.")
        if w.compute == "fp8" and not acc.supports("fp8"):
            raise ConfigError(f"TensorRT-LLM's FP8 needs FP8 tensor cores (Ada, Hopper, "
                              f"Blackwell); {acc.name} has none. Use bf16, int8 or int4 weights, "
                              f"or vllm (FP8 weight-only through Marlin).")
        if w.name == "nvfp4" and not acc.supports("fp4"):
            alt = "fp8 weights" if acc.supports("fp8") else "bf16, int8 or int4 weights"
            raise ConfigError(f"TensorRT-LLM's NVFP4 needs Blackwell FP4 tensor cores; {acc.name} "
                              f"has none. Use {alt}, or mxfp4 (W4A16) for gpt-oss.")
    if acc.kind == "tpu" and e != "vllm":
        raise ConfigError(f"{e} has no TPU backend modelled here; TPUs run vLLM's TPU backend "
                          f"(--engine vllm).")
    if is_weight_only(dep) and w.name != "int4":
        out.append(f"{w.name} weights on {acc.name}, which has no {w.compute.upper()} tensor "
                   f"cores, run dequantised in 16-bit kernels (W{int(w.bits)}A16, e.g. Marlin): "
                   f"they save memory and weight traffic, not compute.")
    return tuple(out)
