"""A request's state on one replica (``Seq``) and one forward step's contents (``StepPlan``).

Units: tokens and KV blocks; seconds for the time a step cannot end before. These are the
nouns the batching policy (scheduler.py), the memory primitives (admission.py), the decode
and prefill jumps (fastpath.py, prefill_jump.py) and the engine (replica.py) share, so they
live here, below all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from tokenworks.serving.request import Request

__all__ = ["Seq", "SeqState", "StepPlan"]


class SeqState(Enum):
    WAITING = "waiting"  # queued (new, or preempted by recompute)
    LOADING = "loading"  # admitted; waiting for KV from a lower tier (blocking load)
    PREFILL = "prefill"  # admitted; prompt partly computed
    DECODE = "decode"
    SWAPPED = "swapped"  # preempted by swap; KV in host memory
    DONE = "done"


class Seq:
    """The scheduler's per-request state on one replica."""

    __slots__ = (
        "admitted_index", "base", "computed", "finish_round", "load_handle", "load_s",
        "private_blocks",
        "req", "residue", "serial", "shared", "shared_tokens", "state", "swapped_tokens",
        "target",
    )

    def __init__(self, req: Request, serial: int) -> None:
        self.req = req
        self.serial = serial
        self.state = SeqState.WAITING
        self.target = req.prompt_tokens + req.num_output_done  # tokens to (re)compute
        self.computed = 0  # prefill tokens in KV (cached or computed)
        self.shared: list[int] = []  # prefix-cache hashes this sequence references
        self.shared_tokens = 0
        self.private_blocks = 0  # explicit while prefilling; derived from rounds while decoding
        self.base = 0  # decoding: num_output_done == replica rounds - base
        self.residue = 0  # decoding: needs a new block when rounds % block == residue
        self.finish_round = 0
        self.admitted_index = 0
        self.load_handle: list | None = None  # pending blocking tier load (an EventHandle)
        self.load_s = 0.0  # overlapped tier load still to hide behind the first chunk
        self.swapped_tokens = 0

    def __lt__(self, other: Seq) -> bool:  # heap tie-break
        return self.serial < other.serial


@dataclass(slots=True)
class StepPlan:
    """One forward step: prefill chunks, the decode batch, and extra time (swaps, loads)."""

    prefills: list[tuple[Seq, int]] = field(default_factory=list)
    num_decode_seqs: int = 0
    decode_kv_tokens: int = 0
    num_prefill_tokens: int = 0
    prefill_attention_pairs: float = 0.0
    prefill_kv_tokens: int = 0
    extra_s: float = 0.0  # swap traffic charged to this step
    min_s: float = 0.0  # overlapped tier loads the step cannot finish before

    def add_chunk(self, seq: Seq, chunk: int) -> None:
        p = seq.computed
        self.prefills.append((seq, chunk))
        self.num_prefill_tokens += chunk
        # Causal attention of c new queries after p cached keys: c·p + c(c+1)/2 pairs.
        self.prefill_attention_pairs += chunk * p + chunk * (chunk + 1) / 2
        self.prefill_kv_tokens += p + chunk
        if seq.load_s > self.min_s:
            self.min_s = seq.load_s
        seq.load_s = 0.0

    @property
    def empty(self) -> bool:
        return not self.prefills and self.num_decode_seqs == 0
