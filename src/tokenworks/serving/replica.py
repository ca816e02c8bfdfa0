"""One serving replica: the engine loop around the batching policy.

Units: seconds, tokens, KV blocks, bytes. A replica runs forward steps back to back while it
has work; each step's latency comes from one call to ``cost.step_time_s`` (the perf layer's
``StepCostModel`` or any object with that method). Requests enter with ``submit`` at
``env.now_s`` and leave through ``on_finish`` (finished or rejected).

``Replica`` extends the scheduler's state (engine_state.py: queues, KV memory, decode sums)
with the loop: ``poke`` wakes it, ``next_step`` forms a step with ``scheduler.schedule`` under
the configured policy (``scheduler.POLICIES``) and schedules its end. When the batch is pure
decode and nothing can change, fastpath.py jumps many steps at once; ``config.exact=True``
runs every step through the same code for checking.
"""

from __future__ import annotations

from collections.abc import Callable

from tokenworks.errors import ConfigError, SimulationError
from tokenworks.serving import fastpath
from tokenworks.serving.engine_state import ReplicaState
from tokenworks.serving.events import Environment, EventHandle, Priority
from tokenworks.serving.metrics import ReplicaStats
from tokenworks.serving.replica_config import ReplicaConfig, StepCost
from tokenworks.serving.request import Request
from tokenworks.serving.scheduler import POLICIES, schedule
from tokenworks.serving.seq import Seq, StepPlan

__all__ = ["Replica", "ReplicaConfig", "StepCost"]  # (the last two from replica_config.py)


class Replica(ReplicaState):
    """A model replica (one engine instance) serving requests with continuous batching."""

    def __init__(self, *, replica_id: int, env: Environment, cost: StepCost,
                 kv_capacity_blocks: int, kv_block_size_tokens: int, kv_bytes_per_token: float,
                 config: ReplicaConfig | None = None, on_finish: Callable[[Request], None],
                 on_prefill_done: Callable[[Request], None] | None = None) -> None:
        config = config or ReplicaConfig()
        policy = POLICIES.get(config.policy)
        if policy is None:
            raise ConfigError(f"replica policy = {config.policy!r} is not valid; choose one of "
                              f"{', '.join(POLICIES)}.")
        super().__init__(replica_id=replica_id, env=env, cost=cost,
                         kv_capacity_blocks=kv_capacity_blocks,
                         kv_block_size_tokens=kv_block_size_tokens,
                         kv_bytes_per_token=kv_bytes_per_token, config=config,
                         on_finish=on_finish, on_prefill_done=on_prefill_done)
        self.policy = policy
        # NOTE: prefill jumps plan whole-budget chunks; a per-prompt cap runs step by step.
        self.prefill_jumps = policy.plans_prefill_jumps and config.max_prefill_chunk_tokens == 0
        self._wake_handle: EventHandle | None = None

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
        self.num_seqs_created += 1
        seq = Seq(request, self.num_seqs_created)
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
                self.finish_now(seq)
                return
            self.transferred.append(seq)
        else:
            self.waiting.push(seq)
        self.poke()

    # A prefill jump admits queued prompts at its steps' starts but moves them out of the
    # queue only when it ends: the counts below include the admissions begun so far.
    @property
    def num_waiting(self) -> int:
        return (len(self.waiting) + len(self.swapped) + len(self.transferred)
                - fastpath.admissions_started(self))

    @property
    def num_running(self) -> int:
        return len(self.running) + fastpath.admissions_started(self)

    @property
    def num_outstanding(self) -> int:
        return len(self.waiting) + len(self.swapped) + len(self.transferred) + len(self.running)

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
        return self.rec.snapshot(self.cost, self.tiers)

    def drain_check(self) -> None:
        """Raise SimulationError unless the replica is idle with every private block returned."""
        self.blocks.check()
        if self.num_outstanding or self.busy or self.blocks.num_private_blocks:
            raise SimulationError(
                f"replica {self.replica_id} not drained: {self.num_waiting} waiting, "
                f"{self.num_running} running, busy={self.busy}, "
                f"{self.blocks.num_private_blocks} private KV blocks still held."
            )
        referenced = self.blocks.num_cached_blocks - self.cache.num_evictable_blocks
        if referenced:
            raise SimulationError(f"replica {self.replica_id}: {referenced} cached KV blocks "
                                  "still referenced after draining.")

    # ------------------------------------------------------------------ engine loop
    def poke(self) -> None:
        """New work: wake an idle engine, or cut a decode jump at the step in progress."""
        if self.jump is not None:
            # Blocked now (with the jump's blocks not yet taken) means blocked until it ends:
            # during a jump free blocks only shrink. Otherwise cut the jump.
            if fastpath.invalidated(self):
                fastpath.interrupt(self)
        elif not self.busy and self._wake_handle is None:
            self._wake_handle = self.env.schedule(self.env.now_s, Priority.SCHEDULE, self._wake)

    def _wake(self) -> None:
        self._wake_handle = None
        if not self.busy:
            self.next_step()

    def next_step(self) -> None:
        if not self.config.exact and fastpath.try_jump(self):
            return
        plan = schedule(self, self.policy)
        for _ in range(3):
            if not plan.empty or not (self.prefilling or self.num_decoding):
                break
            # Preemptions (or swap-ins) late in the pass freed memory or added decoders after
            # their phase was formed: form the step again (each pass only removes work).
            again = schedule(self, self.policy)
            again.extra_s += plan.extra_s
            plan = again
        if plan.empty:
            self.busy = False
            if (self.prefilling or self.num_decoding) and not self.pending_decoders:
                raise SimulationError(
                    f"replica {self.replica_id} formed an empty step with {len(self.prefilling)} "
                    f"prompts and {self.num_decoding} decodes running at t={self.env.now_s} s; "
                    f"free KV blocks {self.blocks.num_free_blocks}.")
            return
        dt = self.step_scalar(plan.num_prefill_tokens, plan.prefill_attention_pairs,
                              plan.prefill_kv_tokens, plan.num_decode_seqs,
                              plan.decode_kv_tokens)
        dt = max(float(dt), plan.min_s) + plan.extra_s
        self.busy = True
        if not self.config.exact and fastpath.try_extend(self, plan, dt):
            return
        self.rec.step_started(plan, dt, self.env.now_s)
        self.env.schedule(self.env.now_s + dt, Priority.STEP_END, self._step_end, plan)

    def _step_end(self, plan: StepPlan) -> None:
        now = self.env.now_s
        if plan.num_decode_seqs:
            self.advance_rounds(1, (now,))
        for seq, chunk in plan.prefills:
            seq.computed += chunk
            if seq.computed == seq.target:
                self.prefill_complete(seq, now)
        self.join_pending()
        self.rec.sample_kv(now, self.kv_usage_frac)
        self.next_step()
