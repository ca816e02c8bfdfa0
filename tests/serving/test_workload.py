"""Workload generators: arrival statistics, length distributions, prefixes, sessions."""

from __future__ import annotations

import numpy as np
import pytest

from tokenworks.errors import ConfigError
from tokenworks.serving.events import Environment
from tokenworks.serving.sessions import SessionDriver, block_keys
from tokenworks.serving.workload import (
    ClosedLoop,
    ConstantArrivals,
    Conversations,
    Empirical,
    Exponential,
    Fixed,
    GammaArrivals,
    LogNormal,
    PoissonArrivals,
    SharedPrefixes,
    Uniform,
    WorkloadSpec,
    arrival_times_s,
    generate,
    sample_tokens,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_poisson_rate_and_cv():
    """Exponential gaps: mean 1/rate and CV 1 (50k samples -> ~1% error)."""
    t = arrival_times_s(PoissonArrivals(rate_per_s=4.0), rng(), num=50_000, duration_s=None)
    gaps = np.diff(t)
    assert t[0] == 0.0
    assert gaps.mean() == pytest.approx(0.25, rel=0.03)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.03)


@pytest.mark.parametrize("cv", [0.5, 2.0, 4.0])
def test_gamma_arrivals_have_requested_cv(cv):
    t = arrival_times_s(GammaArrivals(rate_per_s=2.0, cv=cv), rng(1), num=80_000, duration_s=None)
    gaps = np.diff(t)
    assert gaps.mean() == pytest.approx(0.5, rel=0.05)
    assert gaps.std() / gaps.mean() == pytest.approx(cv, rel=0.08)


def test_constant_and_duration_cutoff():
    t = arrival_times_s(ConstantArrivals(rate_per_s=10.0), rng(), num=None, duration_s=1.0)
    # 0.0, 0.1, ..., 0.9 (cumsum of 0.1 may land a hair under 1.0: allow one more).
    assert len(t) in (10, 11)
    assert np.allclose(np.diff(t), 0.1)
    assert t.max() < 1.0
    long = arrival_times_s(PoissonArrivals(rate_per_s=100.0), rng(), num=None, duration_s=100.0)
    assert len(long) == pytest.approx(10_000, rel=0.05) and long.max() < 100.0


def test_lognormal_mean_sigma_and_cv():
    x = LogNormal(mean_value=1000.0, cv=1.5).sample(rng(), 200_000)
    assert x.mean() == pytest.approx(1000, rel=0.03)
    assert x.std() / x.mean() == pytest.approx(1.5, rel=0.08)
    y = LogNormal(mean_value=500.0, sigma=0.5).sample(rng(), 100_000)
    # sigma of log(x) is the given sigma.
    assert np.log(y).std() == pytest.approx(0.5, rel=0.02)
    assert y.mean() == pytest.approx(500, rel=0.02)
    with pytest.raises(ConfigError):
        LogNormal(mean_value=10.0)


def test_fixed_uniform_empirical_exponential():
    assert set(sample_tokens(Fixed(value=7), rng(), 10)) == {7}
    u = sample_tokens(Uniform(low=10, high=20), rng(), 10_000)
    assert u.min() >= 10 and u.max() <= 20 and u.mean() == pytest.approx(15, rel=0.02)
    e = Empirical(values=np.array([3, 5]))
    assert set(sample_tokens(e, rng(), 100)) == {3, 5}
    assert Exponential(mean_value=2.0).sample(rng(), 50_000).mean() == pytest.approx(2.0, rel=0.03)
    with pytest.raises(ConfigError):
        Uniform(low=5, high=1)
    with pytest.raises(ConfigError):
        Empirical(values=np.array([]))


def test_tokens_clip_to_bounds():
    x = sample_tokens(Fixed(value=0), rng(), 5)
    assert (x == 1).all()
    y = sample_tokens(Fixed(value=10_000), rng(), 5, maximum=4096)
    assert (y == 4096).all()


def test_generate_single_turn_and_determinism():
    spec = WorkloadSpec(arrivals=PoissonArrivals(rate_per_s=5.0),
                        prompt_tokens=LogNormal(mean_value=800, cv=1.0),
                        output_tokens=Fixed(value=100), num_requests=1000)
    a, b = generate(spec, rng(7)), generate(spec, rng(7))
    c = generate(spec, rng(8))
    assert a.num_sessions == a.num_calls == 1000
    assert np.array_equal(a.start_at_s, b.start_at_s) and np.array_equal(a.new_tokens, b.new_tokens)
    assert not np.array_equal(a.new_tokens, c.new_tokens)
    assert (a.output_tokens == 100).all() and not a.extends_context


