"""``calibrate``: fit the step-time calibration to a user's serving measurements by replaying
each measured run through the simulator, and report the error before and after.

Edge (``io.measurements``: vLLM / GuideLLM / CSV files → ``MeasuredRun``) → one in-memory
``SimulationSpec`` per run (the measured arrivals and lengths as a trace) → ``serving.simulate``
per candidate calibration → ``perf.fit.fit_residuals``. Nothing is written to disk.

Units: seconds, fractions 0–1. Errors are "median absolute percent error": the median over
requests of |predicted / measured − 1|.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tokenworks.errors import ConfigError, SimulationError, check_range
from tokenworks.hardware import get_accelerator
from tokenworks.io.measurements import MeasuredRun, Measurements, read_measurements
from tokenworks.model.catalog import get_model
from tokenworks.perf.calibration import Calibration, default_calibration
from tokenworks.perf.deployment import make_deployment
from tokenworks.perf.engine import check_engine_limits
from tokenworks.perf.fit import (
    DEFAULT_PARAMS,
    CalibrationFit,
    FitError,
    check_evaluations,
    check_params,
    finish_fit,
    fit_residuals,
    median_abs_err,
)
from tokenworks.serving.simulator import simulate
from tokenworks.serving.spec import (
    PoolSpec,
    RouterSpec,
    SchedulerSpec,
    SimulationSpec,
)
from tokenworks.serving.traces import Trace, TraceTraffic

__all__ = ["ServingSetup", "calibrate", "replay_run"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServingSetup:
    """The deployment the measurements were taken on (what the replay simulates)."""

    model: str
    hardware: str
    tp: int = 1
    pp: int = 1
    num_replicas: int = 1
    weights_dtype: str = "bf16"
    kv_dtype: str | None = None
    max_num_batched_tokens: int = 8192
    max_num_seqs: int = 256
    chunked_prefill: bool = True
    prefix_cache: str = "none"
    gpu_memory_utilization_frac: float = 0.9

    def check(self) -> None:
        """Raise the error a replay would, before any replay: the model, the part, the split,
        the dtypes, the engine limits."""
        model, acc = get_model(self.model), get_accelerator(self.hardware)
        make_deployment(model, acc, tp=self.tp, pp=self.pp, weights_dtype=self.weights_dtype,
                        kv_dtype=self.kv_dtype or self.weights_dtype)
        check_range("num_replicas", self.num_replicas, low=1, high=100_000)
        check_range("gpu_memory_utilization_frac", self.gpu_memory_utilization_frac, low=0.05,
                    high=1.0)
        check_engine_limits(max_num_seqs=self.max_num_seqs,
                            max_num_batched_tokens=self.max_num_batched_tokens)

    def spec(self, run: MeasuredRun, cal: Calibration, seed: int) -> SimulationSpec:
        """The run's arrivals and lengths replayed on this deployment with ``cal``."""
        order = np.argsort(run.arrival_s, kind="stable")
        at = run.arrival_s[order]
        trace = Trace(path=f"measured run '{run.label}'", arrived_at_s=at - at[0],
                      prompt_tokens=run.input_tokens[order],
                      output_tokens=run.output_tokens[order])
        pool = PoolSpec(accelerator=get_accelerator(self.hardware), tp=self.tp, pp=self.pp,
                        num_replicas=self.num_replicas, weights_dtype=self.weights_dtype,
                        kv_dtype=self.kv_dtype or self.weights_dtype,
                        gpu_memory_utilization_frac=self.gpu_memory_utilization_frac)
        return SimulationSpec(
            name="calibration-replay", model=get_model(self.model), pools=(pool,),
            scheduler=SchedulerSpec(max_num_batched_tokens=self.max_num_batched_tokens,
                                    max_num_seqs=self.max_num_seqs,
                                    chunked_prefill=self.chunked_prefill),
            prefix_cache=self.prefix_cache, router=RouterSpec(kind="least_outstanding"),
            traffic=TraceTraffic(trace=trace), seed=seed, calibration=cal)


