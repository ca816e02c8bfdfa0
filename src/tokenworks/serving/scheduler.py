"""Iteration-level batching policy of one replica (vLLM v1 / Sarathi-Serve style).

Units: tokens and KV blocks. ``schedule(r)`` forms the next forward step of replica ``r``:
the whole policy is the one function below (as nano-vllm's ``Scheduler.schedule``); the
replica supplies the memory primitives (admit, preempt, block counts).

* Token budget ``max_num_batched_tokens`` and ``max_num_seqs`` (Yu et al., Orca, OSDI 2022;
  vLLM ``SchedulerConfig``).
* ``decode_first`` (Sarathi-Serve, Agrawal et al., OSDI 2024, arXiv:2403.02310; vLLM v1): every
  running decode gets its token first, the leftover budget goes to prefill chunks (stall-free).
* ``prefill_first`` (vLLM v0 default): while prompts are waiting or partially prefilled, a step
  runs prefills only and decodes pause.
* Without chunked prefill a prompt is scheduled whole (alone if it exceeds the budget).
* Preemption when the KV cache cannot grow: the newest (FCFS) or lowest-priority running
  sequence is evicted by recompute or swap until the rest fit.

Decodes are all-or-nothing per step (vLLM requires ``max_num_batched_tokens >= max_num_seqs``),
which lets the replica keep decode state as running sums (see replica.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

# NOTE: the queues live in their own module (a deque subclass cannot be compiled by mypyc);
# re-exported here, where they were first defined.
from tokenworks.serving.queues import QUEUES, FcfsQueue, PriorityQueue

if TYPE_CHECKING:
    from tokenworks.serving.replica import Replica
    from tokenworks.serving.request import Request

__all__ = ["QUEUES", "FcfsQueue", "PriorityQueue", "SeqState", "StepPlan", "schedule"]


class SeqState(Enum):
    WAITING = "waiting"  # queued (new, or preempted by recompute)
    LOADING = "loading"  # admitted; waiting for KV from a lower tier (blocking load)
    PREFILL = "prefill"  # admitted; prompt partly computed
    DECODE = "decode"
    SWAPPED = "swapped"  # preempted by swap; KV in host memory
    DONE = "done"


class Seq:
    """The scheduler's per-request state on one replica."""

    __slots__ = (
        "admitted_index", "base", "computed", "finish_round", "load_handle", "load_s",
        "private_blocks",
        "req", "residue", "serial", "shared", "shared_tokens", "state", "swapped_tokens",
        "target",
    )

    def __init__(self, req: Request, serial: int) -> None:
        self.req = req
        self.serial = serial
        self.state = SeqState.WAITING
        self.target = req.prompt_tokens + req.num_output_done  # tokens to (re)compute
        self.computed = 0  # prefill tokens in KV (cached or computed)
        self.shared: list[int] = []  # prefix-cache hashes this sequence references
        self.shared_tokens = 0
        self.private_blocks = 0  # explicit while prefilling; derived from rounds while decoding
        self.base = 0  # decoding: num_output_done == replica rounds - base
        self.residue = 0  # decoding: needs a new block when rounds % block == residue
        self.finish_round = 0
        self.admitted_index = 0
        self.load_handle: list | None = None  # pending blocking tier load (an EventHandle)
        self.load_s = 0.0  # overlapped tier load still to hide behind the first chunk
        self.swapped_tokens = 0

    def __lt__(self, other: Seq) -> bool:  # heap tie-break
        return self.serial < other.serial




