"""The background worker: long runs wait in a bounded queue and run on a few threads.

``JobQueue.submit`` refuses a job when ``max_queued`` jobs already wait (``QueueFull``, which
the API answers with 503 and the limit). Each job has its own cancel flag and progress;
``cancel`` stops a queued job before it starts, and a running one at its next progress call
(the simulator reports about 200 times a run): the job's ``progress`` raises ``Cancelled``.
Nothing here knows what a job computes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Cancelled", "Job", "JobQueue", "QueueFull"]


class QueueFull(Exception):
    """The queue holds ``max_queued`` jobs already."""


class Cancelled(Exception):
    """Raised inside a job when it was cancelled."""


@dataclass(slots=True)
class Job:
    """A unit of work: ``work(job)`` runs on a worker thread and reports through ``job``."""

    run_id: str
    work: Callable[[Job], None]
    on_cancelled: Callable[[Job], None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    done: int = 0
    expected: int = 0
    state: str = "queued"  # queued | running | finished

    def progress(self, done: int, expected: int) -> None:
        """Record progress; raise ``Cancelled`` if the job was cancelled."""
        self.done, self.expected = int(done), int(expected)
        if self.cancel_event.is_set():
            raise Cancelled(self.run_id)

    def check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled(self.run_id)


class JobQueue:
    """``num_workers`` threads taking jobs from a queue of at most ``max_queued``."""

    def __init__(self, *, num_workers: int = 2, max_queued: int = 16) -> None:
        if num_workers < 1 or max_queued < 1:
            raise ValueError("num_workers and max_queued must be >= 1")
        self.num_workers, self.max_queued = num_workers, max_queued
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=max_queued)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the worker threads (daemons: they never keep the process alive)."""
        for i in range(self.num_workers):
            t = threading.Thread(target=self._loop, name=f"tokenworks-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Cancel every job and stop the workers."""
        with self._lock:
            for job in self._jobs.values():
                job.cancel_event.set()
        for _ in self._threads:
            try:
                self._queue.put(None, timeout=timeout_s)
            except queue.Full:
                break
        for t in self._threads:
            t.join(timeout=timeout_s)
        self._threads.clear()

    def submit(self, job: Job) -> None:
        with self._lock:
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                raise QueueFull(f"{self.max_queued} runs are already waiting") from None
            self._jobs[job.run_id] = job

    def get(self, run_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(run_id)

    def cancel(self, run_id: str) -> bool:
        """Flag a job as cancelled; False if it is unknown or already finished."""
        with self._lock:
            job = self._jobs.get(run_id)
        if job is None or job.state == "finished":
            return False
        job.cancel_event.set()
        return True

    def queued(self) -> int:
        return self._queue.qsize()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                if job.cancel_event.is_set():
                    if job.on_cancelled is not None:
                        job.on_cancelled(job)
                    continue
                job.state = "running"
                job.work(job)  # the work records its own outcome (done, failed, cancelled)
            finally:
                job.state = "finished"
                with self._lock:
                    self._jobs.pop(job.run_id, None)
