"""Decode jumps: run k identical-shape decode steps as one event.

Units: seconds, tokens, KV blocks. When a replica's batch is pure decode and nothing can join
it (no prefill in progress, the queue head cannot be admitted), the next k steps differ only in
their contexts, which grow by ``n`` tokens per step. k is the number of steps until the first
sequence finishes, until the KV blocks run out, or ``MAX_JUMP_STEPS``. Their times come from
one vectorised ``step_time_s`` call; the end times are a running sum started at ``now``, the
same floating-point additions the step-by-step engine makes, so both modes give identical
timelines. A request that arrives mid-jump cuts it at the step in progress (the step-by-step
engine would also only see it at that step's end).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tokenworks.serving.events import EventHandle, Priority
from tokenworks.serving.scheduler import SeqState

if TYPE_CHECKING:
    from tokenworks.serving.replica import Replica

__all__ = ["MAX_JUMP_STEPS", "Jump", "blocks_started", "interrupt", "try_jump"]

# NOTE: cap on steps per jump, for memory (one float per step); long decodes take a few jumps.
MAX_JUMP_STEPS = 4096


@dataclass(slots=True)
class Jump:
    """A decode jump in flight."""

    start_s: float
    times_s: np.ndarray  # end time of each step
    num_steps: int  # may shrink when interrupted
    num_seqs: int
    round0: int
    kv_tokens0: int
    handle: EventHandle


def blocks_needed(r: Replica, num_steps: int) -> int:
    """KV blocks the decoders take over the next ``num_steps`` rounds (residue counts)."""
    bs, counts, r0 = r.block_size, r._residue_count, r.rounds
    full, part = divmod(num_steps, bs)
    need = full * r.num_decoding
    for s in range(part):
        need += counts[(r0 + s) % bs]
    return need


def _steps_until_blocks_run_out(r: Replica) -> int:
    """Largest k with blocks_needed(k) <= available blocks."""
    avail, n, bs = r.blocks.num_available_blocks, r.num_decoding, r.block_size
    full_cycles = avail // n
    left = avail - full_cycles * n
    counts, r0, m, used = r._residue_count, r.rounds, 0, 0
    while m < bs - 1:
        used += counts[(r0 + m) % bs]
        if used > left:
            break
        m += 1
    return full_cycles * bs + m


def _steps_to_first_finish(r: Replica) -> int:
    heap = r._finish_heap
    while heap:
        finish_round, seq = heap[0]
        if seq.state is SeqState.DECODE and seq.finish_round == finish_round:
            return finish_round - r.rounds
        heapq.heappop(heap)  # stale entry of a preempted sequence
    return MAX_JUMP_STEPS


def try_jump(r: Replica) -> bool:
    """Start a jump if the batch is pure decode and nothing can change; return True if so."""
    if not r.num_decoding or r.prefilling or r._pending_decoders or r.can_admit_head():
        return False
    k = min(_steps_to_first_finish(r), _steps_until_blocks_run_out(r), MAX_JUMP_STEPS)
    if k < 2:
        return False
    n = r.num_decoding
    kv0 = r.decode_kv_tokens()
    dts = r.cost.step_time_s(num_prefill_tokens=0, prefill_attention_pairs=0.0,
                             prefill_kv_tokens=0, num_decode_seqs=n,
                             decode_kv_tokens=kv0 + n * np.arange(k, dtype=np.float64))
    dts = np.broadcast_to(np.asarray(dts, dtype=np.float64), (k,))
    steps = np.empty(k + 1)
    steps[0] = r.env.now_s
    steps[1:] = dts
    # NOTE: np.cumsum adds left to right like the step-by-step clock, for identical timelines.
    times = np.cumsum(steps)[1:]
    handle = r.env.schedule_at(float(times[-1]), Priority.STEP_END, _jump_end, r)
    r.jump = Jump(start_s=r.env.now_s, times_s=times, num_steps=k, num_seqs=n,
                  round0=r.rounds, kv_tokens0=kv0, handle=handle)
    r._busy = True
    return True


def _steps_begun(r: Replica, jump: Jump) -> int:
    """Steps of the jump already started at ``now`` (the one in progress included)."""
    env = r.env
    passed_ties = env.current_priority is not None and env.current_priority > Priority.STEP_END
    side = "right" if passed_ties else "left"
    passed = int(np.searchsorted(jump.times_s[: jump.num_steps], env.now_s, side=side))
    return min(passed + 1, jump.num_steps)


def interrupt(r: Replica) -> None:
    """New work arrived mid-jump: end the jump at the step in progress."""
    jump = r.jump
    k = _steps_begun(r, jump)
    if k < jump.num_steps:
        r.env.cancel(jump.handle)
        jump.num_steps = k
        jump.handle = r.env.schedule_at(float(jump.times_s[k - 1]), Priority.STEP_END,
                                        _jump_end, r)


def blocks_started(r: Replica) -> int:
    """Blocks the step-by-step engine would have allocated by now within the jump."""
    return blocks_needed(r, _steps_begun(r, r.jump))


def _jump_end(r: Replica) -> None:
    jump, r.jump = r.jump, None
    k = jump.num_steps
    r.blocks.append_slot(blocks_needed(r, k))
    r.rec.jump_done(jump, k)
    times = jump.times_s[:k].tolist() if r._recording else ()
    r.advance_rounds(k, times)
    r.rec.sample_kv(r.env.now_s, r.kv_usage_frac)
    r._next_step()
