"""A cluster of replicas behind routers: co-located serving, or disaggregated prefill/decode.

Co-located: one pool; the router picks a replica, which prefills and decodes the request.
Disaggregated: a prefill pool and a decode pool (possibly different hardware); the prefill
replica hands the request back after its first token, its KV travels over the prefill
replica's egress link (:class:`~tokenworks.serving.disagg.SharedLink`), and the decode router
places it on a decode replica once the KV has arrived. The cluster also samples queue length
and KV usage over time. Units: seconds, tokens, bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tokenworks.serving.disagg import SharedLink
from tokenworks.serving.events import Environment, Priority
from tokenworks.serving.request import Request
from tokenworks.serving.routing import Router


@dataclass(slots=True)
class Pool:
    """Replicas of one kind (``role`` both, prefill or decode) and the router in front."""

    name: str
    replicas: Sequence
    router: Router
    kv_bytes_per_token: float = 0.0  # whole-replica KV bytes per token (for hand-offs)
    links: list[SharedLink] = field(default_factory=list)  # one egress link per replica

    @property
    def num_outstanding(self) -> int:
        return sum(r.num_outstanding for r in self.replicas)

    def kv_usage_frac(self) -> float:
        reps = self.replicas
        return sum(r.kv_usage_frac for r in reps) / len(reps) if reps else 0.0


@dataclass(slots=True)
class Sample:
    time_s: float
    num_outstanding: int
    num_in_transfer: int
    kv_usage_frac: float


class Cluster:
    """Routes requests into pools and collects finished ones through ``on_finish``."""

    def __init__(self, *, env: Environment, pools: Sequence[Pool],
                 on_finish: Callable[[Request], None]) -> None:
        if len(pools) not in (1, 2):
            raise ValueError("a cluster has one pool (co-located) or two (prefill, decode)")
        self.env = env
        self.pools = list(pools)
        self.on_finish = on_finish
        self.disaggregated = len(pools) == 2
        self.num_submitted = 0
        self.num_in_transfer = 0
        self.samples: list[Sample] = []
        self._sampling = False
        # NOTE: with one replica behind a router that keeps no per-request state, every
        # router answers 0, so submit goes straight to the replica (the router's turn counter
        # is the only thing skipped), for performance.
        first = self.pools[0]
        self._direct = first.replicas[0].submit if len(first.replicas) == 1 and \
            getattr(first.router, "release", None) is None else None
        # Routers that track load and must forget a request when it leaves.
        self._releases = [r for r in (getattr(p.router, "release", None) for p in self.pools)
                          if r is not None]

    # -- request flow -------------------------------------------------------------------------
    def submit(self, req: Request) -> None:
        self.num_submitted += 1
        if self._direct is not None:
            self._direct(req)
            return
        pool = self.pools[0]
        i = pool.router.choose(req, pool.replicas)
        pool.replicas[i].submit(req)

    def request_done(self, req: Request) -> None:
        """A request left the cluster: routers that track load forget it."""
        for release in self._releases:
            release(req)

    def prefill_done(self, req: Request) -> None:
        """A prefill replica produced the first token: ship the KV to the decode pool."""
        prefill = self.pools[0]
        release = getattr(prefill.router, "release", None)
        if release is not None:
            release(req)
        src = req.prefill_replica_id if req.prefill_replica_id is not None else req.replica_id
        link = prefill.links[_local_index(prefill, src)]
        self.num_in_transfer += 1
        # ASSUMPTION: the KV of every prompt token and of the first output token moves once,
        # after the prefill ends (no layer-by-layer streaming overlap as in Splitwise/Mooncake).
        num_bytes = (req.prompt_tokens + 1) * prefill.kv_bytes_per_token
        link.send(num_bytes, lambda: self._kv_arrived(req))

    def _kv_arrived(self, req: Request) -> None:
        self.num_in_transfer -= 1
        decode = self.pools[1]
        # ASSUMPTION: the decode replica is chosen when the KV arrives (pull model); the KV is
        # buffered off-HBM until the decode replica has room.
        i = decode.router.choose(req, decode.replicas)
        decode.replicas[i].submit(req)

    @property
    def num_outstanding(self) -> int:
        return sum(p.num_outstanding for p in self.pools) + self.num_in_transfer

    # -- monitoring ---------------------------------------------------------------------------
    def start_sampling(self, interval_s: float, keep_going: Callable[[], bool]) -> None:
        """Record queue length and KV usage every ``interval_s`` while ``keep_going()``."""
        self._sampling = True
        pools = self.pools

        def tick() -> None:
            # NOTE: one pool read directly (same values as the max/sum over pools), and the
            # Sample built positionally (time_s, num_outstanding, num_in_transfer,
            # kv_usage_frac), for performance.
            if len(pools) == 1:
                kv = pools[0].kv_usage_frac()
                num = pools[0].num_outstanding + self.num_in_transfer
            else:
                kv = max(p.kv_usage_frac() for p in pools)
                num = self.num_outstanding
            self.samples.append(Sample(self.env.now_s, num, self.num_in_transfer, kv))
            if keep_going():
                self.env.schedule(self.env.now_s + interval_s, Priority.MONITOR, tick)
            else:
                self._sampling = False

        self.env.schedule(self.env.now_s, Priority.MONITOR, tick)


def _local_index(pool: Pool, replica_id: int | None) -> int:
    for i, r in enumerate(pool.replicas):
        if r.replica_id == replica_id:
            return i
    return 0
