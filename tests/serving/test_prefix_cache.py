"""Prefix caching: hits skip prefill, chain-tail-first LRU vs radix leaves, dedup, hit rates."""

import pytest
from engine_fakes import AffineCost, make_replica, simulate

from tokenworks.serving import BlockManager, Environment, LruBlockCache, RadixCache, Request


def _chain(cache, hashes, blocks=1, refs=0):
    bm = cache.blocks
    bm.allocate(blocks * len(hashes))
    parent = None
    for h in hashes:
        assert cache.insert(h, parent, blocks, refs=refs)
        parent = h


def test_lru_evicts_least_recent_chain_tail_first():
    bm = BlockManager(10, 16)
    cache = LruBlockCache(bm)
    _chain(cache, [1, 2, 3], refs=1)
    cache.release([1, 2, 3])  # released tail first: 3, 2, 1 enter the free queue
    _chain(cache, [7, 8], refs=1)
    cache.release([7, 8])
    assert cache.evict_blocks(2) == 2
    assert sorted(cache.entries) == [1, 7, 8]  # 3 then 2 went first
    assert cache.match([1, 2, 3], 3) == 1


def test_radix_evicts_only_leaves_lru():
    bm = BlockManager(10, 16)
    cache = RadixCache(bm)
    _chain(cache, [1, 2, 3])  # 1 -> 2 -> 3
    bm.allocate(1)
    cache.insert(4, 1, 1, refs=0)  # 1 -> 4, newer than 3
    cache.acquire([1, 4])
    cache.release([1, 4])  # touch the 1 -> 4 branch
    order = []
    cache.on_evict = lambda h, n: order.append(h)
    cache.evict_blocks(4)
    assert order == [3, 2, 4, 1]  # leaves only; the older branch goes first
    bm.check()


def test_insert_existing_hash_is_rejected_for_dedup():
    cache = LruBlockCache(BlockManager(4, 16))
    _chain(cache, [5])
    cache.blocks.allocate(1)
    assert not cache.insert(5, None, 1, refs=1)
    assert cache.blocks.num_private_blocks == 1  # caller keeps/frees its duplicate


def test_match_caps_and_none_cache():
    cache = LruBlockCache(BlockManager(8, 16))
    _chain(cache, [1, 2, 3])
    assert cache.match([1, 2, 3, 4], 10) == 3
    assert cache.match([1, 2, 3], 2) == 2
    assert cache.match([9, 1], 5) == 0


@pytest.mark.parametrize("kind", ["lru_blocks", "radix"])
def test_same_prefix_twice_hits_and_skips_prefill(kind):
    """Second identical prompt: 10 blocks of 16 are cached, 159 max usable → 144 tokens hit
    (9 blocks), so its prefill computes 16 tokens instead of 160 and its TTFT is shorter."""
    hashes = tuple(range(1, 11))
    first = Request(request_id=0, arrived_at_s=0.0, prompt_tokens=160, output_tokens=4,
                    prefix_hashes=hashes)
    second = Request(request_id=1, arrived_at_s=10.0, prompt_tokens=160, output_tokens=4,
                     prefix_hashes=hashes)
    cost = AffineCost()
    _, rep = simulate([first, second], cost=cost, prefix_cache=kind)
    assert (first.cached_tokens, second.cached_tokens) == (0, 144)
    assert second.cached_tokens_by_tier == {"hbm": 144}
    c, p = 16, 144
    expected = cost.step_time_s(num_prefill_tokens=c, prefill_attention_pairs=c * p + c * (c + 1) / 2,
                                prefill_kv_tokens=p + c)
    assert second.ttft_s == pytest.approx(expected, rel=1e-12) and second.ttft_s < first.ttft_s
    s = rep.stats()
    assert s.hit_tokens == 144 and s.lookup_prompt_tokens == 320
    assert s.prefix_hit_frac == pytest.approx(144 / 320) and s.request_hit_frac == 0.5
    assert s.num_prefill_tokens == 160 + 16
    rep.drain_check()


def test_concurrent_identical_prompts_deduplicate():
    """Two requests computing the same prefix at once: the second's copy is freed on insert."""
    hashes = tuple(range(1, 6))
    reqs = [Request(request_id=i, arrived_at_s=0.0, prompt_tokens=80, output_tokens=30,
                    prefix_hashes=hashes) for i in range(2)]
    env = Environment()
    rep = make_replica(env, prefix_cache="radix")
    for r in reqs:
        rep.submit(r)
    env.run(until_s=0.2)
    assert rep.blocks.num_cached_blocks == 5  # one copy of the 5 prefix blocks
    env.run()
    rep.drain_check()


def test_output_hashes_are_cached_for_the_next_turn():
    """Hashes past the prompt cover generated tokens: the next turn hits them (agentic reuse)."""
    turn1 = Request(request_id=0, arrived_at_s=0.0, prompt_tokens=64, output_tokens=40,
                    prefix_hashes=tuple(range(1, 7)))  # 6 blocks = 96 tokens; 103 in KV at end
    turn2 = Request(request_id=1, arrived_at_s=5.0, prompt_tokens=120, output_tokens=5,
                    prefix_hashes=tuple(range(1, 8)))
    simulate([turn1, turn2], prefix_cache="radix")
    assert turn2.cached_tokens == 96


def _pressure_requests(num_prefixes):
    """Shared 8-block system prompts plus 4 unique blocks each; 200-token prompts."""
    return [Request(request_id=i, arrived_at_s=0.5 * i, prompt_tokens=200, output_tokens=20,
                    prefix_hashes=tuple(range(100 * (i % num_prefixes), 100 * (i % num_prefixes) + 8))
                    + tuple(range(10_000 + 10 * i, 10_000 + 10 * i + 4))) for i in range(60)]


@pytest.mark.parametrize("kind", ["lru_blocks", "radix"])
def test_eviction_under_pressure_keeps_accounting(kind):
    """40 blocks: the 3 hot prefixes (24 blocks) stay, cold unique tails are evicted."""
    reqs = _pressure_requests(3)
    done, rep = simulate(reqs, blocks=40, prefix_cache=kind)
    assert len(done) == 60
    assert rep.cache.num_evicted_entries > 0
    assert [r.cached_tokens for r in reqs[3:]] == [128] * 57  # 8 shared blocks × 16 tokens
    rep.drain_check()


def test_lru_round_robin_over_capacity_thrashes():
    """Classic LRU pathology: 6 prefixes cycled through a cache that holds fewer ⇒ no hits."""
    reqs = [Request(request_id=i, arrived_at_s=0.5 * i, prompt_tokens=130, output_tokens=20,
                    prefix_hashes=tuple(range(100 * (i % 6), 100 * (i % 6) + 8)))
            for i in range(60)]
    _, rep = simulate(reqs, blocks=40, prefix_cache="lru_blocks")
    assert rep.stats().hit_tokens == 0 and rep.cache.num_evicted_entries > 0
