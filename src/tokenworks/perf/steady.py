"""One replica at a fixed number of running sequences: step times, TTFT, TPOT, throughput.

Continuous batching (Orca, OSDI'22) with chunked prefill (Sarathi-Serve, OSDI'24) as vLLM V1,
SGLang and TensorRT-LLM schedule it: every step decodes one token for each running sequence
and fills the rest of the step's token budget with prompt chunks. A replica holding ``B``
sequences of ``I`` prompt and ``O`` output tokens must prefill the prompts that replace finished
sequences, ``B·(I − cached)/O`` tokens per step on average. They arrive in chunks of up to
``budget − B`` tokens, so a fraction ``f`` of steps carries a chunk and the rest are pure decode:

    mean step = f · t(B decodes + chunk) + (1 − f) · t(B decodes),   TPOT = mean step,

(the mean over steps, which is what a request's TPOT and the mean ITL average). A request's
TTFT at that load is the front end, half a step of waiting for the running step to end, the
wait for other prompts ahead of it (M/D/1), and its own chunks each mixed with the other
``B − 1`` decodes; at zero load, the front end and its chunks alone. Throughput follows from Little's law on the ``B`` slots:
``B · O / (engine TTFT + (O − 1) · TPOT)``. When ``B`` sequences need more prompt tokens per
step than the budget leaves, every step is full and only ``budget·O/(O + I)`` of them decode
at once; the rest wait for their chunks (their TTFT grows by Little's law).

An engine that does not mix (SGLang's default, ``perf.engine.MIXES_PREFILL``) runs each
prompt chunk in a step of its own while the decodes wait: the budget holds prompt tokens only,
a chunk costs its own prefill-only step, and a fraction ``f = rate / chunk`` of decode steps
waits for one (``f`` > 1 when several chunks are needed per decode step):

    mean step = t(B decodes) + f · t(chunk alone),

and a request's own prompt runs in prefill-only steps.

The estimator, the calibration fit (``benchmarks/calibrate.py``) and the planner's screen use
these functions, so the calibrated parameters mean the same thing everywhere. Units: s, tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tokenworks.perf.engine import mixes_prefill
from tokenworks.perf.step import StepBreakdown, StepCostModel, causal_pairs


@dataclass(frozen=True, slots=True, kw_only=True)
class SteadyState:
    """One replica at ``batch`` running sequences (see module): its latencies and rates."""

    batch: int
    decoding: int  # sequences decoding each step (< batch when the token budget binds)
    step_time_s: float  # mean step = TPOT
    decode_only_step_s: float  # a step without a prompt chunk
    mixed_step_s: float  # a step carrying a prompt chunk
    chunk_tokens: float  # prompt tokens in a mixed step
    mixed_step_frac: float  # share of steps that carry a chunk (not mixed: chunks per step)
    prefill_tokens_per_step: float  # mean prompt tokens per step
    ttft_s: float  # at this load, front end included
    engine_ttft_s: float  # the same without the front end
    e2e_s: float  # ttft + (O − 1)·TPOT
    output_tokens_per_s: float  # replica capacity, Little's law on the engine's time
    prefill_share_frac: float  # share of step time spent on prompts
    breakdown: StepBreakdown  # of the decode-only step


def prefill_time_s(cost: StepCostModel, *, new_tokens: int, cached_tokens: int,
                   chunk_tokens: int, decode_seqs: int = 0, decode_kv_tokens: float = 0.0
                   ) -> float:
    """Engine time to prefill one prompt of ``new_tokens`` after ``cached_tokens``, in chunks
    of ``chunk_tokens``, each step also decoding ``decode_seqs`` sequences (their contexts
    summing to ``decode_kv_tokens``)."""
    chunk = max(int(chunk_tokens), 1)
    total, done, end = 0.0, int(cached_tokens), int(cached_tokens) + int(new_tokens)
    while done < end:
        n = min(chunk, end - done)
        total += float(cost.step_time_s(num_prefill_tokens=n,
                                        prefill_attention_pairs=causal_pairs(n, done),
                                        prefill_kv_tokens=done + n,
                                        num_decode_seqs=decode_seqs,
                                        decode_kv_tokens=decode_kv_tokens))
        done += n
    return total


def steady_state(cost: StepCostModel, *, batch: int, input_tokens: int, output_tokens: int,
                 cached_tokens: int = 0, max_num_batched_tokens: int = 8192,
                 frontend: bool = True) -> SteadyState:
    """The replica at ``batch`` running sequences (see module). ``frontend`` adds the
    calibration's per-request front-end time to the TTFT (an HTTP server; not an offline
    benchmark)."""
    new = max(input_tokens - cached_tokens, 0)
    held = int(batch)
    b = held
    budget = max_num_batched_tokens
    mixed = mixes_prefill(cost.engine)
    if mixed and new and held * (output_tokens + new) > budget * output_tokens:
        # The token budget cannot admit prompts as fast as ``held`` sequences would finish
        # them: every step is full, and only this many decode at once while the others wait
        # for their prefill chunks (the engine's per-step token budget binds).
        b = token_budget_batch(max_num_batched_tokens=budget, input_tokens=input_tokens,
                               output_tokens=output_tokens, cached_tokens=cached_tokens)
    kv_dec = b * (input_tokens + output_tokens / 2.0)
    t_dec = float(cost.step_time_s(num_decode_seqs=b, decode_kv_tokens=kv_dec))
    rate = b * new / output_tokens  # prompt tokens needed per step
    room = max(budget - (b if mixed else 0), 1)
    chunk = float(min(room, new)) if new else 0.0
    if new == 0:
        frac, t_mix = 0.0, t_dec
    elif not mixed:
        # Prefill-only steps of up to the budget (waiting prompts batched into one), ``frac``
        # of them per decode step; a mixed "step" is the decode step plus one of them.
        chunk = min(max(rate, chunk), float(room))
        frac = rate / chunk
        t_mix = t_dec + _mixed(cost, 0, 0.0, chunk, new, cached_tokens, input_tokens)
    elif rate <= chunk:
        frac = rate / chunk
        t_mix = _mixed(cost, b, kv_dec, chunk, new, cached_tokens, input_tokens)
    else:
        # Several prompts per step, within the budget: every step carries them.
        frac, chunk = 1.0, min(rate, float(room))
        t_mix = _mixed(cost, b, kv_dec, chunk, new, cached_tokens, input_tokens)
    step = frac * t_mix + (1.0 - frac) * t_dec
    others = max(b - 1, 0)
    kv_others = others * (input_tokens + output_tokens / 2.0)
    # The request's own prompt: in steps with the other decodes, or alone (not mixed).
    beside = others if mixed else 0
    own_chunk = max(max_num_batched_tokens - beside, 1)
    if cost.rank_chunk_tokens is not None:  # data-parallel attention: one rank's share
        own_chunk = min(own_chunk, cost.rank_chunk_tokens)
    engine_ttft = prefill_time_s(cost, new_tokens=new, cached_tokens=cached_tokens,
                                 chunk_tokens=own_chunk, decode_seqs=beside,
                                 decode_kv_tokens=kv_others if beside else 0.0)
    front = cost.calibration.frontend_s if frontend else 0.0
    if others:
        engine_ttft += 0.5 * step  # ASSUMPTION: arrivals land mid-step on average
        # Prompts of the other sequences compete for the step's token budget: a prompt that
        # arrives while another is being prefilled waits. ASSUMPTION: prompts arrive as a
        # Poisson stream at the closed loop's rate b / cycle and each holds the budget for
        # its prefill time S, so the mean wait is the M/D/1 (Pollaczek–Khinchine) ρS/(2(1−ρ)),
        # ρ = rate·S, capped at ρ = 0.95.
        own = engine_ttft
        cycle = front + own + (output_tokens - 1) * step
        rho = min(b / cycle * own, 0.95) if cycle > 0 else 0.0
        engine_ttft += rho * own / (2.0 * (1.0 - rho))
    if held > b:
        # Little's law on the held sequences: they finish at b / (O·step) per second, so each
        # spends held·O·step / b in the replica, (O − 1)·step of it decoding.
        engine_ttft = max(engine_ttft, held * output_tokens * step / b
                          - (output_tokens - 1) * step)
    ttft = front + engine_ttft
    busy = engine_ttft + (output_tokens - 1) * step
    share = max(step - t_dec, 0.0) / step if step > 0 else 0.0
    return SteadyState(
        batch=held, decoding=b, step_time_s=step, decode_only_step_s=t_dec, mixed_step_s=t_mix,
        chunk_tokens=chunk, mixed_step_frac=frac, prefill_tokens_per_step=rate,
        ttft_s=ttft, engine_ttft_s=engine_ttft, e2e_s=ttft + (output_tokens - 1) * step,
        output_tokens_per_s=held * output_tokens / busy if busy > 0 else 0.0,
        prefill_share_frac=share,
        breakdown=cost.breakdown(num_decode_seqs=b, decode_kv_tokens=kv_dec))


def _mixed(cost: StepCostModel, b: int, kv_dec: float, chunk: float, new: int, cached: int,
           input_tokens: int) -> float:
    """A step of ``b`` decodes and ``chunk`` prompt tokens at the prompt's mean position."""
    per_tok_pairs = causal_pairs(new, cached) / new
    return float(cost.step_time_s(num_prefill_tokens=chunk,
                                  prefill_attention_pairs=chunk * per_tok_pairs,
                                  prefill_kv_tokens=chunk * input_tokens / new,
                                  num_decode_seqs=b, decode_kv_tokens=kv_dec))


def token_budget_batch(*, max_num_batched_tokens: int, input_tokens: int, output_tokens: int,
                       cached_tokens: int = 0) -> int:
    """Largest batch whose steps fit the scheduler's token budget.

    A step holds ``B`` decode tokens plus, on average, ``B·(I − cached)/O`` prefill tokens;
    both count against ``max_num_batched_tokens`` (vLLM/TensorRT-LLM ``max_num_tokens``).
    """
    new = max(input_tokens - cached_tokens, 0)
    return max(1, math.floor(max_num_batched_tokens * output_tokens / (output_tokens + new)))
