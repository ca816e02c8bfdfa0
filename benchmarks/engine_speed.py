"""Quick speed check of the replica engine on the vidur anchor workload (docs/simulator-engine.md).

Llama-3-70B on A100-80GB, one replica at tp=2, 1,500 prompt / 300 output tokens, Poisson
0.5 req/s, chunked prefill with a 512-token budget, batch cap 128 (issue 3). Prints wall time,
peak RSS and latency percentiles for the fast path (and, for small runs, exact mode).

    python benchmarks/engine_speed.py --num-requests 10000 [--exact] [--check]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from tokenworks.model.catalog import get_model
from tokenworks.perf import StepCostModel, make_deployment, plan_memory
from tokenworks.serving import Environment, Replica, ReplicaConfig, Request


def run(num_requests: int, *, exact: bool, seed: int = 0, rate_per_s: float = 0.5,
        prompt_tokens: int = 1500, output_tokens: int = 300) -> tuple[float, list[Request], Replica]:
    model = get_model("llama-3-70b")
    dep = make_deployment(model, "a100-80g-sxm", tp=2)
    plan = plan_memory(model, dep, max_seq_len_tokens=prompt_tokens + output_tokens,
                       max_num_batched_tokens=512, max_num_seqs=128,
                       gpu_memory_utilization_frac=0.95)  # 0.9 leaves no KV at tp=2
    cost = StepCostModel(model, dep)
    env = Environment()
    finished: list[Request] = []
    replica = Replica(
        replica_id=0, env=env, cost=cost, kv_capacity_blocks=plan.num_kv_blocks,
        kv_block_size_tokens=plan.kv_block_size_tokens,
        kv_bytes_per_token=plan.kv_bytes_per_token_per_gpu * dep.tp,
        config=ReplicaConfig(max_num_batched_tokens=512, max_num_seqs=128, exact=exact),
        on_finish=finished.append)
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / rate_per_s, num_requests))
    t0 = time.perf_counter()
    c0 = time.process_time()
    requests = [Request(request_id=i, arrived_at_s=float(t), prompt_tokens=prompt_tokens,
                        output_tokens=output_tokens) for i, t in enumerate(arrivals)]
    # Arrivals are fed one at a time (each arrival schedules the next) to keep the heap small.
    it = iter(requests)

    def arrive(req: Request) -> None:
        replica.submit(req)
        nxt = next(it, None)
        if nxt is not None:
            env.schedule(nxt.arrived_at_s, 0, arrive, nxt)

    first = next(it)
    env.schedule(first.arrived_at_s, 0, arrive, first)
    env.run()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    replica.drain_check()
    assert len(finished) == num_requests
    print(f"  (cpu time {cpu:.3f} s, wall {wall:.3f} s)")
    return wall, requests, replica


def pct(requests: list[Request]) -> dict[str, list[float]]:
    ttft = np.array([r.ttft_s for r in requests])
    tpot = np.array([r.tpot_s for r in requests])
    e2e = np.array([r.e2e_s for r in requests])
    return {k: [float(np.percentile(v, p)) for p in (50, 90, 99)]
            for k, v in (("ttft_s", ttft), ("tpot_s", tpot), ("e2e_s", e2e))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--num-requests", type=int, default=10_000)
    ap.add_argument("--exact", action="store_true", help="step-by-step mode")
    ap.add_argument("--check", action="store_true", help="also run exact mode and compare")
    args = ap.parse_args()
    wall, reqs, rep = run(args.num_requests, exact=args.exact)
    s = rep.stats()
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{'exact' if args.exact else 'fast'}: {args.num_requests} requests in {wall:.3f} s wall "
          f"({args.num_requests / wall:,.0f} req/s), {s.num_steps:,} steps, {s.num_jumps:,} jumps, "
          f"{env_events(rep):,} events, peak RSS {rss_gib:.2f} GiB, busy {s.busy_s / reqs[-1].finished_at_s:.1%}")
    for k, v in pct(reqs).items():
        print(f"  {k}: p50 {v[0]:.4f}  p90 {v[1]:.4f}  p99 {v[2]:.4f}")
    if args.check:
        wall2, reqs2, _ = run(args.num_requests, exact=True)
        a, b = pct(reqs), pct(reqs2)
        worst = max(abs(x - y) / y for k in a for x, y in zip(a[k], b[k], strict=True))
        same = all(x.finished_at_s == y.finished_at_s for x, y in zip(reqs, reqs2, strict=True))
        print(f"exact: {wall2:.3f} s wall; worst percentile difference {worst:.2e}; "
              f"identical timelines: {same}")


def env_events(rep: Replica) -> int:
    return rep.env.num_events_run


if __name__ == "__main__":
    main()
