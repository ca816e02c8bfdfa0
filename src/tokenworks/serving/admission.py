"""Memory-side primitives the batching policy calls: admit, grow, preempt, swap.

Units: tokens and KV blocks; swap and tier-load times in seconds. Admission follows vLLM: look
up the longest cached prefix (HBM first, then the lower KV tiers), require the blocks of the
rest of the prompt plus the promoted blocks to fit above the watermark, then allocate blocks
chunk by chunk as the prompt is computed. Preemption follows vLLM too: recompute frees the
blocks (full prefix blocks stay cached) and puts the sequence back at the front of the queue;
swap copies its KV to the first tier and back, charged at that tier's bandwidth.
"""

from __future__ import annotations

from tokenworks.serving.block_manager import blocks_for_tokens
from tokenworks.serving.engine_state import ReplicaState
from tokenworks.serving.events import Priority
from tokenworks.serving.seq import Seq, SeqState, StepPlan

__all__ = ["admit", "admit_transferred", "blocks_for_chunk", "can_admit_head", "chunk_for",
           "pick_victim", "preempt", "swap_in", "take_chunk_blocks"]


# Functions of a replica's state ``r`` (engine_state.py), called by the batching policy
# (scheduler.py) and the jumps (fastpath.py). NOTE: module functions rather than a mixin
# class, so that setup.py can compile them with mypyc (a native class has one base).


