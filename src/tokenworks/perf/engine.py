"""The serving engine's limits, and the one rule they obey wherever they are used.

Units: tokens, sequences, fractions. ``max_num_seqs`` caps the sequences in a batch,
``max_num_batched_tokens`` the tokens of one step (every running decode plus prefill chunks),
``gpu_memory_utilization_frac`` the share of device memory the engine may use (vLLM names).
The estimator (``perf.estimator``) and the simulator's replicas (``serving``) check the same
rule here, so a setting one accepts the other accepts too.
"""

from __future__ import annotations

from tokenworks.errors import ConfigError, check_range

__all__ = ["check_batch", "check_engine_limits"]


def check_engine_limits(*, max_num_seqs: int, max_num_batched_tokens: int) -> None:
    """vLLM's rule: every running decode needs a token of the step's budget, so
    ``max_num_batched_tokens >= max_num_seqs``."""
    for name, v in (("max_num_seqs", max_num_seqs),
                    ("max_num_batched_tokens", max_num_batched_tokens)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} = {v!r} must be a whole number >= 1.")
    if max_num_batched_tokens < max_num_seqs:
        raise ConfigError(
            f"max_num_batched_tokens = {max_num_batched_tokens} is below max_num_seqs = "
            f"{max_num_seqs}; every running decode needs a token each step (vLLM rule). "
            "Raise max_num_batched_tokens or lower max_num_seqs.")


def check_batch(batch: int, *, max_num_seqs: int, max_num_batched_tokens: int) -> None:
    """A batch the engine can run: at most ``max_num_seqs`` sequences, each decoding one token
    within the step's ``max_num_batched_tokens``."""
    check_range("batch", batch, low=1)
    if batch > max_num_seqs:
        raise ConfigError(f"batch = {batch} exceeds max_num_seqs = {max_num_seqs}, the engine's "
                          f"cap on concurrent sequences. Lower the batch or raise "
                          f"--max-num-seqs.")
    if batch > max_num_batched_tokens:
        raise ConfigError(f"batch = {batch} decodes {batch} tokens a step, more than "
                          f"max_num_batched_tokens = {max_num_batched_tokens}. Lower the batch "
                          f"or raise --max-num-batched-tokens.")
