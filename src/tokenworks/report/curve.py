"""The latency–throughput curve of an estimate's deployment, across batch sizes.

For each batch ``B`` from 1 to the KV capacity, ``perf.steady_state`` gives the steady step
(TPOT) of ``B`` sequences of the estimate's request shape on the estimate's engine and token
budget; tokens/s per GPU is the steady state's throughput over the replica's GPUs, tokens/s per
user is ``1 / TPOT``. This calls perf's public functions on the estimate's own deployment —
the same physics ``estimate`` ran (``estimate(sweep=True)`` gives the same points at powers of
two) — on a finer grid for the chart, and computes nothing new.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tokenworks.errors import TokenworksError
from tokenworks.model import ModelArch, get_model
from tokenworks.perf import (
    Calibration,
    StepCostModel,
    make_deployment,
    make_spec_decode,
    steady_state,
    token_budget_batch,
)

__all__ = ["batch_grid", "latency_throughput_curve"]


def batch_grid(max_batch: int, *, include: int | None = None, num: int = 28) -> list[int]:
    """About ``num`` batch sizes from 1 to ``max_batch``, spaced geometrically, with
    ``include`` (the operating point) among them."""
    top = max(int(max_batch), 1)
    grid = {round(x) for x in np.geomspace(1, top, num=min(num, top))}
    grid |= {1, top}
    if include is not None and include >= 1:
        grid.add(int(include))
    return sorted(grid)


def latency_throughput_curve(est: Any, *, model: ModelArch | str | None = None,
                             calibration: Calibration | None = None,
                             max_num_batched_tokens: int = 8192) -> dict[str, Any] | None:
    """Points (batch, TPOT, tokens/s per GPU and per user) for ``est`` (an ``Estimate`` or its
    ``to_dict()``); None when the model cannot be rebuilt by name (a local config.json)."""
    e = est if isinstance(est, dict) else est.to_dict()
    try:
        arch = model if isinstance(model, ModelArch) else get_model(model or e["model"])
        sp = e.get("speculative") or {}
        spec = None if not sp else make_spec_decode(
            sp["method"], num_tokens=sp["num_tokens"], acceptance_rate=sp["acceptance_rate"],
            draft_model=sp.get("draft_model"))
        dep = make_deployment(arch, e["hardware"], tp=e["tp"], pp=e["pp"], ep=e["ep"],
                              dp=e.get("dp", 1), weights_dtype=e["weights_dtype"],
                              kv_dtype=e["kv_dtype"], compute_dtype=e.get("compute_dtype"),
                              spec=spec)
    except TokenworksError:
        return None
    engine = e.get("engine", "vllm")
    max_num_batched_tokens = int(e.get("max_num_batched_tokens") or max_num_batched_tokens)
    cost = StepCostModel(arch, dep, calibration, engine=engine,
                         max_num_batched_tokens=max_num_batched_tokens)
    i, o = int(e["input_tokens"]), int(e["output_tokens"])
    cached = round(float(e.get("prefix_hit_frac") or 0.0) * i)
    max_batch = max(int(e["max_concurrent_sequences"]), int(e["batch_size"]))
    replica_gpus = int(e["tp"]) * int(e["pp"])
    rows = []
    for b in batch_grid(max_batch, include=int(e["batch_size"])):
        ss = steady_state(cost, batch=b, input_tokens=i, output_tokens=o, cached_tokens=cached,
                          max_num_batched_tokens=max_num_batched_tokens)
        rows.append({"batch": b, "tpot_s": ss.step_time_s,
                     "output_tokens_per_s_per_gpu": ss.output_tokens_per_s / replica_gpus,
                     "output_tokens_per_s_per_user": 1.0 / ss.step_time_s,
                     "bound": ss.breakdown.bound})
    cal = cost.calibration
    return {
        "points": rows,
        "operating_batch": int(e["batch_size"]),
        "token_budget_batch": token_budget_batch(max_num_batched_tokens=max_num_batched_tokens,
                                                 input_tokens=i, output_tokens=o,
                                                 cached_tokens=cached),
        "kv_capacity_batch": int(e["max_concurrent_sequences"]),
        "compute_efficiency_frac": cal.gemm_compute_frac,
        "memory_efficiency_frac": cal.gemm_memory_frac,
        "calibration_source": cal.source,
    }
