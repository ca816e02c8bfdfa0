"""Iteration-level batching policy of one replica (vLLM v1 / Sarathi-Serve style).

Units: tokens and KV blocks. ``schedule(r, policy)`` forms the next forward step of a replica
from its state ``r`` (engine_state.py: queues, block manager, prefix cache): the whole
batching rule is the one function below (as nano-vllm's ``Scheduler.schedule``), over the
memory primitives of admission.py (admit, grow, preempt, swap).

* Token budget ``max_num_batched_tokens`` and ``max_num_seqs`` (Yu et al., Orca, OSDI 2022;
  vLLM ``SchedulerConfig``).
* Policies are entries of ``POLICIES`` (a ``Policy`` says when a step runs prompts only):
  ``decode_first`` (Sarathi-Serve, Agrawal et al., OSDI 2024, arXiv:2403.02310; vLLM v1):
  every running decode gets its token first, the leftover budget goes to prefill chunks
  (stall-free); ``prefill_first`` (vLLM v0 default): while prompts are waiting or partially
  prefilled, a step runs prefills only and decodes pause. Adding a policy is a class and a
  line in ``POLICIES``.
* Without chunked prefill a prompt is scheduled whole (alone if it exceeds the budget).
* Preemption when the KV cache cannot grow: the newest (FCFS) or lowest-priority running
  sequence is evicted by recompute or swap until the rest fit.

Decodes are all-or-nothing per step (vLLM requires ``max_num_batched_tokens >= max_num_seqs``),
which lets the replica keep decode state as running sums (see engine_state.py).
"""

from __future__ import annotations

from tokenworks.serving import admission
from tokenworks.serving.engine_state import ReplicaState
from tokenworks.serving.seq import SeqState, StepPlan

__all__ = ["POLICIES", "DecodeFirst", "Policy", "PrefillFirst", "schedule"]


class Policy:
    """How a step shares its token budget between the running decodes and the prompts."""

    # The prefill-jump planner (prefill_jump.py) walks this policy's steps exactly.
    plans_prefill_jumps: bool = False

    def prefill_only(self, r: ReplicaState) -> bool:
        """Does the next step run prompts only (decodes pause)?"""
        return False


class DecodeFirst(Policy):
    """Decodes first, leftover budget to prompt chunks (Sarathi-Serve; vLLM v1)."""

    plans_prefill_jumps = True


class PrefillFirst(Policy):
    """Prompts first: while any is waiting or being prefilled, decodes pause (vLLM v0)."""

    def prefill_only(self, r: ReplicaState) -> bool:
        return bool(r.prefilling) or admission.can_admit_head(r)


POLICIES: dict[str, Policy] = {"decode_first": DecodeFirst(), "prefill_first": PrefillFirst()}


def schedule(r: ReplicaState, policy: Policy) -> StepPlan:
    """Form the next step of replica ``r`` under ``policy`` (mutates its queues and KV
    accounting)."""
    cfg, plan = r.config, StepPlan()
    budget = cfg.max_num_batched_tokens
    admission.admit_transferred(r)  # role "decode": KV arrived from a prefill replica; join the decodes
    prefill_only = policy.prefill_only(r)
    # 1. Decodes: one token each, all or none; preempt the newest until their blocks fit.
    if not prefill_only:
        budget -= _schedule_decodes(r, plan)
    # 2. Running prefills continue, oldest first; the newest prefill yields its blocks if needed.
    for seq in list(r.prefilling):
        if budget <= 0 or seq.state is not SeqState.PREFILL:
            continue
        chunk = admission.chunk_for(r, seq, budget, plan)
        if chunk == 0:
            break
        need = admission.blocks_for_chunk(r, seq, chunk)
        while not r.blocks.can_append(need) and r.prefilling[-1] is not seq:
            admission.preempt(r, r.prefilling[-1], plan)
        if not r.blocks.can_append(need):
            if plan.empty and not r.num_decoding:
                admission.preempt(r, seq, plan)  # nothing else can free memory: give way, retry later
            break
        admission.take_chunk_blocks(r, seq, chunk, need)
        plan.add_chunk(seq, chunk)
        budget -= chunk
    # 3. Swapped-out sequences come back before new work (vLLM v0 order), then the waiting queue.
    while r.swapped and len(r.running) < cfg.max_num_seqs:
        seq = r.swapped[0]
        if not admission.swap_in(r, seq, plan):
            break
        if seq.state is SeqState.PREFILL and budget > 0:  # a swapped prompt resumes its chunks
            chunk = admission.chunk_for(r, seq, budget, plan)
            need = admission.blocks_for_chunk(r, seq, chunk)
            if chunk and r.blocks.can_append(need):
                admission.take_chunk_blocks(r, seq, chunk, need)
                plan.add_chunk(seq, chunk)
                budget -= chunk
    while budget > 0 and r.waiting and len(r.running) < cfg.max_num_seqs and not r.swapped:
        seq = r.waiting.peek()
        first = admission.admit(r, seq, budget, plan)  # cache lookup, watermark check, tier load
        if first is None:
            break  # head of line blocked (KV full or prompt too big for this step): no skipping
        r.waiting.pop()
        if first:
            admission.take_chunk_blocks(r, seq, first, admission.blocks_for_chunk(r, seq, first))
            plan.add_chunk(seq, first)
            budget -= first
    if prefill_only and plan.empty:
        _schedule_decodes(r, plan)  # prompts could not run: do not stall the decodes for nothing
    return plan


def _schedule_decodes(r: ReplicaState, plan: StepPlan) -> int:
    """Give every decoding sequence its next token; return the tokens used."""
    if not r.num_decoding:
        return 0
    need = r.decode_blocks_needed()
    while r.num_decoding and not r.blocks.can_append(need):
        admission.preempt(r, admission.pick_victim(r), plan)
        need = r.decode_blocks_needed()
    if not r.num_decoding:
        return 0
    r.blocks.append_slot(need)
    plan.num_decode_seqs, plan.decode_kv_tokens = r.num_decoding, r.decode_kv_tokens()
    return r.num_decoding
