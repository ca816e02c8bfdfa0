"""Tiered KV warehouse: LRU demotion chain, load-time golden numbers, hits through a replica."""

import pytest
from engine_fakes import AffineCost, simulate

from tokenworks.errors import ConfigError
from tokenworks.serving import Request, TierSpec
from tokenworks.serving.kv_tiers import TieredStore

DRAM = TierSpec(name="dram", capacity_bytes=300.0, read_bytes_per_s=1000.0,
                write_bytes_per_s=1000.0, latency_s=0.01)
NVME = TierSpec(name="nvme", capacity_bytes=1e6, read_bytes_per_s=100.0, write_bytes_per_s=50.0,
                latency_s=0.1)


def test_demotion_overflows_lru_into_next_tier():
    store = TieredStore((DRAM, NVME))
    for h in (1, 2, 3, 4):
        store.demote(h, 100.0)
    assert [store.find(h) for h in (1, 2, 3, 4, 5)] == [1, 0, 0, 0, None]
    assert store.used_bytes(0) == 300.0 and store.used_bytes(1) == 100.0
    assert store.stats["dram"].num_dropped_blocks == 1
    assert store.stats["nvme"].num_demoted_blocks == 1


def test_load_time_is_bytes_over_bandwidth_plus_latency_per_tier():
    """2 blocks × 100 B from DRAM: 200/1000 + 0.01 = 0.21 s; 1 from NVMe: 100/100 + 0.1 = 1.1 s."""
    store = TieredStore((DRAM, NVME))
    store.demote(3, 100.0, tier=1)
    store.demote(1, 100.0)
    store.demote(2, 100.0)
    load_s, by_tier = store.load([(1, 0), (2, 0), (3, 1)], 100.0, 16)
    assert load_s == pytest.approx(0.21 + 1.1)
    assert by_tier == {"dram": 32, "nvme": 16}
    assert store.stats["nvme"].bytes_read == 100.0
    assert store.swap_time_s(500.0, write=True) == pytest.approx(0.5 + 0.01)


def test_tier_spec_validation():
    with pytest.raises(ConfigError, match="read_bytes_per_s"):
        TierSpec(name="dram", capacity_bytes=1.0, read_bytes_per_s=0.0, write_bytes_per_s=1.0)
    with pytest.raises(ConfigError, match="reserved"):
        TierSpec(name="hbm", capacity_bytes=1.0, read_bytes_per_s=1.0, write_bytes_per_s=1.0)


def _evict_then_reuse(tier_load):
    """A 10-block prefix is pushed out of a 16-block HBM by another prompt, then reused."""
    host = TierSpec(name="dram", capacity_bytes=1e9, read_bytes_per_s=1e9, write_bytes_per_s=1e9,
                    latency_s=1e-3)
    a = tuple(range(1, 11))
    reqs = [
        Request(request_id=0, arrived_at_s=0.0, prompt_tokens=161, output_tokens=2, prefix_hashes=a),
        Request(request_id=1, arrived_at_s=5.0, prompt_tokens=200, output_tokens=2,
                prefix_hashes=tuple(range(50, 62))),
        Request(request_id=2, arrived_at_s=10.0, prompt_tokens=161, output_tokens=2, prefix_hashes=a),
    ]
    cost = AffineCost()
    _, rep = simulate(reqs, cost=cost, blocks=16, prefix_cache="radix", kv_tiers=(host,),
                      tier_load=tier_load, watermark_frac=0.0)
    rep.drain_check()
    return reqs, rep, cost


@pytest.mark.parametrize("tier_load", ["blocking", "overlapped"])
def test_lower_tier_hit_promotes_and_charges_load(tier_load):
    """Request 1 (13 blocks) evicts 7 of the 10 prefix blocks from the 16-block HBM, tail first.
    Request 2 finds 3 blocks in HBM and 7 in DRAM: 112 tokens × 1e5 B = 11.2 MB at 1 GB/s plus
    1 ms = 12.2 ms of load; then 1 token of prefill after 160 cached."""
    reqs, rep, cost = _evict_then_reuse(tier_load)
    r = reqs[2]
    assert r.cached_tokens == 160 and r.cached_tokens_by_tier == {"hbm": 48, "dram": 112}
    load_s = 112 * 1e5 / 1e9 + 1e-3
    prefill_s = cost.step_time_s(num_prefill_tokens=1, prefill_attention_pairs=160 + 1,
                                 prefill_kv_tokens=161)
    expected = load_s + prefill_s if tier_load == "blocking" else max(load_s, prefill_s)
    assert r.ttft_s == pytest.approx(expected, rel=1e-9)
    tiers = rep.stats().tiers["dram"]
    assert tiers["num_hit_tokens"] == 112 and tiers["num_demoted_blocks"] >= 7
    assert rep.cached_prefix_tokens(r) == 160  # promoted back into HBM
