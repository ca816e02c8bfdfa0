"""Shared helpers for the engine tests: an affine step-cost fake and a tiny replica harness.

The fake never depends on perf numbers: a step costs
``a + b·prefill_tokens + c·attention_pairs + d·decode_seqs + e·decode_kv_tokens`` seconds, and
broadcasts over numpy arrays like ``StepCostModel.step_time_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenworks.serving import Environment, Replica, ReplicaConfig, Request


@dataclass(frozen=True)
class AffineCost:
    base_s: float = 0.010
    per_prefill_token_s: float = 2e-5
    per_pair_s: float = 1e-9
    per_decode_seq_s: float = 1e-4
    per_decode_kv_token_s: float = 1e-7

    def step_time_s(self, *, num_prefill_tokens=0, prefill_attention_pairs=0.0,
                    prefill_kv_tokens=0, num_decode_seqs=0, decode_kv_tokens=0):
        return (self.base_s + self.per_prefill_token_s * num_prefill_tokens
                + self.per_pair_s * prefill_attention_pairs
                + self.per_decode_seq_s * num_decode_seqs
                + self.per_decode_kv_token_s * decode_kv_tokens)


def make_replica(env: Environment, *, blocks: int = 4096, block_size: int = 16,
                 cost=None, replica_id: int = 0, finished: list | None = None,
                 on_prefill_done=None, **config) -> Replica:
    finished = finished if finished is not None else []
    config.setdefault("max_num_seqs", min(256, config.get("max_num_batched_tokens", 8192)))
    return Replica(replica_id=replica_id, env=env, cost=cost or AffineCost(),
                   kv_capacity_blocks=blocks, kv_block_size_tokens=block_size,
                   kv_bytes_per_token=1e5, config=ReplicaConfig(**config),
                   on_finish=finished.append, on_prefill_done=on_prefill_done)


def poisson_requests(n: int, *, rate_per_s: float, seed: int, prompt=(16, 600),
                     output=(1, 200), num_prefixes: int = 0, prefix_blocks: int = 8,
                     block_tokens: int = 16, record_token_times: bool = False) -> list[Request]:
    """Poisson arrivals with uniform lengths; optional shared system prompts (prefix hashes)."""
    rng = np.random.default_rng(seed)
    t = 0.0
    out = []
    for i in range(n):
        t += float(rng.exponential(1.0 / rate_per_s))
        p = int(rng.integers(prompt[0], prompt[1] + 1))
        hashes: tuple[int, ...] = ()
        if num_prefixes:
            sys_id = int(rng.integers(num_prefixes))
            nb = p // block_tokens
            hashes = tuple(hash(("sys", sys_id, j)) if j < prefix_blocks
                           else hash(("req", i, j)) for j in range(nb))
        out.append(Request(request_id=i, arrived_at_s=t, prompt_tokens=p,
                           output_tokens=int(rng.integers(output[0], output[1] + 1)),
                           prefix_hashes=hashes, prefix_block_tokens=block_tokens,
                           priority=int(rng.integers(3)), record_token_times=record_token_times))
    return out


def feed(env: Environment, replica: Replica, requests: list[Request]) -> None:
    for r in requests:
        env.schedule(r.arrived_at_s, 0, replica.submit, r)


def simulate(requests: list[Request], **kw) -> tuple[list[Request], Replica]:
    env = Environment()
    finished: list[Request] = []
    rep = make_replica(env, finished=finished, **kw)
    feed(env, rep, requests)
    env.run()
    return finished, rep


def timeline(requests: list[Request]) -> list[tuple]:
    return [(r.request_id, r.scheduled_at_s, r.first_token_at_s, r.finished_at_s,
             r.num_preemptions, r.cached_tokens) for r in requests]
