"""One serving replica: an engine loop around the batching policy (scheduler.py).

Units: seconds, tokens, KV blocks, bytes. A replica runs forward steps back to back while it
has work; each step's latency comes from one call to ``cost.step_time_s`` (the perf layer's
``StepCostModel`` or any object with that method). Requests enter with ``submit`` at
``env.now_s`` and leave through ``on_finish`` (finished or rejected).

Decode state is kept as running sums, so a step costs O(changes), not O(batch): a global
decode-round counter ``rounds`` (every running decode advances one token per decode step),
each decoder's ``base`` (its output count is ``rounds - base``), the sum of contexts, a count of
decoders per KV-block residue (who needs a new block at which round) and a heap of finish
rounds. When the batch is pure decode and nothing can change, fastpath.py jumps many steps at
once; ``config.exact=True`` runs every step through the same code for checking.

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
from tokenworks.serving import admission, fastpath
from tokenworks.serving.block_manager import BlockManager, blocks_for_tokens
from tokenworks.serving.events import Environment, EventHandle, Priority
from tokenworks.serving.kv_tiers import TieredStore
from tokenworks.serving.metrics import ReplicaStats
from tokenworks.serving.prefix_cache import PREFIX_CACHES
from tokenworks.serving.queues import QUEUES
from tokenworks.serving.recorder import ReplicaStatsRecorder
from tokenworks.serving.replica_config import ReplicaConfig, StepCost, keyword_adapter
from tokenworks.serving.request import Request
from tokenworks.serving.scheduler import Seq, SeqState, StepPlan, schedule

__all__ = ["Replica", "ReplicaConfig", "StepCost"]  # (the last two from replica_config.py)


class Replica:
    """A model replica (one engine instance) serving requests with continuous batching."""

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
            self.blocks, self._demote if config.kv_tiers else None)
        self.waiting = QUEUES[config.queue]()
        self.swapped: deque[Seq] = deque()
        self.prefilling: list[Seq] = []
        self.running: dict[int, Seq] = {}  # admission order (FCFS victims come from the end)
        self._transferred: deque[Seq] = deque()
        self._pending_decoders: list[Seq] = []
        self._serial = 0
        # decode running sums
        self.rounds = 0
        self.num_decoding = 0
        self._sum_prompt_minus_base = 0
        self._residue_count = [0] * bs
        self._finish_heap: list[tuple[int, Seq]] = []
        self._recording: dict[int, Seq] = {}
        # engine loop
        self._busy = False
        self._wake_handle: EventHandle | None = None
        self.jump: fastpath.Jump | None = None
        self.decode_table = fastpath.DecodeTimeTable(cost)
        # (prefill tokens, pairs, prefill KV, decode seqs, decode KV) -> s, plain numbers.
        self.step_scalar = getattr(cost, "step_time_scalar_s", None) or keyword_adapter(cost)
        self.rec = ReplicaStatsRecorder(replica_id, record_steps=config.record_steps)

    # ------------------------------------------------------------------ public API
    def submit(self, request: Request) -> None:
        """A request reaches this replica at ``env.now_s``."""
        request.validate()
        cfg, bs = self.config, self.block_size
        if cfg.prefix_cache != "none" and request.prefix_hashes and \
                request.prefix_block_tokens % bs:
            raise ConfigError(
                f"request {request.request_id}: prefix_block_tokens = "
                f"{request.prefix_block_tokens} is not a multiple of the KV block size {bs}; "
                "prefix blocks must cover whole KV blocks."
            )
        self._serial += 1
        seq = Seq(request, self._serial)
        total = self.blocks.num_total_blocks
        # NOTE: blocks_for_tokens inlined (ceiling division), for performance.
        need_all = -(-(request.prompt_tokens + request.output_tokens - 1) // bs)
        need_prompt = -(-seq.target // bs)
        if need_all > total or need_prompt > total - self.watermark_blocks:
            request.rejected = True
            request.reject_reason = (
                f"kv_capacity: needs {need_all} KV blocks of {bs} tokens; replica "
                f"{self.replica_id} has {total} ({self.watermark_blocks} kept as watermark)"
            )
            self.rec.num_rejected += 1
            self.on_finish(request)
            return
        if request.record_token_times and request.token_times_s is None:
            request.token_times_s = []
        self.rec.num_submitted += 1
        if cfg.role == "decode":
            if request.num_output_done >= request.output_tokens:
                self._finish_now(seq)
                return
            self._transferred.append(seq)
        else:
            self.waiting.push(seq)
        self._poke()

    # A prefill jump admits queued prompts at its steps' starts but moves them out of the
    # queue only when it ends: the counts below include the admissions begun so far.
    @property
    def num_waiting(self) -> int:
        return (len(self.waiting) + len(self.swapped) + len(self._transferred)
                - fastpath.admissions_started(self))

    @property
    def num_running(self) -> int:
        return len(self.running) + fastpath.admissions_started(self)

    @property
    def num_outstanding(self) -> int:
        return len(self.waiting) + len(self.swapped) + len(self._transferred) + len(self.running)

    @property
    def kv_usage_frac(self) -> float:
        """KV blocks held by running sequences (private + referenced cache) over total."""
        blocks = self.blocks
        total = blocks.num_total_blocks
        used = total - blocks.num_available_blocks
        if self.jump is not None:
            used += fastpath.blocks_started(self)
        return min(1.0, used / total)

    def cached_prefix_tokens(self, request: Request) -> int:
        """Prompt tokens this replica could serve from cache (HBM or lower tiers); read-only."""
        pbt = request.prefix_block_tokens
        hashes = request.prefix_hashes
        max_units = min(len(hashes), (request.prompt_tokens - 1) // pbt)
        j = self.cache.match(hashes, max_units)
        if self.tiers and self.config.prefix_cache != "none":
            while j < max_units and self.tiers.find(hashes[j]) is not None:
                j += 1
        return j * pbt

    def stats(self) -> ReplicaStats:
        return self.rec.snapshot(self)

    def drain_check(self) -> None:
        """Raise SimulationError unless the replica is idle with every private block returned."""
        self.blocks.check()
        if self.num_outstanding or self._busy or self.blocks.num_private_blocks:
            raise SimulationError(
                f"replica {self.replica_id} not drained: {self.num_waiting} waiting, "
                f"{self.num_running} running, busy={self._busy}, "
                f"{self.blocks.num_private_blocks} private KV blocks still held."
            )
        referenced = self.blocks.num_cached_blocks - self.cache.num_evictable_blocks
        if referenced:
            raise SimulationError(f"replica {self.replica_id}: {referenced} cached KV blocks "
                                  "still referenced after draining.")

    # ------------------------------------------------------------------ memory primitives
    # The functions of admission.py, as the methods scheduler.schedule calls.
    def can_admit_head(self) -> bool:
        return admission.can_admit_head(self)

    def admit(self, seq: Seq, budget: int, plan: StepPlan) -> int | None:
        return admission.admit(self, seq, budget, plan)

    def admit_transferred(self) -> None:
        admission.admit_transferred(self)

    def chunk_for(self, seq: Seq, budget: int, plan: StepPlan) -> int:
        return admission.chunk_for(self, seq, budget, plan)

    def blocks_for_chunk(self, seq: Seq, chunk: int) -> int:
        return admission.blocks_for_chunk(self, seq, chunk)

    def take_chunk_blocks(self, seq: Seq, chunk: int, need: int) -> None:
        admission.take_chunk_blocks(self, seq, chunk, need)

    def pick_victim(self) -> Seq:
        return admission.pick_victim(self)

    def preempt(self, seq: Seq, plan: StepPlan) -> None:
        admission.preempt(self, seq, plan)

    def swap_in(self, seq: Seq, plan: StepPlan) -> bool:
        return admission.swap_in(self, seq, plan)

    # ------------------------------------------------------------------ engine loop
    def _poke(self) -> None:
        """New work: wake an idle engine, or cut a decode jump at the step in progress."""
        if self.jump is not None:
            # Blocked now (with the jump's blocks not yet taken) means blocked until it ends:
            # during a jump free blocks only shrink. Otherwise cut the jump.
            if fastpath.invalidated(self):
                fastpath.interrupt(self)
        elif not self._busy and self._wake_handle is None:
            self._wake_handle = self.env.schedule(0.0, Priority.SCHEDULE, self._wake)

    def _wake(self) -> None:
        self._wake_handle = None
        if not self._busy:
            self._next_step()

    def _next_step(self) -> None:
        if not self.config.exact and fastpath.try_jump(self):
            return
        plan = schedule(self)
        for _ in range(3):
            if not plan.empty or not (self.prefilling or self.num_decoding):
                break
            # Preemptions (or swap-ins) late in the pass freed memory or added decoders after
            # their phase was formed: form the step again (each pass only removes work).
            again = schedule(self)
            again.extra_s += plan.extra_s
            plan = again
        if plan.empty:
            self._busy = False
            if (self.prefilling or self.num_decoding) and not self._pending_decoders:
                raise SimulationError(
                    f"replica {self.replica_id} formed an empty step with {len(self.prefilling)} "
                    f"prompts and {self.num_decoding} decodes running at t={self.env.now_s} s; "
                    f"free KV blocks {self.blocks.num_free_blocks}.")
            return
        dt = self.step_scalar(plan.num_prefill_tokens, plan.prefill_attention_pairs,
                              plan.prefill_kv_tokens, plan.num_decode_seqs,
                              plan.decode_kv_tokens)
        dt = max(float(dt), plan.min_s) + plan.extra_s
        self._busy = True
        if not self.config.exact and fastpath.try_extend(self, plan, dt):
            return
        self.rec.step_started(plan, dt, self.env.now_s)
        self.env.schedule(dt, Priority.STEP_END, self._step_end, plan)

    def _step_end(self, plan: StepPlan) -> None:
        now = self.env.now_s
        if plan.num_decode_seqs:
            self.advance_rounds(1, (now,))
        for seq, chunk in plan.prefills:
            seq.computed += chunk
            if seq.computed == seq.target:
                self._prefill_complete(seq, now)
        self._join_pending()
        self.rec.sample_kv(now, self.kv_usage_frac)
        self._next_step()

    def advance_rounds(self, k: int, times) -> None:
        """Commit k decode rounds (their blocks were allocated) and finish who is done."""
        for seq in self._recording.values():
            token_times = seq.req.token_times_s
            assert token_times is not None  # recording sequences have a list
            token_times.extend(times)
        self.rounds += k
        heap, now = self._finish_heap, self.env.now_s
        while heap and heap[0][0] <= self.rounds:
            r, seq = heapq.heappop(heap)
            if seq.state is SeqState.DECODE and seq.finish_round == r:
                if r != self.rounds:
                    raise SimulationError(f"sequence {seq.req.request_id} overshot its finish.")
                if seq.req.prefix_hashes or seq.shared or self._recording:
                    self._leave_decode(seq)
                    self._finish(seq, now)
                else:
                    self._finish_plain(seq, now)

    def _finish_plain(self, seq: Seq, now: float) -> None:
        """_leave_decode + _finish for a sequence with no prefix blocks, no token recording.

        NOTE: the same updates in one call (no cache registration to do), for performance.
        """
        req = seq.req
        req.num_output_done = done = self.rounds - seq.base
        self._residue_count[seq.residue] -= 1
        self._sum_prompt_minus_base -= req.prompt_tokens - seq.base
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
        return self._residue_count[self.rounds % self.block_size]

    def decode_kv_tokens(self) -> int:
        return self._sum_prompt_minus_base + self.num_decoding * self.rounds

    def _join_decode(self, seq: Seq) -> None:
        req = seq.req
        seq.state = SeqState.DECODE
        seq.base = self.rounds - req.num_output_done
        # New block needed when private tokens before the step, P + d - 1 - shared, hit a multiple
        # of the block size, with d = rounds - base.
        seq.residue = (seq.base + seq.shared_tokens + 1 - req.prompt_tokens) % self.block_size
        seq.finish_round = seq.base + req.output_tokens
        self._residue_count[seq.residue] += 1
        self._sum_prompt_minus_base += req.prompt_tokens - seq.base
        self.num_decoding += 1
        heapq.heappush(self._finish_heap, (seq.finish_round, seq))
        if req.token_times_s is not None:
            self._recording[seq.serial] = seq

    def _leave_decode(self, seq: Seq) -> None:
        req = seq.req
        req.num_output_done = self.rounds - seq.base
        seq.private_blocks = blocks_for_tokens(
            req.prompt_tokens + req.num_output_done - 1 - seq.shared_tokens, self.block_size)
        self._residue_count[seq.residue] -= 1
        self._sum_prompt_minus_base -= req.prompt_tokens - seq.base
        self.num_decoding -= 1
        self._recording.pop(seq.serial, None)

    def _join_pending(self) -> None:
        for seq in self._pending_decoders:
            self._join_decode(seq)
        self._pending_decoders.clear()

    # ------------------------------------------------------------------ lifecycle
    def _prefill_complete(self, seq: Seq, now: float) -> None:
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
        self._cache_units(seq, seq.target)
        if self.config.role == "prefill":
            # ASSUMPTION: the KV leaves HBM as soon as the prefill ends (transfer buffers are
            # not modelled); the cluster layer times the transfer.
            self._release(seq)
            seq.state = SeqState.DONE
            self.rec.num_prefilled += 1
            if self.on_prefill_done is not None:
                self.on_prefill_done(req)
            return
        if req.num_output_done >= req.output_tokens:
            self._finish(seq, now)
        else:
            self._pending_decoders.append(seq)

    def _finish(self, seq: Seq, now: float) -> None:
        req = seq.req
        kv_tokens = req.prompt_tokens + req.num_output_done - 1
        self._cache_units(seq, kv_tokens)
        self._release(seq)
        self._finish_now(seq)

    def _finish_now(self, seq: Seq) -> None:
        req = seq.req
        seq.state = SeqState.DONE
        req.finished_at_s = self.env.now_s
        req.replica_id = self.replica_id
        self.rec.request_finished(req)
        self.on_finish(req)

    def _release(self, seq: Seq) -> None:
        """Return a sequence's KV: private blocks freed, cache references dropped."""
        self.running.pop(seq.serial, None)
        self.blocks.free(seq.private_blocks)
        seq.private_blocks = 0
        if seq.shared:
            self.cache.release(seq.shared)
            seq.shared = []
            seq.shared_tokens = 0

    def _cache_units(self, seq: Seq, kv_tokens: int) -> None:
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

    def _demote(self, block_hash: int, num_blocks: int) -> None:
        self.tiers.demote(block_hash, num_blocks * self.block_size * self.kv_bytes_per_token)
