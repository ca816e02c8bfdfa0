"""Synthetic workloads: arrival processes, length and time distributions, shared system
prompts with Zipf popularity, multi-turn conversations and closed-loop users.

Units: seconds and tokens. Every draw comes from the one ``numpy.random.Generator`` passed in.

Everything a workload produces is a :class:`SessionTable` (columnar numpy arrays): a session is
a chain of turns, the next turn is submitted a gap after the previous one finishes (user think
time, or a tool call in :mod:`tokenworks.serving.agentic`). A single request is a session of one
turn, so open-loop traffic, conversations, closed-loop users and agent loops share one driver
(:mod:`tokenworks.serving.sessions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tokenworks.errors import ConfigError, check_range

# ---------------------------------------------------------------------------------------------
# Distributions (tokens or seconds). Each has ``sample(rng, n) -> float64 array``.


class Dist(Protocol):
    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray: ...

    @property
    def mean(self) -> float: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Fixed:
    value: float

    def __post_init__(self) -> None:
        check_range("fixed value", self.value, low=0.0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, float(self.value))

    @property
    def mean(self) -> float:
        return float(self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Uniform:
    low: float
    high: float

    def __post_init__(self) -> None:
        check_range("uniform low", self.low, low=0.0)
        if self.high < self.low:
            raise ConfigError(f"uniform high = {self.high:g} is below low = {self.low:g}; "
                              f"give high >= low.")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)

    @property
    def mean(self) -> float:
        return 0.5 * (self.low + self.high)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogNormal:
    """Lognormal with the given arithmetic mean and either ``sigma`` (of the underlying
    normal) or the coefficient of variation ``cv``."""

    mean_value: float
    sigma: float | None = None
    cv: float | None = None

    def __post_init__(self) -> None:
        check_range("lognormal mean", self.mean_value, low=0.0, low_inclusive=False)
        if (self.sigma is None) == (self.cv is None):
            raise ConfigError("lognormal needs exactly one of sigma or cv (e.g. cv = 1.0).")
        if self.sigma is not None:
            check_range("lognormal sigma", self.sigma, low=0.0)
        if self.cv is not None:
            check_range("lognormal cv", self.cv, low=0.0)

    def _sigma(self) -> float:
        # For X = exp(N(mu, s^2)): CV^2 = exp(s^2) - 1, so s^2 = ln(1 + CV^2) (standard result).
        return float(self.sigma) if self.sigma is not None else float(np.sqrt(np.log1p(self.cv**2)))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        s = self._sigma()
        # E[X] = exp(mu + s^2/2), so mu = ln(mean) - s^2/2.
        mu = np.log(self.mean_value) - 0.5 * s * s
        return rng.lognormal(mu, s, n)

    @property
    def mean(self) -> float:
        return float(self.mean_value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Exponential:
    mean_value: float

    def __post_init__(self) -> None:
        check_range("exponential mean", self.mean_value, low=0.0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_value, n) if self.mean_value > 0 else np.zeros(n)

    @property
    def mean(self) -> float:
        return float(self.mean_value)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Empirical:
    """Resample (with replacement) from observed values, e.g. a trace column."""

    values: np.ndarray

    def __post_init__(self) -> None:
        if len(self.values) == 0:
            raise ConfigError("empirical distribution has no values; point it at a non-empty "
                              "trace column or list.")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=np.float64), size=n, replace=True)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))


def sample_tokens(dist: Dist, rng: np.random.Generator, n: int, *, minimum: int = 1,
                  maximum: int | None = None) -> np.ndarray:
    """Draw token counts: rounded to integers and clipped to ``[minimum, maximum]``."""
    x = np.rint(dist.sample(rng, n)).astype(np.int64)
    return np.clip(x, minimum, maximum if maximum is not None else np.iinfo(np.int64).max)


# ---------------------------------------------------------------------------------------------
# Arrival processes.


@dataclass(frozen=True, slots=True, kw_only=True)
class PoissonArrivals:
    rate_per_s: float

    def __post_init__(self) -> None:
        check_range("poisson rate_per_s", self.rate_per_s, low=0.0, low_inclusive=False)

    def gaps_s(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(1.0 / self.rate_per_s, n)


@dataclass(frozen=True, slots=True, kw_only=True)
class GammaArrivals:
    """Bursty arrivals: gamma inter-arrival times with mean 1/rate and the given CV (CV = 1 is
    Poisson, CV > 1 is burstier), as in BurstGPT and vLLM's ``--burstiness``."""

    rate_per_s: float
    cv: float

    def __post_init__(self) -> None:
        check_range("gamma rate_per_s", self.rate_per_s, low=0.0, low_inclusive=False)
        check_range("gamma cv", self.cv, low=0.0, low_inclusive=False)

    def gaps_s(self, rng: np.random.Generator, n: int) -> np.ndarray:
        # Gamma(k, theta): mean k*theta, CV = 1/sqrt(k); so k = 1/CV^2, theta = 1/(rate*k).
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, 1.0 / (self.rate_per_s * shape), n)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConstantArrivals:
    rate_per_s: float

    def __post_init__(self) -> None:
        check_range("constant rate_per_s", self.rate_per_s, low=0.0, low_inclusive=False)

    def gaps_s(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, 1.0 / self.rate_per_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosedLoop:
    """``num_users`` users; each sends a request, waits for it, thinks, sends the next."""

    num_users: int
    think_time_s: Dist

    def __post_init__(self) -> None:
        check_range("closed_loop num_users", self.num_users, low=1)


OpenArrivals = PoissonArrivals | GammaArrivals | ConstantArrivals
Arrivals = OpenArrivals | ClosedLoop


def arrival_times_s(arrivals: OpenArrivals, rng: np.random.Generator, *,
                    num: int | None, duration_s: float | None) -> np.ndarray:
    """Arrival instants starting at 0: the first ``num`` of them, or all before ``duration_s``."""
    if num is not None:
        gaps = arrivals.gaps_s(rng, num)
        return np.concatenate(([0.0], np.cumsum(gaps[:-1]))) if num else np.zeros(0)
    if duration_s is None:
        raise ConfigError("a workload needs num_requests or duration_s to know when to stop.")
    out: list[np.ndarray] = []
    t = 0.0
    chunk = 4096
    while True:
        times = t + np.concatenate(([0.0], np.cumsum(arrivals.gaps_s(rng, chunk)[:-1])))
        keep = times[times < duration_s]
        out.append(keep)
        if len(keep) < chunk:
            break
        t = float(times[-1]) + float(arrivals.gaps_s(rng, 1)[0])
        if t >= duration_s:
            break
    return np.concatenate(out)


# ---------------------------------------------------------------------------------------------
# Prefix structure.


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedPrefixes:
    """``num_prefixes`` system prompts; a session uses prompt i with probability ∝ 1/i^s (Zipf).

    ``frac_with_prefix`` of the sessions carry one; the rest have no shared prefix.
    """

    num_prefixes: int
    prefix_tokens: Dist
    zipf_exponent: float = 1.0
    frac_with_prefix: float = 1.0

    def __post_init__(self) -> None:
        check_range("shared_prefix num_prefixes", self.num_prefixes, low=1)
        check_range("shared_prefix zipf_exponent", self.zipf_exponent, low=0.0)
        check_range("shared_prefix frac_with_prefix", self.frac_with_prefix, low=0.0, high=1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversations:
    """Multi-turn chats: each turn's prompt is the whole previous context plus a new message."""

    num_turns: Dist
    think_time_s: Dist


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkloadSpec:
    arrivals: Arrivals
    prompt_tokens: Dist  # new user tokens per turn (the whole prompt for single-turn traffic)
    output_tokens: Dist
    num_requests: int | None = None  # number of sessions for open loop; LLM calls for closed loop
    duration_s: float | None = None  # no new sessions (open loop) / turns (closed) after this
    shared_prefix: SharedPrefixes | None = None
    conversation: Conversations | None = None
    max_prompt_tokens: int | None = None
    max_output_tokens: int | None = None
    # (priority, share of sessions) pairs; lower priority values are served first under the
    # replica's priority queue (vLLM). Empty: every request has priority 0.
    priority_classes: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        if self.priority_classes:
            total = sum(f for _, f in self.priority_classes)
            if abs(total - 1.0) > 1e-6 or any(f < 0 for _, f in self.priority_classes):
                raise ConfigError(f"workload priority shares sum to {total:g}; they must be "
                                  f">= 0 and sum to 1.")
        if self.num_requests is None and self.duration_s is None:
            raise ConfigError("workload: give num_requests or duration_s (or both).")
        if self.num_requests is not None:
            check_range("workload num_requests", self.num_requests, low=1)
        if self.duration_s is not None:
            check_range("workload duration_s", self.duration_s, low=0.0, low_inclusive=False,
                        unit="s")
        if isinstance(self.arrivals, ClosedLoop) and self.num_requests is None:
            raise ConfigError("workload: closed-loop arrivals need num_requests (the number of "
                              "LLM calls to make across all users).")


# ---------------------------------------------------------------------------------------------
# The session table.


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SessionTable:
    """Columnar sessions. Session ``i`` owns turns ``first_turn[i] : first_turn[i]+num_turns[i]``.

    A turn's prompt is ``prefix_tokens + new_tokens`` of that turn, plus - when
    ``extends_context`` - every earlier turn's new and output tokens. ``gap_s[t]`` is the delay
    between turn ``t`` finishing and the next turn being submitted. Traces with explicit block
    hashes give them flat in ``hashes`` with ``hash_offsets`` (one row per turn).
    """

    start_at_s: np.ndarray
    first_turn: np.ndarray
    num_turns: np.ndarray
    prefix_id: np.ndarray
    prefix_tokens: np.ndarray
    new_tokens: np.ndarray
    output_tokens: np.ndarray
    gap_s: np.ndarray
    extends_context: bool = True
    hashes: np.ndarray | None = None
    hash_offsets: np.ndarray | None = None
    hash_block_tokens: int | None = None
    stop_at_s: float | None = None  # closed loop: no new turn submitted after this instant
    priority: np.ndarray | None = None  # per session; None: all 0

    @property
    def num_sessions(self) -> int:
        return len(self.start_at_s)

    @property
    def num_calls(self) -> int:
        return len(self.new_tokens)


def single_turn_table(*, arrived_at_s: np.ndarray, prompt_tokens: np.ndarray,
                      output_tokens: np.ndarray, prefix_id: np.ndarray | None = None,
                      prefix_tokens: np.ndarray | None = None, hashes: np.ndarray | None = None,
                      hash_offsets: np.ndarray | None = None,
                      hash_block_tokens: int | None = None) -> SessionTable:
    """One session per request (open-loop traffic and traces)."""
    n = len(arrived_at_s)
    pid = np.zeros(n, np.int64) if prefix_id is None else prefix_id
    ptok = np.zeros(n, np.int64) if prefix_tokens is None else prefix_tokens
    return SessionTable(
        start_at_s=np.asarray(arrived_at_s, np.float64), first_turn=np.arange(n, dtype=np.int64),
        num_turns=np.ones(n, np.int64), prefix_id=pid, prefix_tokens=ptok,
        new_tokens=np.asarray(prompt_tokens, np.int64) - ptok,
        output_tokens=np.asarray(output_tokens, np.int64), gap_s=np.zeros(n),
        extends_context=False, hashes=hashes, hash_offsets=hash_offsets,
        hash_block_tokens=hash_block_tokens)


def choose_prefixes(sp: SharedPrefixes, rng: np.random.Generator, n: int) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Prefix ids (1-based; 0 = none) and their token lengths for ``n`` sessions."""
    ranks = np.arange(1, sp.num_prefixes + 1, dtype=np.float64)
    # Zipf's law over a finite catalogue: P(rank i) = i^-s / sum_j j^-s.
    p = ranks ** (-sp.zipf_exponent)
    p /= p.sum()
    lengths = sample_tokens(sp.prefix_tokens, rng, sp.num_prefixes)
    ids = rng.choice(sp.num_prefixes, size=n, p=p) + 1
    has = rng.random(n) < sp.frac_with_prefix
    ids = np.where(has, ids, 0)
    toks = np.where(has, lengths[ids - 1], 0)
    return ids.astype(np.int64), toks.astype(np.int64)


def generate(spec: WorkloadSpec, rng: np.random.Generator) -> SessionTable:
    """Draw a workload's sessions. Deterministic for a given generator state."""
    closed = isinstance(spec.arrivals, ClosedLoop)
    if closed:
        num_users = spec.arrivals.num_users
        num_calls = int(spec.num_requests)
        # ASSUMPTION: closed-loop users start together at t=0 and each makes an equal share
        # (+-1) of the calls; the next call follows the previous one's finish by a think time.
        turns = np.full(num_users, num_calls // num_users, np.int64)
        turns[: num_calls % num_users] += 1
        turns = turns[turns > 0]
        starts = np.zeros(len(turns))
        gap = spec.arrivals.think_time_s
    else:
        starts = arrival_times_s(spec.arrivals, rng, num=spec.num_requests,
                                 duration_s=spec.duration_s)
        if spec.conversation is not None:
            turns = sample_tokens(spec.conversation.num_turns, rng, len(starts))
            gap = spec.conversation.think_time_s
        else:
            turns = np.ones(len(starts), np.int64)
            gap = Fixed(value=0.0)
    num_sessions, num_turns_total = len(starts), int(turns.sum())
    if spec.shared_prefix is not None:
        pid, ptok = choose_prefixes(spec.shared_prefix, rng, num_sessions)
    else:
        pid = ptok = np.zeros(num_sessions, np.int64)
    first = np.concatenate(([0], np.cumsum(turns)[:-1])).astype(np.int64)
    new = sample_tokens(spec.prompt_tokens, rng, num_turns_total, maximum=spec.max_prompt_tokens)
    out = sample_tokens(spec.output_tokens, rng, num_turns_total, maximum=spec.max_output_tokens)
    gaps = np.maximum(gap.sample(rng, num_turns_total), 0.0)
    prio = None
    if spec.priority_classes:
        levels = np.array([p for p, _ in spec.priority_classes], np.int64)
        shares = np.array([f for _, f in spec.priority_classes], np.float64)
        prio = levels[rng.choice(len(levels), size=num_sessions, p=shares / shares.sum())]
    return SessionTable(
        start_at_s=starts, first_turn=first, num_turns=turns.astype(np.int64), prefix_id=pid,
        prefix_tokens=ptok, new_tokens=new, output_tokens=out, gap_s=gaps,
        extends_context=(not closed) and spec.conversation is not None,
        stop_at_s=spec.duration_s if closed else None, priority=prio)


