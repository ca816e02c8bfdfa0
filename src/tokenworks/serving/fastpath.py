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

import bisect
import heapq
from itertools import accumulate

import numpy as np

from tokenworks.errors import SimulationError
from tokenworks.serving import admission
from tokenworks.serving.engine_state import ReplicaState
from tokenworks.serving.events import Priority
from tokenworks.serving.jump import Jump
from tokenworks.serving.prefill_jump import plan_prefill
from tokenworks.serving.seq import Seq, SeqState, StepPlan

__all__ = ["MAX_JUMP_STEPS", "admissions_started", "blocks_started", "interrupt",
           "invalidated", "try_extend", "try_jump"]

# NOTE: cap on steps per jump, for memory (one float per step); long decodes take a few jumps.
MAX_JUMP_STEPS = 4096
_STEP_END = int(Priority.STEP_END)  # NOTE: a plain int for the heap key, for performance
# NOTE: up to this many steps, k scalar calls beat computing a 2,048-context page with numpy
# (compiled, a scalar call costs ~0.2 µs; a page ~60 µs), for performance.
SCALAR_STEPS = 32


def _steps_until_blocks_run_out(r: ReplicaState, avail: int, n: int, r0: int,
                                counts: list[int]) -> int:
    """Largest k with the blocks of k decode rounds <= ``avail`` blocks, for n decoders with
    residue ``counts`` from round r0."""
    bs = r.block_size
    full_cycles = avail // n
    left = avail - full_cycles * n
    m, used = 0, 0
    while m < bs - 1:
        used += counts[(r0 + m) % bs]
        if used > left:
            break
        m += 1
    return full_cycles * bs + m


def _steps_to_first_finish(r: ReplicaState) -> int:
    heap = r.finish_heap
    while heap:
        finish_round, seq = heap[0]
        if seq.state is SeqState.DECODE and seq.finish_round == finish_round:
            return finish_round - r.rounds
        heapq.heappop(heap)  # stale entry of a preempted sequence
    return MAX_JUMP_STEPS


