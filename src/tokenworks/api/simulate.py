"""``simulate(scenario)``: a scenario file (or dict, or spec) through the serving simulator,
priced.

Edge (``io.scenario``: file → ``SimulationSpec``) → ``serving.simulate`` → economics
(``run_cost``: price, cost, energy) → ``SimulationResult``.
"""

from __future__ import annotations

from pathlib import Path

from tokenworks.economics.run_cost import ReplicaUse, fleet_price, run_cost
from tokenworks.io.scenario import (
    Scenario,
    ScenarioFile,
    load_scenario,
    scenario_price,
    simulation_spec,
)
from tokenworks.serving.result import SimulationResult
from tokenworks.serving.simulator import Progress
from tokenworks.serving.simulator import simulate as run_simulation
from tokenworks.serving.spec import SimulationSpec
from tokenworks.serving.summary import completed_output_tokens

__all__ = ["price_result", "simulate"]


def simulate(scenario: Scenario | ScenarioFile | SimulationSpec | dict | str | Path, *,
             seed: int | None = None, progress: Progress | None = None,
             max_requests: int | None = None, record_steps: bool = False,
             usd_per_gpu_hour: float | None = None) -> SimulationResult:
    """Simulate a scenario (a YAML/TOML path, a dict, a loaded ``Scenario`` or a
    ``SimulationSpec``) and price the run.

    ``seed`` overrides the file's seed; ``max_requests`` caps the traffic (sessions for
    agentic and conversation workloads); ``progress(done, expected)`` is called as requests
    complete; ``record_steps`` keeps every engine step for the Chrome trace;
    ``usd_per_gpu_hour`` overrides the scenario's price (default: the catalogs').
    """
    if isinstance(scenario, SimulationSpec):
        spec = scenario
    else:
        sc = load_scenario(scenario)
        spec = simulation_spec(sc, seed=seed, max_requests=max_requests,
                               record_steps=record_steps)
        if usd_per_gpu_hour is None:
            usd_per_gpu_hour = scenario_price(sc)
    return price_result(spec, run_simulation(spec, progress=progress),
                        usd_per_gpu_hour=usd_per_gpu_hour)


def price_result(spec: SimulationSpec, result: SimulationResult, *,
                 usd_per_gpu_hour: float | None = None) -> SimulationResult:
    """The result with its cost and energy (economics.run_cost) in the summary."""
    s = result.summary
    if usd_per_gpu_hour is not None:
        source = "scenario price.usd_per_gpu_hour"
    else:
        usd_per_gpu_hour, source = fleet_price([(p.accelerator, p.num_gpus)
                                                for p in spec.pools])
    accs = [p.accelerator for p in spec.pools for _ in range(p.num_replicas)]
    uses = [ReplicaUse(accelerator=accs[r["replica_id"]], num_gpus=r["num_gpus"],
                       busy_frac=r["busy_frac"]) for r in s["replicas"]]
    cost, warnings = run_cost(replicas=uses, duration_s=s["duration_s"],
                              gpu_hours=s["gpu_hours"],
                              output_tokens=completed_output_tokens(result.requests),
                              usd_per_gpu_hour=usd_per_gpu_hour, price_source=source)
    return result.with_cost(cost.summary_fields(), warnings)