@dataclass(slots=True)
class StepPlan:
    """One forward step: prefill chunks, the decode batch, and extra time (swaps, loads)."""

    prefills: list[tuple[Seq, int]] = field(default_factory=list)
    num_decode_seqs: int = 0
    decode_kv_tokens: int = 0
    num_prefill_tokens: int = 0
    prefill_attention_pairs: float = 0.0
    prefill_kv_tokens: int = 0
    extra_s: float = 0.0  # swap traffic charged to this step
    min_s: float = 0.0  # overlapped tier loads the step cannot finish before

    def add_chunk(self, seq: Seq, chunk: int) -> None:
        p = seq.computed
        self.prefills.append((seq, chunk))
        self.num_prefill_tokens += chunk
        # Causal attention of c new queries after p cached keys: c·p + c(c+1)/2 pairs.
        self.prefill_attention_pairs += chunk * p + chunk * (chunk + 1) / 2
        self.prefill_kv_tokens += p + chunk
        if seq.load_s > self.min_s:
            self.min_s = seq.load_s
        seq.load_s = 0.0

    @property
    def empty(self) -> bool:
        return not self.prefills and self.num_decode_seqs == 0


def schedule(r: Replica) -> StepPlan:
    """Form the next step of replica ``r`` (mutates its queues and KV accounting)."""
    cfg, plan = r.config, StepPlan()
    budget = cfg.max_num_batched_tokens
    r.admit_transferred()  # role "decode": KV arrived from a prefill replica; join the decodes
    prefill_only = cfg.policy == "prefill_first" and (bool(r.prefilling) or r.can_admit_head())
    # 1. Decodes: one token each, all or none; preempt the newest until their blocks fit.
    if not prefill_only:
        budget -= _schedule_decodes(r, plan)
    # 2. Running prefills continue, oldest first; the newest prefill yields its blocks if needed.
    for seq in list(r.prefilling):
        if budget <= 0 or seq.state is not SeqState.PREFILL:
            continue
        chunk = r.chunk_for(seq, budget, plan)
        if chunk == 0:
            break
        need = r.blocks_for_chunk(seq, chunk)
        while not r.blocks.can_append(need) and r.prefilling[-1] is not seq:
            r.preempt(r.prefilling[-1], plan)
        if not r.blocks.can_append(need):
            if plan.empty and not r.num_decoding:
                r.preempt(seq, plan)  # nothing else can free memory: give way, retry later
            break
        r.take_chunk_blocks(seq, chunk, need)
        plan.add_chunk(seq, chunk)
        budget -= chunk
    # 3. Swapped-out sequences come back before new work (vLLM v0 order), then the waiting queue.
    while r.swapped and r.num_running < cfg.max_num_seqs:
        seq = r.swapped[0]
        if not r.swap_in(seq, plan):
            break
        if seq.state is SeqState.PREFILL and budget > 0:  # a swapped prompt resumes its chunks
            chunk = r.chunk_for(seq, budget, plan)
            need = r.blocks_for_chunk(seq, chunk)
            if chunk and r.blocks.can_append(need):
                r.take_chunk_blocks(seq, chunk, need)
                plan.add_chunk(seq, chunk)
                budget -= chunk
    while budget > 0 and r.waiting and r.num_running < cfg.max_num_seqs and not r.swapped:
        seq = r.waiting.peek()
        first = r.admit(seq, budget, plan)  # cache lookup, watermark check, tier load
        if first is None:
            break  # head of line blocked (KV full or prompt too big for this step): no skipping
        r.waiting.pop()
        if first:
            r.take_chunk_blocks(seq, first, r.blocks_for_chunk(seq, first))
            plan.add_chunk(seq, first)
            budget -= first
    if prefill_only and plan.empty:
        _schedule_decodes(r, plan)  # prompts could not run: do not stall the decodes for nothing
    return plan


def _schedule_decodes(r: Replica, plan: StepPlan) -> int:
    """Give every decoding sequence its next token; return the tokens used."""
    if not r.num_decoding:
        return 0
    need = r.decode_blocks_needed()
    while r.num_decoding and not r.blocks.can_append(need):
        r.preempt(r.pick_victim(), plan)
        need = r.decode_blocks_needed()
    if not r.num_decoding:
        return 0
    r.blocks.append_slot(need)
    plan.num_decode_seqs, plan.decode_kv_tokens = r.num_decoding, r.decode_kv_tokens()
    return r.num_decoding