def try_jump(r: ReplicaState) -> bool:
    """Start a jump if nothing can join the batch for at least two steps; True if started."""
    if r.pending_decoders:
        return False
    head = admission.can_admit_head(r)
    n = r.num_decoding
    if not r.prefilling:
        if head:
            # Admit the head and run its chunks as a prefill jump when the planner can.
            if r.swapped or r.transferred:
                return False
            return _try_prefill_jump(r, n, None, None, True)
        if not n:
            return False
        k = min(_steps_to_first_finish(r), MAX_JUMP_STEPS)
        # NOTE: k rounds take at most ceil(k / block) blocks per decoder; only count them
        # exactly when that bound exceeds the free blocks, for performance.
        if n * -(-k // r.block_size) > r.blocks.num_available_blocks:
            k = min(k, _steps_until_blocks_run_out(r, r.blocks.num_available_blocks, n,
                                                   r.rounds, r.residue_count))
        if k < 2:
            return False
        _start_decode(r, k, n)
        return True
    if head and (r.swapped or r.transferred):
        return False  # swap-ins and transferred decodes join without token budget
    return _try_prefill_jump(r, n, None, None, head)


def try_extend(r: ReplicaState, plan: StepPlan, dt: float) -> bool:
    """A step was just formed with one prompt chunk: if its next steps are certain, run them
    (and this step) as one jump. Its blocks are already taken; ``dt`` is its duration."""
    if (len(plan.prefills) != 1 or plan.extra_s or plan.min_s or r.pending_decoders
            or len(r.prefilling) != 1 or r.prefilling[0] is not plan.prefills[0][0]):
        return False
    head = admission.can_admit_head(r)
    if head and (r.swapped or r.transferred):
        return False
    return _try_prefill_jump(r, plan.num_decode_seqs, plan.prefills[0][1], dt, head)


def _try_prefill_jump(r: ReplicaState, n: int, first: int | None, first_dt: float | None,
                      head_ready: bool) -> bool:
    cfg = r.config
    prefilling = r.prefilling
    if ((prefilling and (len(prefilling) > 1 or prefilling[0].load_s > 0.0))
            or not cfg.chunked_prefill or not r.prefill_jumps
            or cfg.max_num_batched_tokens <= n):
        return False
    plan = plan_prefill(r, n, first, head_ready,
                        _steps_to_first_finish(r) if n else MAX_JUMP_STEPS, _tail_room)
    if plan is None:
        return False
    step_scalar = r.step_scalar
    t = r.env.now_s
    times: list[float] = []
    for _, _, _, nd, kv, tokens, pairs, pkv in plan.steps:
        if first_dt is not None:  # the step schedule() formed
            t += first_dt
            first_dt = None
        else:
            t += step_scalar(tokens, pairs, pkv, nd, kv)
        times.append(t)
    if plan.tail_steps:
        times.extend(_decode_times(r, plan.tail_n, plan.tail_kv_tokens0, plan.tail_steps, t))
    r.jump = Jump(r.env.now_s, times, n, r.decode_kv_tokens(),
                  r.env.schedule(times[-1], _STEP_END, _jump_end, r), plan,
                  prefilling[0] if prefilling else None)
    r.busy = True
    return True


def _tail_room(r: ReplicaState, avail: int, n: int, r0: int, counts: list[int], k: int) -> int:
    """Decode steps (at most k) that n decoders (residues ``counts``, from round r0) can take
    in ``avail`` blocks."""
    k = min(k, MAX_JUMP_STEPS)
    if n * -(-k // r.block_size) <= avail:
        return k  # NOTE: the per-decoder bound fits: no exact count needed, for performance
    return min(_steps_until_blocks_run_out(r, avail, n, r0, counts), k)


def _start_decode(r: ReplicaState, k: int, n: int) -> None:
    times = _decode_times(r, n, r.decode_kv_tokens(), k, r.env.now_s)
    r.jump = Jump(r.env.now_s, times, n, r.decode_kv_tokens(),
                  r.env.schedule(times[-1], _STEP_END, _jump_end, r))
    r.busy = True


def _decode_times(r: ReplicaState, n: int, kv0: int, k: int, t: float) -> list[float]:
    """End times of k pure-decode steps of n sequences from context kv0, starting at t."""
    # NOTE: a short jump takes its times from a page already computed, or else from scalar
    # calls, which cost less than computing a page; for performance. Both give the same
    # numbers: the array path of step_time_s is the scalar arithmetic element by element.
    short = k <= SCALAR_STEPS
    dts = r.decode_table.durations(n, kv0, k, cached_only=short)
    if dts is None and short:
        step_scalar = r.step_scalar
        dts = [step_scalar(0, 0.0, 0, n, kv0 + n * j) for j in range(k)]
    elif dts is None:
        # The array goes to a list at once: compiled code holds ``dts`` as a typed list.
        dts = np.asarray(r.cost.step_time_s(
            num_prefill_tokens=0, prefill_attention_pairs=0.0, prefill_kv_tokens=0,
            num_decode_seqs=n, decode_kv_tokens=kv0 + n * np.arange(k, dtype=np.float64)),
            dtype=np.float64).tolist()
    # accumulate adds left to right like the step-by-step clock (t += dt), so both modes
    # produce identical timelines. NOTE: dts is a fresh list (a slice, tolist() or a
    # comprehension): folding t into its first entry makes the same additions without the
    # copy that dropping accumulate's initial value costs, for performance.
    dts[0] = t + dts[0]
    return list(accumulate(dts))


def _steps_begun(r: ReplicaState, jump: Jump) -> int:
    """Steps of the jump already started at ``now`` (the one in progress included)."""
    env = r.env
    passed_ties = env.current_priority is not None and env.current_priority > Priority.STEP_END
    search = bisect.bisect_right if passed_ties else bisect.bisect_left
    passed = search(jump.times_s, env.now_s, 0, jump.num_steps)
    return min(passed + 1, jump.num_steps)


def invalidated(r: ReplicaState) -> bool:
    """Could the work that just arrived change the batch before the jump ends?"""
    jump = r.jump
    assert jump is not None
    in_jump = 0 if jump.seq is None else 1
    if len(r.prefilling) > in_jump:
        return True
    if jump.full_budget and not r.transferred and not r.swapped:
        return False  # no step of the jump has token budget left to admit anyone
    return admission.can_admit_head(r)


def interrupt(r: ReplicaState) -> None:
    """New work arrived mid-jump: end the jump at the step in progress."""
    jump = r.jump
    assert jump is not None
    k = _steps_begun(r, jump)
    if k < jump.num_steps:
        r.env.cancel(jump.handle)
        jump.num_steps = k
        jump.handle = r.env.schedule(jump.times_s[k - 1], _STEP_END, _jump_end, r)


def admissions_started(r: ReplicaState) -> int:
    """Queued prompts the jump has admitted by now (they leave the queue when it commits)."""
    jump = r.jump
    if jump is None or jump.plan is None or not jump.plan.admit_steps:
        return 0
    return bisect.bisect_left(jump.plan.admit_steps, _steps_begun(r, jump))


def blocks_started(r: ReplicaState) -> int:
    """Blocks the step-by-step engine would have allocated by now within the jump."""
    jump = r.jump
    assert jump is not None
    return jump.blocks_through(_steps_begun(r, jump), r.residue_count, r.block_size, r.rounds,
                               r.num_decoding)


def _jump_end(r: ReplicaState) -> None:
    jump, r.jump = r.jump, None
    assert jump is not None
    k = jump.num_steps
    r.blocks.append_slot(jump.blocks_through(k, r.residue_count, r.block_size, r.rounds,
                                             r.num_decoding))
    r.rec.jump_done(jump, k)
    times = jump.times_s
    if jump.plan is None:
        r.advance_rounds(k, times[:k] if r.recording else ())
    else:
        _commit_prefill_steps(r, jump, k)
    # NOTE: Replica.kv_usage_frac and rec.sample_kv inlined (no jump runs now), for performance.
    blocks = r.blocks
    rec = r.rec
    rec.kv_times_s.append(r.env.now_s)
    total = blocks.num_total_blocks
    rec.kv_usage_frac.append(min(1.0, (total - blocks.num_available_blocks) / total))
    r.next_step()


def _commit_prefill_steps(r: ReplicaState, jump: Jump, k: int) -> None:
    """Apply the first k steps of a prefill jump in the order the step-by-step engine would:
    admissions at their step's start, decode rounds, completions at their step's end."""
    times = jump.times_s
    plan = jump.plan
    assert plan is not None
    steps = plan.steps
    kp = min(k, len(steps))
    pending = 0  # decode rounds not yet committed (contiguous, ending at step j)
    for j in range(kp):
        prefills, admit, complete, nd = steps[j][:4]
        if admit is not None:
            _admit_planned(r, admit, jump.start_s if j == 0 else times[j - 1])
        for seq, c, cb in prefills:
            seq.private_blocks += cb
            seq.computed += c
        if nd:
            pending += 1
        if complete is not None:
            if pending:
                r.advance_rounds(pending, times[j + 1 - pending: j + 1] if r.recording else ())
                pending = 0
            r.prefill_complete(complete, times[j])
            r.join_pending()
    if pending:
        r.advance_rounds(pending, times[kp - pending: kp] if r.recording else ())
    if k > kp:  # the decode tail
        r.advance_rounds(k - kp, times[kp:k] if r.recording else ())


def _admit_planned(r: ReplicaState, seq: Seq, at_s: float) -> None:
    """``admission.admit`` for a planned admission (no prefix lookup, no tier load)."""
    head = r.waiting.pop()
    if head is not seq:
        raise SimulationError(f"prefill jump: planned admission of request {seq.req.request_id} "
                              f"but the queue head is {head.req.request_id}.")
    req = seq.req
    seq.shared = []
    seq.shared_tokens = seq.computed = 0
    first = req.scheduled_at_s is None
    if first:
        req.scheduled_at_s = at_s
        req.cached_tokens = 0
        req.cached_tokens_by_tier = {}
    r.rec.admitted(req, 0, 0, first)
    r.running[seq.serial] = seq
    seq.state = SeqState.PREFILL
    seq.load_s = 0.0
    r.prefilling.append(seq)
