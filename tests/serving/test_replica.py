"""Replica engine: golden single-request timeline, conservation, rejection, roles, probes."""

import pytest
from engine_fakes import AffineCost, feed, make_replica, poisson_requests, simulate

from tokenworks.errors import ConfigError, SimulationError
from tokenworks.serving import Environment, ReplicaConfig, Request


def _expected_timeline(cost, prompt, output, budget):
    """Hand-rolled schedule of one request on an idle replica.

    Prefill chunks of min(budget, left) tokens; a chunk of c after p tokens has c·p + c(c+1)/2
    causal pairs; the last chunk yields token 1; decode step d (d = 1..n-1) reads P + d tokens.
    """
    t, p = 0.0, 0
    while p < prompt:
        c = min(budget, prompt - p)
        t += cost.step_time_s(num_prefill_tokens=c, prefill_attention_pairs=c * p + c * (c + 1) / 2,
                              prefill_kv_tokens=p + c)
        p += c
    ttft = t
    for d in range(1, output):
        t += cost.step_time_s(num_decode_seqs=1, decode_kv_tokens=prompt + d)
    return ttft, t


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize(("prompt", "output", "budget"),
                         [(100, 5, 8192), (100, 40, 32), (1, 1, 16), (700, 300, 256)])
def test_single_request_golden(exact, prompt, output, budget):
    cost = AffineCost()
    req = Request(request_id=0, arrived_at_s=0.0, prompt_tokens=prompt, output_tokens=output,
                  record_token_times=True)
    done, rep = simulate([req], cost=cost, exact=exact, max_num_batched_tokens=budget,
                         max_num_seqs=8)
    ttft, e2e = _expected_timeline(cost, prompt, output, budget)
    assert done == [req]
    assert req.ttft_s == pytest.approx(ttft, rel=1e-12)
    assert req.e2e_s == pytest.approx(e2e, rel=1e-12)
    assert req.num_output_done == output
    assert len(req.token_times_s) == output and req.token_times_s[-1] == req.finished_at_s
    rep.drain_check()


@pytest.mark.parametrize("config", [
    {}, {"policy": "prefill_first"}, {"chunked_prefill": False},
    {"queue": "priority"}, {"prefix_cache": "radix"}, {"prefix_cache": "lru_blocks"},
])
def test_conservation_under_tight_kv(config):
    """Every request finishes with its tokens, preemption happens, all blocks return."""
    reqs = poisson_requests(150, rate_per_s=20.0, seed=3, num_prefixes=3)
    done, rep = simulate(reqs, blocks=120, max_num_batched_tokens=1024, **config)
    assert sorted(r.request_id for r in done) == list(range(150))
    assert all(r.num_output_done == r.output_tokens and not r.rejected for r in done)
    assert sum(r.num_preemptions for r in done) > 0
    assert all(r.arrived_at_s <= r.scheduled_at_s <= r.first_token_at_s <= r.finished_at_s
               for r in done)
    rep.drain_check()
    s = rep.stats()
    # A decoder preempted by recompute gets its next token from the re-prefill, not a decode step.
    decode_steps_asked = sum(r.output_tokens - 1 for r in done)
    assert s.num_finished == 150
    assert decode_steps_asked - s.num_preemptions <= s.num_decode_tokens <= decode_steps_asked


def test_request_too_big_for_kv_is_rejected_not_hung():
    env = Environment()
    finished = []
    rep = make_replica(env, blocks=10, block_size=16, finished=finished)
    big = Request(request_id=1, arrived_at_s=0.0, prompt_tokens=150, output_tokens=20)
    ok = Request(request_id=2, arrived_at_s=0.0, prompt_tokens=20, output_tokens=5)
    feed(env, rep, [big, ok])
    env.run()
    assert big.rejected and "kv_capacity" in big.reject_reason and big.finished_at_s is None
    assert ok.finished and not ok.rejected
    assert finished == [big, ok]
    rep.drain_check()