def replay_run(setup: ServingSetup, run: MeasuredRun, cal: Calibration, *,
               seed: int = 0) -> dict[str, np.ndarray]:
    """Simulate one measured run with ``cal``; per-request ``ttft_s``, ``tpot_s``, ``e2e_s``
    aligned with the run's rows (NaN where the simulated request did not finish)."""
    t = simulate(setup.spec(run, cal, seed)).requests
    if t.num_rows != run.num_requests:
        raise SimulationError(f"replay of run '{run.label}' returned {t.num_rows} requests for "
                              f"{run.num_requests} measured; the trace replay lost rows.")
    # Request ids follow the arrival order; map them back to the file's row order.
    rid = np.asarray(t.column("request_id").to_numpy(zero_copy_only=False), np.int64)
    rows = np.argsort(run.arrival_s, kind="stable")[rid]
    out: dict[str, np.ndarray] = {}
    for k in ("ttft_s", "tpot_s", "e2e_s"):
        col = np.full(run.num_requests, np.nan)
        col[rows] = np.asarray(t.column(k).to_numpy(zero_copy_only=False), np.float64)
        out[k] = col
    return out


def _take(run: MeasuredRun, n: int | None) -> MeasuredRun:
    if n is None or n >= run.num_requests:
        return run
    return replace(run, arrival_s=run.arrival_s[:n], input_tokens=run.input_tokens[:n],
                   output_tokens=run.output_tokens[:n], ttft_s=run.ttft_s[:n],
                   e2e_s=run.e2e_s[:n])


def calibrate(measurements: Measurements | str | Path, setup: ServingSetup, *,
              base: Calibration | None = None, params: Sequence[str] = DEFAULT_PARAMS,
              max_requests: int | None = None, max_evaluations: int = 60,
              seed: int = 0) -> CalibrationFit:
    """Replay the measured runs through the simulator and fit ``params`` to their TTFT and
    TPOT. ``max_requests`` keeps the first N requests of each run (by arrival)."""
    t0 = time.perf_counter()
    params = check_params(params)
    check_evaluations(max_evaluations)
    setup.check()  # the deployment is valid before any file is read or replay run
    if not isinstance(measurements, Measurements):
        measurements = read_measurements(measurements)
    if max_requests is not None and max_requests < 1:
        raise ConfigError(f"max_requests = {max_requests}; it must be >= 1 (or omitted for all).")
    runs = [_take(r, max_requests) for r in measurements.runs]
    acc = get_accelerator(setup.hardware)
    b = default_calibration(acc.name) if base is None else base.for_accelerator(acc.name,
                                                                               acc.vendor)
    meas_ttft = np.concatenate([r.ttft_s for r in runs])
    meas_tpot = np.concatenate([r.tpot_s for r in runs])
    meas_e2e = np.concatenate([r.e2e_s for r in runs])
    has_tpot = np.isfinite(meas_tpot) & (meas_tpot > 0)
    notes = [f"{sum(r.num_requests for r in runs)} requests in {len(runs)} run(s) from "
             f"{Path(measurements.path).name} ({measurements.format})"]
    notes += [f"run '{r.label}': arrivals redrawn from request_rate (file has no send times)"
              for r in runs if not r.arrivals_measured]

    def predict(cal: Calibration) -> dict[str, np.ndarray]:
        parts = [replay_run(setup, r, cal, seed=seed) for r in runs]
        return {k: np.concatenate([p[k] for p in parts]) for k in ("ttft_s", "tpot_s", "e2e_s")}

    def residuals(cal: Calibration) -> np.ndarray:
        p = predict(cal)
        with np.errstate(divide="ignore", invalid="ignore"):
            r_ttft = np.log(p["ttft_s"] / meas_ttft)
            r_tpot = np.log(p["tpot_s"][has_tpot] / meas_tpot[has_tpot])
        return np.concatenate([r_ttft, r_tpot])

    def err(cal: Calibration) -> FitError:
        p = predict(cal)
        return FitError(ttft_frac=median_abs_err(p["ttft_s"], meas_ttft),
                        tpot_frac=median_abs_err(p["tpot_s"], meas_tpot),
                        e2e_frac=median_abs_err(p["e2e_s"], meas_e2e),
                        num_samples=int(meas_ttft.size))

    before = err(b)
    fitted, evals = fit_residuals(residuals, b, params, max_evaluations=max_evaluations)
    after = err(fitted)
    return finish_fit(b, fitted, params, before, after, evals + 2, t0,
                      f"tokenworks calibrate: {Path(measurements.path).name} on {setup.model}, "
                      f"{setup.hardware} tp={setup.tp}", notes)
