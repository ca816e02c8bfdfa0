"""Simulation metrics: per-replica counters, per-request records, latency summaries, exports.

Units: seconds, tokens, bytes, FLOPs; fractions ``_frac``. Definitions (as vLLM ``bench serve``
and the MLPerf Inference server scenario report them):

* TTFT = first token time − arrival; E2E = finish − arrival; queueing = first admission − arrival;
* TPOT = (E2E − TTFT) / (output tokens − 1), per request (requests with one output token have
  none); ITL = gaps between consecutive tokens (only for requests that recorded token times);
* throughput over the makespan (first arrival to last finish);
* goodput (DistServe, Zhong et al., OSDI 2024, arXiv:2401.09670) = completed requests per second
  that met both the TTFT and the TPOT SLO.
"""

from __future__ import annotations

from array import array
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenworks.serving.fastpath import Jump
    from tokenworks.serving.replica import Replica
    from tokenworks.serving.request import Request
    from tokenworks.serving.scheduler import StepPlan

__all__ = ["ReplicaStats", "ReplicaStatsRecorder"]


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


class ReplicaStatsRecorder:
    """Mutable counters a replica updates as it runs (cheap scalar adds)."""

    def __init__(self, replica_id: int) -> None:
        self.replica_id = replica_id
        self.num_submitted = self.num_rejected = self.num_finished = self.num_prefilled = 0
        self.num_preemptions = self.num_steps = self.num_jumps = 0
        self.busy_s = 0.0
        self.num_prefill_tokens = self.num_decode_tokens = 0
        self.prefill_attention_pairs = 0.0
        self.prefill_kv_tokens = 0.0
        self.decode_kv_tokens = 0.0
        self.num_lookups = self.num_hit_requests = self.lookup_prompt_tokens = 0
        self.hit_tokens_hbm = self.hit_tokens = 0
        self.swap_bytes = 0.0
        self._kv_t = array("d")
        self._kv_u = array("d")

    def step_started(self, plan: StepPlan, dt: float) -> None:
        self.num_steps += 1
        self.busy_s += dt
        self.num_prefill_tokens += plan.num_prefill_tokens
        self.prefill_attention_pairs += plan.prefill_attention_pairs
        self.prefill_kv_tokens += plan.prefill_kv_tokens
        self.num_decode_tokens += plan.num_decode_seqs
        self.decode_kv_tokens += plan.decode_kv_tokens

    def jump_done(self, jump: Jump, k: int) -> None:
        n = jump.num_seqs
        self.num_jumps += 1
        self.num_steps += k
        self.busy_s += float(jump.times_s[k - 1]) - jump.start_s
        self.num_decode_tokens += n * k
        # Contexts grow by n per step: sum_{j<k} (S0 + n j) = k S0 + n k (k-1) / 2.
        self.decode_kv_tokens += k * jump.kv_tokens0 + n * k * (k - 1) / 2
        if jump.seq is not None:
            p = jump.seq.computed
            for c in jump.chunks[:k]:
                self.num_prefill_tokens += c
                self.prefill_attention_pairs += c * p + c * (c + 1) / 2
                self.prefill_kv_tokens += p + c
                p += c

    def sample_kv(self, time_s: float, usage_frac: float) -> None:
        self._kv_t.append(time_s)
        self._kv_u.append(usage_frac)

    def admitted(self, req: Request, hbm_tokens: int, cached_tokens: int, first: bool) -> None:
        if not first or not req.prefix_hashes:
            return
        self.num_lookups += 1
        self.lookup_prompt_tokens += req.prompt_tokens
        self.hit_tokens_hbm += hbm_tokens
        self.hit_tokens += cached_tokens
        self.num_hit_requests += cached_tokens > 0

    def request_finished(self, req: Request) -> None:
        self.num_finished += 1

    def snapshot(self, replica: Replica) -> ReplicaStats:
        flops = hbm_bytes = None
        breakdown = getattr(replica.cost, "breakdown", None)
        if breakdown is not None and self.num_steps:
            k = self.num_steps
            b = breakdown(num_prefill_tokens=self.num_prefill_tokens / k,
                          prefill_attention_pairs=self.prefill_attention_pairs / k,
                          prefill_kv_tokens=self.prefill_kv_tokens / k,
                          num_decode_seqs=self.num_decode_tokens / k,
                          decode_kv_tokens=self.decode_kv_tokens / k)
            flops = k * sum(op.flops for op in b.ops)
            hbm_bytes = k * sum(op.bytes for op in b.ops if op.bound != "interconnect")
        tiers = {name: asdict(s) for name, s in replica.tiers.stats.items()}
        return ReplicaStats(
            replica_id=self.replica_id, num_submitted=self.num_submitted,
            num_rejected=self.num_rejected, num_finished=self.num_finished,
            num_prefilled=self.num_prefilled, num_preemptions=self.num_preemptions,
            busy_s=self.busy_s, num_steps=self.num_steps, num_jumps=self.num_jumps,
            num_prefill_tokens=self.num_prefill_tokens,
            prefill_attention_pairs=self.prefill_attention_pairs,
            num_decode_tokens=self.num_decode_tokens, decode_kv_tokens=self.decode_kv_tokens,
            num_lookups=self.num_lookups, num_hit_requests=self.num_hit_requests,
            lookup_prompt_tokens=self.lookup_prompt_tokens, hit_tokens_hbm=self.hit_tokens_hbm,
            hit_tokens=self.hit_tokens, swap_bytes=self.swap_bytes, tiers=tiers,
            kv_usage_times_s=np.frombuffer(self._kv_t, dtype=np.float64).copy(),
            kv_usage_frac=np.frombuffer(self._kv_u, dtype=np.float64).copy(),
            flops=flops, hbm_bytes=hbm_bytes,
        )
