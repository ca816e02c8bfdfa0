"""Cluster and routers on real replicas with a constant step cost."""

from __future__ import annotations

import pytest

from tokenworks.errors import ConfigError
from tokenworks.serving.cluster import Cluster, Pool
from tokenworks.serving.events import Environment
from tokenworks.serving.replica import Replica, ReplicaConfig
from tokenworks.serving.request import Request
from tokenworks.serving.routing import (
    KvAware,
    LeastKv,
    LeastOutstanding,
    PrefixAffinity,
    RoundRobin,
    make_router,
)
from tokenworks.serving.sessions import block_keys


class ConstCost:
    """Every step takes ``dt`` seconds, whatever the batch."""

    def __init__(self, dt: float = 0.01) -> None:
        self.dt = dt

    def step_time_s(self, **kwargs):
        return self.dt + 0.0 * kwargs.get("num_decode_seqs", 0)


def build(num_replicas: int, router, *, prefix_cache: str = "lru_blocks", blocks: int = 4096):
    env = Environment()
    done: list[Request] = []

    def finished(r: Request) -> None:
        cluster.request_done(r)
        done.append(r)

    replicas = [Replica(replica_id=i, env=env, cost=ConstCost(), kv_capacity_blocks=blocks,
                        kv_block_size_tokens=16, kv_bytes_per_token=1e5,
                        config=ReplicaConfig(prefix_cache=prefix_cache), on_finish=finished)
                for i in range(num_replicas)]
    cluster = Cluster(env=env, pools=[Pool(name="both", replicas=replicas, router=router)],
                      on_finish=finished)
    return env, cluster, replicas, done


def req(i: int, *, prompt: int = 64, out: int = 4, hashes: tuple[int, ...] = (), at: float = 0.0):
    return Request(request_id=i, arrived_at_s=at, prompt_tokens=prompt, output_tokens=out,
                   prefix_hashes=hashes, prefix_block_tokens=16)


def test_round_robin_spreads_evenly_and_conserves():
    env, cluster, replicas, done = build(3, RoundRobin())
    for i in range(9):
        cluster.submit(req(i))
    env.run()
    assert len(done) == 9
    assert sorted(r.replica_id for r in done) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert all(r.num_output_done == r.output_tokens for r in done)
    for r in replicas:
        r.drain_check()  # every KV block returned


def test_least_outstanding_avoids_the_busy_replica():
    env, cluster, replicas, done = build(2, LeastOutstanding())
    replicas[0].submit(req(100, out=50))
    replicas[0].submit(req(101, out=50))
    for i in range(2):
        cluster.submit(req(i))
    # Replica 0 holds 2; the first routed request goes to 1, then 1 holds 1 < 2 again.
    env.run()
    assert {r.replica_id for r in done if r.request_id < 100} == {1}


def test_least_kv_picks_emptier_cache():
    env, cluster, replicas, done = build(2, LeastKv())
    replicas[1].submit(req(100, prompt=4000, out=200))
    env.run(until_s=0.05)  # replica 1 is now holding KV for a long prompt
    assert replicas[1].kv_usage_frac > replicas[0].kv_usage_frac
    cluster.submit(req(0))
    env.run()
    assert next(r for r in done if r.request_id == 0).replica_id == 0


def test_prefix_affinity_is_consistent():
    env, cluster, _, done = build(4, PrefixAffinity())
    hashes_a = tuple(block_keys(1, 7, 0, 4).tolist())
    hashes_b = tuple(block_keys(1, 8, 0, 4).tolist())
    for i in range(6):
        cluster.submit(req(i, hashes=hashes_a if i % 2 else hashes_b))
    env.run()
    by = {}
    for r in done:
        by.setdefault(r.prefix_hashes[0], set()).add(r.replica_id)
    assert all(len(v) == 1 for v in by.values())
    # Rendezvous hashing: the choice depends only on (key, replica count).
    router = PrefixAffinity()
    assert router.choose(req(0, hashes=hashes_a), [None] * 4) == \
        PrefixAffinity().choose(req(1, hashes=hashes_a), [None] * 4)


