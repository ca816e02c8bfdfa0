"""Pricing an analytic estimate: $/M input, output and blended tokens, GPU power, J/token.

Units: USD, W, J, s. The estimator (``perf.estimator``) gives a steady step of ``B`` sequences:
each step emits ``B`` output tokens and admits ``B/O`` prompts. Its GPU time is split the
way the seeds decompose a token's cost: the prefill share of the step prices the input tokens,
the rest prices the output tokens; the blended price divides the fleet's $/h by all tokens/s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from tokenworks.economics.power import accelerator_power_w
from tokenworks.economics.token_cost import TokenCost, token_cost, usd_per_million_tokens
from tokenworks.errors import ConfigError
from tokenworks.hardware import Accelerator
from tokenworks.perf.estimator import PerfEstimate
from tokenworks.units import HOUR, MILLION

__all__ = ["Estimate", "price_estimate", "token_cost_from_estimate"]

# The order of ``Estimate.to_dict`` (and of ``tokenworks estimate --json``).
_ORDER = (
    "model", "hardware", "engine", "num_gpus", "num_replicas", "tp", "pp", "ep", "dp",
    "weights_dtype", "kv_dtype", "compute_dtype", "speculative", "input_tokens", "output_tokens",
    "prefix_hit_frac", "max_num_seqs", "max_num_batched_tokens", "gpu_memory_utilization_frac",
    "params_total", "params_active", "weight_bytes", "weight_bytes_per_gpu",
    "kv_bytes_per_token", "memory", "max_concurrent_sequences", "batch_size", "decoding_batch",
    "batch_limited_by", "ttft_s", "frontend_s", "ttft_at_batch_s", "prefill_tokens_per_s",
    "decode_step_time_s", "tpot_s", "e2e_s", "output_tokens_per_s", "total_tokens_per_s",
    "output_tokens_per_s_per_gpu", "usd_per_gpu_hour", "price_source",
    "usd_per_million_output_tokens", "usd_per_million_input_tokens",
    "usd_per_million_tokens_blended", "gpu_power_w", "energy_per_output_token_j", "bound",
    "slo", "curve", "notes", "prefill_breakdown", "decode_breakdown", "defaults_used",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimate(PerfEstimate):
    """A priced estimate: the estimator's physics plus money and energy."""

    usd_per_gpu_hour: float | None  # None: no price known (edge devices); pass one
    price_source: str
    usd_per_million_output_tokens: float | None
    usd_per_million_input_tokens: float | None
    usd_per_million_tokens_blended: float | None
    gpu_power_w: float
    energy_per_output_token_j: float
    defaults_used: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (list(d[k]) if k in ("defaults_used", "notes", "curve") else d[k])
                for k in _ORDER}


def price_estimate(perf: PerfEstimate, accelerator: Accelerator, *,
                   usd_per_gpu_hour: float | None, price_source: str,
                   defaults_used: tuple[str, ...] = ()) -> Estimate:
    """``perf`` priced at ``usd_per_gpu_hour`` (None: no cost rows) on ``accelerator``."""
    usd_in = usd_out = usd_blended = None
    if usd_per_gpu_hour is not None:
        # Over any stretch of steady serving the replicas cost $/s and emit output_tokens_per_s
        # output tokens and input_tokens/output_tokens as many prompt tokens; the GPU time on
        # prompts (prefill_share_frac of it) prices the input, the rest the output.
        fleet_usd_per_s = usd_per_gpu_hour * perf.num_gpus / HOUR
        out_tps = perf.output_tokens_per_s
        in_tps = out_tps * perf.input_tokens / perf.output_tokens
        share = perf.prefill_share_frac
        usd_in = fleet_usd_per_s * share / in_tps * MILLION
        usd_out = fleet_usd_per_s * (1.0 - share) / out_tps * MILLION
        usd_blended = usd_per_million_tokens(usd_per_gpu_hour * perf.num_gpus,
                                             perf.total_tokens_per_s)
    # ASSUMPTION: a saturated replica draws power in proportion to the share of each step its
    # roofline-bound work occupies (op time excluding the fixed per-step overhead), between the
    # idle floor and TDP (economics.power).
    gpu_power_w = accelerator_power_w(accelerator, perf.busy_frac)
    energy_per_out_j = gpu_power_w * perf.num_gpus / perf.output_tokens_per_s
    base = {f.name: getattr(perf, f.name) for f in fields(PerfEstimate)}
    return Estimate(**base, usd_per_gpu_hour=usd_per_gpu_hour, price_source=price_source,
                    usd_per_million_output_tokens=usd_out, usd_per_million_input_tokens=usd_in,
                    usd_per_million_tokens_blended=usd_blended, gpu_power_w=gpu_power_w,
                    energy_per_output_token_j=energy_per_out_j, defaults_used=defaults_used)


def token_cost_from_estimate(
    est_hit0: Estimate, est: Estimate
) -> TokenCost:
    """The seeds' decomposition for an estimate: prefill without hits (``est_hit0``) and decode.

    Both estimates must be the same deployment and batch; ``est`` carries the hit rate. In the
    estimator's steady state a replica turns its ``B`` slots over once per cycle of
    ``B·O / (its output tokens/s)`` seconds (Little's law, perf.steady), of which
    ``prefill_share_frac`` is spent on prompts: per batch of requests, prefill_s = share x
    cycle of the no-hit estimate and decode_s = (1 − share) x cycle of ``est``. The hit rate
    then scales prefill linearly (the seeds' formula).
    """
    if (est_hit0.batch_size, est_hit0.input_tokens, est_hit0.output_tokens) != (
            est.batch_size, est.input_tokens, est.output_tokens):
        raise ConfigError("token_cost_from_estimate needs two estimates of the same batch and "
                          "request shape (one with prefix_hit_frac = 0).")
    price = est.usd_per_gpu_hour
    if price is None:
        raise ConfigError(f"{est.hardware} has no price: give usd_per_gpu_hour to cost tokens.")
    o = est.output_tokens

    def cycle_s(e: Estimate) -> float:
        return e.batch_size * o / (e.output_tokens_per_s / e.num_replicas)

    return token_cost(usd_per_gpu_hour=price, num_gpus=est.tp * est.pp,
                      prefill_s=est_hit0.prefill_share_frac * cycle_s(est_hit0),
                      decode_s=(1.0 - est.prefill_share_frac) * cycle_s(est),
                      batch_size=est.batch_size, input_tokens=est.input_tokens,
                      output_tokens=o, prefix_hit_frac=est.prefix_hit_frac)
