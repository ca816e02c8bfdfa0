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
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TYPE_CHECKING

import numpy as np

from tokenworks.serving.events import EventHandle, Priority
from tokenworks.serving.scheduler import Seq, SeqState, StepPlan

if TYPE_CHECKING:
    from tokenworks.serving.replica import Replica

__all__ = ["MAX_JUMP_STEPS", "DecodeTimeTable", "Jump", "blocks_started", "interrupt", "try_jump"]

# NOTE: cap on steps per jump, for memory (one float per step); long decodes take a few jumps.
MAX_JUMP_STEPS = 4096
SCALAR_STEPS = 10  # NOTE: below this, k scalar calls beat one numpy call, for performance


class DecodeTimeTable:
    """Memo of pure-decode step times by (batch size, total context), in 512-token pages.

    NOTE: for performance. A decode jump needs the step time at contexts S0, S0+n, S0+2n, …;
    one vectorised ``step_time_s`` call costs ~60 µs however short, while a steady workload
    keeps revisiting the same (n, context) region, so each page is computed once (one numpy
    call) and later jumps only slice it. Elementwise float operations do not depend on the
    array they sit in, so the values equal a direct vectorised call. Pages are LRU-bounded.
    """

    PAGE_TOKENS = 512
    MAX_PAGES = 512  # ~8 MiB per replica (pages are Python lists: slicing them is cheaper)
    MAX_PAGES_PER_JUMP = 8  # wider jumps call the cost model directly

    def __init__(self, cost: object) -> None:
        self.cost = cost
        self._pages: OrderedDict[tuple[int, int], list[float]] = OrderedDict()

    def _page(self, n: int, page: int) -> list[float]:
        key = (n, page)
        arr = self._pages.get(key)
        if arr is None:
            start = page * self.PAGE_TOKENS
            kv = np.arange(start, start + self.PAGE_TOKENS, dtype=np.float64)
            arr = np.broadcast_to(np.asarray(self.cost.step_time_s(
                num_prefill_tokens=0, prefill_attention_pairs=0.0, prefill_kv_tokens=0,
                num_decode_seqs=n, decode_kv_tokens=kv), dtype=np.float64), kv.shape).tolist()
            self._pages[key] = arr
            if len(self._pages) > self.MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(key)
        return arr

    def durations(self, n: int, kv0: int, k: int) -> list[float] | None:
        """Step times at contexts kv0 + n·j, j < k; None when the span is too wide."""
        size = self.PAGE_TOKENS
        first, last = kv0 // size, (kv0 + n * (k - 1)) // size
        if last - first >= self.MAX_PAGES_PER_JUMP:
            return None
        if first == last:
            offset = kv0 - first * size
            return self._page(n, first)[offset: offset + n * (k - 1) + 1: n]
        out: list[float] = []
        pos, end = kv0, kv0 + n * (k - 1)  # contexts still needed, in steps of n
        while pos <= end:
            p = pos // size
            top = min(end, p * size + size - 1)  # last context needed from this page
            offset = pos - p * size
            cnt = (top - pos) // n + 1
            out += self._page(n, p)[offset: offset + n * (cnt - 1) + 1: n]
            pos += n * cnt
        return out


@dataclass(slots=True)
class Jump:
    """A decode jump in flight."""

    start_s: float
    times_s: list[float]  # end time of each step
    num_steps: int  # may shrink when interrupted
    num_seqs: int
    round0: int
    kv_tokens0: int
    handle: EventHandle
    seq: Seq | None = None  # the prompt whose chunks run in this jump, if any
    chunks: list[int] = field(default_factory=list)
    need_cum: list[int] = field(default_factory=list)  # blocks taken by end of step j (prefill)
    full_budget: bool = False  # every step's token budget is used up: nothing can be admitted
    # Decode tail: after the prompt completes (step len(chunks)) it joins the decodes and the
    # jump goes on with num_seqs + 1 decoders from round tail_round0 (0 steps: no tail).
    tail_steps: int = 0
    tail_round0: int = 0
    tail_residue: int = 0
    tail_kv_tokens0: int = 0

    def blocks_through(self, r: Replica, k: int) -> int:
        """KV blocks the first k steps take (decode growth plus prompt chunks)."""
        if self.seq is None:
            return blocks_needed(r, k)
        kp = len(self.chunks)
        if k <= kp:
            return self.need_cum[k - 1]
        return self.need_cum[kp - 1] + _tail_blocks(r, self.tail_round0, self.tail_residue,
                                                    self.num_seqs + 1, k - kp)


