"""web.jobs: a bounded queue, cancellation before and during a job, workers that survive."""

from __future__ import annotations

import threading

import pytest

from tokenworks.web.jobs import Cancelled, Job, JobQueue, QueueFull


def test_queue_is_bounded_and_cancel_skips_a_waiting_job():
    q = JobQueue(num_workers=1, max_queued=2)  # not started: jobs only wait
    ran = []
    jobs = [Job(run_id=str(i), work=lambda j: ran.append(j.run_id)) for i in range(3)]
    q.submit(jobs[0])
    q.submit(jobs[1])
    with pytest.raises(QueueFull, match="2 runs are already waiting"):
        q.submit(jobs[2])
    cancelled = []
    jobs[0].on_cancelled = lambda j: cancelled.append(j.run_id)
    assert q.cancel("0") and not q.cancel("nope")
    q.start()
    q.stop()
    assert cancelled == ["0"] and ran == ["1"]


def test_a_running_job_stops_at_its_next_progress_call():
    q = JobQueue(num_workers=1, max_queued=4)
    q.start()
    started, outcome = threading.Event(), []

    def work(job: Job) -> None:
        try:
            for i in range(1_000_000):
                job.progress(i, 1_000_000)
                if i == 10:
                    started.set()
                    job.cancel_event.wait(5)
        except Cancelled:
            outcome.append(("cancelled", job.done))

    q.submit(Job(run_id="r", work=work))
    assert started.wait(5)
    assert q.get("r").state == "running"
    q.cancel("r")
    q.stop()
    assert outcome == [("cancelled", 11)]
    assert q.get("r") is None  # finished jobs are forgotten


def test_invalid_sizes_are_refused():
    with pytest.raises(ValueError):
        JobQueue(num_workers=0)
