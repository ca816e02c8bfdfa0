"""Waiting queues of one replica: FCFS and priority (vLLM ``--scheduling-policy``)."""

from __future__ import annotations

import heapq
from collections import deque

from tokenworks.serving.seq import Seq

__all__ = ["QUEUES", "FcfsQueue", "PriorityQueue"]


class FcfsQueue(deque):
    """First come, first served; preempted sequences go back to the front.

    NOTE: a deque subclass so that len, push and pop are C calls, for performance (the
    engine asks for the queue length several times per event).
    """

    push = deque.append
    push_front = deque.appendleft
    pop = deque.popleft  # type: ignore[assignment]

    def peek(self) -> Seq:
        return self[0]


class PriorityQueue:
    """Lowest ``priority`` value first, then earliest arrival (vLLM ``--scheduling-policy priority``)."""

    def __init__(self) -> None:
        self._h: list[tuple[int, float, int, Seq]] = []

    def __len__(self) -> int:
        return len(self._h)

    def push(self, seq: Seq) -> None:
        r = seq.req
        heapq.heappush(self._h, (r.priority, r.arrived_at_s, seq.serial, seq))

    push_front = push  # a preempted sequence keeps its place by (priority, arrival)

    def peek(self) -> Seq:
        return self._h[0][3]

    def pop(self) -> Seq:
        return heapq.heappop(self._h)[3]


QUEUES = {"fcfs": FcfsQueue, "priority": PriorityQueue}
