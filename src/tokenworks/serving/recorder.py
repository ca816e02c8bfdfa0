"""Per-replica counters the engine updates as it runs (read out as ``ReplicaStats``).

Units: seconds, tokens, bytes. NOTE: in its own module, apart from metrics.py's tables and
summaries, so that setup.py can compile it with mypyc (it is on the event loop's hot path).
"""

from __future__ import annotations

from array import array
from dataclasses import asdict
from typing import Any

import numpy as np

from tokenworks.serving.jump import Jump
from tokenworks.serving.kv_tiers import TieredStore
from tokenworks.serving.metrics import ReplicaStats
from tokenworks.serving.request import Request
from tokenworks.serving.seq import StepPlan

__all__ = ["ReplicaStatsRecorder"]


class ReplicaStatsRecorder:
    """Mutable counters a replica updates as it runs (cheap scalar adds)."""

    def __init__(self, replica_id: int, *, record_steps: bool = False) -> None:
        self.replica_id = replica_id
        self.steps: list[tuple[float, float, int, int, int]] | None = [] if record_steps else None
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
        self.kv_times_s = array("d")
        self.kv_usage_frac = array("d")

    def step_started(self, plan: StepPlan, dt: float, start_s: float) -> None:
        if self.steps is not None:
            self.steps.append((start_s, dt, plan.num_prefill_tokens, plan.num_decode_seqs, 1))
        self.num_steps += 1
        self.busy_s += dt
        self.num_prefill_tokens += plan.num_prefill_tokens
        self.prefill_attention_pairs += plan.prefill_attention_pairs
        self.prefill_kv_tokens += plan.prefill_kv_tokens
        self.num_decode_tokens += plan.num_decode_seqs
        self.decode_kv_tokens += plan.decode_kv_tokens

    def jump_done(self, jump: Jump, k: int) -> None:
        n = jump.num_seqs
        plan = jump.plan
        if self.steps is not None:
            self.steps.append((jump.start_s, jump.times_s[k - 1] - jump.start_s,
                               0 if plan is None else sum(st[5] for st in plan.steps[:k]),
                               n, k))
        self.num_jumps += 1
        self.num_steps += k
        self.busy_s += jump.times_s[k - 1] - jump.start_s
        if plan is None:
            self.num_decode_tokens += n * k
            # Contexts grow by n per step: sum_{j<k} (S0 + n j) = k S0 + n k (k-1) / 2.
            self.decode_kv_tokens += k * jump.kv_tokens0 + n * k * (k - 1) / 2
            return
        steps = plan.steps
        kp = min(k, len(steps))
        tokens = pkv = dseqs = 0
        pairs = self.prefill_attention_pairs
        dkv = self.decode_kv_tokens
        for st in steps[:kp]:
            dseqs += st[3]
            dkv += st[4]
            tokens += st[5]
            pairs += st[6]
            pkv += st[7]
        m = k - kp  # decode-tail steps
        if m:
            nt = plan.tail_n
            dseqs += nt * m
            dkv += m * plan.tail_kv_tokens0 + nt * m * (m - 1) / 2
        self.num_prefill_tokens += tokens
        self.prefill_attention_pairs = pairs
        self.prefill_kv_tokens += pkv
        self.num_decode_tokens += dseqs
        self.decode_kv_tokens = dkv

    def sample_kv(self, time_s: float, usage_frac: float) -> None:
        self.kv_times_s.append(time_s)
        self.kv_usage_frac.append(usage_frac)

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

    def snapshot(self, cost: Any, tiers: TieredStore) -> ReplicaStats:
        """The counters as ``ReplicaStats``; FLOPs and HBM bytes when ``cost`` (the replica's
        step cost) has a ``breakdown``."""
        flops = hbm_bytes = None
        breakdown = getattr(cost, "breakdown", None)
        if breakdown is not None and self.num_steps:
            k = self.num_steps
            b = breakdown(num_prefill_tokens=self.num_prefill_tokens / k,
                          prefill_attention_pairs=self.prefill_attention_pairs / k,
                          prefill_kv_tokens=self.prefill_kv_tokens / k,
                          num_decode_seqs=self.num_decode_tokens / k,
                          decode_kv_tokens=self.decode_kv_tokens / k)
            flops = k * sum(op.flops for op in b.ops)
            hbm_bytes = k * sum(op.bytes for op in b.ops if op.bound != "interconnect")
        tier_stats = {name: asdict(s) for name, s in tiers.stats.items()}
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
            hit_tokens=self.hit_tokens, swap_bytes=self.swap_bytes, tiers=tier_stats,
            kv_usage_times_s=np.frombuffer(self.kv_times_s, dtype=np.float64).copy(),
            kv_usage_frac=np.frombuffer(self.kv_usage_frac, dtype=np.float64).copy(),
            flops=flops, hbm_bytes=hbm_bytes, steps=tuple(self.steps or ()),
        )
