"""Steady-state serving of one replica at a fixed batch (offline max load).

Continuous batching (Orca, OSDI'22) with chunked prefill mixed into decode steps (Sarathi-Serve,
OSDI'24): a replica holding ``B`` sequences of ``I`` prompt and ``O`` output tokens decodes one
token for each of them per step and, in the same step, prefills the prompts of the sequences
that replace the finished ones — ``B/O`` sequences per step, i.e. ``B·(I − cached)/O`` new
prompt tokens. Each step therefore emits ``B`` tokens and

    output_tokens_per_s = B / step_time_s,   TPOT = step_time_s.

The same function drives the estimator and the calibration fit (``benchmarks/calibrate.py``),
so the calibrated parameters mean the same thing in both. Units: s, tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tokenworks.perf.step import StepBreakdown, StepCostModel, causal_pairs


@dataclass(frozen=True, slots=True, kw_only=True)
class SteadyState:
    """One steady-state step of a replica and the rates that follow from it."""

    batch: int
    step_time_s: float  # = TPOT
    decode_only_step_s: float  # the same step without its prefill share
    prefill_tokens_per_step: float
    output_tokens_per_s: float
    prefill_share_frac: float  # share of step time attributable to prefill work
    breakdown: StepBreakdown


def steady_state(cost: StepCostModel, *, batch: int, input_tokens: int, output_tokens: int,
                 cached_tokens: int = 0) -> SteadyState:
    """Steady state of ``batch`` sequences of ``input_tokens``/``output_tokens`` (see module)."""
    new = max(input_tokens - cached_tokens, 0)
    rate = batch / output_tokens  # prompts admitted per step
    kwargs = dict(num_prefill_tokens=rate * new,
                  prefill_attention_pairs=rate * causal_pairs(new, cached_tokens),
                  prefill_kv_tokens=rate * input_tokens, num_decode_seqs=batch,
                  decode_kv_tokens=batch * (input_tokens + output_tokens / 2.0))
    step = float(cost.step_time_s(**kwargs))
    decode_only = float(cost.step_time_s(num_decode_seqs=batch,
                                         decode_kv_tokens=batch * (input_tokens
                                                                   + output_tokens / 2.0)))
    share = max(step - decode_only, 0.0) / step if step > 0 else 0.0
    return SteadyState(batch=batch, step_time_s=step, decode_only_step_s=decode_only,
                       prefill_tokens_per_step=rate * new, output_tokens_per_s=batch / step,
                       prefill_share_frac=share, breakdown=cost.breakdown(**kwargs))


def token_budget_batch(*, max_num_batched_tokens: int, input_tokens: int, output_tokens: int,
                       cached_tokens: int = 0) -> int:
    """Largest batch whose steady step fits the scheduler's token budget.

    A step holds ``B`` decode tokens plus ``B·(I − cached)/O`` prefill tokens; both count
    against ``max_num_batched_tokens`` (vLLM/TensorRT-LLM ``max_num_tokens``).
    """
    new = max(input_tokens - cached_tokens, 0)
    return max(1, math.floor(max_num_batched_tokens * output_tokens / (output_tokens + new)))
