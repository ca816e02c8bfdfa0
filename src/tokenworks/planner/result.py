"""What a plan returns: ranked, simulated candidates, the recommendation and its reasons, the
Pareto fronts, and a plain export for reports and dashboards.

``PlanResult.to_dict()`` is the documented export (docs/planner.md, "The result"): JSON-able
plain values, SI units, keys

* ``plan``: the question (model, demand, SLO targets, objective, budget) and run counts;
* ``recommendation`` / ``runner_up``: one candidate row each (``PlannedCandidate.to_dict``);
* ``explanation``: ``binding`` (what limits the recommendation), ``runner_up_lost``,
  ``sensitivity`` (rows: case, what changed, best configuration, its $/M output tokens),
  ``verification`` (the whole deployment simulated at the demand) and ``lines`` (prose);
* ``candidates``: every simulated candidate, best first;
* ``pareto``: ``cost_latency`` and ``throughput_interactivity`` point lists;
* ``screen``: how many configurations the analytic screen evaluated and what it pruned;
* ``diagnosis``: when nothing meets the SLO, the closest candidates and what would be needed.

``table()`` gives the candidates as an Arrow table (``to_pandas()`` as a DataFrame).
Units: SI (s, W, USD, USD/h); ``usd_per_million_output_tokens`` is $ per 10^6 output tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from tokenworks.planner.spec import Candidate

__all__ = ["LATENCY_KEYS", "Explanation", "PlanResult", "PlannedCandidate"]

LATENCY_KEYS = ("ttft_p50", "ttft_p90", "ttft_p99", "tpot_p50", "tpot_p90", "tpot_p99",
                "e2e_p50", "e2e_p90", "e2e_p99")


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedCandidate:
    """One simulated candidate, sized to the demand and priced."""

    rank: int
    key: str
    candidate: Candidate
    meets_slo: bool
    binding: str  # what broke first above the capacity (simulated)
    analytic_binding: str
    unit_gpus: int
    units: int
    num_gpus: int
    capacity_rate_per_s: float  # one unit, simulated, within the SLO
    analytic_rate_per_s: float
    served_rate_per_s: float
    usd_per_hour: float
    usd_per_million_output_tokens: float
    output_tokens_per_s_per_gpu: float
    output_tokens_per_s_per_user: float
    power_w: float
    capex_usd: float | None
    latency_s: dict[str, float | None]  # LATENCY_KEYS at the capacity (or lowest load)

    @property
    def label(self) -> str:
        return self.candidate.label()

    def to_dict(self) -> dict[str, Any]:
        c = self.candidate
        d = {"rank": self.rank, "label": self.label, "mode": c.mode,
             "hardware": c.decode.accelerator if c.prefill is None
             else f"{c.prefill.accelerator}+{c.decode.accelerator}",
             "meets_slo": self.meets_slo, "binding": self.binding,
             "analytic_binding": self.analytic_binding,
             "unit_gpus": self.unit_gpus, "units": self.units, "num_gpus": self.num_gpus,
             "capacity_rate_per_s": self.capacity_rate_per_s,
             "analytic_rate_per_s": self.analytic_rate_per_s,
             "served_rate_per_s": self.served_rate_per_s, "usd_per_hour": self.usd_per_hour,
             "usd_per_million_output_tokens": self.usd_per_million_output_tokens,
             "output_tokens_per_s_per_gpu": self.output_tokens_per_s_per_gpu,
             "output_tokens_per_s_per_user": self.output_tokens_per_s_per_user,
             "power_w": self.power_w, "capex_usd": self.capex_usd}
        d.update({f"{k}_s": self.latency_s.get(k) for k in LATENCY_KEYS})
        d["candidate"] = asdict(c)
        d["key"] = self.key
        return d


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    binding: str
    runner_up_lost: str
    sensitivity: tuple[dict[str, Any], ...]
    verification: dict[str, Any]
    lines: tuple[str, ...]


@dataclass(slots=True, kw_only=True)
class PlanResult:
    """See the module docstring. ``timings`` (wall seconds) vary run to run; everything else
    is a function of the spec and seed."""

    name: str
    question: dict[str, Any]
    candidates: tuple[PlannedCandidate, ...]
    recommendation: PlannedCandidate | None
    runner_up: PlannedCandidate | None
    explanation: Explanation | None
    pareto_cost_latency: tuple[dict[str, Any], ...]
    pareto_throughput_interactivity: tuple[dict[str, Any], ...]
    screen: dict[str, Any]
    diagnosis: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None  # set when the plan ran against a results database

    @property
    def feasible(self) -> bool:
        return self.recommendation is not None

    def table(self) -> pa.Table:
        """The simulated candidates, best first, as an Arrow table (no nested columns)."""
        rows = [{k: v for k, v in c.to_dict().items() if k != "candidate"}
                for c in self.candidates]
        return pa.Table.from_pylist(rows)

    def to_pandas(self):
        return self.table().to_pandas()

    def to_dict(self) -> dict[str, Any]:
        e = self.explanation
        return {
            "plan": {"name": self.name, **self.question},
            "recommendation": None if self.recommendation is None
            else self.recommendation.to_dict(),
            "runner_up": None if self.runner_up is None else self.runner_up.to_dict(),
            "explanation": None if e is None else {
                "binding": e.binding, "runner_up_lost": e.runner_up_lost,
                "sensitivity": list(e.sensitivity), "verification": e.verification,
                "lines": list(e.lines)},
            "candidates": [c.to_dict() for c in self.candidates],
            "pareto": {"cost_latency": list(self.pareto_cost_latency),
                       "throughput_interactivity": list(self.pareto_throughput_interactivity)},
            "screen": self.screen,
            "diagnosis": list(self.diagnosis),
            "timings": self.timings,
            "run_id": self.run_id,
        }
