"""SessionDriver details that its performance shortcuts must keep (see serving/sessions.py)."""

from __future__ import annotations

import dataclasses

import numpy as np

from tokenworks.serving import sessions
from tokenworks.serving.events import Environment
from tokenworks.serving.request import Request
from tokenworks.serving.workload import SessionTable, single_turn_table


def test_request_positional_field_order():
    """The driver builds Requests positionally; the first ten fields must stay in this order."""
    names = [f.name for f in dataclasses.fields(Request)][:10]
    assert names == ["request_id", "arrived_at_s", "prompt_tokens", "output_tokens",
                     "prefix_hashes", "prefix_block_tokens", "priority", "session_id", "tags",
                     "record_token_times"]


def test_driver_fields_across_row_blocks(monkeypatch):
    """Sessions read in blocks of 3 (out of start order, with priorities and a zero-length
    prompt) give the same requests as the table says, in arrival order."""
    monkeypatch.setattr(sessions, "_BLOCK_SESSIONS", 3)
    n = 8
    starts = np.array([5.0, 1.0, 3.0, 2.0, 7.0, 4.0, 6.0, 0.0])
    prompt = np.array([10, 0, 30, 40, 50, 60, 70, 80])
    base = single_turn_table(arrived_at_s=starts, prompt_tokens=prompt,
                             output_tokens=np.arange(1, n + 1))
    prio = np.array([2, 1, 0, 2, 1, 0, 2, 1])
    table = dataclasses.replace(base, priority=prio)
    assert isinstance(table, SessionTable)
    env = Environment()
    got: list[Request] = []
    driver = sessions.SessionDriver(env=env, table=table, submit=got.append, block_tokens=16,
                                    record_token_times=True, hash_blocks=False)
    driver.start()
    env.run()
    order = np.argsort(starts, kind="stable")
    assert [r.session_id for r in got] == order.tolist()
    assert [r.request_id for r in got] == list(range(n))
    for r in got:
        s = r.session_id
        assert r.arrived_at_s == starts[s]
        assert r.prompt_tokens == max(int(prompt[s]), 1)  # zero-length prompt served as 1
        assert r.output_tokens == s + 1
        assert r.priority == prio[s] and type(r.priority) is int
        assert r.record_token_times and r.prefix_hashes == () and r.tags is None
        assert r.prefix_block_tokens == 16
    for r in got:
        driver.on_finish(r)
    assert driver.done and driver.num_sessions_done == n


def test_driver_max_requests_stops_arrivals():
    table = single_turn_table(arrived_at_s=np.arange(10.0), prompt_tokens=np.full(10, 8),
                              output_tokens=np.full(10, 2))
    env = Environment()
    got: list[Request] = []
    driver = sessions.SessionDriver(env=env, table=table, submit=got.append, block_tokens=16,
                                    max_requests=4)
    driver.start()
    env.run()
    assert len(got) == 4 and driver.expected_requests == 4
    for r in got:
        driver.on_finish(r)
    assert driver.done
