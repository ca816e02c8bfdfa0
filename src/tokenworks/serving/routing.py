"""Routers: which replica of a pool serves a request (the first level of two-level scheduling).

Each router sees the replicas through the narrow :class:`RoutedReplica` protocol (outstanding
requests, KV usage, cached prefix length) and returns an index. Ties break by the lowest index
after a rotating start, so equal replicas share load instead of the first one taking it all.
Units: tokens, fractions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tokenworks.errors import ConfigError, check_range
from tokenworks.serving.request import Request


class RoutedReplica(Protocol):
    @property
    def num_outstanding(self) -> int: ...

    @property
    def kv_usage_frac(self) -> float: ...

    @property
    def blocks(self): ...  # BlockManager: num_total_blocks, block_size_tokens

    def cached_prefix_tokens(self, request: Request) -> int: ...


class Router(Protocol):
    def choose(self, request: Request, replicas: Sequence[RoutedReplica]) -> int: ...


def _argmin(keys: Sequence[tuple], start: int) -> int:
    n = len(keys)
    best = start % n
    for k in range(1, n):
        i = (start + k) % n
        if keys[i] < keys[best]:
            best = i
    return best


class RoundRobin:
    def __init__(self) -> None:
        self._next = 0

    def choose(self, request: Request, replicas: Sequence[RoutedReplica]) -> int:
        i = self._next % len(replicas)
        self._next += 1
        return i


class LeastOutstanding:
    """Fewest requests queued or running (vLLM production-stack / llm-d load-aware scorer)."""

    def __init__(self) -> None:
        self._turn = 0

    def choose(self, request: Request, replicas: Sequence[RoutedReplica]) -> int:
        self._turn += 1
        return _argmin([(r.num_outstanding,) for r in replicas], self._turn)


class LeastKv:
    """Lowest KV-cache usage, then fewest outstanding (llm-d kv-cache-utilization scorer)."""

    def __init__(self) -> None:
        self._turn = 0

    def choose(self, request: Request, replicas: Sequence[RoutedReplica]) -> int:
        self._turn += 1
        return _argmin([(r.kv_usage_frac, r.num_outstanding) for r in replicas], self._turn)


def _rendezvous(key: int, replica: int) -> int:
    # Highest-random-weight hashing (Thaler & Ravishankar, "Using name-based mappings to
    # increase hit rates", IEEE/ACM ToN 1998): a consistent key -> replica map.
    x = (key * 0x9E3779B97F4A7C15 + replica * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 31
    x = (x * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 29)


class PrefixAffinity:
    """Requests whose first prefix block is equal go to the same replica (rendezvous hashing);
    requests without a full block fall back to least outstanding."""

    def __init__(self) -> None:
        self._fallback = LeastOutstanding()

    def choose(self, request: Request, replicas: Sequence[RoutedReplica]) -> int:
        if not request.prefix_hashes:
            return self._fallback.choose(request, replicas)
        key = request.prefix_hashes[0]
        weights = [_rendezvous(key, i) for i in range(len(replicas))]
        return max(range(len(replicas)), key=weights.__getitem__)


class KvAware:
    """Best trade-off between cached prefix and load, as Dynamo's KV router.

    Dynamo's router picks the worker with the lowest ``overlap_weight × new_prefill_blocks +
    active_blocks`` (docs.nvidia.com/dynamo "Router Design", cost function). Dividing by the
    weight, that is the highest ``cached_prefix_tokens − load_weight × active_kv_tokens`` with
    ``load_weight = 1 / overlap_weight``; the request's own blocks count on every candidate,
    so they cancel.

    Like Dynamo's router (which "tracks active blocks locally: incremented when adding a new
    request, decremented upon completion"), this router counts the KV tokens of the requests
    it sent to each replica and not yet released, so a burst routed at one instant spreads
    even before any KV is allocated; the load is the larger of that count and the KV the
    replica reports in use.
    """

    def __init__(self, load_weight: float = 1.0) -> None:
        check_range("router load_weight", load_weight, low=0.0)
        self.load_weight = load_weight
        self._turn = 0
        self._active: dict[int, int] = {}  # replica position -> routed tokens not released
        self._routed: dict[int, tuple[int, int]] = {}  # request id -> (position, tokens)

    def choose(self, request: Request, replicas: Sequence[RoutedReplica]) -> int:
        self._turn += 1
        keys = []
        for i, r in enumerate(replicas):
            used = r.kv_usage_frac * r.blocks.num_total_blocks * r.blocks.block_size_tokens
            active = max(used, self._active.get(i, 0))
            score = r.cached_prefix_tokens(request) - self.load_weight * active
            keys.append((-score, r.num_outstanding))
        best = _argmin(keys, self._turn)
        # ASSUMPTION: a request's footprint is its prompt plus all its output tokens.
        tokens = request.prompt_tokens + request.output_tokens
        self._active[best] = self._active.get(best, 0) + tokens
        self._routed[request.request_id] = (best, tokens)
        return best

    def release(self, request: Request) -> None:
        """The request left the replica (finished, rejected or handed off)."""
        entry = self._routed.pop(request.request_id, None)
        if entry is not None:
            self._active[entry[0]] -= entry[1]


ROUTERS = {"round_robin": RoundRobin, "least_outstanding": LeastOutstanding, "least_kv": LeastKv,
           "prefix_affinity": PrefixAffinity, "kv_aware": KvAware}


def make_router(kind: str, *, load_weight: float = 1.0) -> Router:
    if kind not in ROUTERS:
        raise ConfigError(f"router '{kind}' is unknown; use one of {', '.join(ROUTERS)}.")
    return KvAware(load_weight) if kind == "kv_aware" else ROUTERS[kind]()
