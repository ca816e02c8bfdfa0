"""Paged KV-cache accounting (PagedAttention, Kwon et al., SOSP 2023, arXiv:2309.06180).

Units: blocks (``kv_block_size_tokens`` tokens each) and tokens. HBM holds ``num_blocks`` KV
blocks (the count comes from the memory plan). Every block is in exactly one state:

* free,
* private: owned by one running sequence (its unshared tail, or generated tokens),
* cached: holds a prefix block registered in the prefix cache; it is *referenced* while some
  running sequence uses it and *evictable* (reference count 0) otherwise.

Invariant: ``free + private + cached == total`` and ``evictable <= cached``. Allocation takes
free blocks first and then asks the reclaimer (the prefix cache) to evict unreferenced cached
blocks in its own order (LRU chain or radix leaves). The block manager keeps counts, not block
ids.
"""

from __future__ import annotations

from typing import Protocol

from tokenworks.errors import ConfigError, SimulationError

__all__ = ["BlockManager", "Reclaimer", "blocks_for_tokens"]


def blocks_for_tokens(num_tokens: int, block_size_tokens: int) -> int:
    """Blocks needed to hold ``num_tokens`` tokens (ceil division)."""
    return -(-num_tokens // block_size_tokens)


class Reclaimer(Protocol):
    """Something that holds evictable cached blocks (the prefix cache)."""

    @property
    def num_evictable_blocks(self) -> int: ...

    def evict_blocks(self, num_blocks: int) -> int:
        """Evict unreferenced entries until at least ``num_blocks`` blocks are released; return
        the number released (it calls ``BlockManager.uncache`` for each)."""
        ...


class BlockManager:
    """Counts of free / private / cached KV blocks on one replica."""

    __slots__ = (
        "block_size_tokens",
        "num_cached_blocks",
        "num_free_blocks",
        "num_private_blocks",
        "num_total_blocks",
        "reclaimer",
    )

    def __init__(self, num_blocks: int, block_size_tokens: int) -> None:
        if num_blocks < 1:
            raise ConfigError(
                f"kv_capacity_blocks = {num_blocks}: a replica needs at least one KV block. "
                "The model weights probably leave no HBM for KV; use more GPUs (tp) or a smaller dtype."
            )
        if block_size_tokens < 1:
            raise ConfigError(f"kv_block_size_tokens = {block_size_tokens}; it must be >= 1.")
        self.num_total_blocks = int(num_blocks)
        self.block_size_tokens = int(block_size_tokens)
        self.num_free_blocks = int(num_blocks)
        self.num_private_blocks = 0
        self.num_cached_blocks = 0
        self.reclaimer: Reclaimer | None = None

    # ---- queries ----
    @property
    def num_evictable_blocks(self) -> int:
        return 0 if self.reclaimer is None else self.reclaimer.num_evictable_blocks

    @property
    def num_available_blocks(self) -> int:
        """Free plus evictable: what an allocation could obtain right now."""
        rec = self.reclaimer  # NOTE: inlined num_evictable_blocks, for performance
        return self.num_free_blocks + (0 if rec is None else rec.num_evictable_blocks)

    @property
    def num_used_blocks(self) -> int:
        return self.num_private_blocks + self.num_cached_blocks

    def usage_frac(self) -> float:
        """Blocks not free (private + cached, including evictable cache) over total."""
        return 1.0 - self.num_free_blocks / self.num_total_blocks

    def can_allocate(self, num_blocks: int, *, watermark_blocks: int = 0) -> bool:
        """Admission test: after taking ``num_blocks``, at least ``watermark_blocks`` remain."""
        return self.num_available_blocks - num_blocks >= watermark_blocks

    def can_append(self, num_blocks: int = 1) -> bool:
        """Growth test for running sequences (no watermark, as in vLLM)."""
        return self.num_available_blocks >= num_blocks

    # ---- private blocks ----
    def allocate(self, num_blocks: int) -> None:
        """Take ``num_blocks`` private blocks, evicting cached blocks if free ones run out."""
        if num_blocks < 0:
            raise SimulationError(f"allocate({num_blocks}): negative block count.")
        short = num_blocks - self.num_free_blocks
        if short > 0:
            released = 0 if self.reclaimer is None else self.reclaimer.evict_blocks(short)
            if released < short:
                raise SimulationError(
                    f"allocate({num_blocks}) with {self.num_free_blocks} free blocks; eviction "
                    f"released {released} of {short}. The scheduler must check can_allocate first."
                )
        self.num_free_blocks -= num_blocks
        self.num_private_blocks += num_blocks

    def append_slot(self, num_blocks: int) -> None:
        """A growing sequence takes more blocks; the same accounting as ``allocate``."""
        self.allocate(num_blocks)

    def free(self, num_blocks: int) -> None:
        """Return ``num_blocks`` private blocks to the free pool."""
        if num_blocks < 0 or num_blocks > self.num_private_blocks:
            raise SimulationError(
                f"free({num_blocks}) with {self.num_private_blocks} private blocks in use."
            )
        self.num_private_blocks -= num_blocks
        self.num_free_blocks += num_blocks

    # ---- cached blocks (driven by the prefix cache) ----
    def private_to_cached(self, num_blocks: int) -> None:
        """A sequence's full private blocks become a cache entry (no copy, no new memory)."""
        if num_blocks < 0 or num_blocks > self.num_private_blocks:
            raise SimulationError(
                f"private_to_cached({num_blocks}) with {self.num_private_blocks} private blocks."
            )
        self.num_private_blocks -= num_blocks
        self.num_cached_blocks += num_blocks

    def cache_new(self, num_blocks: int) -> None:
        """Allocate blocks directly into the cache (a promotion from a lower KV tier)."""
        self.allocate(num_blocks)
        self.private_to_cached(num_blocks)

    def uncache(self, num_blocks: int) -> None:
        """An evicted cache entry's blocks become free."""
        if num_blocks < 0 or num_blocks > self.num_cached_blocks:
            raise SimulationError(
                f"uncache({num_blocks}) with {self.num_cached_blocks} cached blocks."
            )
        self.num_cached_blocks -= num_blocks
        self.num_free_blocks += num_blocks

    def check(self) -> None:
        """Raise SimulationError if the accounting invariant is broken."""
        parts = (self.num_free_blocks, self.num_private_blocks, self.num_cached_blocks)
        if min(parts) < 0 or sum(parts) != self.num_total_blocks:
            raise SimulationError(
                f"KV block accounting broken: free {parts[0]} + private {parts[1]} + cached "
                f"{parts[2]} != total {self.num_total_blocks}."
            )
        if self.num_evictable_blocks > self.num_cached_blocks:
            raise SimulationError(
                f"evictable blocks {self.num_evictable_blocks} exceed cached {self.num_cached_blocks}."
            )
