"""tokenworks.planner: the cheapest factory that meets the SLO.

``plan(PlanSpec)`` screens a search space of deployments analytically (numpy over candidates,
the perf layer's step time), confirms the best by simulation (capacity by bisection on load,
tail latencies from the serving simulator), ranks them by the objective priced by the plan's
per-accelerator prices, verifies the winner at full scale and explains it (``PlanResult``).
Confirmations run on a backend (``SerialBackend``, ``LocalBackend``, ``RayBackend``) and are
memoised on the frozen specs. See docs/planner.md.
"""

from tokenworks.planner.backends import (
    BACKENDS,
    LocalBackend,
    PlanInterrupted,
    RayBackend,
    SerialBackend,
    make_backend,
)
from tokenworks.planner.confirm import Confirmation, ConfirmTask, SimPoint, code_fingerprint
from tokenworks.planner.result import Explanation, PlannedCandidate, PlanResult
from tokenworks.planner.run import plan
from tokenworks.planner.screen import ScreenTable, screen
from tokenworks.planner.spec import (
    METRICS,
    MODES,
    OBJECTIVES,
    PERCENTILES,
    BudgetSpec,
    Candidate,
    DemandSpec,
    PlanSpec,
    PoolChoice,
    PriceSpec,
    RequestClass,
    SearchSpace,
    SimSettings,
    SloTarget,
)

__all__ = ["BACKENDS", "METRICS", "MODES", "OBJECTIVES", "PERCENTILES", "BudgetSpec",
           "Candidate", "ConfirmTask", "Confirmation", "DemandSpec", "Explanation",
           "LocalBackend", "PlanInterrupted", "PlanResult", "PlanSpec", "PlannedCandidate",
           "PoolChoice", "PriceSpec", "RayBackend", "RequestClass", "ScreenTable",
           "SearchSpace", "SerialBackend", "SimPoint", "SimSettings", "SloTarget",
           "code_fingerprint", "make_backend", "plan", "screen"]
