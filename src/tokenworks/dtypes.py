"""The one table of datatype widths (STYLE.md section 3: never a literal 2).

Widths are bits per element. Block-scaled formats carry their scale overhead explicitly:
MXFP4 stores one 8-bit scale per 32 elements (OCP Microscaling spec v1.0, 2023), NVFP4 one
FP8 scale per 16 elements (NVIDIA Blackwell architecture technical brief, 2024).
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenworks.errors import ConfigError, did_you_mean


@dataclass(frozen=True, slots=True, kw_only=True)
class Dtype:
    """A numeric format: its storage width and which peak-FLOPS column computes in it."""

    name: str
    bits: float  # storage bits per element, scale overhead included
    compute: str  # key of the accelerator peak table used for matmuls in this format

    @property
    def bytes(self) -> float:
        return self.bits / 8.0


DTYPES: dict[str, Dtype] = {
    "fp32": Dtype(name="fp32", bits=32, compute="fp32"),
    "tf32": Dtype(name="tf32", bits=32, compute="tf32"),
    "bf16": Dtype(name="bf16", bits=16, compute="bf16"),
    "fp16": Dtype(name="fp16", bits=16, compute="fp16"),
    "fp8": Dtype(name="fp8", bits=8, compute="fp8"),
    # FP8 with one fp32 scale per 128×128 weight block (DeepSeek-V3 technical report,
    # arXiv:2412.19437 section 3.3; the FP8 checkpoints of DeepSeek-V3/R1, Qwen3, GLM-4.5,
    # Kimi-K2): 8 + 32/16384 bits. Same tensor cores as fp8, slower kernels (block scales).
    "fp8_block": Dtype(name="fp8_block", bits=8 + 32 / 16384, compute="fp8"),
    "int8": Dtype(name="int8", bits=8, compute="int8"),
    "fp6": Dtype(name="fp6", bits=6, compute="fp6"),
    # MXFP4: 4-bit elements + one E8M0 scale per 32 -> 4 + 8/32 = 4.25 bits.
    "mxfp4": Dtype(name="mxfp4", bits=4.25, compute="fp4"),
    # NVFP4: 4-bit elements + one E4M3 scale per 16 -> 4 + 8/16 = 4.5 bits.
    "nvfp4": Dtype(name="nvfp4", bits=4.5, compute="fp4"),
    "fp4": Dtype(name="fp4", bits=4, compute="fp4"),
    # INT4 weight-only (AWQ/GPTQ, group 128, fp16 scale+zero): 4 + 32/128 = 4.25 bits.
    "int4": Dtype(name="int4", bits=4.25, compute="int4"),
}

# Aliases users type.
ALIASES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "half": "fp16", "e4m3": "fp8",
           "float8": "fp8", "fp8_e4m3": "fp8", "w4a16": "int4",
           "fp8-block": "fp8_block", "fp8_blockwise": "fp8_block"}


def get_dtype(name: str) -> Dtype:
    """Look up a datatype by name (case-insensitive); raise with suggestions when unknown."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in DTYPES:
        raise ConfigError(
            f"datatype '{name}' is not known.{did_you_mean(name, DTYPES) if key else ''} "
            f"Valid: {', '.join(DTYPES)}."
        )
    return DTYPES[key]
