"""Event core: ordering by (time, priority, seq), bad instants, cancel, step, run limits,
isolation."""

import math

import pytest

from tokenworks.errors import SimulationError
from tokenworks.serving import Environment, Priority


def test_order_is_time_then_priority_then_fifo():
    env = Environment()
    seen = []
    env.schedule(1.0, Priority.SCHEDULE, seen.append, "schedule@1")
    env.schedule(1.0, Priority.STEP_END, seen.append, "step@1")
    env.schedule(1.0, Priority.ARRIVAL, seen.append, "arrival@1a")
    env.schedule(1.0, Priority.ARRIVAL, seen.append, "arrival@1b")
    env.schedule(0.5, Priority.MONITOR, seen.append, "monitor@0.5")
    assert env.run() == 5
    assert seen == ["monitor@0.5", "arrival@1a", "arrival@1b", "step@1", "schedule@1"]
    assert env.now_s == 1.0


def test_priorities_put_arrivals_before_step_ends_before_scheduling():
    assert Priority.ARRIVAL < Priority.TRANSFER_DONE < Priority.STEP_END < Priority.SCHEDULE


@pytest.mark.parametrize("at_s", [-1e-9, math.nan])
def test_past_or_nan_instant_raises(at_s):
    env = Environment()
    with pytest.raises(SimulationError, match="before now"):
        env.schedule(at_s, Priority.ARRIVAL, print)


def test_schedule_in_the_past_or_at_infinity_raises():
    env = Environment()
    env.schedule(2.0, 0, lambda: None)
    env.run()
    with pytest.raises(SimulationError, match="before now"):
        env.schedule(1.0, 0, print)
    with pytest.raises(SimulationError, match="infinite"):
        env.schedule(math.inf, 0, print)


def test_step_processes_one_event_at_a_time():
    """``step`` runs the next event (skipping cancelled ones) and says False when none is
    left; a handler's follow-up is seen by the next step."""
    env = Environment()
    seen = []
    env.schedule(1.0, 0, lambda: (seen.append(env.now_s), env.schedule(3.0, 0, seen.append, 3)))
    h = env.schedule(2.0, 0, seen.append, "cancelled")
    env.cancel(h)
    assert env.step() and seen == [1.0] and env.current_priority is None
    assert env.step() and seen == [1.0, 3] and env.now_s == 3.0
    assert not env.step() and env.num_events_run == 2


def test_cancel_and_handler_scheduling_follow_ups():
    env = Environment()
    seen = []

    def tick(n):
        seen.append((env.now_s, n))
        if n < 3:
            env.schedule(env.now_s + 0.25, Priority.STEP_END, tick, n + 1)

    h = env.schedule(0.1, 0, seen.append, "cancelled")
    env.schedule(0.0, 0, tick, 0)
    env.cancel(h)
    env.run()
    assert seen == [(0.0, 0), (0.25, 1), (0.5, 2), (0.75, 3)]


def test_run_until_and_max_events():
    env = Environment()
    seen = []
    for t in (1.0, 2.0, 3.0):
        env.schedule(t, 0, seen.append, t)
    env.run(until_s=2.0)  # events exactly at until_s run
    assert seen == [1.0, 2.0] and env.now_s == 2.0
    env.run(until_s=2.5)
    assert env.now_s == 2.5
    assert env.run(max_events=1) == 1 and seen == [1.0, 2.0, 3.0]


def test_handler_exception_propagates():
    env = Environment()

    def boom():
        raise ValueError("handler failed")

    env.schedule(0.0, 0, boom)
    with pytest.raises(ValueError, match="handler failed"):
        env.run()


def test_two_environments_are_independent():
    a, b = Environment(), Environment()
    seen_a, seen_b = [], []
    a.schedule(1.0, 0, seen_a.append, "a")
    b.schedule(5.0, 0, seen_b.append, "b")
    a.run()
    assert seen_a == ["a"] and seen_b == [] and b.now_s == 0.0
    b.run()
    assert a.now_s == 1.0 and b.now_s == 5.0
