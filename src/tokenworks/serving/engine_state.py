"""The state of one replica's scheduler and the memory primitives every engine module shares.

Units: seconds, tokens, KV blocks, bytes. ``ReplicaState`` holds what nano-vllm's scheduler
holds — the queues (``waiting``, ``swapped``, ``transferred``), the running set, the
``BlockManager``, the prefix cache and KV tiers — plus the decode running sums and the
lifecycle steps every part of the engine performs the same way (join and leave the decodes,
complete a prompt, finish, release KV, register prefix blocks). Above it: the memory
primitives (admission.py), the batching policies (scheduler.py), the decode and prefill
jumps (fastpath.py, prefill_jump.py) and the engine loop (``Replica`` in replica.py, which
subclasses this class and supplies ``poke`` and ``next_step``). The modules form a chain,
each importing only those below it.

Decode state is kept as running sums, so a step costs O(changes), not O(batch): a global
decode-round counter ``rounds`` (every running decode advances one token per decode step),
each decoder's ``base`` (its output count is ``rounds - base``), the sum of contexts, a count of
decoders per KV-block residue (who needs a new block at which round) and a heap of finish
rounds.

Token conventions (vLLM): the step that computes the last prompt token also samples the first
output token; a decode step for a sequence with ``d`` tokens out writes the KV of token ``d``
and reads a context of ``prompt + d`` tokens; a finished sequence held ``prompt + n - 1`` KV
tokens.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable

from tokenworks.errors import ConfigError, SimulationError
from tokenworks.serving.block_manager import BlockManager, blocks_for_tokens
from tokenworks.serving.events import Environment
from tokenworks.serving.jump import DecodeTimeTable, Jump
from tokenworks.serving.kv_tiers import TieredStore
from tokenworks.serving.prefix_cache import PREFIX_CACHES
from tokenworks.serving.queues import QUEUES
from tokenworks.serving.recorder import ReplicaStatsRecorder
from tokenworks.serving.replica_config import ReplicaConfig, StepCost, keyword_adapter
from tokenworks.serving.request import Request
from tokenworks.serving.seq import Seq, SeqState

__all__ = ["ReplicaState"]


class ReplicaState:
    """A replica's queues, KV memory and decode sums, and the lifecycle steps on them."""

    def __init__(self, *, replica_id: int, env: Environment, cost: StepCost,
                 kv_capacity_blocks: int, kv_block_size_tokens: int, kv_bytes_per_token: float,
                 config: ReplicaConfig | None = None, on_finish: Callable[[Request], None],
                 on_prefill_done: Callable[[Request], None] | None = None) -> None:
        self.replica_id = replica_id
        self.env = env
        self.cost = cost
        self.config = config = config or ReplicaConfig()
        if not kv_bytes_per_token > 0:
            raise ConfigError(f"kv_bytes_per_token = {kv_bytes_per_token}; it must be > 0.")
        self.kv_bytes_per_token = float(kv_bytes_per_token)
        self.on_finish = on_finish
        self.on_prefill_done = on_prefill_done
        self.blocks = BlockManager(kv_capacity_blocks, kv_block_size_tokens)
        self.block_size = bs = self.blocks.block_size_tokens
        self.watermark_blocks = int(config.watermark_frac * self.blocks.num_total_blocks)
        self.tiers = TieredStore(config.kv_tiers)
        self.cache = PREFIX_CACHES[config.prefix_cache](
            self.blocks, self.demote if config.kv_tiers else None)
        self.waiting = QUEUES[config.queue]()
        self.swapped: deque[Seq] = deque()
        self.prefilling: list[Seq] = []
        self.running: dict[int, Seq] = {}  # admission order (FCFS victims come from the end)
        self.transferred: deque[Seq] = deque()
        self.pending_decoders: list[Seq] = []
        self.num_seqs_created = 0
        # decode running sums
        self.rounds = 0
        self.num_decoding = 0
        self.sum_prompt_minus_base = 0
        self.residue_count = [0] * bs
        self.finish_heap: list[tuple[int, Seq]] = []
        self.recording: dict[int, Seq] = {}
        # engine loop (replica.py) and its jumps (fastpath.py)
        self.busy = False
        # the batching policy's steps can be planned as prefill jumps (Replica sets it)
        self.prefill_jumps = False
        self.jump: Jump | None = None
        self.decode_table = DecodeTimeTable(cost)
        # (prefill tokens, pairs, prefill KV, decode seqs, decode KV) -> s, plain numbers.
        self.step_scalar = getattr(cost, "step_time_scalar_s", None) or keyword_adapter(cost)
        self.rec = ReplicaStatsRecorder(replica_id, record_steps=config.record_steps)

    def advance_rounds(self, k: int, times) -> None:
        """Commit k decode rounds (their blocks were allocated) and finish who is done."""
        for seq in self.recording.values():
            token_times = seq.req.token_times_s
            assert token_times is not None  # recording sequences have a list
            token_times.extend(times)
        self.rounds += k
        heap, now = self.finish_heap, self.env.now_s
        while heap and heap[0][0] <= self.rounds:
            r, seq = heapq.heappop(heap)
            if seq.state is SeqState.DECODE and seq.finish_round == r:
                if r != self.rounds:
                    raise SimulationError(f"sequence {seq.req.request_id} overshot its finish.")
                if seq.req.prefix_hashes or seq.shared or self.recording:
                    self.leave_decode(seq)
                    self.finish(seq, now)
                else:
                    self.finish_plain(seq, now)

    def finish_plain(self, seq: Seq, now: float) -> None:
        """_leave_decode + _finish for a sequence with no prefix blocks, no token recording.

        NOTE: the same updates in one call (no cache registration to do), for performance.
        """
        req = seq.req
        req.num_output_done = done = self.rounds - seq.base
        self.residue_count[seq.residue] -= 1
        self.sum_prompt_minus_base -= req.prompt_tokens - seq.base
        self.num_decoding -= 1
        self.running.pop(seq.serial, None)
        self.blocks.free(blocks_for_tokens(req.prompt_tokens + done - 1 - seq.shared_tokens,
                                           self.block_size))
        seq.private_blocks = 0
        seq.state = SeqState.DONE
        req.finished_at_s = now
        req.replica_id = self.replica_id
        self.rec.num_finished += 1
        self.on_finish(req)

    # ------------------------------------------------------------------ decode running sums
    def decode_blocks_needed(self) -> int:
        return self.residue_count[self.rounds % self.block_size]

    def decode_kv_tokens(self) -> int:
        return self.sum_prompt_minus_base + self.num_decoding * self.rounds

    def join_decode(self, seq: Seq) -> None:
        req = seq.req
        seq.state = SeqState.DECODE
        seq.base = self.rounds - req.num_output_done
        # New block needed when private tokens before the step, P + d - 1 - shared, hit a multiple
        # of the block size, with d = rounds - base.
        seq.residue = (seq.base + seq.shared_tokens + 1 - req.prompt_tokens) % self.block_size
        seq.finish_round = seq.base + req.output_tokens
        self.residue_count[seq.residue] += 1
        self.sum_prompt_minus_base += req.prompt_tokens - seq.base
        self.num_decoding += 1
        heapq.heappush(self.finish_heap, (seq.finish_round, seq))
        if req.token_times_s is not None:
            self.recording[seq.serial] = seq

    def leave_decode(self, seq: Seq) -> None:
        req = seq.req
        req.num_output_done = self.rounds - seq.base
        seq.private_blocks = blocks_for_tokens(
            req.prompt_tokens + req.num_output_done - 1 - seq.shared_tokens, self.block_size)
        self.residue_count[seq.residue] -= 1
        self.sum_prompt_minus_base -= req.prompt_tokens - seq.base
        self.num_decoding -= 1
        self.recording.pop(seq.serial, None)

    def join_pending(self) -> None:
        for seq in self.pending_decoders:
            self.join_decode(seq)
        self.pending_decoders.clear()

    # ------------------------------------------------------------------ lifecycle
    def prefill_complete(self, seq: Seq, now: float) -> None:
        req = seq.req
        self.prefilling.remove(seq)
        req.num_output_done += 1
        if req.first_token_at_s is None:
            req.first_token_at_s = now
            req.prefill_replica_id = self.replica_id
        if req.token_times_s is not None:
            req.token_times_s.append(now)
        # ASSUMPTION: prefix blocks are registered when the prompt completes, not block by block
        # as vLLM does, so a twin request arriving mid-prefill misses (it dedups on insert).
        self.cache_units(seq, seq.target)
        if self.config.role == "prefill":
            # ASSUMPTION: the KV leaves HBM as soon as the prefill ends (transfer buffers are
            # not modelled); the cluster layer times the transfer.
            self.release(seq)
            seq.state = SeqState.DONE
            self.rec.num_prefilled += 1
            if self.on_prefill_done is not None:
                self.on_prefill_done(req)
            return
        if req.num_output_done >= req.output_tokens:
            self.finish(seq, now)
        else:
            self.pending_decoders.append(seq)

    def finish(self, seq: Seq, now: float) -> None:
        req = seq.req
        kv_tokens = req.prompt_tokens + req.num_output_done - 1
        self.cache_units(seq, kv_tokens)
        self.release(seq)
        self.finish_now(seq)

    def finish_now(self, seq: Seq) -> None:
        req = seq.req
        seq.state = SeqState.DONE
        req.finished_at_s = self.env.now_s
        req.replica_id = self.replica_id
        self.rec.request_finished(req)
        self.on_finish(req)

    def release(self, seq: Seq) -> None:
        """Return a sequence's KV: private blocks freed, cache references dropped."""
        self.running.pop(seq.serial, None)
        self.blocks.free(seq.private_blocks)
        seq.private_blocks = 0
        if seq.shared:
            self.cache.release(seq.shared)
            seq.shared = []
            seq.shared_tokens = 0

    def cache_units(self, seq: Seq, kv_tokens: int) -> None:
        """Register the sequence's full prefix blocks (its hashes) in the prefix cache."""
        req = seq.req
        hashes, pbt = req.prefix_hashes, req.prefix_block_tokens
        if not hashes or self.config.prefix_cache == "none":
            return
        unit_blocks = pbt // self.block_size
        i = len(seq.shared)
        # Full blocks only: the scheduler holds private blocks for every computed token.
        n = min(len(hashes), kv_tokens // pbt, i + seq.private_blocks // unit_blocks)
        if n <= i:
            return
        units = hashes[i:n]
        # Already-resident blocks are shared instead and our duplicates freed (dedup).
        duplicates = self.cache.insert_chain(units, hashes[i - 1] if i else None, unit_blocks)
        if duplicates:
            self.blocks.free(duplicates * unit_blocks)
        seq.private_blocks -= (n - i) * unit_blocks
        seq.shared.extend(units)
        seq.shared_tokens += (n - i) * pbt

    def demote(self, block_hash: int, num_blocks: int) -> None:
        self.tiers.demote(block_hash, num_blocks * self.block_size * self.kv_bytes_per_token)

    # ------------------------------------------------------------------ engine hooks
    def poke(self) -> None:
        """New work arrived (replica.py: wake the engine or cut a jump)."""
        raise NotImplementedError

    def next_step(self) -> None:
        """Form and start the next step (replica.py)."""
        raise NotImplementedError
