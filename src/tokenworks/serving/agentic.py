"""Agentic sessions: chains of LLM calls separated by tool calls on a shared CPU pool.

A session starts with a prompt (system prompt + task), the model answers, a tool runs on one
core of the host CPU pool (FCFS when all cores are busy), its result is appended to the
context, and the next call's prompt is the whole context so far - so every call after the
first reuses the previous call's KV as a prefix. Reported: session latency, the share of a
session spent in tools vs in LLM calls (the seeds cite 50-90% in tools), and CPU-pool
utilisation. Units: seconds, tokens.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tokenworks.errors import check_range
from tokenworks.serving.events import Environment, Priority
from tokenworks.serving.workload import (
    Dist,
    OpenArrivals,
    SessionTable,
    SharedPrefixes,
    arrival_times_s,
    choose_prefixes,
    sample_tokens,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgenticSpec:
    num_sessions: int
    arrivals: OpenArrivals  # session starts
    num_calls: Dist  # LLM calls per session (>= 1)
    first_prompt_tokens: Dist  # the first call's new tokens (task + instructions)
    tool_result_tokens: Dist  # tokens each tool result appends to the context
    output_tokens: Dist  # tokens each LLM call generates
    tool_time_s: Dist  # CPU service time of one tool call
    num_cores: int
    shared_prefix: SharedPrefixes | None = None

    def __post_init__(self) -> None:
        check_range("agentic num_sessions", self.num_sessions, low=1)
        check_range("agentic num_cores", self.num_cores, low=1)


def generate_agentic(spec: AgenticSpec, rng: np.random.Generator) -> SessionTable:
    """Sessions whose turns extend the context; ``gap_s`` is each tool call's service time."""
    starts = arrival_times_s(spec.arrivals, rng, num=spec.num_sessions, duration_s=None)
    n = len(starts)
    calls = sample_tokens(spec.num_calls, rng, n)
    total = int(calls.sum())
    first = np.concatenate(([0], np.cumsum(calls)[:-1])).astype(np.int64)
    if spec.shared_prefix is not None:
        pid, ptok = choose_prefixes(spec.shared_prefix, rng, n)
    else:
        pid = ptok = np.zeros(n, np.int64)
    # ASSUMPTION: every call after the first sees the whole previous context plus the tool's
    # result (ReAct-style agents append, they do not summarise or truncate).
    new = sample_tokens(spec.tool_result_tokens, rng, total)
    new[first] = sample_tokens(spec.first_prompt_tokens, rng, n)
    out = sample_tokens(spec.output_tokens, rng, total)
    tool = np.maximum(spec.tool_time_s.sample(rng, total), 0.0)
    # The last call of a session is followed by no tool.
    tool[first + calls - 1] = 0.0
    return SessionTable(start_at_s=starts, first_turn=first, num_turns=calls, prefix_id=pid,
                        prefix_tokens=ptok, new_tokens=new, output_tokens=out, gap_s=tool,
                        extends_context=True)


class CpuPool:
    """``num_cores`` identical cores serving tool calls first come, first served (M/G/c)."""

    def __init__(self, env: Environment, num_cores: int) -> None:
        check_range("cpu pool num_cores", num_cores, low=1)
        self.env = env
        self.num_cores = num_cores
        self.num_busy = 0
        self.busy_core_s = 0.0  # core-seconds of service completed or started
        self.wait_s = 0.0  # total time tool calls spent queued for a core
        self.num_calls = 0
        self._queue: deque[tuple[float, float, Callable[[], None]]] = deque()

    def run(self, service_s: float, done: Callable[[], None]) -> None:
        # ASSUMPTION: one tool call occupies one core for its whole service time (no
        # multi-threaded tools, no I/O overlap); waiting calls are served FCFS.
        if service_s <= 0.0:
            done()
            return
        self.num_calls += 1
        if self.num_busy < self.num_cores:
            self._start(service_s, done)
        else:
            self._queue.append((self.env.now_s, service_s, done))

    def _start(self, service_s: float, done: Callable[[], None]) -> None:
        self.num_busy += 1
        self.busy_core_s += service_s
        self.env.schedule(self.env.now_s + service_s, Priority.TOOL_DONE, self._finish, done)

    def _finish(self, done: Callable[[], None]) -> None:
        self.num_busy -= 1
        if self._queue:
            queued_at, service_s, nxt = self._queue.popleft()
            self.wait_s += self.env.now_s - queued_at
            self._start(service_s, nxt)
        done()

    def utilization_frac(self, duration_s: float) -> float:
        """Busy core-seconds over available core-seconds."""
        if duration_s <= 0:
            return 0.0
        return min(1.0, self.busy_core_s / (self.num_cores * duration_s))


def session_summary(records: list[dict], pool: CpuPool | None, duration_s: float) -> dict:
    """Session latency and tool/LLM shares from per-request records (with ``session_id``,
    ``arrived_at_s``, ``finished_at_s``)."""
    by_session: dict[int, list[dict]] = {}
    for r in records:
        if r.get("session_id") is not None:
            by_session.setdefault(r["session_id"], []).append(r)
    latencies, llm_share, tool_share = [], [], []
    for calls in by_session.values():
        if any(c.get("finished_at_s") is None for c in calls):
            continue
        calls.sort(key=lambda c: c["arrived_at_s"])
        span = calls[-1]["finished_at_s"] - calls[0]["arrived_at_s"]
        llm = sum(c["finished_at_s"] - c["arrived_at_s"] for c in calls)
        if span <= 0:
            continue
        latencies.append(span)
        llm_share.append(llm / span)
        # Between calls: tool service plus queueing for a core.
        tool_share.append(max(0.0, span - llm) / span)
    lat = np.asarray(latencies)
    return {
        "num_sessions_completed": len(latencies),
        "session_latency_s": _stats(lat),
        "llm_time_frac": float(np.mean(llm_share)) if llm_share else None,
        "tool_time_frac": float(np.mean(tool_share)) if tool_share else None,
        "cpu_pool_utilization_frac": None if pool is None else pool.utilization_frac(duration_s),
        "tool_wait_s_mean": None if pool is None or not pool.num_calls
        else pool.wait_s / pool.num_calls,
    }


def _stats(x: np.ndarray) -> dict[str, float | None]:
    if len(x) == 0:
        return {"mean": None, "p50": None, "p90": None, "p99": None}
    return {"mean": float(x.mean()), "p50": float(np.percentile(x, 50)),
            "p90": float(np.percentile(x, 90)), "p99": float(np.percentile(x, 99))}
