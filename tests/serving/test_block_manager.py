"""Paged KV accounting: unit cases and hypothesis stateful invariants (free + used = total)."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tokenworks.errors import ConfigError, SimulationError
from tokenworks.serving import BlockManager, LruBlockCache, RadixCache, blocks_for_tokens


def test_blocks_for_tokens_is_ceil():
    assert [blocks_for_tokens(t, 16) for t in (0, 1, 16, 17, 32, 33)] == [0, 1, 1, 2, 2, 3]


def test_allocate_free_and_watermark():
    bm = BlockManager(10, 16)
    assert bm.can_allocate(9, watermark_blocks=1) and not bm.can_allocate(10, watermark_blocks=1)
    bm.allocate(7)
    assert (bm.num_free_blocks, bm.num_used_blocks, bm.usage_frac()) == (3, 7, 0.7)
    assert bm.can_append(3) and not bm.can_append(4)
    bm.free(7)
    bm.check()
    with pytest.raises(SimulationError):
        bm.free(1)
    with pytest.raises(SimulationError, match="can_allocate"):
        bm.allocate(11)
    with pytest.raises(ConfigError):
        BlockManager(0, 16)


def test_allocation_evicts_unreferenced_cache_blocks():
    bm = BlockManager(8, 16)
    cache = LruBlockCache(bm)
    bm.allocate(6)
    assert cache.insert(1, None, 2, refs=0) and cache.insert(2, 1, 2, refs=1)
    bm.free(2)
    assert (bm.num_free_blocks, bm.num_private_blocks, bm.num_cached_blocks) == (4, 0, 4)
    assert bm.num_evictable_blocks == 2 and bm.num_available_blocks == 6
    bm.allocate(6)  # needs the 2 evictable blocks of entry 1
    assert 1 not in cache and 2 in cache and bm.num_free_blocks == 0
    bm.check()


class KvMachine(RuleBasedStateMachine):
    """Random allocate / grow / cache / hit / release / free sequences keep exact accounting."""

    def __init__(self):
        super().__init__()
        self.bm = BlockManager(64, 16)
        self.cache = None
        self.seqs: list[dict] = []  # {"private": int, "shared": [hash...]}
        self.next_hash = 1

    @rule(kind=st.sampled_from([LruBlockCache, RadixCache]))
    @precondition(lambda self: self.cache is None)
    def make_cache(self, kind):
        self.cache = kind(self.bm)

    @rule(n=st.integers(1, 12), watermark=st.integers(0, 4))
    def admit(self, n, watermark):
        if self.bm.can_allocate(n, watermark_blocks=watermark):
            self.bm.allocate(n)
            self.seqs.append({"private": n, "shared": []})

    @rule(data=st.data())
    @precondition(lambda self: self.seqs)
    def append_slot(self, data):
        s = data.draw(st.sampled_from(self.seqs))
        if self.bm.can_append(1):
            self.bm.append_slot(1)
            s["private"] += 1

    @rule(data=st.data(), unit=st.integers(1, 3))
    @precondition(lambda self: self.seqs and self.cache is not None)
    def cache_full_blocks(self, data, unit):
        """A sequence registers its next `unit` private blocks under a new chained hash."""
        s = data.draw(st.sampled_from(self.seqs))
        if s["private"] >= unit:
            h, self.next_hash = self.next_hash, self.next_hash + 1
            parent = s["shared"][-1] if s["shared"] else None
            assert self.cache.insert(h, parent, unit, refs=1)
            s["private"] -= unit
            s["shared"].append(h)

    @rule(data=st.data())
    @precondition(lambda self: self.cache is not None and self.cache.entries)
    def hit_prefix(self, data):
        """A new sequence reuses a resident chain prefix (as admission does)."""
        h = data.draw(st.sampled_from(sorted(self.cache.entries)))
        chain = [h]
        while self.cache.entries[chain[-1]].parent in self.cache.entries:
            chain.append(self.cache.entries[chain[-1]].parent)
        chain.reverse()
        self.cache.acquire(chain)
        self.seqs.append({"private": 0, "shared": chain})

    @rule(data=st.data())
    @precondition(lambda self: self.seqs)
    def finish(self, data):
        s = data.draw(st.sampled_from(self.seqs))
        self.seqs.remove(s)
        self.bm.free(s["private"])
        if s["shared"]:
            self.cache.release(s["shared"])

    @rule(n=st.integers(1, 20))
    @precondition(lambda self: self.cache is not None)
    def evict(self, n):
        before = self.bm.num_evictable_blocks
        freed = self.cache.evict_blocks(n)
        assert freed <= before and (freed >= n or self.bm.num_evictable_blocks == 0)

    @invariant()
    def accounting(self):
        bm = self.bm
        bm.check()  # free + private + cached == total, evictable <= cached
        assert bm.num_private_blocks == sum(s["private"] for s in self.seqs)
        if self.cache is not None:
            referenced = {h for s in self.seqs for h in s["shared"]}
            assert all(h in self.cache.entries for h in referenced)  # pinned blocks stay
            refs = sum(e.blocks for e in self.cache.entries.values() if e.refs == 0)
            assert bm.num_evictable_blocks == refs
            assert bm.num_cached_blocks == sum(e.blocks for e in self.cache.entries.values())


KvMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestKvMachine = KvMachine.TestCase
