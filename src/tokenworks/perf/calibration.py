"""Calibration of the step-time model: kernel efficiencies, launch latencies, collective costs
and the serving engine's own overheads.

The step time (``perf.step``) adds physical terms — GEMMs, attention, elementwise kernels,
collectives, the engine's CPU time — and each term has a few coefficients that are not
datasheet numbers: the fraction of peak FLOP/s a GEMM reaches at large M, the fraction of HBM
bandwidth it streams weights at, the fixed time of one kernel, an all-reduce's latency, the
per-step time an engine spends outside the GPU. Those coefficients live here.

Where they come from (``data/calibration.toml`` names the source of each table):

* kernel coefficients per accelerator — fitted on measured kernel timings: NVIDIA
  AIConfigurator 0.12.0's databases for H100/H200/B200/GB200/B300/GB300
  (``benchmarks/aiconfigurator``), vidur's profiling for A100 (``benchmarks/vidur_kernels``);
* engine overheads (per step, per sequence, front end) — fitted on measured serving latency at
  batch 1, moderate and high concurrency together with max-load throughput
  (``benchmarks/calibrate.py``);
* everything else falls back to the global values (H100 kernels), marked as an assumption.

Resolution (``resolve``): the global values, then an override matching the accelerator's
vendor (``"vendor:amd"``), then its name (``"h100-sxm"``), then the engine (``"engine:vllm"``),
then the engine on that accelerator (``"engine:vllm/h100-sxm"``); later ones win.

Units: fractions in 0–1 (``_frac``), seconds (``_s``), tokens (``_tokens``); ``gemm_sharpness``
is a dimensionless exponent. A user's calibration file is read and written at the edge
(``tokenworks.io.calibration``); this module parses its table and serialises one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any

from tokenworks.catalog import data_path, read_toml
from tokenworks.errors import ConfigError
from tokenworks.hardware import get_accelerator


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """What one calibration parameter means and the range that is physically meaningful."""

    low: float
    high: float
    unit: str  # "frac", "s", "tokens", "exponent"
    meaning: str


# Every tunable coefficient of the step-time model, in the order the file lists them.
PARAMS: dict[str, ParamSpec] = {
    "gemm_compute_frac": ParamSpec(
        0.0, 1.0, "frac", "GEMM throughput at large M as a fraction of the dense 16-bit peak"),
    "gemm_compute_frac_lowp": ParamSpec(
        0.0, 1.0, "frac", "the same for FP8/FP6/FP4/INT8 matmuls, of their own peak"),
    "gemm_compute_frac_fp4": ParamSpec(
        0.0, 1.0, "frac", "the same for FP4 (NVFP4/MXFP4) matmuls, of the FP4 peak"),
    "gemm_memory_frac": ParamSpec(
        0.0, 1.0, "frac", "GEMM weight streaming at small M as a fraction of memory bandwidth"),
    "gemm_memory_frac_fp4": ParamSpec(
        0.0, 1.0, "frac", "weight streaming of FP4 GEMMs (with their block scales)"),
    "gemm_compute_frac_block": ParamSpec(
        0.0, 1.0, "frac", "the same for FP8 matmuls with 128×128 block scales (fp8_block)"),
    "gemm_memory_frac_block": ParamSpec(
        0.0, 1.0, "frac", "weight streaming of block-scaled FP8 GEMMs"),
    "weight_only_memory_frac": ParamSpec(
        0.0, 1.0, "frac", "weight streaming of weight-only INT4 GEMMs (AWQ/GPTQ, dequantised "
        "in the kernel) as a fraction of memory bandwidth"),
    "gemm_launch_s": ParamSpec(0.0, 1e-3, "s", "fixed time of one GEMM kernel"),
    "gemm_sharpness": ParamSpec(
        1.0, 50.0, "exponent", "k of the smooth maximum (t_mem^k + t_compute^k)^(1/k) of a GEMM"),
    "attention_memory_frac": ParamSpec(
        0.0, 1.0, "frac", "decode attention KV-cache reads as a fraction of memory bandwidth"),
    "attention_launch_s": ParamSpec(0.0, 1e-3, "s", "fixed time of decode attention per layer"),
    "attention_per_seq_s": ParamSpec(
        0.0, 1e-5, "s", "decode attention time per sequence per layer"),
    "mla_attention_launch_s": ParamSpec(
        0.0, 1e-3, "s", "fixed time of decode attention per MLA layer (the latent attention "
        "kernel with its absorbed batched matmuls, rope and quantisation)"),
    "mla_attention_per_seq_s": ParamSpec(
        0.0, 1e-5, "s", "MLA decode attention time per sequence per layer"),
    "mla_attention_memory_frac": ParamSpec(
        0.0, 1.0, "frac", "MLA decode latent-cache reads as a fraction of memory bandwidth"),
    "prefill_attention_frac": ParamSpec(
        0.0, 1.0, "frac", "prefill (flash) attention at long prompts, fraction of 16-bit peak"),
    "prefill_attention_half_tokens": ParamSpec(
        0.0, 1e6, "tokens", "prompt length at which prefill attention reaches half that rate"),
    "prefill_attention_launch_s": ParamSpec(
        0.0, 1e-3, "s", "fixed time of prefill attention per layer"),
    "moe_launch_s": ParamSpec(
        0.0, 1e-3, "s", "fixed time of one MoE layer's expert kernels (routing, permutation, "
        "grouped GEMMs, finalize)"),
    "moe_compute_frac": ParamSpec(
        0.0, 1.0, "frac", "grouped expert GEMMs at many tokens per expert, fraction of the "
        "16-bit peak"),
    "moe_compute_frac_lowp": ParamSpec(
        0.0, 1.0, "frac", "the same for per-tensor FP8 experts, of the FP8 peak"),
    "moe_compute_frac_block": ParamSpec(
        0.0, 1.0, "frac", "the same for block-scaled FP8 experts (fp8_block), of the FP8 peak"),
    "moe_compute_frac_fp4": ParamSpec(
        0.0, 1.0, "frac", "the same for FP4 experts on FP4 tensor cores, of the FP4 peak"),
    "moe_weight_only_compute_frac": ParamSpec(
        0.0, 1.0, "frac", "the same for 4-bit experts dequantised to 16-bit (W4A16), of the "
        "16-bit peak"),
    "moe_memory_frac": ParamSpec(
        0.0, 1.0, "frac", "expert weight streaming at few tokens per expert (16-bit), fraction "
        "of memory bandwidth"),
    "moe_memory_frac_lowp": ParamSpec(0.0, 1.0, "frac", "the same for per-tensor FP8 experts"),
    "moe_memory_frac_block": ParamSpec(0.0, 1.0, "frac", "the same for block-scaled FP8 experts"),
    "moe_memory_frac_fp4": ParamSpec(0.0, 1.0, "frac", "the same for FP4 experts"),
    "moe_weight_only_memory_frac": ParamSpec(
        0.0, 1.0, "frac", "the same for W4A16 experts (dequantised in the kernel)"),
    "moe_sharpness": ParamSpec(
        1.0, 50.0, "exponent", "k of the smooth maximum of the expert GEMMs' memory and compute "
        "times (1: they add)"),
    "moe_imbalance_a": ParamSpec(
        0.0, 10.0, "exponent", "routing imbalance: the busiest expert-parallel rank carries "
        "1 + a·ln(ep)^b times the mean tokens"),
    "moe_imbalance_b": ParamSpec(0.0, 10.0, "exponent", "b of the routing imbalance (above)"),
    "a2a_latency_s": ParamSpec(
        0.0, 1e-2, "s", "latency of one MoE all-to-all phase (dispatch or combine) inside the "
        "scale-up domain"),
    "a2a_bus_frac": ParamSpec(
        0.0, 1.0, "frac", "all-to-all bandwidth per GPU as a fraction of the scale-up link"),
    "a2a_internode_bus_frac": ParamSpec(
        0.0, 1.0, "frac", "all-to-all bandwidth per GPU across nodes as a fraction of the "
        "scale-out NIC"),
    "spec_draft_step_s": ParamSpec(
        0.0, 1e-2, "s", "fixed time of one speculative draft step beyond the drafter's "
        "kernels (sampling, the draft loop's glue)"),
    "elementwise_launch_s": ParamSpec(
        0.0, 1e-3, "s", "fixed time of one elementwise kernel (norm, activation, rope)"),
    "comm_bus_frac": ParamSpec(
        0.0, 1.0, "frac", "small-message all-reduce (the engine's custom kernel) bus bandwidth "
        "as a fraction of the scale-up link"),
    "comm_latency_s": ParamSpec(
        0.0, 1e-3, "s", "latency of one small-message all-reduce inside a node"),
    "comm_ring_bus_frac": ParamSpec(
        0.0, 1.0, "frac", "large-message (NCCL ring) all-reduce bus bandwidth as a fraction of "
        "the scale-up link"),
    "comm_ring_latency_s": ParamSpec(
        0.0, 1e-2, "s", "latency of one large-message (NCCL) all-reduce inside a node"),
    "internode_latency_s": ParamSpec(
        0.0, 1e-2, "s", "latency of one collective that leaves the scale-up domain"),
    "p2p_latency_s": ParamSpec(0.0, 1e-2, "s", "latency of one pipeline-stage send"),
    "step_overhead_s": ParamSpec(
        0.0, 0.5, "s", "engine time per step not hidden behind the GPU (schedule, launch)"),
    "per_seq_overhead_s": ParamSpec(
        0.0, 1e-3, "s", "engine time per running sequence per step (sampling, bookkeeping)"),
    "frontend_s": ParamSpec(
        0.0, 10.0, "s", "per request outside the engine (HTTP, tokenise, stream): TTFT only"),
}
PARAM_NAMES = tuple(PARAMS)
_META = ("source", "fit_date", "fit_error")
# Names used by calibration files before the step model was rebuilt (issue #11).
_RENAMED = {
    "compute_efficiency_frac": "gemm_compute_frac",
    "prefill_compute_efficiency_frac": "gemm_compute_frac (one GEMM curve over all tokens)",
    "memory_efficiency_frac": "gemm_memory_frac and attention_memory_frac",
    "comm_efficiency_frac": "comm_bus_frac",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibrationOverride:
    """Values replacing the global ones where ``match`` applies: an accelerator
    (``"h100-sxm"``), a vendor (``"vendor:amd"``), an engine (``"engine:vllm"``) or an engine
    on an accelerator (``"engine:vllm/h100-sxm"``). ``None`` keeps the value below it."""

    match: str
    gemm_compute_frac: float | None = None
    gemm_compute_frac_lowp: float | None = None
    gemm_compute_frac_fp4: float | None = None
    gemm_memory_frac: float | None = None
    gemm_memory_frac_fp4: float | None = None
    gemm_compute_frac_block: float | None = None
    gemm_memory_frac_block: float | None = None
    weight_only_memory_frac: float | None = None
    gemm_launch_s: float | None = None
    gemm_sharpness: float | None = None
    attention_memory_frac: float | None = None
    attention_launch_s: float | None = None
    attention_per_seq_s: float | None = None
    mla_attention_launch_s: float | None = None
    mla_attention_per_seq_s: float | None = None
    mla_attention_memory_frac: float | None = None
    prefill_attention_frac: float | None = None
    prefill_attention_half_tokens: float | None = None
    prefill_attention_launch_s: float | None = None
    moe_launch_s: float | None = None
    moe_compute_frac: float | None = None
    moe_compute_frac_lowp: float | None = None
    moe_compute_frac_block: float | None = None
    moe_compute_frac_fp4: float | None = None
    moe_weight_only_compute_frac: float | None = None
    moe_memory_frac: float | None = None
    moe_memory_frac_lowp: float | None = None
    moe_memory_frac_block: float | None = None
    moe_memory_frac_fp4: float | None = None
    moe_weight_only_memory_frac: float | None = None
    moe_sharpness: float | None = None
    moe_imbalance_a: float | None = None
    moe_imbalance_b: float | None = None
    a2a_latency_s: float | None = None
    a2a_bus_frac: float | None = None
    a2a_internode_bus_frac: float | None = None
    spec_draft_step_s: float | None = None
    elementwise_launch_s: float | None = None
    comm_bus_frac: float | None = None
    comm_latency_s: float | None = None
    comm_ring_bus_frac: float | None = None
    comm_ring_latency_s: float | None = None
    internode_latency_s: float | None = None
    p2p_latency_s: float | None = None
    step_overhead_s: float | None = None
    per_seq_overhead_s: float | None = None
    frontend_s: float | None = None
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """The step-time model's coefficients (see ``PARAMS``) with overrides and provenance.

    The defaults are used only when no file is loaded; the packaged ``data/calibration.toml``
    holds the fitted and sourced values (``packaged_calibration``).
    """

    # ASSUMPTION (unfitted defaults): H100-SXM kernel coefficients fitted on AIConfigurator
    # 0.12.0's TensorRT-LLM kernel database (benchmarks/aiconfigurator/coefficients.toml:
    # gemm.h100-sxm.bf16 / fp8_static roofline_*, attention_decode.h100-sxm,
    # attention_prefill.h100-sxm.bf16, moe.h100-sxm.bf16, framework.all_engines) stand for
    # any accelerator without its own table.
    gemm_compute_frac: float = 0.782
    gemm_compute_frac_lowp: float = 0.726
    # ASSUMPTION (unfitted default): FP4 matmuls reach B200's NVFP4 fraction
    # (AIConfigurator gemm.b200.nvfp4) where a part has FP4 tensor cores.
    gemm_compute_frac_fp4: float = 0.5
    gemm_memory_frac: float = 0.819
    gemm_memory_frac_fp4: float = 0.5  # ASSUMPTION (unfitted default): as B200's NVFP4 table
    # ASSUMPTION (unfitted defaults): block-scaled FP8 GEMMs as H100's fp8_block table
    # (AIConfigurator gemm.h100-sxm.fp8_block).
    gemm_compute_frac_block: float = 0.546
    gemm_memory_frac_block: float = 0.887
    # ASSUMPTION (unfitted default): weight-only INT4 kernels stream like 16-bit GEMMs.
    weight_only_memory_frac: float = 0.819
    gemm_launch_s: float = 3.29e-6
    gemm_sharpness: float = 2.6
    attention_memory_frac: float = 0.816
    attention_launch_s: float = 9.77e-6
    attention_per_seq_s: float = 72.5e-9
    # ASSUMPTION (unfitted defaults): H100 TensorRT-LLM's MLA generation module at 16 heads
    # per GPU, bf16 latent cache (AIConfigurator mla_decode_module.trtllm.h100-sxm.bf16.fp8_block
    # .h16: t0 57 µs, 128 ns per sequence, 0.93 of HBM bandwidth).
    mla_attention_launch_s: float = 57e-6
    mla_attention_per_seq_s: float = 128e-9
    mla_attention_memory_frac: float = 0.93
    prefill_attention_frac: float = 0.59
    prefill_attention_half_tokens: float = 1432.0
    prefill_attention_launch_s: float = 16.4e-6
    moe_launch_s: float = 39.6e-6
    # ASSUMPTION (unfitted defaults): the grouped expert GEMMs of H100 TensorRT-LLM
    # (AIConfigurator 0.12.0 moe.h100-sxm.*: bf16, fp8 per-tensor, fp8_block, w4a16_mxfp4;
    # FP4 from moe.b200.nvfp4), fractions above 1 in those fits clamped to 1.
    moe_compute_frac: float = 0.792
    moe_compute_frac_lowp: float = 0.629
    moe_compute_frac_block: float = 0.312
    moe_compute_frac_fp4: float = 0.23
    moe_weight_only_compute_frac: float = 0.23
    moe_memory_frac: float = 0.858
    moe_memory_frac_lowp: float = 0.773
    moe_memory_frac_block: float = 0.929
    moe_memory_frac_fp4: float = 0.684
    moe_weight_only_memory_frac: float = 0.5
    moe_sharpness: float = 1.06
    # ASSUMPTION (unfitted defaults): routing imbalance and all-to-all as fitted on
    # AIConfigurator's H100 tables (power-law α = 1.01 token routing, TensorRT-LLM's MoE
    # all-to-all); replaced by the packaged file's values.
    moe_imbalance_a: float = 0.1
    moe_imbalance_b: float = 1.0
    a2a_latency_s: float = 20e-6
    a2a_bus_frac: float = 0.5
    a2a_internode_bus_frac: float = 0.5
    # ASSUMPTION (sourced default): a draft step costs 0.3 ms beyond its drafter's kernels:
    # TensorRT-LLM tech blog 1 (DeepSeek-R1, B200, batch 1) measures a verification round
    # growing 0.77 ms per MTP draft token where the MTP layer's kernels account for ~0.46 ms
    # (benchmarks/spec_decode.py, docs/accuracy_spec_decode.md).
    spec_draft_step_s: float = 0.3e-3
    elementwise_launch_s: float = 3.0e-6
    # ASSUMPTION (unfitted defaults): vLLM's CUDA-graph custom all-reduce on H100 NVLink for
    # decode-sized messages (AIConfigurator allreduce_impl.vllm_vllm_custom_graph.h100-sxm:
    # 4.3-5.7 us); NCCL inter-node latency ~25 us over InfiniBand; a pipeline send 10 us
    # (AIConfigurator systems/h100_sxm.yaml p2p_latency).
    comm_bus_frac: float = 0.5
    comm_latency_s: float = 5.0e-6
    # ASSUMPTION (unfitted defaults): NCCL ring all-reduce on H100 NVLink (AIConfigurator
    # nccl.all_reduce.h100-sxm.n8: 17.7 us, 351 GB/s bus bandwidth of 450).
    comm_ring_bus_frac: float = 0.78
    comm_ring_latency_s: float = 17.7e-6
    internode_latency_s: float = 25e-6
    p2p_latency_s: float = 10e-6
    # ASSUMPTION (unfitted defaults): engine overheads of a CUDA-graph engine; the packaged
    # file replaces them with per-engine fits.
    step_overhead_s: float = 0.5e-3
    per_seq_overhead_s: float = 0.0
    frontend_s: float = 5e-3
    overrides: tuple[CalibrationOverride, ...] = ()
    source: str = "unfitted defaults"
    fit_date: str = ""
    fit_error: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        for name in PARAM_NAMES:
            check_param(name, getattr(self, name), where="calibration")
        for o in self.overrides:
            _check_match(o.match)
            for name in PARAM_NAMES:
                v = getattr(o, name)
                if v is not None:
                    check_param(name, v, where=f"calibration override '{o.match}'")

    def resolve(self, accelerator: str, vendor: str = "", engine: str | None = None
                ) -> Calibration:
        """The flat parameter set for one accelerator (and engine): global, vendor,
        accelerator, engine, engine on accelerator (later wins); no overrides left."""
        out = replace(self, overrides=())
        keys = [f"vendor:{vendor.lower()}"] if vendor else []
        keys.append(accelerator.lower())
        if engine:
            keys += [f"engine:{engine.lower()}", f"engine:{engine.lower()}/{vendor.lower()}",
                     f"engine:{engine.lower()}/{accelerator.lower()}"]
        for key in keys:
            for o in self.overrides:
                if o.match.lower() != key:
                    continue
                changes = {n: getattr(o, n) for n in PARAM_NAMES if getattr(o, n) is not None}
                out = replace(out, **changes)
        return out

    def for_accelerator(self, name: str, vendor: str = "", engine: str | None = None
                        ) -> Calibration:
        """Alias of ``resolve`` (the name used before engines were added)."""
        return self.resolve(name, vendor, engine)

    def sources_for(self, accelerator: str, vendor: str = "", engine: str | None = None
                    ) -> list[str]:
        """The sources of the tables ``resolve`` applies, global first."""
        out = [self.source]
        keys = [f"vendor:{vendor.lower()}", accelerator.lower()]
        if engine:
            keys += [f"engine:{engine.lower()}", f"engine:{engine.lower()}/{vendor.lower()}",
                     f"engine:{engine.lower()}/{accelerator.lower()}"]
        for key in keys:
            out += [o.source for o in self.overrides if o.match.lower() == key and o.source]
        return out


def _check_match(match: str) -> None:
    if not isinstance(match, str) or not match.strip():
        raise ConfigError("calibration override: 'match' must name an accelerator, "
                          "'vendor:<name>', 'engine:<name>' or 'engine:<name>/<accelerator>'.")


def check_param(name: str, value: float | None, *, where: str) -> None:
    """A finite number inside the parameter's physical range (``ConfigError`` otherwise)."""
    spec = PARAMS[name]
    if value is None:
        raise ConfigError(f"{where}: {name} is missing; give a number ({spec.meaning}).")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}: {name} = {value!r} is not a finite number; give a number.")
    if spec.unit == "frac" and not 0.0 < value <= 1.0:
        raise ConfigError(f"{where}: {name} = {value:g} must be in (0, 1]; it is a fraction "
                          f"of the datasheet peak ({spec.meaning}).")
    if spec.unit != "frac" and not spec.low <= value <= spec.high:
        unit = {"s": " s", "tokens": " tokens"}.get(spec.unit, "")
        raise ConfigError(f"{where}: {name} = {value:g}{unit} is outside [{spec.low:g}, "
                          f"{spec.high:g}]{unit} ({spec.meaning}).")


