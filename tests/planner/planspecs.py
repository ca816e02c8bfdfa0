"""Small plans shared by the planner tests (Llama-3.1-8B, few requests: seconds each)."""

from __future__ import annotations

from dataclasses import replace

from tokenworks.model import get_model
from tokenworks.planner import (
    DemandSpec,
    PlanSpec,
    PriceSpec,
    RequestClass,
    SearchSpace,
    SimSettings,
    SloTarget,
)

PRICES = (
    PriceSpec(accelerator="h100-sxm", usd_per_gpu_hour=2.99, capex_usd=30000.0, power_w=1300.0,
              source="test"),
    PriceSpec(accelerator="h200", usd_per_gpu_hour=3.5, capex_usd=35000.0, power_w=1300.0,
              source="test"),
    PriceSpec(accelerator="mi300x", usd_per_gpu_hour=2.2, capex_usd=None, power_w=1400.0,
              source="test"),
)


def small_plan(*, rate: float | None = 20.0, ttft_s: float = 0.5, tpot_s: float = 0.03,
               modes=("aggregated",), hardware=("h100-sxm",), top_k: int = 3,
               classes=None, percentile: str = "p90", **space) -> PlanSpec:
    classes = classes or (RequestClass(input_tokens=1000, output_tokens=200),)
    return PlanSpec(
        name="test", model=get_model("llama-3.1-8b"),
        demand=DemandSpec(classes=classes, rate_per_s=rate),
        slo=(SloTarget(metric="ttft", percentile=percentile, limit_s=ttft_s),
             SloTarget(metric="tpot", percentile=percentile, limit_s=tpot_s)),
        space=SearchSpace(hardware=hardware, modes=modes,
                          **{"tp": (1, 2), "max_num_batched_tokens": (4096,),
                             "max_num_seqs": (128,), "pd_ratios": ((1, 1), (1, 2)), **space}),
        prices=PRICES, sim=SimSettings(num_requests=300, top_k=top_k), seed=0)


def tighter(spec: PlanSpec, factor: float) -> PlanSpec:
    return replace(spec, slo=tuple(replace(t, limit_s=t.limit_s * factor) for t in spec.slo))
