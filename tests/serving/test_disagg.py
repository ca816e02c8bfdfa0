"""Disaggregated prefill/decode: the processor-sharing link and the KV hand-off."""

from __future__ import annotations

import pytest

from tokenworks.errors import ConfigError
from tokenworks.serving.cluster import Cluster, Pool
from tokenworks.serving.disagg import SharedLink, TransferSpec
from tokenworks.serving.events import Environment
from tokenworks.serving.replica import Replica, ReplicaConfig
from tokenworks.serving.request import Request
from tokenworks.serving.routing import RoundRobin

GB = 1e9


def link_run(starts: list[tuple[float, float]], *, bw: float = 1 * GB, latency: float = 0.0):
    env = Environment()
    link = SharedLink(env, TransferSpec(bandwidth_bytes_per_s=bw, latency_s=latency))
    done: dict[int, float] = {}
    for i, (t, nbytes) in enumerate(starts):
        env.schedule(t, 0, lambda i=i, n=nbytes: link.send(n, lambda: done.__setitem__(i, env.now_s)))
    env.run()
    return done, link


def test_single_transfer_time_is_bytes_over_bandwidth_plus_latency():
    done, link = link_run([(0.0, 1 * GB)], latency=0.1)
    assert done[0] == pytest.approx(1.1)
    assert link.bytes_sent == 1 * GB and link.num_active == 0


def test_two_equal_transfers_share_the_link():
    """Processor sharing: two 1 GB transfers at 1 GB/s each get 0.5 GB/s; both end at 2 s."""
    done, _ = link_run([(0.0, 1 * GB), (0.0, 1 * GB)])
    assert done[0] == pytest.approx(2.0) and done[1] == pytest.approx(2.0)


def test_late_short_transfer():
    """A: 1 GB at t=0. B: 0.25 GB at t=0.5. A has 0.5 GB left at 0.5 s; both then move at
    0.5 GB/s, so B ends at 0.5 + 0.25/0.5 = 1.0 s; A has 0.25 GB left and ends at 1.25 s."""
    done, link = link_run([(0.0, 1 * GB), (0.5, 0.25 * GB)])
    assert done[1] == pytest.approx(1.0)
    assert done[0] == pytest.approx(1.25)
    assert link.busy_s == pytest.approx(1.25)


def test_transfer_spec_validates():
    with pytest.raises(ConfigError):
        TransferSpec(bandwidth_bytes_per_s=0.0)


class ConstCost:
    def __init__(self, dt: float) -> None:
        self.dt = dt

    def step_time_s(self, **kwargs):
        return self.dt


def test_single_request_handoff_timeline():
    """Prompt 100 tokens, 5 outputs. Prefill step 0.02 s → first token at 0.02 s. KV of
    101 tokens × 1 MB = 101 MB over 1 GB/s = 0.101 s + 0.001 s latency → arrives at 0.122 s.
    The decode replica then runs 4 decode steps of 0.01 s → finishes at 0.162 s."""
    env = Environment()
    done: list[Request] = []
    kv = 1e6
    pre = Replica(replica_id=0, env=env, cost=ConstCost(0.02), kv_capacity_blocks=1000,
                  kv_block_size_tokens=16, kv_bytes_per_token=kv,
                  config=ReplicaConfig(role="prefill"), on_finish=done.append)
    dec = Replica(replica_id=1, env=env, cost=ConstCost(0.01), kv_capacity_blocks=1000,
                  kv_block_size_tokens=16, kv_bytes_per_token=kv,
                  config=ReplicaConfig(role="decode"), on_finish=done.append)
    prefill = Pool(name="prefill", replicas=[pre], router=RoundRobin(), kv_bytes_per_token=kv)
    prefill.links = [SharedLink(env, TransferSpec(bandwidth_bytes_per_s=1 * GB, latency_s=0.001))]
    cluster = Cluster(env=env, pools=[prefill, Pool(name="decode", replicas=[dec],
                                                    router=RoundRobin())], on_finish=done.append)
    pre.on_prefill_done = cluster.prefill_done
    cluster.submit(Request(request_id=0, arrived_at_s=0.0, prompt_tokens=100, output_tokens=5))
    env.run()
    (r,) = done
    assert r.first_token_at_s == pytest.approx(0.02)
    assert r.prefill_replica_id == 0 and r.replica_id == 1
    assert r.finished_at_s == pytest.approx(0.122 + 4 * 0.01)
    assert r.num_output_done == 5
    pre.drain_check()
    dec.drain_check()
    assert cluster.num_in_transfer == 0
