"""The search space as concrete replica choices, and why any part of it was dropped.

``pool_choices`` walks the product of accelerators × tp × pp × ep × dp × weight and KV
precision × speculative decoding, keeping each split the engine could run (``make_deployment``
and the engine's support table accept it; with dp > 1 the experts span the tp × dp GPUs, so
ep is tp × dp whatever the space lists), the weights and one
longest sequence fit in memory at every scheduler setting tried, the replica fits the GPU
budget). It counts what each rule removed, so an empty space is answered with the rule that
emptied it and the fix. Units: tokens, counts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from tokenworks.errors import ConfigError, InfeasibleError
from tokenworks.hardware import get_accelerator
from tokenworks.perf.deployment import Deployment, make_deployment
from tokenworks.perf.engine import check_engine_support
from tokenworks.perf.memory import MemoryPlan, plan_memory
from tokenworks.planner.spec import PlanSpec, PoolChoice

__all__ = ["Pruning", "ValidPool", "pool_choices"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidPool:
    """A replica choice that can run, with its deployment and one memory plan per
    (max_num_batched_tokens, max_num_seqs) of the space."""

    choice: PoolChoice
    deployment: Deployment
    memory: dict[tuple[int, int], MemoryPlan]


@dataclass(slots=True)
class Pruning:
    """How many replica choices each rule removed, with one example message per rule."""

    tried: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    example: dict[str, str] = field(default_factory=dict)

    def drop(self, rule: str, message: str) -> None:
        self.removed[rule] = self.removed.get(rule, 0) + 1
        self.example.setdefault(rule, message)

    def why_empty(self, what: str) -> str:
        parts = [f"{n} by {rule} (e.g. {self.example[rule]})" for rule, n in
                 sorted(self.removed.items(), key=lambda kv: -kv[1])]
        return (f"the search space has no {what}: of {self.tried} replica choices, "
                + "; ".join(parts) + ".")


def pool_choices(spec: PlanSpec, hardware: tuple[str, ...], pruning: Pruning) -> list[ValidPool]:
    """Every runnable replica choice on ``hardware`` (see module docstring)."""
    s, model = spec.space, spec.model
    max_seq = spec.demand.max_seq_tokens
    out: list[ValidPool] = []
    seen: set[tuple] = set()
    for name, tp, pp, ep, dp, w, kv, sd in itertools.product(
            hardware, s.tp, s.pp, s.ep, s.dp, s.weights_dtypes, s.kv_dtypes, s.speculative):
        if dp > 1:
            ep = tp * dp
        key = (name, tp, pp, ep, dp, w, kv, sd)
        if key in seen:
            continue
        seen.add(key)
        pruning.tried += 1
        acc = get_accelerator(name)
        if tp > acc.scaleup_domain_size and acc.scaleup_domain_size > 1:
            # ASSUMPTION: the planner keeps a TP group inside one scale-up domain (NVLink,
            # xGMI): TP across the scale-out network is never the cheapest way to serve.
            pruning.drop("scale-up domain", f"tp={tp} > {acc.name}'s domain of "
                                            f"{acc.scaleup_domain_size}")
            continue
        budget = spec.budget.max_gpus
        if budget is not None and tp * dp * pp > budget:
            pruning.drop("the GPU budget", f"tp×dp×pp = {tp * dp * pp} > max_gpus = {budget}")
            continue
        try:
            dep = make_deployment(model, acc, tp=tp, pp=pp, ep=ep, dp=dp, weights_dtype=w,
                                  kv_dtype=kv, spec=sd)
        except ConfigError as e:
            pruning.drop("the model's shape", str(e).split(". ")[0])
            continue
        try:
            check_engine_support(spec.engine, dep)
        except ConfigError as e:
            pruning.drop("the engine's support", str(e).split(";")[0])
            continue
        if max_seq > model.max_context_tokens:
            raise ConfigError(f"the demand's longest request ({max_seq} tokens) exceeds "
                              f"{model.name}'s context window of {model.max_context_tokens}.")
        memory: dict[tuple[int, int], MemoryPlan] = {}
        try:
            for mbt, mns in itertools.product(s.max_num_batched_tokens, s.max_num_seqs):
                memory[(mbt, mns)] = plan_memory(
                    model, dep, max_seq_len_tokens=max_seq, max_num_batched_tokens=mbt,
                    max_num_seqs=mns)
        except InfeasibleError as e:
            pruning.drop("memory", f"{name} tp={tp} pp={pp} {w}: " + str(e).split(";")[0])
            continue
        out.append(ValidPool(choice=PoolChoice(accelerator=acc.name, tp=tp, pp=pp, ep=ep, dp=dp,
                                               weights_dtype=dep.weights_dtype,
                                               kv_dtype=dep.kv_dtype, spec=sd),
                             deployment=dep, memory=memory))
    return out