def _unknown_key(origin: str, section: str, key: str, allowed: set[str]) -> ConfigError:
    if key in _RENAMED:
        return ConfigError(f"{origin}: {section} key '{key}' belongs to the old step model; it is "
                           f"now {_RENAMED[key]}. Re-run `tokenworks calibrate` or rename it.")
    return ConfigError(f"{origin}: {section} key '{key}' is unknown. Valid keys: "
                       f"{', '.join(sorted(allowed))} (free text under note_*).")


def parse_calibration(raw: dict[str, Any], origin: str) -> Calibration:
    """A ``Calibration`` from a calibration file's TOML table (``ConfigError`` naming the key)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: a calibration file is a TOML table with [calibration].")
    unknown = set(raw) - {"calibration", "override"}
    if unknown:
        raise ConfigError(f"{origin}: unknown top-level keys {sorted(unknown)}; only "
                          f"[calibration] and [[override]] are allowed.")
    base = raw.get("calibration", {})
    if not isinstance(base, dict):
        raise ConfigError(f"{origin}: [calibration] must be a table of key = value lines.")
    allowed = set(PARAM_NAMES) | set(_META)
    extra = {k: v for k, v in base.items() if k not in allowed}
    for k in extra:
        if not k.startswith("note_"):
            raise _unknown_key(origin, "[calibration]", k, allowed)
    overrides = []
    okeys = set(PARAM_NAMES) | {"match", "source"}
    raw_overrides = raw.get("override", [])
    if not isinstance(raw_overrides, list):
        raise ConfigError(f"{origin}: 'override' must be an array of [[override]] tables.")
    for i, o in enumerate(raw_overrides):
        if not isinstance(o, dict) or "match" not in o:
            raise ConfigError(f"{origin}: [[override]] #{i} has no 'match'; name an accelerator, "
                              f"'vendor:<name>', 'engine:<name>' or 'engine:<name>/<accelerator>'.")
        for k in o:
            if k not in okeys:
                raise _unknown_key(origin, f"[[override]] #{i} ('{o['match']}')", k, okeys)
        overrides.append(CalibrationOverride(**o))
    kwargs = {k: base[k] for k in allowed if k in base}
    return Calibration(**kwargs, overrides=tuple(overrides),
                       extra=tuple(sorted((k, str(v)) for k, v in extra.items())))


def default_calibration(accelerator_name: str, engine: str | None = None) -> Calibration:
    """The packaged calibration, flattened for one catalog accelerator (and engine)."""
    acc = get_accelerator(accelerator_name)
    return packaged_calibration().resolve(acc.name, acc.vendor, engine)


@cache
def packaged_calibration() -> Calibration:
    """The fitted calibration shipped in ``data/calibration.toml``."""
    # NOTE: cached for performance; the packaged file does not change while running.
    path = data_path("calibration.toml")
    return parse_calibration(read_toml(path), str(path))


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(float(v)) if isinstance(v, float) else str(v)
    s = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def calibration_to_toml(cal: Calibration, header: str = "") -> str:
    """Serialise to the TOML layout ``parse_calibration`` reads (round-trips exactly)."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()] if header else \
        ["# tokenworks step-time calibration (see docs/accuracy.md)."]
    lines += ["", "[calibration]"]
    for name in (*PARAM_NAMES, *_META):
        v = getattr(cal, name)
        if v is not None and v != "":
            lines.append(f"{name} = {_toml_value(v)}")
    for k, v in cal.extra:
        lines.append(f"{k} = {_toml_value(v)}")
    for o in cal.overrides:
        lines += ["", "[[override]]", f"match = {_toml_value(o.match)}"]
        for f in fields(o):
            v = getattr(o, f.name)
            if f.name != "match" and v is not None and v != "":
                lines.append(f"{f.name} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"
