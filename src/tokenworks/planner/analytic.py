"""Analytic screening physics: what one replica serves under the SLO, vectorised over batch.

Every number comes from the perf layer's ``StepCostModel.step_time_s`` called on numpy arrays
(one call per replica choice covers every batch size). Three curves:

* aggregated replica (continuous batching with chunked prefill, Sarathi-Serve): at ``B``
  running sequences a step decodes ``B`` tokens and prefills the ``B/O`` prompts that replace
  finished ones (``perf.steady``), so TPOT = step and the replica serves ``B/(O·step)``
  requests/s. A new prompt gets the step's leftover token budget ``mbt − B`` per step, so its
  prefill takes ``ceil(new/(mbt − B))`` mixed steps; it waits behind the other prompts as in
  an M/D/1 queue whose utilisation is the share of that budget prompts use.
* prefill replica (disaggregated): prompts packed ``mbt`` tokens to a step; capacity
  ``μ`` prompts/s and one prompt's service time; TTFT adds the M/D/1 wait and the KV transfer.
* decode replica (disaggregated): decode-only steps; TPOT = step at ``B``.

Tail latencies are not modelled here (the simulator measures them); percentiles scale the
means by the factors below. Units: s, tokens, requests/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tokenworks.hardware import default_system_for, get_accelerator
from tokenworks.model import kv_bytes_per_token
from tokenworks.perf.step import StepCostModel, causal_pairs
from tokenworks.planner.spec import DemandSpec, SloTarget

__all__ = ["TPOT_MULT", "WAIT_MULT", "AggCurve", "DecodeCurve", "PrefillPoint", "Shape",
           "aggregated_curve", "decode_curve", "kv_link_bytes_per_s", "prefill_point", "shape"]

# ASSUMPTION: in screening, the p-th percentile of queueing wait is the M/D/1 mean wait times
# these factors (the exponential tail of M/M/1 waiting time: ln(1/(1−q)) is 0.7, 2.3 and 4.6
# for q = 0.5, 0.9, 0.99), and per-request TPOT percentiles sit a few percent above the mean
# (each request averages hundreds of steps). The simulator replaces both with measurements.
WAIT_MULT = {"p50": 0.7, "p90": 2.3, "p99": 4.6}
TPOT_MULT = {"p50": 1.0, "p90": 1.05, "p99": 1.12}
# ASSUMPTION: a queue run above 95% utilisation is never an operating point (its tail grows
# without bound under any burst); screening caps utilisation there.
MAX_UTILISATION_FRAC = 0.95


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    """The demand's request lengths: means, and the length at each percentile."""

    input_tokens: float
    output_tokens: float
    cached_tokens: float  # shared prefix served from the cache (0 without prefix caching)
    input_at: dict[str, float]
    output_at: dict[str, float]


def _quantile(values: list[int], weights: list[float], pct: str) -> float:
    q = {"p50": 0.5, "p90": 0.9, "p99": 0.99}[pct]
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(values)[order][min(int(np.searchsorted(cum, q - 1e-12)),
                                               len(values) - 1)])


def shape(demand: DemandSpec, *, prefix_cache: bool) -> Shape:
    ins = [c.input_tokens for c in demand.classes]
    outs = [c.output_tokens for c in demand.classes]
    w = [c.share_frac for c in demand.classes]
    return Shape(input_tokens=demand.mean_input_tokens, output_tokens=demand.mean_output_tokens,
                 cached_tokens=float(demand.shared_prefix_tokens if prefix_cache else 0),
                 input_at={p: _quantile(ins, w, p) for p in WAIT_MULT},
                 output_at={p: _quantile(outs, w, p) for p in WAIT_MULT})


@dataclass(frozen=True, slots=True, kw_only=True)
class AggCurve:
    """An aggregated replica at batch ``batch[i]``: rate served and latency estimates."""

    batch: np.ndarray
    rate_per_s: np.ndarray
    tpot_s: np.ndarray  # mean
    ttft_s: dict[str, np.ndarray]  # by percentile
    budget_ok: np.ndarray  # the steady step fits the token budget and the prefill queue

    def latency(self, t: SloTarget, sh: Shape) -> np.ndarray:
        tpot = self.tpot_s * TPOT_MULT[t.percentile]
        if t.metric == "tpot":
            return tpot
        if t.metric == "ttft":
            return self.ttft_s[t.percentile]
        return self.ttft_s[t.percentile] + (sh.output_at[t.percentile] - 1) * tpot