def test_bad_inputs_raise_config_errors():
    with pytest.raises(ConfigError, match="policy = 'sjf' is not valid; choose one of decode_first"):
        make_replica(Environment(), policy="sjf")  # the policy names are scheduler.POLICIES
    with pytest.raises(ConfigError, match="max_num_seqs"):
        ReplicaConfig(max_num_batched_tokens=64, max_num_seqs=128)
    with pytest.raises(ConfigError, match="host tier"):
        ReplicaConfig(preemption="swap")
    env = Environment()
    rep = make_replica(env)
    with pytest.raises(ConfigError, match="output_tokens"):
        rep.submit(Request(request_id=0, arrived_at_s=0.0, prompt_tokens=5, output_tokens=0))
    with pytest.raises(ConfigError, match="kv_capacity_blocks"):
        make_replica(env, blocks=0)


def test_disaggregated_roles_hand_over_the_request():
    """Prefill replica produces token 1 and frees its KV; decode replica finishes the rest."""
    env = Environment()
    finished = []
    decode = make_replica(env, replica_id=1, role="decode", finished=finished)
    prefill = make_replica(env, replica_id=0, role="prefill",
                           on_prefill_done=lambda r: env.schedule(env.now_s + 0.01, 10, decode.submit, r))
    reqs = poisson_requests(20, rate_per_s=5.0, seed=1, output=(2, 50))
    feed(env, prefill, reqs)
    env.run()
    assert sorted(r.request_id for r in finished) == list(range(20))
    for r in reqs:
        assert r.prefill_replica_id == 0 and r.replica_id == 1
        assert r.num_output_done == r.output_tokens
        assert r.finished_at_s >= r.first_token_at_s + 0.01
    prefill.drain_check()
    decode.drain_check()
    assert prefill.stats().num_prefilled == 20 and prefill.stats().num_decode_tokens == 0


def test_probes_and_counters():
    env = Environment()
    rep = make_replica(env, blocks=64, prefix_cache="lru_blocks")
    hashes = tuple(range(100, 110))
    a = Request(request_id=0, arrived_at_s=0.0, prompt_tokens=160, output_tokens=50,
                prefix_hashes=hashes)
    b = Request(request_id=1, arrived_at_s=0.0, prompt_tokens=160, output_tokens=50,
                prefix_hashes=hashes)
    assert rep.cached_prefix_tokens(b) == 0
    rep.submit(a)
    assert rep.num_waiting == 1 and rep.num_outstanding == 1
    env.run(until_s=0.05)
    assert rep.num_running == 1 and 0.0 < rep.kv_usage_frac < 1.0
    # Prompt of 160 = 10 full blocks; at most 159 tokens can be cached (last one recomputed).
    assert rep.cached_prefix_tokens(b) == 144
    env.run()
    rep.drain_check()
    assert rep.kv_usage_frac == 0.0  # cached blocks are evictable, not in use


def test_drain_check_catches_leaks():
    env = Environment()
    rep = make_replica(env)
    rep.blocks.allocate(3)
    with pytest.raises(SimulationError, match="private"):
        rep.drain_check()


def test_cost_model_protocol_accepts_real_perf_model():
    perf = pytest.importorskip("tokenworks.perf")
    from tokenworks.model.catalog import get_model

    model = get_model("llama-3-70b")
    dep = perf.make_deployment(model, "h100-sxm", tp=4)
    cost = perf.StepCostModel(model, dep)
    reqs = poisson_requests(30, rate_per_s=4.0, seed=2)
    done, _rep = simulate(reqs, cost=cost, exact=False)
    assert len(done) == 30
    exact_done, _ = simulate(poisson_requests(30, rate_per_s=4.0, seed=2), cost=cost, exact=True)
    # The perf model's numpy path may differ from its scalar path in the last bit.
    assert [r.finished_at_s for r in reqs] == pytest.approx(
        [r.finished_at_s for r in sorted(exact_done, key=lambda r: r.request_id)], rel=1e-12)
    assert AffineCost().step_time_s() > 0


def test_engine_doc_example_runs():
    """The code tour in docs/simulator-engine.md executes as written."""
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "simulator-engine.md"
    if not doc.exists():
        pytest.skip("docs not present")
    text = doc.read_text()
    start = text.index("```python") + len("```python")
    code = text[start:text.index("```", start)]
    namespace: dict = {}
    exec(compile(code, str(doc), "exec"), namespace)
    assert len(namespace["done"]) == 100