def blocks_needed(r: Replica, num_steps: int) -> int:
    """KV blocks the decoders take over the next ``num_steps`` rounds (residue counts)."""
    bs, counts, r0 = r.block_size, r._residue_count, r.rounds
    full, part = divmod(num_steps, bs)
    need = full * r.num_decoding
    for s in range(part):
        need += counts[(r0 + s) % bs]
    return need


def _tail_blocks(r: Replica, r0: int, extra_residue: int, n: int, num_steps: int) -> int:
    """blocks_needed for n decoders from round r0: the replica's plus one of ``extra_residue``."""
    bs, counts = r.block_size, r._residue_count
    full, part = divmod(num_steps, bs)
    need = full * n
    for s in range(part):
        x = (r0 + s) % bs
        need += counts[x] + (x == extra_residue)
    return need


def _steps_until_blocks_run_out(r: Replica, avail: int | None = None, n: int | None = None,
                                r0: int | None = None, extra_residue: int = -1) -> int:
    """Largest k with blocks_needed(k) <= available blocks (optionally: from round r0 with
    ``avail`` blocks and one more decoder of residue ``extra_residue``, n counting it)."""
    if avail is None:
        avail, n, r0 = r.blocks.num_available_blocks, r.num_decoding, r.rounds
    bs = r.block_size
    full_cycles = avail // n
    left = avail - full_cycles * n
    counts, m, used = r._residue_count, 0, 0
    while m < bs - 1:
        x = (r0 + m) % bs
        used += counts[x] + (x == extra_residue)
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
    """Start a jump if nothing can join the batch for at least two steps; True if started."""
    if r._pending_decoders:
        return False
    head = r.can_admit_head()
    n = r.num_decoding
    if not r.prefilling:
        if not n or head:
            return False
        k = min(_steps_to_first_finish(r), _steps_until_blocks_run_out(r), MAX_JUMP_STEPS)
        if k < 2:
            return False
        return _start(r, k, n, None, [])
    if head and (r.swapped or r._transferred):
        return False  # swap-ins and transferred decodes join without token budget
    return _try_prefill_jump(r, n, head_ready=head)


def try_extend(r: Replica, plan: StepPlan, dt: float) -> bool:
    """A step was just formed with one prompt chunk: if its next chunks are certain, run them
    (and this step) as one jump. Its blocks are already taken; ``dt`` is its duration."""
    if (len(plan.prefills) != 1 or plan.extra_s or plan.min_s or r._pending_decoders
            or len(r.prefilling) != 1 or r.prefilling[0] is not plan.prefills[0][0]):
        return False
    head = r.can_admit_head()
    if head and (r.swapped or r._transferred):
        return False
    return _try_prefill_jump(r, plan.num_decode_seqs, first=(plan.prefills[0][1], dt),
                             head_ready=head)


