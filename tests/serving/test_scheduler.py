"""Batching policy: stall-free chunked prefill, prefill-first, unchunked, caps, queues, swap."""

import pytest
from engine_fakes import simulate

from tokenworks.serving import Request, TierSpec


def _two(prompt_b=300):
    """A decodes alone for a while; B's long prompt arrives while A decodes."""
    return [Request(request_id=0, arrived_at_s=0.0, prompt_tokens=20, output_tokens=60),
            Request(request_id=1, arrived_at_s=0.1, prompt_tokens=prompt_b, output_tokens=5)]


def _steps(rep):
    return [(prefill, decode) for _, _, prefill, decode, _ in rep.stats().steps]


def test_decode_first_mixes_decodes_with_prefill_chunks():
    """Budget 64: while B prefills, each step has A's decode + a 63-token chunk (Sarathi)."""
    reqs = _two()
    _, rep = simulate(reqs, exact=True, record_steps=True, max_num_batched_tokens=64)
    chunks = [s for s in _steps(rep) if s[0] > 0][1:]  # skip A's own prefill
    assert chunks[:4] == [(63, 1)] * 4 and chunks[4] == (300 - 4 * 63, 1)
    assert reqs[0].num_output_done == 60


def test_prefill_first_pauses_decodes():
    reqs = _two()
    _, rep = simulate(reqs, exact=True, record_steps=True, max_num_batched_tokens=64,
                      policy="prefill_first")
    b_steps = [s for s in _steps(rep) if s[0] > 0][1:]
    assert b_steps[:4] == [(64, 0)] * 4 and b_steps[4] == (300 - 4 * 64, 0)


def test_unchunked_prompt_runs_whole_and_alone_if_over_budget():
    reqs = _two(prompt_b=300)
    _, rep = simulate(reqs, exact=True, record_steps=True, max_num_batched_tokens=64,
                      chunked_prefill=False)
    assert (300, 0) in _steps(rep)  # too big for the budget: runs alone
    assert all(p in (0, 20, 300) for p, _ in _steps(rep))


def test_max_num_seqs_caps_the_batch():
    reqs = [Request(request_id=i, arrived_at_s=0.0, prompt_tokens=30, output_tokens=20)
            for i in range(6)]
    _, rep = simulate(reqs, exact=True, record_steps=True, max_num_seqs=2,
                      max_num_batched_tokens=64)
    assert max(d for _, d in _steps(rep)) == 2
    # FCFS: they finish in pairs, in arrival order
    order = sorted(reqs, key=lambda r: r.finished_at_s)
    assert [r.request_id for r in order] == list(range(6))


def test_priority_queue_serves_lowest_value_first():
    reqs = [Request(request_id=i, arrived_at_s=0.0, prompt_tokens=30, output_tokens=5, priority=p)
            for i, p in enumerate([2, 0, 1])]
    simulate(reqs, max_num_seqs=1, max_num_batched_tokens=64, queue="priority")
    assert [r.request_id for r in sorted(reqs, key=lambda r: r.first_token_at_s)] == [1, 2, 0]
    fcfs = [Request(request_id=i, arrived_at_s=0.0, prompt_tokens=30, output_tokens=5, priority=p)
            for i, p in enumerate([2, 0, 1])]
    simulate(fcfs, max_num_seqs=1, max_num_batched_tokens=64)
    assert [r.request_id for r in sorted(fcfs, key=lambda r: r.first_token_at_s)] == [0, 1, 2]


def test_fcfs_head_of_line_blocks_smaller_requests():
    """Big request waits for KV; a small one behind it is not let through (no skipping)."""
    reqs = [Request(request_id=0, arrived_at_s=0.0, prompt_tokens=200, output_tokens=100),
            Request(request_id=1, arrived_at_s=0.01, prompt_tokens=300, output_tokens=10),
            Request(request_id=2, arrived_at_s=0.02, prompt_tokens=10, output_tokens=10)]
    simulate(reqs, blocks=30, watermark_frac=0.0)
    assert reqs[1].scheduled_at_s >= reqs[0].finished_at_s
    assert reqs[2].scheduled_at_s >= reqs[1].scheduled_at_s


@pytest.mark.parametrize("preemption", ["recompute", "swap"])
def test_preemption_modes_finish_everything(preemption):
    host = TierSpec(name="dram", capacity_bytes=1e12, read_bytes_per_s=1e9,
                    write_bytes_per_s=1e9, latency_s=0.0)
    reqs = [Request(request_id=i, arrived_at_s=0.0, prompt_tokens=60, output_tokens=150)
            for i in range(6)]
    done, rep = simulate(reqs, blocks=40, preemption=preemption, kv_tiers=(host,),
                         watermark_frac=0.0, record_steps=True)
    assert len(done) == 6 and all(r.num_output_done == 150 for r in reqs)
    s = rep.stats()
    assert s.num_preemptions > 0
    if preemption == "swap":
        assert s.swap_bytes > 0
        # swapped sequences resume decoding: no prompt is recomputed
        assert s.num_prefill_tokens == 6 * 60
    else:
        assert s.swap_bytes == 0 and s.num_prefill_tokens > 6 * 60
    rep.drain_check()


@pytest.mark.parametrize("config", [
    # a swapped-out prompt is the only work left: it must resume its chunks at once
    {"preemption": "swap", "policy": "decode_first", "queue": "fcfs", "prefix_cache": "none",
     "seed": 1, "rate": 10.0, "max_num_seqs": 3},
    # prefill_first preempts the only decoder to make room: the prompt must then run
    {"preemption": "recompute", "policy": "prefill_first", "queue": "priority",
     "prefix_cache": "lru_blocks", "seed": 6, "rate": 2.0, "max_num_seqs": 3},
])
def test_regressions_found_by_property_test(config):
    """Cases hypothesis found where a step came out empty while work remained (engine idled)."""
    from engine_fakes import poisson_requests

    host = TierSpec(name="dram", capacity_bytes=2e9, read_bytes_per_s=2e10,
                    write_bytes_per_s=2e10, latency_s=1e-4)
    config = dict(config)
    reqs = poisson_requests(40, rate_per_s=config.pop("rate"), seed=config.pop("seed"),
                            num_prefixes=2, prompt=(1, 300), output=(1, 120))
    done, rep = simulate(reqs, blocks=30, max_num_batched_tokens=16, kv_tiers=(host,),
                         watermark_frac=0.0, **config)
    assert len(done) == 40
    rep.drain_check()
