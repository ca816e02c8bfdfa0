"""Fit the roofline calibration (efficiency fractions, per-step overhead) to a user's own
measurements, and report the error before and after.

Two kinds of measurement:

* per-request latencies (``vllm bench serve``, GuideLLM, CSV; see ``api.measurements``): each
  run is replayed through the serving simulator with the same arrivals and lengths, and the
  parameters are fitted so that the simulated TTFT and TPOT match the measured ones;
* per-step timings (``StepTimings``; e.g. Splitwise's or vidur's profiles): each step's time
  comes straight from ``StepCostModel.step_time_s``, no simulation.

The fit is robust nonlinear least squares (``scipy.optimize.least_squares``, soft-L1 loss) on
log-ratio residuals log(predicted / measured), in log-parameter space with bounds, starting
from the base calibration. A handful of parameters only (default: compute and memory
efficiency and the per-step overhead); more would be unidentifiable from latencies.

Units: seconds, fractions 0–1. Errors are "median absolute percent error": the median over
requests (or steps) of |predicted / measured − 1|.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from tokenworks.errors import ConfigError
from tokenworks.model.arch import ModelArch
from tokenworks.perf.calibration import Calibration, default_calibration
from tokenworks.perf.deployment import Deployment
from tokenworks.perf.step import StepCostModel

DEFAULT_PARAMS = ("compute_efficiency_frac", "memory_efficiency_frac", "step_overhead_s")
# Search bounds per parameter (log space is used inside the fit, so lower bounds are > 0).
BOUNDS = {
    "compute_efficiency_frac": (0.02, 1.0),
    "prefill_compute_efficiency_frac": (0.02, 1.0),
    "memory_efficiency_frac": (0.02, 1.0),
    "comm_efficiency_frac": (0.02, 1.0),
    "comm_latency_s": (1e-7, 1e-3),
    "step_overhead_s": (1e-5, 0.5),
    "per_seq_overhead_s": (1e-8, 1e-3),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FitError:
    """Median absolute fractional errors (``0.12`` = 12%) and the number of samples."""

    ttft_frac: float | None = None
    tpot_frac: float | None = None
    e2e_frac: float | None = None
    step_frac: float | None = None
    num_samples: int = 0

    def to_dict(self) -> dict[str, float | int | None]:
        return {"ttft_median_abs_err_frac": self.ttft_frac,
                "tpot_median_abs_err_frac": self.tpot_frac,
                "e2e_median_abs_err_frac": self.e2e_frac,
                "step_median_abs_err_frac": self.step_frac, "num_samples": self.num_samples}

    def describe(self) -> str:
        parts = [f"{k} {v:.1%}" for k, v in (("TTFT", self.ttft_frac), ("TPOT", self.tpot_frac),
                                             ("E2E", self.e2e_frac), ("step", self.step_frac))
                 if v is not None]
        return ", ".join(parts) + f" (median abs error, n={self.num_samples})"


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibrationFit:
    """A fitted calibration with its error before and after, ready for ``save_calibration``."""

    calibration: Calibration
    fitted: tuple[tuple[str, float], ...]
    base: tuple[tuple[str, float], ...]
    error_before: FitError
    error_after: FitError
    num_evaluations: int
    wall_s: float
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {"fitted": dict(self.fitted), "base": dict(self.base),
                "error_before": self.error_before.to_dict(),
                "error_after": self.error_after.to_dict(),
                "num_evaluations": self.num_evaluations, "wall_s": self.wall_s,
                "notes": list(self.notes)}


def median_abs_err(pred: np.ndarray, meas: np.ndarray) -> float | None:
    """Median over finite pairs with meas > 0 of |pred / meas − 1|; None when there are none."""
    ok = np.isfinite(pred) & np.isfinite(meas) & (meas > 0)
    if not ok.any():
        return None
    return float(np.median(np.abs(pred[ok] / meas[ok] - 1.0)))


def _check_params(params: Sequence[str]) -> tuple[str, ...]:
    params = tuple(params)
    if not params:
        raise ConfigError("calibrate needs at least one parameter to fit; valid: "
                          f"{', '.join(BOUNDS)}.")
    for p in params:
        if p not in BOUNDS:
            raise ConfigError(f"calibration parameter '{p}' cannot be fitted. Valid: "
                              f"{', '.join(BOUNDS)}.")
    if len(set(params)) != len(params):
        raise ConfigError(f"calibration parameters {list(params)} repeat a name; list each once.")
    return params


def flat_base(deployment: Deployment, base: Calibration | None) -> Calibration:
    """The base calibration flattened for the deployment's accelerator (no overrides left), so
    the fitted values are not overridden again when the file is loaded."""
    acc = deployment.accelerator
    if base is None:
        return default_calibration(acc.name)
    return base.for_accelerator(acc.name, acc.vendor)


def _value(cal: Calibration, name: str) -> float:
    v = getattr(cal, name)
    if v is None:  # prefill_compute_efficiency_frac unset: it follows compute_efficiency_frac
        v = cal.compute_efficiency_frac
    lo, hi = BOUNDS[name]
    return min(max(float(v), lo), hi)


def _to_cal(base: Calibration, params: tuple[str, ...], x: np.ndarray) -> Calibration:
    vals = {p: float(math.exp(v)) for p, v in zip(params, x, strict=True)}
    for p in params:  # exp(log(1.0)) can round above 1 by an ulp
        vals[p] = min(max(vals[p], BOUNDS[p][0]), BOUNDS[p][1])
    return replace(base, **vals)


Residuals = Callable[[Calibration], np.ndarray]


def _least_squares(residuals: Residuals, base: Calibration, params: tuple[str, ...], *,
                   max_evaluations: int) -> tuple[Calibration, int]:
    """Soft-L1 least squares on ``residuals(cal)`` over log-parameters within BOUNDS."""
    from scipy.optimize import least_squares

    x0 = np.log([_value(base, p) for p in params])
    lo = np.log([BOUNDS[p][0] for p in params])
    hi = np.log([BOUNDS[p][1] for p in params])
    x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)
    count = 0

    def fun(x: np.ndarray) -> np.ndarray:
        nonlocal count
        count += 1
        r = residuals(_to_cal(base, params, x))
        # ASSUMPTION: a sample the simulator could not produce (NaN) counts as a large miss.
        return np.where(np.isfinite(r), r, 3.0)

    # NOTE: diff_step 0.05 in log space (5% parameter steps) smooths the small jumps a
    # discrete-event replay has in its parameters, for robustness and speed.
    sol = least_squares(fun, x0, bounds=(lo, hi), loss="soft_l1", f_scale=0.1,
                        diff_step=0.05, x_scale=1.0, max_nfev=max_evaluations, xtol=1e-3,
                        ftol=1e-4)
    return _to_cal(base, params, sol.x), count


def _finish(base: Calibration, fitted: Calibration, params: tuple[str, ...], before: FitError,
            after: FitError, evals: int, t0: float, source: str, notes: list[str]
            ) -> CalibrationFit:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    cal = replace(fitted, overrides=(), source=source, fit_date=stamp,
                  fit_error=f"before: {before.describe()}; after: {after.describe()}")
    return CalibrationFit(
        calibration=cal, fitted=tuple((p, float(getattr(cal, p))) for p in params),
        base=tuple((p, _value(base, p)) for p in params), error_before=before,
        error_after=after, num_evaluations=evals, wall_s=time.perf_counter() - t0,
        notes=tuple(notes))


# ---------------------------------------------------------------------------------------------
# Step timings


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class StepTimings:
    """Measured engine steps (columnar, one entry per step); arguments of ``step_time_s``."""

    num_prefill_tokens: np.ndarray
    prefill_attention_pairs: np.ndarray
    prefill_kv_tokens: np.ndarray
    num_decode_seqs: np.ndarray
    decode_kv_tokens: np.ndarray
    time_s: np.ndarray

    def __post_init__(self) -> None:
        n = self.time_s.size
        for name in ("num_prefill_tokens", "prefill_attention_pairs", "prefill_kv_tokens",
                     "num_decode_seqs", "decode_kv_tokens"):
            if np.asarray(getattr(self, name)).size != n:
                raise ConfigError(f"step timings: {name} has {np.asarray(getattr(self, name)).size}"
                                  f" entries but time_s has {n}; give one per step.")
        if n == 0 or not np.all(np.isfinite(self.time_s)) or np.any(self.time_s <= 0):
            raise ConfigError("step timings: time_s must be a non-empty array of positive, "
                              "finite seconds.")

    def predict(self, cm: StepCostModel) -> np.ndarray:
        return np.asarray(cm.step_time_s(
            num_prefill_tokens=self.num_prefill_tokens,
            prefill_attention_pairs=self.prefill_attention_pairs,
            prefill_kv_tokens=self.prefill_kv_tokens, num_decode_seqs=self.num_decode_seqs,
            decode_kv_tokens=self.decode_kv_tokens), dtype=float)


def fit_step_times(model: ModelArch, deployment: Deployment, steps: StepTimings, *,
                   base: Calibration | None = None, params: Sequence[str] = DEFAULT_PARAMS,
                   max_evaluations: int = 200, source: str = "step timings") -> CalibrationFit:
    """Fit ``params`` so ``StepCostModel.step_time_s`` matches measured step times."""
    t0 = time.perf_counter()
    params = _check_params(params)
    b = flat_base(deployment, base)

    def predict(cal: Calibration) -> np.ndarray:
        return steps.predict(StepCostModel(model, deployment, cal))

    def residuals(cal: Calibration) -> np.ndarray:
        return np.log(predict(cal) / steps.time_s)

    fitted, evals = _least_squares(residuals, b, params, max_evaluations=max_evaluations)

    def err(cal: Calibration) -> FitError:
        return FitError(step_frac=median_abs_err(predict(cal), steps.time_s),
                        num_samples=int(steps.time_s.size))

    return _finish(b, fitted, params, err(b), err(fitted), evals, t0,
                   f"tokenworks calibrate: {source}", [])