def _try_prefill_jump(r: Replica, n: int, first: tuple[int, float] | None = None,
                      head_ready: bool = False) -> bool:
    """Decodes plus the chunks of one prompt, up to the step that completes it.

    With the queue head admissible (``head_ready``) only steps whose chunk uses the whole
    token budget qualify: the step-by-step scheduler admits the head into the first step that
    leaves budget over, so the jump stops before it.
    """
    cfg = r.config
    seq = r.prefilling[0]
    chunk_budget = cfg.max_num_batched_tokens - n
    if (len(r.prefilling) > 1 or seq.load_s > 0.0 or not cfg.chunked_prefill
            or cfg.policy != "decode_first" or chunk_budget <= 0):
        return False
    k_max = _steps_to_first_finish(r) if n else MAX_JUMP_STEPS
    avail, bs, counts, r0 = r.blocks.num_available_blocks, r.block_size, r._residue_count, r.rounds
    computed, private, shared = seq.computed, seq.private_blocks, seq.shared_tokens
    chunks: list[int] = []
    need_cum: list[int] = []
    need = 0
    if first is not None:  # already scheduled: its blocks are taken
        if head_ready and first[0] != chunk_budget:
            return False
        chunks.append(first[0])
        need_cum.append(0)
        computed += first[0]
    while computed < seq.target and len(chunks) < k_max:
        c = min(seq.target - computed, chunk_budget)
        if head_ready and c != chunk_budget:
            break
        chunk_blocks = -(-(computed + c - shared) // bs) - private
        step_need = counts[(r0 + len(chunks)) % bs] + chunk_blocks
        if need + step_need > avail:
            break
        need += step_need
        private += chunk_blocks
        computed += c
        chunks.append(c)
        need_cum.append(need)
    if len(chunks) < 2:
        return False
    tail = None
    kp = len(chunks)
    req = seq.req
    # The prompt completes in the jump and then decodes: chain its first decode steps (with
    # everyone else's) into the same jump, up to the first finish or the KV running out. Only
    # when completing it frees nothing (no prefix-cache insert) and no token times are kept.
    if (not head_ready and computed == seq.target and cfg.role == "both"
            and req.num_output_done + 1 < req.output_tokens and kp < k_max
            and (cfg.prefix_cache == "none" or not req.prefix_hashes)
            and req.token_times_s is None and not r._recording):
        r1 = r0 + kp if n else r0
        d0 = req.num_output_done + 1
        base = r1 - d0
        residue = (base + seq.shared_tokens + 1 - req.prompt_tokens) % bs
        kd = min(req.output_tokens - d0, (k_max - kp) if n else MAX_JUMP_STEPS,
                 _steps_until_blocks_run_out(r, avail - need, n + 1, r1, residue))
        if kd >= 1:
            kv_tail = (r._sum_prompt_minus_base + req.prompt_tokens - base) + (n + 1) * r1
            tail = (kd, r1, residue, kv_tail)
    return _start(r, kp, n, seq, chunks, need_cum,
                  first_dt=None if first is None else first[1],
                  full_budget=tail is None and all(c == chunk_budget for c in chunks),
                  tail=tail)


def _start(r: Replica, k: int, n: int, seq: Seq | None, chunks: list[int],
           need_cum: list[int] | None = None, first_dt: float | None = None,
           full_budget: bool = False, tail: tuple[int, int, int, int] | None = None) -> bool:
    kv0 = r.decode_kv_tokens()
    step_scalar = r.step_scalar
    t = r.env.now_s
    times: list[float] = []
    if seq is not None:
        p = seq.computed
        for j, c in enumerate(chunks):
            if j == 0 and first_dt is not None:
                t += first_dt
                times.append(t)
                p += c
                continue
            # Same arithmetic as StepPlan.add_chunk: c·p + c(c+1)/2 causal pairs.
            t += step_scalar(c, 0.0 + (c * p + c * (c + 1) / 2), p + c, n, kv0 + n * j)
            times.append(t)
            p += c
        if tail is not None:
            times.extend(_decode_times(r, n + 1, tail[3], tail[0], t))
    else:
        times = _decode_times(r, n, kv0, k, t)
    handle = r.env.schedule_at(times[-1], Priority.STEP_END, _jump_end, r)
    r.jump = jump = Jump(start_s=r.env.now_s, times_s=times, num_steps=len(times), num_seqs=n,
                         round0=r.rounds, kv_tokens0=kv0, handle=handle, seq=seq,
                         chunks=chunks, need_cum=[] if need_cum is None else need_cum,
                         full_budget=full_budget)
    if tail is not None:
        jump.tail_steps, jump.tail_round0, jump.tail_residue, jump.tail_kv_tokens0 = tail
    r._busy = True
    return True


def _decode_times(r: Replica, n: int, kv0: int, k: int, t: float) -> list[float]:
    """End times of k pure-decode steps of n sequences from context kv0, starting at t."""
    dts = r.decode_table.durations(n, kv0, k)
    if dts is None and k <= SCALAR_STEPS:
        # NOTE: a few scalar calls beat one numpy call (~10x its per-call cost), for
        # performance.
        step_scalar = r.step_scalar
        dts = [step_scalar(0, 0.0, 0, n, kv0 + n * j) for j in range(k)]
    elif dts is None:
        dts = r.cost.step_time_s(num_prefill_tokens=0, prefill_attention_pairs=0.0,
                          prefill_kv_tokens=0, num_decode_seqs=n,
                          decode_kv_tokens=kv0 + n * np.arange(k, dtype=np.float64))
    if not isinstance(dts, list):
        dts = dts.tolist()
    # accumulate adds left to right like the step-by-step clock (t += dt), so both modes
    # produce identical timelines. NOTE: dts is a fresh list (a slice, tolist() or a
    # comprehension): folding t into its first entry makes the same additions without the
    # copy that dropping accumulate's initial value costs, for performance.
    dts[0] = t + dts[0]
    return list(accumulate(dts))


def _steps_begun(r: Replica, jump: Jump) -> int:
    """Steps of the jump already started at ``now`` (the one in progress included)."""
    env = r.env
    passed_ties = env.current_priority is not None and env.current_priority > Priority.STEP_END
    search = bisect.bisect_right if passed_ties else bisect.bisect_left
    passed = search(jump.times_s, env.now_s, 0, jump.num_steps)
    return min(passed + 1, jump.num_steps)


def invalidated(r: Replica) -> bool:
    """Could the work that just arrived change the batch before the jump ends?"""
    jump = r.jump
    in_jump = 0 if jump.seq is None else 1
    if len(r.prefilling) > in_jump:
        return True
    if jump.full_budget and not r._transferred and not r.swapped:
        return False  # no step of the jump has token budget left to admit anyone
    return r.can_admit_head()


def interrupt(r: Replica) -> None:
    """New work arrived mid-jump: end the jump at the step in progress."""
    jump = r.jump
    k = _steps_begun(r, jump)
    if k < jump.num_steps:
        r.env.cancel(jump.handle)
        jump.num_steps = k
        jump.handle = r.env.schedule_at(jump.times_s[k - 1], Priority.STEP_END,
                                        _jump_end, r)


def blocks_started(r: Replica) -> int:
    """Blocks the step-by-step engine would have allocated by now within the jump."""
    return r.jump.blocks_through(r, _steps_begun(r, r.jump))


def _jump_end(r: Replica) -> None:
    jump, r.jump = r.jump, None
    k, seq = jump.num_steps, jump.seq
    r.blocks.append_slot(jump.blocks_through(r, k))
    r.rec.jump_done(jump, k)
    kp = k if seq is None else min(k, len(jump.chunks))
    if jump.num_seqs:
        times = jump.times_s[:kp] if r._recording else ()
        r.advance_rounds(kp, times)
    if seq is not None:
        done = sum(jump.chunks[:kp])
        seq.private_blocks += r.blocks_for_chunk(seq, done)
        seq.computed += done
        if seq.computed == seq.target:
            r._prefill_complete(seq, jump.times_s[kp - 1])
            r._join_pending()
        if k > kp:  # the decode tail (no token times are being recorded)
            r.advance_rounds(k - kp, ())
    r.rec.sample_kv(r.env.now_s, r.kv_usage_frac)
    r._next_step()
