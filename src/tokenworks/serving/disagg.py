"""Disaggregated prefill/decode: the KV hand-off between pools over a shared link.

DistServe (Zhong et al., OSDI'24), Splitwise (Patel et al., ISCA'24), Mooncake (Qin et al.,
FAST'25) and Dynamo run prefill and decode on separate replicas, possibly on different
hardware. After a prefill replica produces the first token, the request's KV cache is sent to
a decode replica, which admits the request once the KV has arrived. Transfers leaving one
prefill replica share its egress bandwidth equally (processor sharing): with ``n`` transfers in
flight each moves at ``bandwidth / n``. Units: bytes, bytes/s, seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tokenworks.errors import check_range
from tokenworks.serving.events import Environment, EventHandle, Priority


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferSpec:
    bandwidth_bytes_per_s: float  # egress of one prefill replica
    latency_s: float = 0.0

    def __post_init__(self) -> None:
        check_range("transfer bandwidth", self.bandwidth_bytes_per_s, low=0.0,
                    low_inclusive=False, unit="B/s")
        check_range("transfer latency_s", self.latency_s, low=0.0, unit="s")


class _Flow:
    __slots__ = ("done", "remaining_bytes", "started_at_s", "total_bytes")

    def __init__(self, total_bytes: float, done: Callable[[], None], now_s: float) -> None:
        self.total_bytes = total_bytes
        self.remaining_bytes = total_bytes
        self.done = done
        self.started_at_s = now_s


class SharedLink:
    """A link whose bandwidth is split equally among the transfers in flight."""

    def __init__(self, env: Environment, spec: TransferSpec) -> None:
        self.env = env
        self.spec = spec
        self._flows: list[_Flow] = []
        self._last_s = env.now_s
        self._event: EventHandle | None = None
        self.bytes_sent = 0.0
        self.busy_s = 0.0
        self.num_transfers = 0
        self.transfer_time_s = 0.0  # summed over transfers (latency + sharing)

    @property
    def num_active(self) -> int:
        return len(self._flows)

    def send(self, num_bytes: float, done: Callable[[], None]) -> None:
        """Move ``num_bytes``; ``done()`` runs when the last byte (plus latency) arrives."""
        self.num_transfers += 1
        start = self.env.now_s

        def arrived() -> None:
            self.transfer_time_s += self.env.now_s - start
            done()

        if num_bytes <= 0:
            self.env.schedule(self.env.now_s + self.spec.latency_s, Priority.TRANSFER_DONE, arrived)
            return
        self._advance()
        self._flows.append(_Flow(num_bytes, arrived, self.env.now_s))
        self._reschedule()

    def _advance(self) -> None:
        """Drain bytes for the time since the last change at the shared rate."""
        now = self.env.now_s
        dt = now - self._last_s
        self._last_s = now
        if dt <= 0 or not self._flows:
            return
        self.busy_s += dt
        per_flow = self.spec.bandwidth_bytes_per_s / len(self._flows) * dt
        for f in self._flows:
            f.remaining_bytes -= per_flow

    def _reschedule(self) -> None:
        if self._event is not None:
            self.env.cancel(self._event)
            self._event = None
        if not self._flows:
            return
        rate = self.spec.bandwidth_bytes_per_s / len(self._flows)
        least = min(f.remaining_bytes for f in self._flows)
        self._event = self.env.schedule(self.env.now_s + max(least, 0.0) / rate, Priority.TRANSFER_DONE,
                                        self._complete)

    def _complete(self) -> None:
        self._event = None
        self._advance()
        # NOTE: tolerance of one byte absorbs float drift for performance (no exact rationals).
        finished = [f for f in self._flows if f.remaining_bytes <= 1.0]
        self._flows = [f for f in self._flows if f.remaining_bytes > 1.0]
        self._reschedule()
        for f in finished:
            self.bytes_sent += f.total_bytes
            self.env.schedule(self.env.now_s + self.spec.latency_s, Priority.TRANSFER_DONE, f.done)

    def utilization_frac(self, duration_s: float) -> float:
        return 0.0 if duration_s <= 0 else min(1.0, self.busy_s / duration_s)
