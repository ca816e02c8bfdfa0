"""The session driver: turns a :class:`SessionTable` into ``Request`` arrivals over time.

A session's first turn arrives at its start instant; each later turn is submitted after the
previous one finishes plus a gap (think time, or a tool call run by a ``GapRunner`` such as the
agentic CPU pool). Requests are built lazily, one arrival event pending at a time, so a million
requests cost a million small objects only while they are in flight. Units: seconds, tokens.

Prefix hashes follow ``Request``'s convention (hash ``i`` names the whole prefix up to the end
of block ``i``): blocks inside a shared system prompt are keyed by the prompt id, later blocks
by the session (when turns extend the context) or by the request (independent requests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from tokenworks.serving.events import Environment, Priority
from tokenworks.serving.request import Request
from tokenworks.serving.workload import SessionTable

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom number
    generators", OOPSLA 2014): a bijective 64-bit hash, vectorised."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def block_keys(kind: int, owner: int, first: int, last: int) -> np.ndarray:
    """Keys of blocks ``first..last-1`` owned by ``(kind, owner)``, as signed int64."""
    with np.errstate(over="ignore"):
        head = _mix64(np.array([kind], np.uint64) * np.uint64(0x9E3779B97F4A7C15)
                      ^ np.array([owner], np.uint64))
        idx = np.arange(first, last, dtype=np.uint64) * np.uint64(0xD6E8FEB86659FD93)
        x = _mix64(head ^ idx)
    return x.view(np.int64)


class GapRunner(Protocol):
    """Runs the gap between a session's turns (e.g. a tool on a CPU pool)."""

    def run(self, service_s: float, done: Callable[[], None]) -> None: ...


class DelayGap:
    """A plain delay (user think time)."""

    def __init__(self, env: Environment) -> None:
        self.env = env

    def run(self, service_s: float, done: Callable[[], None]) -> None:
        self.env.schedule(service_s, Priority.TOOL_DONE, done)


class SessionDriver:
    """Feeds a session table into ``submit`` and follows each session through its turns."""

    def __init__(self, *, env: Environment, table: SessionTable,
                 submit: Callable[[Request], None], block_tokens: int, hash_blocks: bool = True,
                 gap: GapRunner | None = None, max_requests: int | None = None,
                 on_request: Callable[[Request], None] | None = None,
                 record_token_times: bool = False) -> None:
        self.env = env
        self.table = table
        self.submit = submit
        self.block_tokens = table.hash_block_tokens or block_tokens
        self.hash_blocks = hash_blocks
        self.gap = gap if gap is not None else DelayGap(env)
        self.on_request = on_request
        self.record_token_times = record_token_times
        self.max_requests = max_requests
        self.num_submitted = 0
        self.num_sessions_done = 0
        self.num_sessions_aborted = 0
        self.last_arrival_at_s = 0.0
        # session -> (turn index within session, context tokens before this turn)
        self._state: dict[int, tuple[int, int]] = {}
        self._order = np.argsort(table.start_at_s, kind="stable")
        self._next = 0
        self._start_list = table.start_at_s.tolist()

    # -- arrivals -----------------------------------------------------------------------------
    def start(self) -> None:
        self._schedule_next_session()

    @property
    def expected_requests(self) -> int:
        n = self.table.num_calls
        return n if self.max_requests is None else min(n, self.max_requests)

    @property
    def done(self) -> bool:
        """No session will submit another request."""
        return self._next >= len(self._order) and not self._state

    def _budget_left(self) -> bool:
        return self.max_requests is None or self.num_submitted < self.max_requests

    def _schedule_next_session(self) -> None:
        if self._next >= len(self._order) or not self._budget_left():
            self._next = len(self._order)
            return
        s = int(self._order[self._next])
        self._next += 1
        self.env.schedule_at(max(self._start_list[s], self.env.now_s), Priority.ARRIVAL,
                             self._session_arrives, s)

    def _session_arrives(self, s: int) -> None:
        self._schedule_next_session()
        self._state[s] = (0, int(self.table.prefix_tokens[s]))
        self._submit_turn(s)

    def _submit_turn(self, s: int) -> None:
        if not self._budget_left():
            self._end_session(s, aborted=False)
            return
        tb = self.table
        k, context = self._state[s]
        t = int(tb.first_turn[s]) + k
        new = int(tb.new_tokens[t])
        prompt = (context + new) if tb.extends_context else int(tb.prefix_tokens[s]) + new
        out = int(tb.output_tokens[t])
        rid = self.num_submitted
        # ASSUMPTION: a zero-length prompt or output (possible in traces) is served as 1 token;
        # every engine samples at least one token per request.
        req = Request(request_id=rid, arrived_at_s=self.env.now_s, prompt_tokens=max(prompt, 1),
                      output_tokens=max(out, 1), prefix_hashes=self._hashes(s, t, rid, prompt, out),
                      prefix_block_tokens=self.block_tokens, session_id=s,
                      priority=0 if tb.priority is None else int(tb.priority[s]))
        req.record_token_times = self.record_token_times
        self.num_submitted += 1
        self.last_arrival_at_s = self.env.now_s
        if self.on_request is not None:
            self.on_request(req)
        self.submit(req)

    def _hashes(self, s: int, t: int, rid: int, prompt: int, out: int) -> tuple[int, ...]:
        tb = self.table
        if tb.hashes is not None and tb.hash_offsets is not None:
            return tuple(tb.hashes[tb.hash_offsets[t]: tb.hash_offsets[t + 1]].tolist())
        if not self.hash_blocks:
            return ()
        b = self.block_tokens
        # ASSUMPTION: generated tokens become part of the next turn's prompt verbatim (chat
        # templates re-encode them identically), so their full blocks are hashed too.
        total = prompt + out if tb.extends_context else prompt
        num_blocks = total // b
        shared = int(tb.prefix_tokens[s]) // b if tb.prefix_tokens[s] else 0
        shared = min(shared, num_blocks)
        parts = []
        if shared:
            parts.append(block_keys(1, int(tb.prefix_id[s]), 0, shared))
        if num_blocks > shared:
            owner = (2, s) if tb.extends_context else (3, rid)
            parts.append(block_keys(owner[0], owner[1], shared, num_blocks))
        if not parts:
            return ()
        return tuple(np.concatenate(parts).tolist())

    # -- completions --------------------------------------------------------------------------
    def on_finish(self, req: Request) -> None:
        """Call when a request finishes or is rejected; submits the session's next turn."""
        s = req.session_id
        if s is None or s not in self._state:
            return
        if req.rejected:
            self._end_session(s, aborted=True)
            return
        tb = self.table
        k, context = self._state[s]
        t = int(tb.first_turn[s]) + k
        if k + 1 >= int(tb.num_turns[s]):
            self._end_session(s, aborted=False)
            return
        if tb.stop_at_s is not None and self.env.now_s >= tb.stop_at_s:
            self._end_session(s, aborted=False)
            return
        context += int(tb.new_tokens[t]) + int(tb.output_tokens[t])
        self._state[s] = (k + 1, context)
        self.gap.run(float(tb.gap_s[t]), lambda: self._submit_turn(s))

    def _end_session(self, s: int, *, aborted: bool) -> None:
        self._state.pop(s, None)
        if aborted:
            self.num_sessions_aborted += 1
        else:
            self.num_sessions_done += 1
