"""What a jump is: a run of certain engine steps committed as one event (fastpath.py).

Units: seconds, tokens, KV blocks. ``Jump`` is a decode or prefill jump in flight,
``PrefillPlan`` the steps a prefill jump runs (planned by prefill_jump.py), and
``DecodeTimeTable`` the memo of pure-decode step times a decode jump reads.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from tokenworks.serving.events import EventHandle
from tokenworks.serving.replica_config import StepCost
from tokenworks.serving.seq import Seq

__all__ = ["DecodeTimeTable", "Jump", "PrefillPlan", "PrefillStep", "blocks_for_rounds"]


# One planned step, as a plain tuple (NOTE: no object per step, for performance):
# (prefills: [(seq, tokens, new blocks)], admitted seq or None (from the queue head at the
# step's start), completed seq or None (its last chunk runs here), decode seqs, decode KV
# tokens, prefill tokens, causal attention pairs, prefill KV tokens).
PrefillStep = tuple


@dataclass(slots=True)
class PrefillPlan:
    """The certain steps of a prefill jump and the decode tail after them."""

    steps: list[PrefillStep]
    need_cum: list[int]  # KV blocks taken by the end of step j (a preformed first step: 0)
    full_budget: bool  # every step uses the whole token budget: no arrival can join
    # Decode tail after the last prompt completes: tail_steps steps of tail_n decoders from
    # round tail_round0 with context sum tail_kv_tokens0 and block residues tail_counts.
    tail_steps: int = 0
    tail_n: int = 0
    tail_round0: int = 0
    tail_kv_tokens0: int = 0
    tail_counts: list[int] | None = None
    admit_steps: tuple[int, ...] = ()  # indices of the steps that admit a queued prompt


def blocks_for_rounds(counts: list[int], bs: int, r0: int, n: int, num_steps: int) -> int:
    """Blocks n decoders with residue ``counts`` take over ``num_steps`` rounds from r0."""
    full, part = divmod(num_steps, bs)
    if not part:
        return full * n
    # NOTE: the partial cycle as one or two slice sums (C loops), for performance.
    a = r0 % bs
    b = a + part
    if b <= bs:
        return full * n + sum(counts[a:b])
    return full * n + sum(counts[a:]) + sum(counts[:b - bs])


class DecodeTimeTable:
    """Memo of pure-decode step times by (batch size, total context), in 2,048-token pages.

    NOTE: for performance. A decode jump needs the step time at contexts S0, S0+n, S0+2n, …;
    one vectorised ``step_time_s`` call costs ~60 µs however short, while a steady workload
    keeps revisiting the same (n, context) region, so each page is computed once (one numpy
    call) and later jumps only slice it. Elementwise float operations do not depend on the
    array they sit in, so the values equal a direct vectorised call. Pages are LRU-bounded.
    """

    PAGE_TOKENS = 2048
    MAX_PAGES = 256  # ~16 MiB per replica (pages are Python lists: slicing them is cheaper)
    MAX_PAGES_PER_JUMP = 8  # wider jumps call the cost model directly

    def __init__(self, cost: StepCost) -> None:
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

    def durations(self, n: int, kv0: int, k: int,
                  cached_only: bool = False) -> list[float] | None:
        """Step times at contexts kv0 + n·j, j < k; None when the span is too wide (or, with
        ``cached_only``, when a page it needs is not computed yet)."""
        size = self.PAGE_TOKENS
        first, last = kv0 // size, (kv0 + n * (k - 1)) // size
        if last - first >= self.MAX_PAGES_PER_JUMP:
            return None
        if cached_only:
            pages = self._pages
            for p in range(first, last + 1):
                if (n, p) not in pages:
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


class Jump:
    """A decode or prefill jump in flight.

    ``plan`` is None for a pure-decode jump of ``num_seqs`` sequences from context
    ``kv_tokens0``; otherwise the planned prompt steps and decode tail (prefill_jump.py),
    with ``seq`` the prompt being prefilled when it started (if any).
    """

    __slots__ = ("full_budget", "handle", "kv_tokens0", "num_seqs", "num_steps", "plan",
                 "seq", "start_s", "times_s")

    def __init__(self, start_s: float, times_s: list[float], num_seqs: int, kv_tokens0: int,
                 handle: EventHandle, plan: PrefillPlan | None = None,
                 seq: Seq | None = None) -> None:
        self.start_s = start_s
        self.times_s = times_s  # end time of each step
        self.num_steps = len(times_s)  # may shrink when interrupted
        self.num_seqs = num_seqs
        self.kv_tokens0 = kv_tokens0
        self.handle = handle
        self.plan = plan
        self.seq = seq
        # every step's token budget is used up: nothing can be admitted
        self.full_budget = plan is not None and plan.full_budget

    def blocks_through(self, k: int, counts: list[int], block_size: int, rounds: int,
                       num_decoding: int) -> int:
        """KV blocks the first k steps take (decode growth plus prompt chunks), given the
        replica's decode residue ``counts``, block size, rounds and decoders now."""
        plan = self.plan
        if plan is None:
            return blocks_for_rounds(counts, block_size, rounds, num_decoding, k)
        kp = len(plan.steps)
        if k <= kp:
            return plan.need_cum[k - 1]
        tail = plan.tail_counts
        assert tail is not None  # a plan that runs past its prompt steps has a decode tail
        return plan.need_cum[kp - 1] + blocks_for_rounds(tail, block_size, plan.tail_round0,
                                                         plan.tail_n, k - kp)
