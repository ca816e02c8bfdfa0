"""Agentic sessions: the CPU pool, the session table, and session summaries."""

from __future__ import annotations

import numpy as np
import pytest

from tokenworks.errors import ConfigError
from tokenworks.serving.agentic import AgenticSpec, CpuPool, generate_agentic, session_summary
from tokenworks.serving.events import Environment
from tokenworks.serving.sessions import SessionDriver
from tokenworks.serving.workload import Fixed, PoissonArrivals, Uniform


def test_cpu_pool_queues_when_cores_are_busy():
    """1 core, three 1 s tools at t=0: they end at 1, 2, 3 s; waits 0+1+2 = 3 s; busy 3 s."""
    env = Environment()
    pool = CpuPool(env, 1)
    ends: list[float] = []
    for _ in range(3):
        pool.run(1.0, lambda: ends.append(env.now_s))
    env.run()
    assert ends == [1.0, 2.0, 3.0]
    assert pool.wait_s == pytest.approx(3.0)
    assert pool.utilization_frac(3.0) == pytest.approx(1.0)
    assert pool.utilization_frac(6.0) == pytest.approx(0.5)


def test_cpu_pool_parallel_cores():
    env = Environment()
    pool = CpuPool(env, 4)
    ends: list[float] = []
    for _ in range(4):
        pool.run(2.0, lambda: ends.append(env.now_s))
    env.run()
    assert ends == [2.0] * 4 and pool.wait_s == 0.0
    with pytest.raises(ConfigError):
        CpuPool(env, 0)


def spec(**kw) -> AgenticSpec:
    base = dict(num_sessions=20, arrivals=PoissonArrivals(rate_per_s=1.0),
                num_calls=Uniform(low=2, high=6), first_prompt_tokens=Fixed(value=1000),
                tool_result_tokens=Fixed(value=100), output_tokens=Fixed(value=50),
                tool_time_s=Fixed(value=3.0), num_cores=4)
    base.update(kw)
    return AgenticSpec(**base)


def test_generate_agentic_structure():
    t = generate_agentic(spec(), np.random.default_rng(0))
    assert t.extends_context and t.num_sessions == 20
    assert (t.new_tokens[t.first_turn] == 1000).all()
    last = t.first_turn + t.num_turns - 1
    assert (t.gap_s[last] == 0.0).all()  # no tool after the final call
    mask = np.ones(t.num_calls, bool)
    mask[last] = False
    assert (t.gap_s[mask] == 3.0).all()
    assert (t.num_turns >= 2).all() and (t.num_turns <= 6).all()


def test_driver_runs_tools_between_calls_and_prompts_grow():
    """Session with 3 calls; each LLM call 'takes' 1 s here; tools 3 s on a free core.
    Call k's prompt = 1000 + k × (50 out + 100 tool result)."""
    env = Environment()
    pool = CpuPool(env, 4)
    t = generate_agentic(spec(num_sessions=1, num_calls=Fixed(value=3)), np.random.default_rng(0))
    calls = []

    def submit(req):
        calls.append(req)
        req.first_token_at_s = env.now_s + 0.5
        env.schedule(env.now_s + 1.0, 0, finish, req)

    def finish(req):
        req.finished_at_s = env.now_s
        driver.on_finish(req)

    driver = SessionDriver(env=env, table=t, submit=submit, block_tokens=16, gap=pool)
    driver.start()
    env.run()
    assert [c.prompt_tokens for c in calls] == [1000, 1150, 1300]
    assert [c.arrived_at_s for c in calls] == [0.0, 4.0, 8.0]
    # The next call's prefix hashes start with the previous call's (prompt + output) blocks.
    assert calls[1].prefix_hashes[: len(calls[0].prefix_hashes)] == calls[0].prefix_hashes
    recs = [{"session_id": c.session_id, "arrived_at_s": c.arrived_at_s,
             "finished_at_s": c.finished_at_s} for c in calls]
    s = session_summary(recs, pool, duration_s=9.0)
    # Span 9 s, LLM 3 s, tools 6 s.
    assert s["session_latency_s"]["mean"] == pytest.approx(9.0)
    assert s["tool_time_frac"] == pytest.approx(6 / 9)
    assert s["llm_time_frac"] == pytest.approx(3 / 9)
    assert s["cpu_pool_utilization_frac"] == pytest.approx(6.0 / (4 * 9.0))