def _lookup(r: ReplicaState, seq: Seq) -> tuple[int, list[tuple[int, int]], int, int]:
    """(HBM hit blocks, lower-tier hits, blocks to take, evictable blocks the hit pins)."""
    req = seq.req
    hashes, pbt = req.prefix_hashes, req.prefix_block_tokens
    if not hashes or r.config.prefix_cache == "none":
        # NOTE: no prefix to look up: the whole prompt needs blocks, for performance.
        return 0, [], -(-seq.target // r.block_size), 0
    k0, hits, pinned = 0, [], 0
    # vLLM recomputes at least the last prompt token to get its logits.
    max_units = min(len(hashes), (seq.target - 1) // pbt)
    k0 = r.cache.match(hashes, max_units)
    if r.tiers:
        j = k0
        while j < max_units:
            tier = r.tiers.find(hashes[j])
            if tier is None:
                break
            hits.append((hashes[j], tier))
            j += 1
    entries = r.cache.entries
    for h in hashes[:k0]:
        e = entries[h]
        if e.refs == 0:
            pinned += e.blocks
    cached = (k0 + len(hits)) * pbt
    need = blocks_for_tokens(seq.target - cached, r.block_size)
    need += len(hits) * (pbt // r.block_size)
    return k0, hits, need, pinned


# ASSUMPTION: admission needs room for the whole rest of the prompt above the watermark
# (vLLM v0 ``can_allocate``) although blocks are then taken chunk by chunk (vLLM v1).
def _fits(r: ReplicaState, need: int, pinned: int = 0) -> bool:
    return r.blocks.num_available_blocks - pinned - need >= r.watermark_blocks


def can_admit_head(r: ReplicaState) -> bool:
    """Would the next queued sequence be admitted now (read-only)?"""
    # Mirrors schedule(): transferred sequences, then swapped ones, then (only when nothing
    # is swapped out) the waiting queue.
    waiting = r.waiting
    if not waiting and not r.transferred and not r.swapped:
        return False  # NOTE: nothing queued, the common case, first: for performance
    if len(r.running) >= r.config.max_num_seqs:
        return False
    if r.transferred:
        req = r.transferred[0].req
        if _fits(r, blocks_for_tokens(req.prompt_tokens + req.num_output_done - 1,
                                      r.block_size)):
            return True
    if r.swapped:
        return _fits(r, blocks_for_tokens(r.swapped[0].swapped_tokens, r.block_size))
    if not waiting:
        return False
    seq = waiting.peek()
    if not seq.req.prefix_hashes or r.config.prefix_cache == "none":
        # NOTE: _lookup and _fits inlined for a head without a prefix to look up, for
        # performance (asked at nearly every engine event).
        return (r.blocks.num_available_blocks - -(-seq.target // r.block_size)
                >= r.watermark_blocks)
    _, _, need, pinned = _lookup(r, seq)
    return _fits(r, need, pinned)


def admit(r: ReplicaState, seq: Seq, budget: int, plan: StepPlan) -> int | None:
    """Admit the queue head; return its first chunk (0 while its KV loads) or None."""
    k0, hits, need, pinned = _lookup(r, seq)
    if not _fits(r, need, pinned):
        return None
    req, cfg = seq.req, r.config
    pbt = req.prefix_block_tokens
    cached = (k0 + len(hits)) * pbt
    if not cfg.chunked_prefill and seq.target - cached > budget and not plan.empty:
        return None
    hashes = req.prefix_hashes
    if k0:
        r.cache.acquire(hashes[:k0])
    unit_blocks = pbt // r.block_size
    load_s = 0.0
    by_tier: dict[str, int] = {}
    if hits:
        # Read the tier blocks before promoting: promotion can evict HBM blocks whose
        # demotion overflows a tier and would drop the very blocks being read.
        load_s, by_tier = r.tiers.load(
            hits, unit_blocks * r.block_size * r.kv_bytes_per_token, pbt)
    for i, (h, _) in enumerate(hits, start=k0):
        r.cache.insert_promoted(h, hashes[i - 1] if i else None, unit_blocks)
    seq.shared = list(hashes[: k0 + len(hits)])
    seq.shared_tokens = seq.computed = cached
    first = req.scheduled_at_s is None
    if first:
        req.scheduled_at_s = r.env.now_s
        req.cached_tokens = cached
        req.cached_tokens_by_tier = {"hbm": k0 * pbt, **by_tier} if cached else {}
    r.rec.admitted(req, k0 * pbt, cached, first)
    r.running[seq.serial] = seq
    if load_s > 0.0 and cfg.tier_load == "blocking":
        seq.state = SeqState.LOADING
        seq.load_handle = r.env.schedule(r.env.now_s + load_s, Priority.LOAD_DONE, _load_done, r, seq)
        return 0
    seq.state = SeqState.PREFILL
    # ASSUMPTION: "overlapped" loads stream layer by layer under the prefill compute, so the
    # step that runs the request's first chunk lasts max(compute, load) (LMCache layerwise).
    seq.load_s = load_s
    r.prefilling.append(seq)
    return chunk_for(r, seq, budget, plan)


def _load_done(r: ReplicaState, seq: Seq) -> None:
    seq.load_handle = None
    if seq.state is SeqState.LOADING:
        seq.state = SeqState.PREFILL
        r.prefilling.append(seq)
        r.poke()


def admit_transferred(r: ReplicaState) -> None:
    """Role "decode": sequences whose prompt KV arrived start decoding if they fit.

    ASSUMPTION: decode replicas hold the transferred KV privately (no prefix-cache lookup).
    """
    while r.transferred and len(r.running) < r.config.max_num_seqs:
        seq = r.transferred[0]
        req = seq.req
        kv_tokens = req.prompt_tokens + req.num_output_done - 1
        need = blocks_for_tokens(kv_tokens, r.block_size)
        if not _fits(r, need):
            return
        r.transferred.popleft()
        r.blocks.allocate(need)
        seq.private_blocks = need
        seq.target = seq.computed = kv_tokens
        r.running[seq.serial] = seq
        r.rec.admitted(req, 0, 0, False)
        r.join_decode(seq)


def chunk_for(r: ReplicaState, seq: Seq, budget: int, plan: StepPlan) -> int:
    """Prompt tokens of ``seq`` to run this step within ``budget``."""
    remaining = seq.target - seq.computed
    if r.config.chunked_prefill:
        cap = r.config.max_prefill_chunk_tokens
        if cap > 0 and cap < budget:  # data-parallel attention: one rank's share of the budget
            return min(remaining, cap)
        return min(remaining, budget)
    # Unchunked: the whole prompt, alone in the step if it exceeds the budget.
    return remaining if remaining <= budget or plan.empty else 0


def blocks_for_chunk(r: ReplicaState, seq: Seq, chunk: int) -> int:
    tokens = seq.computed + chunk - seq.shared_tokens
    return blocks_for_tokens(tokens, r.block_size) - seq.private_blocks


def take_chunk_blocks(r: ReplicaState, seq: Seq, chunk: int, need: int) -> None:
    r.blocks.allocate(need)
    seq.private_blocks += need


def pick_victim(r: ReplicaState) -> Seq:
    """The newest running sequence (FCFS) or the lowest-priority, latest one (priority)."""
    if r.config.queue == "priority":
        return max(r.running.values(),
                   key=lambda s: (s.req.priority, s.req.arrived_at_s, s.serial))
    return next(reversed(r.running.values()))


def preempt(r: ReplicaState, seq: Seq, plan: StepPlan) -> None:
    """Evict a running sequence's KV by recompute or swap (vLLM semantics)."""
    req = seq.req
    req.num_preemptions += 1
    r.rec.num_preemptions += 1
    state = seq.state
    if state is SeqState.DECODE:
        r.leave_decode(seq)
        kv_tokens = req.prompt_tokens + req.num_output_done - 1
    else:
        kv_tokens = seq.computed
        if state is SeqState.PREFILL:
            r.prefilling.remove(seq)
        elif seq.load_handle is not None:
            r.env.cancel(seq.load_handle)
            seq.load_handle = None
    if r.config.preemption == "swap" and state is not SeqState.LOADING:
        nbytes = kv_tokens * r.kv_bytes_per_token
        # ASSUMPTION: swap copies block the step (vLLM v0 swaps before the forward pass).
        plan.extra_s += r.tiers.swap_time_s(nbytes, write=True)
        r.rec.swap_bytes += nbytes
        r.release(seq)
        seq.swapped_tokens = seq.computed = kv_tokens
        if state is SeqState.DECODE:
            seq.target = kv_tokens  # computed == target marks "resume decoding"
        seq.state = SeqState.SWAPPED
        r.swapped.appendleft(seq)  # older victims end up first
        return
    # ASSUMPTION: recompute re-prefills prompt + generated tokens and its last prefill step
    # samples the next token (vLLM v1); computed full blocks stay cached meanwhile.
    r.cache_units(seq, kv_tokens)
    r.release(seq)
    seq.state = SeqState.WAITING
    seq.target = req.prompt_tokens + req.num_output_done
    seq.computed = 0
    r.waiting.push_front(seq)


def swap_in(r: ReplicaState, seq: Seq, plan: StepPlan) -> bool:
    """Bring the first swapped sequence back if its blocks fit above the watermark."""
    need = blocks_for_tokens(seq.swapped_tokens, r.block_size)
    if not _fits(r, need):
        return False
    r.swapped.popleft()
    r.blocks.allocate(need)
    seq.private_blocks = need
    nbytes = seq.swapped_tokens * r.kv_bytes_per_token
    plan.extra_s += r.tiers.swap_time_s(nbytes, write=False)
    r.rec.swap_bytes += nbytes
    r.running[seq.serial] = seq
    if seq.computed == seq.target:  # it was decoding
        if plan.num_decode_seqs:
            r.pending_decoders.append(seq)  # joins after this step's decode round
        else:
            r.join_decode(seq)
    else:
        seq.state = SeqState.PREFILL
        r.prefilling.append(seq)
    return True
