"""Request traces as data: a columnar ``Trace`` and the transforms the simulator applies to it
(take the first n, rescale arrival times, replay as sessions).

Units: seconds, tokens. The file readers (Azure LLM 2023 CSV, Mooncake FAST'25 JSONL,
vidur/Splitwise CSV) are at the edge, in ``tokenworks.io.traces``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tokenworks.errors import ScenarioError, check_range
from tokenworks.serving.workload import SessionTable, single_turn_table

__all__ = ["MOONCAKE_BLOCK_TOKENS", "Trace", "TraceTraffic", "scale_trace", "take",
           "trace_sessions"]

# Mooncake FAST'25 trace README: "each hash_id is one block of 512 tokens".
MOONCAKE_BLOCK_TOKENS = 512


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Trace:
    """One row per request; ``hashes`` / ``hash_offsets`` hold per-request prefix block ids."""

    path: str
    arrived_at_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    hashes: np.ndarray | None = None
    hash_offsets: np.ndarray | None = None
    hash_block_tokens: int | None = None

    @property
    def num_requests(self) -> int:
        return len(self.arrived_at_s)

    @property
    def duration_s(self) -> float:
        return float(self.arrived_at_s[-1] - self.arrived_at_s[0]) if self.num_requests else 0.0

    def column(self, name: str) -> np.ndarray:
        """``prompt_tokens`` or ``output_tokens`` (for empirical length distributions)."""
        if name not in ("prompt_tokens", "output_tokens"):
            raise ScenarioError(f"trace column '{name}' does not exist; use prompt_tokens or "
                                f"output_tokens.")
        return getattr(self, name)


def take(trace: Trace, n: int) -> Trace:
    """The first ``n`` requests."""
    n = min(n, trace.num_requests)
    hashes = offsets = None
    if trace.hashes is not None and trace.hash_offsets is not None:
        offsets = trace.hash_offsets[: n + 1]
        hashes = trace.hashes[: offsets[-1]]
    return replace(trace, arrived_at_s=trace.arrived_at_s[:n], prompt_tokens=trace.prompt_tokens[:n],
                   output_tokens=trace.output_tokens[:n], hashes=hashes, hash_offsets=offsets)


def scale_trace(trace: Trace, *, time_scale: float | None = None,
                target_rate_per_s: float | None = None) -> Trace:
    """Stretch arrivals: multiply times by ``time_scale`` (2 = half the rate), or pick the
    scale that makes the mean rate ``target_rate_per_s``. Give at most one."""
    if time_scale is not None and target_rate_per_s is not None:
        raise ScenarioError("trace: give time_scale or target_rate_per_s, not both.")
    if target_rate_per_s is not None:
        check_range("trace target_rate_per_s", target_rate_per_s, low=0.0, low_inclusive=False)
        if trace.num_requests < 2 or trace.duration_s <= 0:
            raise ScenarioError(f"trace {trace.path} spans no time, so target_rate_per_s cannot "
                                f"rescale it; use a workload arrival process instead.")
        # Mean rate of n arrivals over span T is (n-1)/T; scaling times by k divides it by k.
        time_scale = (trace.num_requests - 1) / trace.duration_s / target_rate_per_s
    if time_scale is None:
        return trace
    check_range("trace time_scale", time_scale, low=0.0, low_inclusive=False)
    return replace(trace, arrived_at_s=trace.arrived_at_s * time_scale)


def trace_sessions(trace: Trace) -> SessionTable:
    """Replay a trace open-loop: one single-turn session per row."""
    return single_turn_table(arrived_at_s=trace.arrived_at_s, prompt_tokens=trace.prompt_tokens,
                             output_tokens=trace.output_tokens, hashes=trace.hashes,
                             hash_offsets=trace.hash_offsets,
                             hash_block_tokens=trace.hash_block_tokens)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TraceTraffic:
    """Traffic that replays a trace, its arrivals optionally rescaled (``scale_trace``)."""

    trace: Trace
    time_scale: float | None = None
    target_rate_per_s: float | None = None

    def sessions(self) -> SessionTable:
        return trace_sessions(scale_trace(self.trace, time_scale=self.time_scale,
                                          target_rate_per_s=self.target_rate_per_s))
