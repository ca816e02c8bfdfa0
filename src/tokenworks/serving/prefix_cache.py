"""Prefix caching of KV blocks in HBM: vLLM block-hash chains and SGLang radix trees.

Units: one cache *entry* is one prefix block of a request (``prefix_block_tokens`` tokens,
identified by its chained hash, as vLLM automatic prefix caching and Mooncake ``hash_ids``) and
occupies ``prefix_block_tokens // kv_block_size_tokens`` KV blocks. Because hashes are chained,
an entry's parent is the entry of the previous block, and the set of entries is a tree.

Two eviction disciplines, the only behavioural difference between the engines:

* ``lru_blocks`` (vLLM APC, https://docs.vllm.ai/en/latest/design/prefix_caching.html):
  unreferenced blocks sit in a free queue in LRU order; a finished request's blocks enter it
  tail first, so a chain is evicted from its end. Any unreferenced entry may be evicted, even
  one whose descendants stay resident (they become unreachable until the parent returns).
* ``radix`` (SGLang RadixAttention, Zheng et al. 2024, arXiv:2312.07104): only leaves with no
  running reference are evicted, least recently used first, so the tree stays connected.

A referenced entry's ancestors are always referenced (requests hold whole prefixes), so the
number of evictable blocks is the number of blocks in unreferenced entries under both rules.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Sequence

from tokenworks.errors import SimulationError
from tokenworks.serving.block_manager import BlockManager

__all__ = ["PREFIX_CACHES", "LruBlockCache", "NoPrefixCache", "PrefixCache", "RadixCache"]

EvictHook = Callable[[int, int], None]  # (hash, num_blocks) of an entry leaving HBM


class _Entry:
    __slots__ = ("blocks", "num_children", "parent", "refs", "tick")

    def __init__(self, parent: int | None, blocks: int, refs: int, tick: int) -> None:
        self.parent = parent
        self.blocks = blocks
        self.refs = refs
        self.num_children = 0
        self.tick = tick


class PrefixCache:
    """Common bookkeeping; subclasses decide the eviction order."""

    name = "base"

    def __init__(self, blocks: BlockManager, on_evict: EvictHook | None = None) -> None:
        self.blocks = blocks
        self.on_evict = on_evict
        self.entries: dict[int, _Entry] = {}
        self.num_evictable_blocks = 0
        self.num_evicted_entries = 0
        self._tick = 0
        blocks.reclaimer = self

    def __contains__(self, block_hash: int) -> bool:
        return block_hash in self.entries

    def match(self, hashes: Sequence[int], max_units: int) -> int:
        """How many leading prefix blocks of ``hashes`` are resident (read-only)."""
        entries = self.entries
        n = min(len(hashes), max_units)
        i = 0
        while i < n and hashes[i] in entries:
            i += 1
        return i

    def acquire(self, hashes: Sequence[int]) -> None:
        """A sequence starts using these resident entries (a cache hit)."""
        self._tick += 1
        for h in hashes:
            e = self.entries[h]
            if e.refs == 0:
                self.num_evictable_blocks -= e.blocks
                self._leave_free_queue(h, e)
            e.refs += 1
            e.tick = self._tick

    def release(self, hashes: Sequence[int]) -> None:
        """A sequence stops using these entries (finish or preemption)."""
        self._tick += 1
        # Reverse order: the tail of a chain becomes evictable first (vLLM frees blocks tail first).
        for h in reversed(hashes):
            e = self.entries[h]
            if e.refs <= 0:
                raise SimulationError(f"release of prefix block {h} with {e.refs} references.")
            e.refs -= 1
            e.tick = self._tick
            if e.refs == 0:
                self.num_evictable_blocks += e.blocks
                self._enter_free_queue(h, e)

    def insert(self, block_hash: int, parent: int | None, num_blocks: int, *, refs: int) -> bool:
        """Register a sequence's full private blocks under ``block_hash``.

        Returns False (and changes nothing) when the hash is already resident; the caller then
        acquires the resident entry and frees its duplicate (SGLang deduplicates on insert).
        """
        if block_hash in self.entries:
            return False
        self.blocks.private_to_cached(num_blocks)
        self._tick += 1
        e = _Entry(parent, num_blocks, refs, self._tick)
        self.entries[block_hash] = e
        if parent is not None and parent in self.entries:
            self.entries[parent].num_children += 1
            self._on_children_changed(parent)
        if refs == 0:
            self.num_evictable_blocks += num_blocks
            self._enter_free_queue(block_hash, e)
        return True

    def insert_chain(self, hashes: Sequence[int], parent: int | None, num_blocks: int) -> int:
        """Register consecutive prefix blocks of one running sequence (one reference each).

        Hashes already resident are acquired instead; returns how many, so the caller frees
        its duplicate blocks. NOTE: one pass with local variables, for performance (a 16-token
        block size gives ~60 blocks per 1,000-token prompt).
        """
        entries = self.entries
        self._tick += 1
        tick = self._tick
        inserted = duplicates = 0
        for h in hashes:
            e = entries.get(h)
            if e is None:
                entries[h] = _Entry(parent, num_blocks, 1, tick)
                if parent is not None:
                    pe = entries.get(parent)
                    if pe is not None:
                        pe.num_children += 1  # pe is referenced by the caller: never a free leaf
                inserted += 1
            else:
                if e.refs == 0:
                    self.num_evictable_blocks -= e.blocks
                    self._leave_free_queue(h, e)
                e.refs += 1
                e.tick = tick
                duplicates += 1
            parent = h
        self.blocks.private_to_cached(inserted * num_blocks)
        return duplicates

    def insert_promoted(self, block_hash: int, parent: int | None, num_blocks: int) -> None:
        """A block loaded from a lower tier takes fresh HBM blocks and is referenced once."""
        self.blocks.allocate(num_blocks)
        if not self.insert(block_hash, parent, num_blocks, refs=1):
            raise SimulationError(f"promoted prefix block {block_hash} was already resident.")

    def evict_blocks(self, num_blocks: int) -> int:
        """Evict unreferenced entries until ``num_blocks`` blocks are free; return blocks freed."""
        released, count = 0, 0
        entries, on_evict, pop_victim = self.entries, self.on_evict, self._pop_victim
        h = None
        while released < num_blocks:
            h = pop_victim(h)
            if h is None:
                break
            e = entries.pop(h)
            if e.refs != 0:
                raise SimulationError(f"evicting prefix block {h} with {e.refs} references.")
            released += e.blocks
            count += 1
            parent = e.parent
            if parent is not None:
                pe = entries.get(parent)
                if pe is not None:
                    pe.num_children -= 1
            if on_evict is not None:
                on_evict(h, e.blocks)
        if h is not None:
            self._after_evictions()
        self.num_evictable_blocks -= released
        self.num_evicted_entries += count
        self.blocks.uncache(released)
        return released

    # ---- eviction order, per discipline ----
    def _enter_free_queue(self, h: int, e: _Entry) -> None:
        raise NotImplementedError

    def _leave_free_queue(self, h: int, e: _Entry) -> None:
        raise NotImplementedError

    def _pop_victim(self, evicted: int | None) -> int | None:
        """Next entry to evict; ``evicted`` is the entry just evicted (None at the start)."""
        raise NotImplementedError

    def _on_children_changed(self, h: int) -> None:
        """Radix needs to know when a node becomes a leaf."""

    def _after_evictions(self) -> None:
        """Radix: the parent of the last leaf evicted may have become a leaf."""


class NoPrefixCache(PrefixCache):
    """prefix_cache="none": nothing is ever resident."""

    name = "none"

    def match(self, hashes: Sequence[int], max_units: int) -> int:
        return 0

    def insert(self, block_hash: int, parent: int | None, num_blocks: int, *, refs: int) -> bool:
        return False

    def insert_chain(self, hashes: Sequence[int], parent: int | None, num_blocks: int) -> int:
        raise SimulationError("prefix_cache='none' caches nothing; the replica must not insert.")

    def _enter_free_queue(self, h: int, e: _Entry) -> None:
        raise SimulationError("NoPrefixCache holds no entries.")

    def _leave_free_queue(self, h: int, e: _Entry) -> None:
        raise SimulationError("NoPrefixCache holds no entries.")

    def _pop_victim(self, evicted: int | None) -> int | None:
        return None


class LruBlockCache(PrefixCache):
    """vLLM APC: evict the least recently freed unreferenced block, chain tails first."""

    name = "lru_blocks"

    def __init__(self, blocks: BlockManager, on_evict: EvictHook | None = None) -> None:
        super().__init__(blocks, on_evict)
        self._free_queue: OrderedDict[int, None] = OrderedDict()

    def _enter_free_queue(self, h: int, e: _Entry) -> None:
        self._free_queue[h] = None

    def _leave_free_queue(self, h: int, e: _Entry) -> None:
        del self._free_queue[h]

    def _pop_victim(self, evicted: int | None) -> int | None:
        if not self._free_queue:
            return None
        return self._free_queue.popitem(last=False)[0]


class RadixCache(PrefixCache):
    """SGLang radix tree: evict least recently used unreferenced leaves."""

    name = "radix"

    def __init__(self, blocks: BlockManager, on_evict: EvictHook | None = None) -> None:
        super().__init__(blocks, on_evict)
        # NOTE: lazy-deletion heap of (tick, hash) leaves for performance; stale items are
        # skipped when popped.
        self._leaves: list[tuple[int, int]] = []
        self._last_parent: int | None = None
        self._last_parent_entry: _Entry | None = None

    def _is_evictable_leaf(self, e: _Entry) -> bool:
        return e.refs == 0 and e.num_children == 0

    def _enter_free_queue(self, h: int, e: _Entry) -> None:
        if e.num_children == 0:
            self._push_leaf(h, e)

    def _push_leaf(self, h: int, e: _Entry) -> None:
        leaves = self._leaves
        if len(leaves) > 2 * len(self.entries) + 1024:
            # NOTE: rebuild the lazy heap when stale items dominate, for memory.
            leaves[:] = [(x.tick, k) for k, x in self.entries.items() if self._is_evictable_leaf(x)]
            heapq.heapify(leaves)
        heapq.heappush(leaves, (e.tick, h))

    def _leave_free_queue(self, h: int, e: _Entry) -> None:
        pass  # the heap item goes stale (refs > 0) and is skipped when popped

    def _on_children_changed(self, h: int) -> None:
        e = self.entries[h]
        if self._is_evictable_leaf(e):
            self._push_leaf(h, e)

    def _pop_victim(self, evicted: int | None) -> int | None:
        leaves, entries = self._leaves, self.entries
        if evicted is not None and self._last_parent is not None:
            # The parent of the leaf just evicted may now be a leaf itself: take it directly
            # when it precedes the heap top (same order as pushing it, without the push/pop).
            e = self._last_parent_entry
            if e is not None and e.refs == 0 and e.num_children == 0:
                key = (e.tick, self._last_parent)
                if not leaves or key < leaves[0]:
                    return self._take(self._last_parent)
                self._push_leaf(self._last_parent, e)
        while leaves:
            tick, h = heapq.heappop(leaves)
            e = entries.get(h)
            if e is not None and e.tick == tick and e.refs == 0 and e.num_children == 0:
                return self._take(h)
        return None

    def _after_evictions(self) -> None:
        e, h = self._last_parent_entry, self._last_parent
        if e is not None and h is not None and e.refs == 0 and e.num_children == 0:
            self._push_leaf(h, e)
        self._last_parent = self._last_parent_entry = None

    def _take(self, h: int) -> int:
        parent = self.entries[h].parent
        self._last_parent = parent
        self._last_parent_entry = None if parent is None else self.entries.get(parent)
        return h


PREFIX_CACHES: dict[str, type[PrefixCache]] = {
    "none": NoPrefixCache,
    "lru_blocks": LruBlockCache,
    "radix": RadixCache,
}