def test_zipf_popularity():
    """With s = 1 over 10 prompts, P(rank 1) = 1/H_10 = 1/2.929 = 0.341; P(rank 2) = 0.171."""
    spec = WorkloadSpec(arrivals=PoissonArrivals(rate_per_s=5.0), prompt_tokens=Fixed(value=50),
                        output_tokens=Fixed(value=10), num_requests=20_000,
                        shared_prefix=SharedPrefixes(num_prefixes=10, prefix_tokens=Fixed(value=512),
                                                     zipf_exponent=1.0))
    t = generate(spec, rng())
    counts = np.bincount(t.prefix_id, minlength=11)[1:] / t.num_sessions
    assert counts[0] == pytest.approx(0.341, abs=0.015)
    assert counts[1] == pytest.approx(0.171, abs=0.012)
    assert (t.prefix_tokens == 512).all()


def test_conversation_turns_extend_context_and_share_hashes():
    spec = WorkloadSpec(arrivals=PoissonArrivals(rate_per_s=1.0), prompt_tokens=Fixed(value=40),
                        output_tokens=Fixed(value=24), num_requests=3,
                        conversation=Conversations(num_turns=Fixed(value=3),
                                                   think_time_s=Fixed(value=2.0)))
    table = generate(spec, rng())
    assert table.extends_context and table.num_calls == 9
    env = Environment()
    got = []
    driver = SessionDriver(env=env, table=table, submit=got.append, block_tokens=16)
    driver.start()
    env.run()
    # First turn of each session arrives at its start; nothing else until a turn finishes.
    assert len(got) == 3
    first = got[0]
    assert first.prompt_tokens == 40
    first.finished_at_s = env.now_s
    driver.on_finish(first)
    env.run()
    second = got[3]
    assert second.session_id == first.session_id
    assert second.prompt_tokens == 40 + 24 + 40
    assert second.arrived_at_s == pytest.approx(env.now_s)
    # Turn 1 covered (40 prompt + 24 output) // 16 = 4 blocks; turn 2 starts with the same 4.
    assert len(first.prefix_hashes) == 4
    assert second.prefix_hashes[:4] == first.prefix_hashes
    # Another session shares nothing.
    assert not set(got[1].prefix_hashes) & set(first.prefix_hashes)


def test_shared_prefix_hashes_equal_across_sessions():
    spec = WorkloadSpec(arrivals=PoissonArrivals(rate_per_s=1.0), prompt_tokens=Fixed(value=20),
                        output_tokens=Fixed(value=5), num_requests=50,
                        shared_prefix=SharedPrefixes(num_prefixes=1, prefix_tokens=Fixed(value=100)))
    env = Environment()
    got = []
    SessionDriver(env=env, table=generate(spec, rng()), submit=got.append, block_tokens=16).start()
    env.run()
    assert len(got) == 50
    # 100 shared tokens = 6 full blocks; the 7th block straddles prefix and request content.
    assert all(r.prompt_tokens == 120 for r in got)
    assert all(len(r.prefix_hashes) == 7 for r in got)
    assert len({r.prefix_hashes[:6] for r in got}) == 1
    assert len({r.prefix_hashes[6] for r in got}) == 50


def test_closed_loop_keeps_n_outstanding():
    spec = WorkloadSpec(arrivals=ClosedLoop(num_users=4, think_time_s=Fixed(value=1.0)),
                        prompt_tokens=Fixed(value=10), output_tokens=Fixed(value=5),
                        num_requests=10)
    table = generate(spec, rng())
    assert table.num_sessions == 4 and table.num_calls == 10
    assert list(table.num_turns) == [3, 3, 2, 2]
    env = Environment()
    live: list = []
    driver = SessionDriver(env=env, table=table, submit=live.append, block_tokens=16)
    driver.start()
    env.run()
    assert len(live) == 4
    total = 0
    while live:
        assert len(live) <= 4
        req = live.pop(0)
        total += 1
        driver.on_finish(req)
        env.run()
    assert total == 10 and driver.done


def test_block_keys_are_distinct():
    a = block_keys(2, 1, 0, 1000)
    b = block_keys(2, 2, 0, 1000)
    c = block_keys(3, 1, 0, 1000)
    assert len(set(a) | set(b) | set(c)) == 3000
    assert np.array_equal(block_keys(2, 1, 5, 10), a[5:10])


def test_workload_spec_needs_a_stop():
    with pytest.raises(ConfigError):
        WorkloadSpec(arrivals=PoissonArrivals(rate_per_s=1.0), prompt_tokens=Fixed(value=1),
                     output_tokens=Fixed(value=1))
    with pytest.raises(ConfigError):
        WorkloadSpec(arrivals=ClosedLoop(num_users=2, think_time_s=Fixed(value=0)),
                     prompt_tokens=Fixed(value=1), output_tokens=Fixed(value=1), duration_s=5.0)
    with pytest.raises(ConfigError):
        GammaArrivals(rate_per_s=1.0, cv=0.0)
