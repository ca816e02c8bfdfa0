"""One inference request: what the workload asks for and what the simulator observed.

Units: instants are ``*_at_s`` (seconds since simulation start), sizes are token counts.
Inputs are set by the workload; outputs are filled in by the replica(s) that serve it. A
``Request`` is plain mutable state (``@dataclass(slots=True)``); the scheduler keeps its own
per-admission bookkeeping elsewhere so this record stays readable.

``prefix_hashes`` follow vLLM automatic prefix caching and Mooncake ``hash_ids``: hash ``i``
identifies the whole token prefix up to the end of block ``i`` (each block is
``prefix_block_tokens`` tokens), so equal hash ``i`` implies equal hashes ``0..i-1``. Hashes may
extend past the prompt to cover generated tokens; those blocks are cached when the request
finishes, so the next call of an agentic session or chat turn can hit them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokenworks.errors import ConfigError

__all__ = ["Request"]


@dataclass(slots=True)
class Request:
    """A request and, once simulated, its timeline."""

    request_id: int
    arrived_at_s: float
    prompt_tokens: int
    output_tokens: int
    prefix_hashes: tuple[int, ...] = ()
    prefix_block_tokens: int = 16
    priority: int = 0  # lower value is served first under queue="priority" (as vLLM)
    session_id: int | None = None
    tags: dict[str, object] | None = None
    record_token_times: bool = False  # keep every token's time (for inter-token latency)

    # ---- outputs, filled by the simulator ----
    replica_id: int | None = None  # replica that produced the last token
    prefill_replica_id: int | None = None  # replica that ran the prefill (differs when disaggregated)
    scheduled_at_s: float | None = None  # first admission into a running batch
    first_token_at_s: float | None = None
    finished_at_s: float | None = None
    num_output_done: int = 0
    cached_tokens: int = 0  # prompt tokens served from cache at first admission (all tiers)
    cached_tokens_by_tier: dict[str, int] = field(default_factory=dict)
    num_preemptions: int = 0
    rejected: bool = False
    reject_reason: str | None = None
    token_times_s: list[float] | None = None

    def validate(self) -> None:
        """Raise ConfigError if the inputs cannot be simulated."""
        # NOTE: one combined test for valid requests (the checks below name the problem),
        # for performance.
        if self.prompt_tokens >= 1 and self.output_tokens >= 1 and \
                self.prefix_block_tokens >= 1 and self.arrived_at_s >= 0.0:
            return
        if self.prompt_tokens < 1:
            raise ConfigError(
                f"request {self.request_id}: prompt_tokens = {self.prompt_tokens}; it must be >= 1."
            )
        if self.output_tokens < 1:
            raise ConfigError(
                f"request {self.request_id}: output_tokens = {self.output_tokens}; it must be >= 1 "
                "(the first token comes from the prefill step)."
            )
        if self.prefix_block_tokens < 1:
            raise ConfigError(
                f"request {self.request_id}: prefix_block_tokens = {self.prefix_block_tokens}; "
                "it must be >= 1."
            )
        if not self.arrived_at_s >= 0.0:
            raise ConfigError(
                f"request {self.request_id}: arrived_at_s = {self.arrived_at_s!r} s; it must be >= 0."
            )

    @property
    def finished(self) -> bool:
        return self.finished_at_s is not None

    @property
    def ttft_s(self) -> float | None:
        if self.first_token_at_s is None:
            return None
        return self.first_token_at_s - self.arrived_at_s

    @property
    def e2e_s(self) -> float | None:
        if self.finished_at_s is None:
            return None
        return self.finished_at_s - self.arrived_at_s

    @property
    def tpot_s(self) -> float | None:
        """Mean time per output token after the first (None for single-token outputs)."""
        if self.finished_at_s is None or self.first_token_at_s is None or self.output_tokens < 2:
            return None
        return (self.finished_at_s - self.first_token_at_s) / (self.output_tokens - 1)

    @property
    def queued_s(self) -> float | None:
        if self.scheduled_at_s is None:
            return None
        return self.scheduled_at_s - self.arrived_at_s
