"""tokenworks.api: the one door for Python users, the CLI and the web app.

Each entry point parses the edge (``tokenworks.io``), builds specs, calls the layers (perf,
serving, economics, planner) and prices the result; it does no modelling of its own.
"""

from tokenworks.api.calibrate import ServingSetup, calibrate
from tokenworks.api.estimate import Estimate, estimate
from tokenworks.api.plan import plan
from tokenworks.api.simulate import simulate
from tokenworks.io.calibration import load_calibration, save_calibration
from tokenworks.io.scenario import Scenario, load_scenario, simulation_spec
from tokenworks.planner import PlanResult
from tokenworks.serving.result import SimulationResult

__all__ = ["Estimate", "PlanResult", "Scenario", "ServingSetup", "SimulationResult", "calibrate",
           "estimate", "load_calibration", "load_scenario", "plan", "save_calibration",
           "simulate", "simulation_spec"]