def test_kv_aware_prefers_the_replica_holding_the_prefix():
    """Replica 1 caches the prefix; both are idle afterwards, so the score cached − w × active
    is 64 on replica 1 (prompt 80: at most (80−1)//16 = 4 blocks = 64 tokens can be cached,
    0 active KV tokens) vs 0 on replica 0."""
    env, cluster, replicas, done = build(2, KvAware(load_weight=1.0))
    hashes = tuple(block_keys(2, 1, 0, 5).tolist())
    replicas[1].submit(req(100, prompt=80, out=2, hashes=hashes))
    env.run()
    assert replicas[1].cached_prefix_tokens(req(0, prompt=80, hashes=hashes)) == 64
    for i in range(3):  # one after another: the replica is idle again each time
        cluster.submit(req(i, prompt=80, out=2, hashes=hashes, at=env.now_s))
        env.run()
    assert {r.replica_id for r in done if r.request_id < 100} == {1}
    assert all(r.cached_tokens == 64 for r in done if r.request_id < 100)
    assert cluster.pools[0].router._active == {1: 0}  # every routed token released


def test_kv_aware_spreads_a_simultaneous_burst():
    """Three requests at one instant, 82 tokens each, load weight 1: the first goes to the
    replica with the 64-token prefix (score 64 vs 0); then that replica's routed load is 82,
    so its score is 64 − 82 = −18 < 0 and the next goes to the empty replica (score 0), and
    the third back to replica 1 (64 − 82 = −18 vs 0 − 82 = −82)."""
    env, cluster, replicas, done = build(2, KvAware(load_weight=1.0))
    hashes = tuple(block_keys(2, 1, 0, 5).tolist())
    replicas[1].submit(req(100, prompt=80, out=2, hashes=hashes))
    env.run()
    for i in range(3):
        cluster.submit(req(i, prompt=80, out=2, hashes=hashes, at=env.now_s))
    env.run()
    got = {r.request_id: r.replica_id for r in done if r.request_id < 100}
    assert got == {0: 1, 1: 0, 2: 1}


def test_kv_aware_load_weight_spreads_load():
    """With a large load weight the router leaves a busy replica even if it has the prefix."""
    env, cluster, replicas, done = build(2, KvAware(load_weight=100.0))
    hashes = tuple(block_keys(2, 1, 0, 5).tolist())
    replicas[1].submit(req(100, prompt=80, out=2, hashes=hashes))
    env.run()
    replicas[1].submit(req(101, prompt=2000, out=400))
    env.run(until_s=env.now_s + 0.05)
    cluster.submit(req(0, prompt=80, out=2, hashes=hashes, at=env.now_s))
    env.run()
    assert next(r for r in done if r.request_id == 0).replica_id == 0


def test_make_router_names():
    assert isinstance(make_router("kv_aware", load_weight=0.5), KvAware)
    with pytest.raises(ConfigError, match="round_robin"):
        make_router("random")


def test_sampling_stops_when_idle():
    env, cluster, _, done = build(2, RoundRobin())
    for i in range(4):
        cluster.submit(req(i))
    cluster.start_sampling(0.01, lambda: cluster.num_outstanding > 0)
    env.run()
    assert len(done) == 4 and cluster.samples
    assert cluster.samples[0].num_outstanding == 4
    assert env.peek_s() is None  # the sampler ended: the run terminates


def test_tier_hits_survive_their_own_promotion():
    """Regression: promoting DRAM hits into a full HBM evicts HBM blocks whose demotion
    overflows the small DRAM tier; the blocks being read must not be the ones dropped
    (this raised KeyError in TieredStore.load before the fix in admission.admit)."""
    from tokenworks.serving.kv_tiers import TierSpec

    env = Environment()
    done: list[Request] = []
    kvb = 1000.0
    tier = TierSpec(name="dram", capacity_bytes=6 * 16 * kvb, read_bytes_per_s=1e12,
                    write_bytes_per_s=1e12)
    r = Replica(replica_id=0, env=env, cost=ConstCost(), kv_capacity_blocks=40,
                kv_block_size_tokens=16, kv_bytes_per_token=kvb,
                config=ReplicaConfig(prefix_cache="lru_blocks", kv_tiers=(tier,)),
                on_finish=done.append)
    chains = [tuple(block_keys(2, c, 0, 8).tolist()) for c in range(6)]
    for i in range(36):
        r.submit(req(i, prompt=8 * 16 + 1, out=2, hashes=chains[i % 6], at=env.now_s))
        env.run()
    assert len(done) == 36 and not any(x.rejected for x in done)
    assert r.stats().tiers["dram"]["num_hit_blocks"] > 0
    r.drain_check()
