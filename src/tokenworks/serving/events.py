"""The discrete-event core: a clock and a heap of callbacks (STYLE.md section 5).

Units: every instant is ``*_at_s``/``time_s`` in seconds since the start of the simulation.
Events are ordered by the heap key ``(time_s, priority, seq)``: equal times are broken by a
named ``Priority`` (arrivals before transfers before step ends before scheduling), then by a
sequence number from a counter owned by the ``Environment`` (first scheduled, first run). There
is no global state: two environments can be stepped interleaved and each behaves as if alone.
A handler's exception propagates out of ``run``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from tokenworks.errors import SimulationError

__all__ = ["Environment", "EventHandle", "Priority"]


class Priority(IntEnum):
    """Tie-break for events at the same instant: lower runs first."""

    ARRIVAL = 0  # a request reaches a router or replica
    TRANSFER_DONE = 10  # a KV transfer (disaggregation) or tier load completes
    LOAD_DONE = 20  # a tier load (KV warehouse → HBM) completes
    STEP_END = 30  # a replica finishes a forward step (or a jump of decode steps)
    TOOL_DONE = 40  # an agentic tool call on the CPU pool completes
    SCHEDULE = 50  # an idle replica forms its next batch
    MONITOR = 90  # sampling / progress callbacks, after everything else at that instant


# NOTE: an event is the list [time_s, priority, seq, callback, args], which is both its heap
# entry and its handle (no wrapper object per event, and lists compare by (time_s, priority,
# seq) since seq is unique); cancelling sets the callback to None. For performance.
EventHandle = list


def _describe(callback: Callable[..., Any] | None) -> str:
    return getattr(callback, "__qualname__", repr(callback))


class Environment:
    """Clock plus event heap. ``now_s`` only moves forward."""

    __slots__ = ("_heap", "_seq", "current_priority", "now_s", "num_events_run")

    def __init__(self, start_s: float = 0.0) -> None:
        if not math.isfinite(start_s):
            raise SimulationError(f"Environment start_s = {start_s!r} must be finite.")
        self.now_s: float = float(start_s)
        # Priority of the event being handled (None outside a handler); replicas use it to
        # decide whether a step boundary at exactly ``now_s`` has already been processed.
        self.current_priority: int | None = None
        self.num_events_run = 0
        self._heap: list[EventHandle] = []
        self._seq = 0

    def schedule(self, time_s: float, priority: int, callback: Callable[..., Any],
                 *args: Any) -> EventHandle:
        """Run ``callback(*args)`` at instant ``time_s`` (now or later) with ``priority``.

        The one way to schedule an event. It takes an instant, not a delay: callers write
        ``env.now_s + dt`` (the same addition a delay would make), and a decode jump schedules
        its precomputed last step end exactly, bit for bit as the step-by-step engine reaches
        it (a delay re-added to ``now_s`` could round differently).
        """
        # NOTE: `not time_s >= now` is also true for NaN; one comparison for performance.
        if not time_s >= self.now_s:
            raise SimulationError(
                f"cannot schedule {_describe(callback)} at t={time_s!r} s: it is before now "
                f"({self.now_s!r} s) or NaN (a negative step time?).")
        if time_s == math.inf:
            raise SimulationError(f"cannot schedule {_describe(callback)} at infinite time.")
        seq = self._seq
        self._seq = seq + 1
        handle = [time_s, priority, seq, callback, args]
        heapq.heappush(self._heap, handle)
        return handle

    def cancel(self, handle: EventHandle) -> None:
        """Drop a pending event (lazy deletion; cancelling twice or after it ran is a no-op)."""
        handle[3] = None

    def peek_s(self) -> float | None:
        """Time of the next pending (not cancelled) event, or None when the heap is empty."""
        heap = self._heap
        while heap and heap[0][3] is None:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    @property
    def num_pending(self) -> int:
        """Events in the heap, including cancelled ones not yet discarded."""
        return len(self._heap)

    def step(self) -> bool:
        """Process the next pending event; False when there is none (SimPy's ``step``)."""
        heap = self._heap
        while heap:
            time_s, priority, _, callback, args = heapq.heappop(heap)
            if callback is None:
                continue  # cancelled
            self.now_s = time_s
            self.current_priority = priority
            callback(*args)
            self.current_priority = None
            self.num_events_run += 1
            return True
        return False

    def run(self, until_s: float | None = None, max_events: int | None = None) -> int:
        """Process events in key order; return how many ran.

        Stops when the heap is empty, when the next event is later than ``until_s`` (the clock
        is then set to ``until_s``), or after ``max_events`` events. Events scheduled exactly at
        ``until_s`` run. NOTE: the loop of ``step`` inlined, for performance.
        """
        if until_s is not None and not until_s >= self.now_s:
            raise SimulationError(f"run(until_s={until_s!r}) is before now ({self.now_s!r} s).")
        heap = self._heap
        pop = heapq.heappop
        limit = math.inf if until_s is None else until_s
        budget = -1 if max_events is None else int(max_events)
        count = 0
        while heap and count != budget:
            time_s, priority, _, callback, args = heap[0]
            if time_s > limit:
                break
            pop(heap)
            if callback is None:
                continue  # cancelled
            self.now_s = time_s
            self.current_priority = priority
            callback(*args)
            count += 1
        self.current_priority = None
        self.num_events_run += count
        if until_s is not None and count != budget and (not heap or heap[0][0] > until_s):
            self.now_s = float(until_s)
        return count
