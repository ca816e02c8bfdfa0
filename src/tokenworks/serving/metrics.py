"""Per-replica counters of a run (``ReplicaStats``), as the engine's recorder reads them out.

Units: seconds, tokens, bytes, FLOPs; fractions ``_frac``. The per-request records, the
summary and the exports are in result.py and summary.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ReplicaStats"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaStats:
    """What one replica did over a run."""

    replica_id: int
    num_submitted: int
    num_rejected: int
    num_finished: int
    num_prefilled: int  # handed to a decode replica (role "prefill")
    num_preemptions: int
    busy_s: float
    num_steps: int
    num_jumps: int
    num_prefill_tokens: int  # prompt tokens computed (cache hits excluded)
    prefill_attention_pairs: float
    num_decode_tokens: int
    decode_kv_tokens: float  # summed over steps
    num_lookups: int  # admissions that looked up the prefix cache
    num_hit_requests: int
    lookup_prompt_tokens: int
    hit_tokens_hbm: int
    hit_tokens: int  # all tiers
    swap_bytes: float
    tiers: dict[str, dict[str, float]]
    kv_usage_times_s: np.ndarray = field(repr=False)
    kv_usage_frac: np.ndarray = field(repr=False)
    steps: tuple[tuple[float, float, int, int, int], ...] = ()  # (start_s, dur_s, prefill
    # tokens, decode seqs, num steps) per step or jump, when ReplicaConfig.record_steps
    # Per GPU of the replica (the cost model's breakdown is per GPU after sharding).
    flops: float | None = None  # ASSUMPTION: mean step's roofline FLOPs/bytes × number of steps
    hbm_bytes: float | None = None

    @property
    def prefix_hit_frac(self) -> float:
        """Prompt tokens served from cache (any tier) over prompt tokens looked up."""
        return self.hit_tokens / self.lookup_prompt_tokens if self.lookup_prompt_tokens else 0.0

    @property
    def request_hit_frac(self) -> float:
        return self.num_hit_requests / self.num_lookups if self.num_lookups else 0.0

    def kv_usage_mean_frac(self) -> float:
        """Time-weighted mean KV usage between the first and last sample."""
        t, u = self.kv_usage_times_s, self.kv_usage_frac
        if len(t) < 2 or t[-1] <= t[0]:
            return float(u.mean()) if len(u) else 0.0
        return float(np.sum(u[:-1] * np.diff(t)) / (t[-1] - t[0]))
