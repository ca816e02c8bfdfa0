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


# NOTE: every operation below is on uint64 arrays, which wrap modulo 2**64 without a warning
# (only numpy integer scalars warn on overflow), so no np.errstate context is needed; it cost
# more than the hashing. For performance.
def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom number
    generators", OOPSLA 2014): a bijective 64-bit hash, vectorised."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def block_keys(kind: int, owner: int, first: int, last: int) -> np.ndarray:
    """Keys of blocks ``first..last-1`` owned by ``(kind, owner)``, as signed int64."""
    head = _mix64(np.array([kind], np.uint64) * np.uint64(0x9E3779B97F4A7C15)
                  ^ np.array([owner], np.uint64))
    idx = np.arange(first, last, dtype=np.uint64) * np.uint64(0xD6E8FEB86659FD93)
    return _mix64(head ^ idx).view(np.int64)


class GapRunner(Protocol):
    """Runs the gap between a session's turns (e.g. a tool on a CPU pool)."""

    def run(self, service_s: float, done: Callable[[], None]) -> None: ...


class DelayGap:
    """A plain delay (user think time)."""

    def __init__(self, env: Environment) -> None:
        self.env = env

    def run(self, service_s: float, done: Callable[[], None]) -> None:
        self.env.schedule(self.env.now_s + service_s, Priority.TOOL_DONE, done)


