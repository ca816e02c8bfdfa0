"""tokenworks.perf: deployment spec, memory plan, roofline step time, calibration.

Layer rule: imports only ``tokenworks.model`` and ``tokenworks.hardware`` (plus the top-level
``units``, ``dtypes``, ``errors``, ``catalog``).
"""

from tokenworks.perf.calibration import (
    Calibration,
    CalibrationOverride,
    calibration_to_toml,
    default_calibration,
    packaged_calibration,
    parse_calibration,
)
from tokenworks.perf.deployment import (
    SPEC_METHODS,
    Deployment,
    SpecDecode,
    derive_compute_dtype,
    make_deployment,
    make_spec_decode,
)
from tokenworks.perf.memory import MemoryPlan, plan_memory
from tokenworks.perf.shape import ShardedShape, sharded_shape
from tokenworks.perf.steady import SteadyState, steady_state, token_budget_batch
from tokenworks.perf.step import (
    OpCost,
    StepBreakdown,
    StepCostModel,
    causal_pairs,
    pipeline_bubble_frac,
)

__all__ = [
    "SPEC_METHODS",
    "Calibration",
    "CalibrationOverride",
    "Deployment",
    "MemoryPlan",
    "OpCost",
    "ShardedShape",
    "SpecDecode",
    "SteadyState",
    "StepBreakdown",
    "StepCostModel",
    "calibration_to_toml",
    "causal_pairs",
    "default_calibration",
    "derive_compute_dtype",
    "make_deployment",
    "make_spec_decode",
    "packaged_calibration",
    "parse_calibration",
    "pipeline_bubble_frac",
    "plan_memory",
    "sharded_shape",
    "steady_state",
    "token_budget_batch",
]
