"""Arithmetic intensity (FLOPs per byte) of GEMMs and of whole forward passes.

Units: FLOPs per byte. Compared with an accelerator's FLOP/s ÷ bytes/s ridge point it tells
whether a step is memory- or compute-bound (roofline, Williams et al. 2009, CACM 52(4)).
"""

from __future__ import annotations

from tokenworks.dtypes import get_dtype
from tokenworks.errors import check_range
from tokenworks.model.arch import ModelArch
from tokenworks.model.flops import active_linear_params, linear_params_by_kind
from tokenworks.model.moe import expected_distinct_experts
from tokenworks.model.params import table_dtype


def gemm_arithmetic_intensity(m: float, k: float, n: float, bytes_per_element: float) -> float:
    """(m×k)·(k×n) GEMM: 2mkn FLOPs over bytes·(mk + kn + mn) read and written once."""
    for label, v in (("m", m), ("k", k), ("n", n), ("bytes_per_element", bytes_per_element)):
        check_range(label, v, low=0, low_inclusive=False)
    return 2.0 * m * k * n / (bytes_per_element * (m * k + k * n + m * n))


def forward_intensity(arch: ModelArch, num_tokens: float, weights_dtype: str) -> float:
    """Linear-layer FLOPs per weight byte read for one forward step over ``num_tokens`` tokens.

    Weights are read once per step; MoE layers read only the distinct experts the step touches.
    Attention-score FLOPs and KV reads are left out (they scale with context, not weights).
    """
    check_range("num_tokens", num_tokens, low=1, unit="tokens")
    kinds = linear_params_by_kind(arch)
    wb = get_dtype(weights_dtype).bytes
    table_b = get_dtype(table_dtype(weights_dtype, None)).bytes
    n_moe = kinds["num_moe_layers"]
    experts_read = 0.0
    if arch.moe is not None and n_moe:
        experts_read = expected_distinct_experts(arch.moe.num_experts,
                                                 arch.moe.num_experts_per_tok, num_tokens)
    dense = (kinds["attention"] + kinds["dense_ffn"] + kinds["shared_experts"] + kinds["mamba"])
    weight_bytes_read = ((dense + kinds["routed_expert_one"] * experts_read * n_moe) * wb
                         + (kinds["router"] + kinds["lm_head"]) * table_b)
    flops = 2.0 * (active_linear_params(arch) + kinds["lm_head"]) * num_tokens
    return flops / weight_bytes_read


def decode_intensity(arch: ModelArch, batch: int, weights_dtype: str) -> float:
    """FLOPs per weight byte of one decode step of ``batch`` sequences (one token each)."""
    return forward_intensity(arch, batch, weights_dtype)


def prefill_intensity(arch: ModelArch, prompt_tokens: int, weights_dtype: str,
                      batch: int = 1) -> float:
    """FLOPs per weight byte of prefilling ``batch`` prompts of ``prompt_tokens`` together.

    Logits are counted for every token here (upper bound); engines compute only the last.
    """
    return forward_intensity(arch, prompt_tokens * batch, weights_dtype)