# NOTE: sessions are read from the table in blocks of this many (in arrival order) and kept as
# plain Python tuples, so the per-request path does no numpy scalar indexing, for performance;
# only one block is alive at a time (memory stays flat at a million requests).
_BLOCK_SESSIONS = 4096


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
        # session -> (turn index within session, context tokens before this turn, its row)
        self._state: dict[int, tuple[int, int, tuple]] = {}
        self._order = np.argsort(table.start_at_s, kind="stable")
        self._num_sessions = len(self._order)
        self._next = 0
        # Rows of sessions _rows_lo.. in arrival order (see _load_rows).
        self._rows: list[tuple] = []
        self._rows_lo = 0
        self._no_hashes = table.hashes is None and not hash_blocks
        self._extends = table.extends_context
        self._prefix_keys: dict[tuple[int, int], tuple[int, ...]] = {}

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
        return self._next >= self._num_sessions and not self._state

    def _budget_left(self) -> bool:
        return self.max_requests is None or self.num_submitted < self.max_requests

    def _load_rows(self, lo: int) -> list[tuple]:
        """Rows ``(session, start_at_s, prefix_tokens, first_turn, num_turns, priority,
        prefix_id, first turn's new tokens, first turn's output tokens)`` of the sessions at
        arrival positions ``lo .. lo + _BLOCK_SESSIONS``."""
        tb = self.table
        idx = self._order[lo: lo + _BLOCK_SESSIONS]
        first = tb.first_turn[idx]
        prio = [0] * len(idx) if tb.priority is None else tb.priority[idx].astype(np.int64)
        cols = [idx.tolist(), tb.start_at_s[idx].tolist(), tb.prefix_tokens[idx], first,
                tb.num_turns[idx], prio, tb.prefix_id[idx], tb.new_tokens[first],
                tb.output_tokens[first]]
        lists = [c if isinstance(c, list) else c.astype(np.int64).tolist() for c in cols]
        self._rows = list(zip(*lists, strict=True))
        self._rows_lo = lo
        return self._rows

    def _schedule_next_session(self) -> None:
        p = self._next
        if p >= self._num_sessions or (self.max_requests is not None
                                       and self.num_submitted >= self.max_requests):
            self._next = self._num_sessions
            return
        i = p - self._rows_lo
        rows = self._rows
        if i >= len(rows):
            rows, i = self._load_rows(p), 0
        row = rows[i]
        self._next = p + 1
        start, now = row[1], self.env.now_s
        # NOTE: max(start, now) written out (same result, NaN included), for performance.
        self.env.schedule(now if now > start else start, Priority.ARRIVAL,
                             self._session_arrives, row)

    def _session_arrives(self, row: tuple) -> None:
        self._schedule_next_session()
        s = row[0]
        self._state[s] = (0, row[2], row)
        self._submit_turn(s)

    def _turn_tokens(self, row: tuple, k: int) -> tuple[int, int]:
        """(new tokens, output tokens) of turn ``k`` of the session of ``row``."""
        if k == 0:
            return row[7], row[8]
        t = row[3] + k
        tb = self.table
        return int(tb.new_tokens[t]), int(tb.output_tokens[t])

    def _submit_turn(self, s: int) -> None:
        if self.max_requests is not None and self.num_submitted >= self.max_requests:
            self._end_session(s, aborted=False)
            return
        k, context, row = self._state[s]
        new, out = (row[7], row[8]) if k == 0 else self._turn_tokens(row, k)
        prompt = (context + new) if self._extends else row[2] + new
        rid = self.num_submitted
        now = self.env.now_s
        hashes = () if self._no_hashes else self._hashes(row, row[3] + k, rid, prompt, out)
        # ASSUMPTION: a zero-length prompt or output (possible in traces) is served as 1 token;
        # every engine samples at least one token per request.
        # NOTE: positional arguments in field order (request_id, arrived_at_s, prompt_tokens,
        # output_tokens, prefix_hashes, prefix_block_tokens, priority, session_id, tags,
        # record_token_times): keywords cost ~2 us more per Request, for performance.
        req = Request(rid, now, 1 if prompt < 1 else prompt, 1 if out < 1 else out, hashes,
                      self.block_tokens, row[5], s, None, self.record_token_times)
        self.num_submitted = rid + 1
        self.last_arrival_at_s = now
        if self.on_request is not None:
            self.on_request(req)
        self.submit(req)

    def _hashes(self, row: tuple, t: int, rid: int, prompt: int, out: int) -> tuple[int, ...]:
        tb = self.table
        if tb.hashes is not None and tb.hash_offsets is not None:
            return tuple(tb.hashes[tb.hash_offsets[t]: tb.hash_offsets[t + 1]].tolist())
        if not self.hash_blocks:
            return ()
        s, prefix_tokens, prefix_id = row[0], row[2], row[6]
        b = self.block_tokens
        # ASSUMPTION: generated tokens become part of the next turn's prompt verbatim (chat
        # templates re-encode them identically), so their full blocks are hashed too.
        total = prompt + out if tb.extends_context else prompt
        num_blocks = total // b
        shared = prefix_tokens // b if prefix_tokens else 0
        shared = min(shared, num_blocks)
        keys: tuple[int, ...] = ()
        if shared:
            # NOTE: a system prompt's keys are the same for every request that shares it:
            # computed once per (prompt, length), for performance.
            memo = self._prefix_keys
            keys = memo.get((prefix_id, shared), ())
            if not keys:
                keys = memo[(prefix_id, shared)] = tuple(
                    block_keys(1, prefix_id, 0, shared).tolist())
        if num_blocks > shared:
            owner = (2, s) if tb.extends_context else (3, rid)
            keys += tuple(block_keys(owner[0], owner[1], shared, num_blocks).tolist())
        return keys

    # -- completions --------------------------------------------------------------------------
    def on_finish(self, req: Request) -> None:
        """Call when a request finishes or is rejected; submits the session's next turn."""
        s = req.session_id
        if s is None:
            return
        state = self._state.get(s)
        if state is None:
            return
        if req.rejected:
            self._end_session(s, aborted=True)
            return
        k, context, row = state
        if k + 1 >= row[4]:
            self._end_session(s, aborted=False)
            return
        tb = self.table
        if tb.stop_at_s is not None and self.env.now_s >= tb.stop_at_s:
            self._end_session(s, aborted=False)
            return
        new, out = self._turn_tokens(row, k)
        context += new + out
        self._state[s] = (k + 1, context, row)
        self.gap.run(float(tb.gap_s[row[3] + k]), lambda: self._submit_turn(s))

    def _end_session(self, s: int, *, aborted: bool) -> None:
        self._state.pop(s, None)
        if aborted:
            self.num_sessions_aborted += 1
        else:
            self.num_sessions_done += 1