def aggregated_curve(cost: StepCostModel, sh: Shape, *, mbt: int, max_batch: int) -> AggCurve:
    """Rates and latencies of one aggregated replica for batch 1..``max_batch``."""
    b = np.arange(1, max_batch + 1, dtype=float)
    i, o, c = sh.input_tokens, sh.output_tokens, sh.cached_tokens
    new = max(i - c, 1.0)
    adm = b / o  # prompts admitted per step in steady state
    ctx = b * (i + o / 2.0)
    dec = cost.step_time_s(num_decode_seqs=b, decode_kv_tokens=ctx)
    free = mbt - b

    def chunk_steps(new_q: float) -> tuple[np.ndarray, np.ndarray]:
        """(steps, time of one) of a prompt prefilled in chunks of the leftover budget."""
        chunk = np.clip(np.minimum(free, new_q), 1.0, None)
        full = cost.step_time_s(num_prefill_tokens=chunk,
                                prefill_attention_pairs=causal_pairs(chunk, c),
                                prefill_kv_tokens=c + chunk, num_decode_seqs=b,
                                decode_kv_tokens=ctx)
        return np.ceil(new_q / chunk), full

    # ASSUMPTION: a prompt is prefilled in chunks as large as the leftover budget allows (as
    # vLLM's scheduler does), not smeared over many steps: each chunk lengthens the step every
    # running sequence waits for, by (mixed step - decode step). perf.steady smears prompts
    # evenly, which hides prefill under memory-bound decode and overstates capacity.
    n_mean, full_mean = chunk_steps(new)
    step = dec + adm * n_mean * np.maximum(full_mean - dec, 0.0)
    # A pipeline of pp stages keeps pp micro-batches in flight: TPOT is the latency through
    # the stages, the replica completes a step every step / pp.
    rate = b / (o * step) * cost.num_stages
    util = np.where(free > 0, adm * new / np.maximum(free, 1.0), np.inf)
    ok = (free >= 1) & (util < MAX_UTILISATION_FRAC)
    mean_service = n_mean * full_mean
    wait = np.where(ok, util / (2.0 * (1.0 - np.minimum(util, 0.999))), np.inf) * mean_service
    ttft: dict[str, np.ndarray] = {}
    front = cost.calibration.frontend_s  # HTTP, tokenisation, streaming (perf.calibration)
    for pct in WAIT_MULT:
        n_q, full_q = chunk_steps(max(sh.input_at[pct] - c, 1.0))
        ttft[pct] = front + n_q * full_q + WAIT_MULT[pct] * wait
    return AggCurve(batch=b, rate_per_s=rate, tpot_s=step, ttft_s=ttft, budget_ok=ok)


@dataclass(frozen=True, slots=True, kw_only=True)
class PrefillPoint:
    """A prefill-only replica: prompts/s at full packing, one prompt's service time and KV
    hand-off time, by percentile of the prompt length."""

    prompts_per_s: float
    service_s: dict[str, float]
    transfer_s: dict[str, float]  # KV hand-off plus the front end's time (HTTP, tokenise)


def kv_link_bytes_per_s(accelerator: str, num_gpus: int) -> float | None:
    """Egress of one prefill replica: its GPUs' NICs (as the simulator's default link)."""
    acc = get_accelerator(accelerator)
    per_gpu = acc.scaleout_bytes_per_s
    system = default_system_for(acc.name)
    if per_gpu is None and system is not None and system.num_nics:
        per_gpu = system.nic_bytes_per_s * system.num_nics / system.num_accelerators
    return None if per_gpu is None else per_gpu * num_gpus


def prefill_point(cost: StepCostModel, sh: Shape, *, mbt: int, link_bytes_per_s: float,
                  kv_dtype: str) -> PrefillPoint:
    i, c = sh.input_tokens, sh.cached_tokens
    new = max(i - c, 1.0)
    if new <= mbt:
        k = math.floor(mbt / new)
        t_k = float(cost.step_time_s(num_prefill_tokens=k * new,
                                     prefill_attention_pairs=k * float(causal_pairs(new, c)),
                                     prefill_kv_tokens=k * i))
        mu = k / t_k * cost.num_stages
    else:
        mu = cost.num_stages / cost.prefill_time_s(int(i), cached_tokens=int(c), chunk_tokens=mbt)
    kvb = kv_bytes_per_token(cost.model, kv_dtype)
    service = {p: cost.prefill_time_s(int(sh.input_at[p]), cached_tokens=int(c),
                                      chunk_tokens=mbt) for p in WAIT_MULT}
    front = cost.calibration.frontend_s
    transfer = {p: front + sh.input_at[p] * kvb / link_bytes_per_s for p in WAIT_MULT}
    return PrefillPoint(prompts_per_s=mu, service_s=service, transfer_s=transfer)


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodeCurve:
    """A decode-only replica at batch 1..n: TPOT (mean, increasing) and requests/s."""

    tpot_s: np.ndarray
    rate_per_s: np.ndarray


def decode_curve(cost: StepCostModel, sh: Shape, *, max_batch: int) -> DecodeCurve:
    b = np.arange(1, max_batch + 1, dtype=float)
    o = sh.output_tokens
    step = cost.step_time_s(num_decode_seqs=b, decode_kv_tokens=b * (sh.input_tokens + o / 2.0))
    # NOTE: a running maximum keeps TPOT non-decreasing in batch so limits can be found by
    # binary search (the roofline is already monotone; this guards the float noise).
    step = np.maximum.accumulate(step)
    return DecodeCurve(tpot_s=step, rate_per_s=b / (o * step) * cost.num_stages)
