"""Settings of one replica (vLLM names where they exist) and the step-cost protocol.

Units: tokens, fractions ``_frac``. Split from replica.py, whose engine setup.py compiles
with mypyc; these are plain Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tokenworks.errors import ConfigError
from tokenworks.perf.engine import check_engine_limits
from tokenworks.serving.kv_tiers import TierSpec
from tokenworks.serving.prefix_cache import PREFIX_CACHES
from tokenworks.serving.queues import QUEUES

__all__ = ["ReplicaConfig", "StepCost", "keyword_adapter"]


class StepCost(Protocol):
    """The one coupling to perf: latency of a step (floats or numpy arrays, broadcast)."""

    def step_time_s(self, *, num_prefill_tokens=0, prefill_attention_pairs=0.0,
                    prefill_kv_tokens=0, num_decode_seqs=0, decode_kv_tokens=0): ...


_CHOICES = {
    "preemption": ("recompute", "swap"),
    "queue": tuple(QUEUES),
    "prefix_cache": tuple(PREFIX_CACHES),
    "tier_load": ("blocking", "overlapped"),
    "role": ("both", "prefill", "decode"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaConfig:
    """Scheduler and cache settings of one replica (vLLM names where they exist)."""

    max_num_batched_tokens: int = 8192
    max_num_seqs: int = 256
    chunked_prefill: bool = True
    policy: str = "decode_first"  # a key of scheduler.POLICIES (checked by the Replica)
    preemption: str = "recompute"
    queue: str = "fcfs"
    watermark_frac: float = 0.01
    prefix_cache: str = "none"
    kv_tiers: tuple[TierSpec, ...] = ()
    tier_load: str = "blocking"
    role: str = "both"
    # Tokens of one prompt a step may run (0: the budget). With data-parallel attention a
    # prompt is prefilled on one rank, in chunks of that rank's share of the budget.
    max_prefill_chunk_tokens: int = 0
    exact: bool = False  # step-by-step (no decode jumps), for checking the fast path
    record_steps: bool = False  # keep every step/jump for the Chrome trace export

    def __post_init__(self) -> None:
        for name, options in _CHOICES.items():
            value = getattr(self, name)
            if value not in options:
                raise ConfigError(
                    f"replica {name} = {value!r} is not valid; choose one of {', '.join(options)}."
                )
        check_engine_limits(max_num_seqs=self.max_num_seqs,
                            max_num_batched_tokens=self.max_num_batched_tokens)
        if not 0.0 <= self.watermark_frac < 1.0:
            raise ConfigError(f"watermark_frac = {self.watermark_frac}; it must be in [0, 1).")
        if self.preemption == "swap" and not self.kv_tiers:
            raise ConfigError(
                "preemption = 'swap' needs a host tier to swap into; add a TierSpec (e.g. 'dram') "
                "to kv_tiers or use preemption = 'recompute'."
            )


def keyword_adapter(cost: StepCost) -> Callable[..., float]:
    def step_scalar(num_prefill_tokens, prefill_attention_pairs, prefill_kv_tokens,
                    num_decode_seqs, decode_kv_tokens):
        return cost.step_time_s(num_prefill_tokens=num_prefill_tokens,
                                prefill_attention_pairs=prefill_attention_pairs,
                                prefill_kv_tokens=prefill_kv_tokens,
                                num_decode_seqs=num_decode_seqs,
                                decode_kv_tokens=decode_kv_tokens)
    return step_scalar
