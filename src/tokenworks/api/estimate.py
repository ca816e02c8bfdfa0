"""``estimate(...)``: what a token costs, how fast, on which hardware — for one deployment and
one request shape, analytically.

Edge (names → model, accelerator, deployment; defaults recorded) → ``perf.estimate_performance``
(memory plan, latency, throughput) → ``economics.price_estimate`` ($/M tokens, power, J/token).
"""

from __future__ import annotations

from typing import Literal

from tokenworks.economics.estimate_cost import Estimate, price_estimate
from tokenworks.economics.token_cost import default_usd_per_gpu_hour
from tokenworks.errors import ConfigError, check_range
from tokenworks.hardware import Accelerator, get_accelerator
from tokenworks.io.calibration import read_calibration
from tokenworks.model import ModelArch, get_model
from tokenworks.perf.calibration import Calibration
from tokenworks.perf.deployment import SpecDecode, make_deployment, served_weights_dtype
from tokenworks.perf.engine import (
    DEFAULT_ENGINE,
    VENDOR_STACK_KINDS,
    check_engine,
    engine_defaults,
)
from tokenworks.perf.estimator import MAX_TOKENS, estimate_performance
from tokenworks.perf.memory import smallest_tp

__all__ = ["Estimate", "estimate"]


def estimate(
    model: str | ModelArch,
    hardware: str | Accelerator,
    *,
    num_gpus: int | None = None,
    tp: int | None = None,
    pp: int = 1,
    ep: int = 1,
    dp: int = 1,
    weights_dtype: str | None = None,
    kv_dtype: str | None = None,
    input_tokens: int = 2048,
    output_tokens: int = 256,
    batch: int | Literal["max"] = "max",
    prefix_hit_frac: float = 0.0,
    usd_per_gpu_hour: float | None = None,
    engine: str = DEFAULT_ENGINE,
    gpu_memory_utilization_frac: float | None = None,
    max_num_seqs: int | None = None,
    max_num_batched_tokens: int | None = None,
    calibration: Calibration | str | None = None,
    tpot_slo_s: float | None = None,
    ttft_slo_s: float | None = None,
    sweep: bool = False,
    spec: SpecDecode | None = None,
) -> Estimate:
    """Estimate latency, throughput, cost and energy for one deployment and request shape.

    Engine settings left as None take ``engine``'s defaults on this accelerator; with a TPOT or
    TTFT target and ``batch="max"`` the batch is the largest that meets it; ``sweep`` adds the
    latency–throughput curve. ``dp`` > 1 runs attention data-parallel over that many ranks
    (MoE models, with ``ep`` = tp × dp); ``spec`` adds speculative decoding
    (``make_spec_decode``). ``weights_dtype`` None serves the checkpoint's own format
    (``served_weights_dtype``)."""
    defaults: list[str] = []
    arch = get_model(model) if isinstance(model, str) else model
    if weights_dtype is None:
        weights_dtype = served_weights_dtype(arch)
        defaults.append(f"weights_dtype = {weights_dtype} (the checkpoint's format)")
    acc = get_accelerator(hardware) if isinstance(hardware, str) else hardware
    engine = check_engine(engine)
    ed = engine_defaults(engine, acc)
    for name, v, d in (("max_num_seqs", max_num_seqs, ed.max_num_seqs),
                       ("max_num_batched_tokens", max_num_batched_tokens,
                        ed.max_num_batched_tokens),
                       ("gpu_memory_utilization_frac", gpu_memory_utilization_frac,
                        ed.gpu_memory_utilization_frac)):
        if v is None:
            who = (f"{acc.name}'s vendor stack" if acc.kind in VENDOR_STACK_KINDS
                   else f"{engine} default on {acc.name}")
            defaults.append(f"{name} = {d:g} ({who}: {ed.source})")
    if usd_per_gpu_hour is not None:
        check_range("usd_per_gpu_hour", usd_per_gpu_hour, low=0.0, low_inclusive=False, high=1000.0,
                    unit="$/GPU-h", fix="Give a rental or TCO price per GPU-hour, e.g. 2.5.")
    if kv_dtype is None:
        kv_dtype = default_kv_dtype(weights_dtype, engine)
        defaults.append(f"kv_dtype = {kv_dtype} ({engine} default for {weights_dtype} weights)")
    if tp is None:
        tp = smallest_tp(arch, acc, weights_dtype=weights_dtype, kv_dtype=kv_dtype,
                         gpu_memory_utilization_frac=gpu_memory_utilization_frac or
                         ed.gpu_memory_utilization_frac,
                         max_seq_len_tokens=input_tokens + output_tokens) \
            if isinstance(input_tokens, int) and isinstance(output_tokens, int) else None
        if tp is None:
            tp = 1  # nothing fits: the memory plan below explains what would
        else:
            defaults.append(f"tp = {tp} (the smallest that fits {arch.name} on {acc.name})")
    for name, v in (("tp", tp), ("pp", pp), ("ep", ep), ("dp", dp)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} = {v!r} is invalid: it must be a whole number >= 1.")
    replica_gpus = tp * dp * pp
    if num_gpus is None:
        num_gpus = replica_gpus
    elif not isinstance(num_gpus, int) or isinstance(num_gpus, bool):
        raise ConfigError(f"num_gpus = {num_gpus!r} must be an integer. Give the number of "
                          f"accelerators, e.g. 8.")
    else:
        check_range("num_gpus", num_gpus, low=1, high=MAX_TOKENS,
                    fix="Give the number of accelerators, e.g. 8.")
    if num_gpus % replica_gpus:
        split = f"tp × pp = {tp} × {pp}" if dp == 1 else f"tp × dp × pp = {tp} × {dp} × {pp}"
        raise ConfigError(
            f"num_gpus = {num_gpus} is not a multiple of {split} = {replica_gpus}. "
            f"Each replica uses {replica_gpus} GPUs; pick num_gpus in multiples of "
            f"{replica_gpus}."
        )
    dep = make_deployment(arch, acc, tp=tp, pp=pp, ep=ep, dp=dp, weights_dtype=weights_dtype,
                          kv_dtype=kv_dtype, spec=spec)
    cal = read_calibration(calibration) if isinstance(calibration, str) else calibration
    if calibration is None:
        defaults.append("calibration: packaged fit (data/calibration.toml)")
    perf = estimate_performance(
        arch, dep, engine=engine, num_replicas=num_gpus // replica_gpus,
        input_tokens=input_tokens, output_tokens=output_tokens, batch=batch,
        prefix_hit_frac=prefix_hit_frac, gpu_memory_utilization_frac=gpu_memory_utilization_frac,
        max_num_seqs=max_num_seqs, max_num_batched_tokens=max_num_batched_tokens,
        calibration=cal, tpot_slo_s=tpot_slo_s, ttft_slo_s=ttft_slo_s, sweep=sweep)
    price: float | None = usd_per_gpu_hour
    if price is None:
        try:
            price, price_source = default_usd_per_gpu_hour(acc)
            defaults.append(f"usd_per_gpu_hour = {price:.2f} ({price_source})")
        except ConfigError:
            price_source = "no public rental price in the catalogs; pass --usd-per-gpu-hour"
            defaults.append(f"usd_per_gpu_hour: none ({price_source})")
    else:
        price_source = "user input"
    return price_estimate(perf, acc, usd_per_gpu_hour=price, price_source=price_source,
                          defaults_used=tuple(defaults))


def default_kv_dtype(weights_dtype: str, engine: str = DEFAULT_ENGINE) -> str:
    """KV precision when none is given, as the engine chooses it."""
    # ASSUMPTION: vLLM and SGLang keep the KV cache in the activation dtype (bf16) unless told
    # otherwise (kv_cache_dtype="auto"), whatever the weights; TensorRT-LLM's FP8/FP4
    # checkpoints (ModelOpt, as in its perf-overview and the MLPerf FP8 recipes) carry an FP8
    # KV cache.
    if engine == "trtllm" and weights_dtype in ("fp8", "fp8_block", "fp4", "nvfp4", "mxfp4"):
        return "fp8"
    return "bf16"
