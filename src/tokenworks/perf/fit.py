"""Fitting the step-time calibration to measurements, in memory: the fit loop, its error
report, and the per-step-timings fit.

Two kinds of measurement are fitted with the same loop (``fit_residuals``):

* per-step timings (``StepTimings``; e.g. Splitwise's or vidur's profiles): each step's time
  comes straight from ``StepCostModel.step_time_s`` (``fit_step_times``, here);
* per-request latencies (``vllm bench serve``, GuideLLM, CSV): each run is replayed through
  the serving simulator with the same arrivals and lengths, and the parameters are fitted so
  that the simulated TTFT and TPOT match the measured ones (``api.calibrate``, which owns the
  replay because it needs the simulator, a layer above this one).

The fit minimises a robust (soft-L1) loss of the log-ratio residuals log(predicted / measured)
with Nelder–Mead in log-parameter space within bounds, starting from the base calibration. A handful of parameters only (default: compute and memory
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
from tokenworks.perf.calibration import PARAM_NAMES, PARAMS, Calibration, default_calibration
from tokenworks.perf.deployment import Deployment
from tokenworks.perf.step import StepCostModel

# The default parameters a user's measurements are fitted with: the engine's own overheads
# (per step, per running sequence, front end) and the GEMM rate (prefill, i.e. TTFT). Kernel
# coefficients measured on the accelerator (calibration.toml) are better left alone: a
# latency run cannot tell a slower GEMM from a slower engine.
DEFAULT_PARAMS = ("step_overhead_s", "per_seq_overhead_s", "frontend_s", "gemm_compute_frac")


def _bounds(name: str) -> tuple[float, float]:
    """Search bounds (log space inside the fit, so lower bounds are > 0)."""
    spec = PARAMS[name]
    if spec.unit == "frac":
        return (0.02, 1.0)
    if spec.unit == "s":
        return (1e-7, spec.high)
    if spec.unit == "tokens":
        return (1.0, spec.high)
    return (max(spec.low, 1.0), 10.0)  # the smooth-max exponent


BOUNDS = {name: _bounds(name) for name in PARAM_NAMES}
# ASSUMPTION: each fitted parameter has a log-normal prior centred on the base calibration:
# kernel fractions (measured on the accelerator) with a factor-of-e^0.5 ≈ 1.65 standard
# deviation, times (engine overheads fitted on other runs) with e^1.5 ≈ 4.5, none for a time
# whose base is ~0 (nothing to anchor to); requests of one run count as at most 50 independent
# samples (they share one replay and one server), so the prior anchors a fit that the data
# leave loose without overriding data that pin a value.
PRIOR_LOG_SIGMA = 0.5
PRIOR_LOG_SIGMA_TIME = 1.5
MAX_EFFECTIVE_SAMPLES = 50


def prior_sigmas(base: Calibration, params: Sequence[str]) -> np.ndarray:
    """Log-space prior widths of ``params`` (inf: no prior)."""
    out = []
    for p in params:
        lo = BOUNDS[p][0]
        if PARAMS[p].unit == "frac":
            out.append(PRIOR_LOG_SIGMA)
        elif float(getattr(base, p)) <= 10 * lo:
            out.append(math.inf)
        else:
            out.append(PRIOR_LOG_SIGMA_TIME)
    return np.array(out)


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
    # one-sigma multiplicative uncertainty per fitted parameter (1.2 = ±20%)
    uncertainty: tuple[tuple[str, float], ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {"fitted": dict(self.fitted), "base": dict(self.base),
                "uncertainty_factor": dict(self.uncertainty),
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


def check_params(params: Sequence[str]) -> tuple[str, ...]:
    params = tuple(params)
    if not params:
        raise ConfigError("calibrate needs at least one parameter to fit (--params is empty); valid: "
                          f"{', '.join(BOUNDS)}.")
    for p in params:
        if p not in BOUNDS:
            raise ConfigError(f"calibration parameter '{p}' cannot be fitted. Valid: "
                              f"{', '.join(BOUNDS)}.")
    if len(set(params)) != len(params):
        raise ConfigError(f"calibration parameters {list(params)} repeat a name; list each once.")
    return params


def check_evaluations(max_evaluations: int) -> int:
    """A fit's evaluation budget is a whole number >= 1."""
    if isinstance(max_evaluations, bool) or not isinstance(max_evaluations, int) or \
            max_evaluations < 1:
        raise ConfigError(f"max_evaluations = {max_evaluations!r} must be a whole number >= 1 "
                          f"(the replays or step evaluations the fit may use), e.g. 60.")
    return max_evaluations


def flat_base(deployment: Deployment, base: Calibration | None,
              engine: str | None = None) -> Calibration:
    """The base calibration flattened for the deployment's accelerator and engine (no
    overrides left), so the fitted values are not overridden again when the file is loaded."""
    acc = deployment.accelerator
    if base is None:
        return default_calibration(acc.name, engine)
    return base.resolve(acc.name, acc.vendor, engine)


def base_value(cal: Calibration, name: str) -> float:
    lo, hi = BOUNDS[name]
    return min(max(float(getattr(cal, name)), lo), hi)


def _to_cal(base: Calibration, params: tuple[str, ...], x: np.ndarray) -> Calibration:
    vals = {p: float(math.exp(v)) for p, v in zip(params, x, strict=True)}
    for p in params:  # exp(log(1.0)) can round above 1 by an ulp
        vals[p] = min(max(vals[p], BOUNDS[p][0]), BOUNDS[p][1])
    return replace(base, **vals)


Residuals = Callable[[Calibration], np.ndarray]


def fit_residuals(residuals: Residuals, base: Calibration, params: Sequence[str], *,
                  max_evaluations: int = 60) -> tuple[Calibration, int]:
    """Minimise the mean soft-L1 loss of ``residuals(cal)`` over log-parameters in BOUNDS.

    Nelder–Mead (scipy.optimize.minimize): a replay through a discrete-event simulator is
    piecewise smooth in its parameters (a scheduling decision flips at some value), which
    stalls gradient methods with finite-difference Jacobians (trust regions collapse on the
    jumps); the simplex method only compares costs. The soft-L1 loss
    2(sqrt(1 + (r/0.1)²) − 1) is quadratic below a 10% log error and linear above, so a few
    requests the replay cannot match (e.g. measured outliers) do not drive the fit.
    A log-normal prior centred on ``base`` (``PRIOR_LOG_SIGMA``) anchors parameters the data
    do not pin. ``base`` should already be flat (``Calibration.resolve``). Returns the best
    calibration seen and the number of ``residuals`` calls.
    """
    from scipy.optimize import minimize

    params = check_params(params)
    check_evaluations(max_evaluations)
    x0 = np.log([base_value(base, p) for p in params])
    lo = np.log([BOUNDS[p][0] for p in params])
    hi = np.log([BOUNDS[p][1] for p in params])
    x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)
    count = 0
    best: tuple[float, np.ndarray] = (math.inf, x0)

    x_prior = x0.copy()
    sig_prior = prior_sigmas(base, params)

    def cost(x: np.ndarray) -> float:
        nonlocal count, best
        count += 1
        x = np.clip(x, lo, hi)
        r = residuals(_to_cal(base, params, x))
        # ASSUMPTION: a sample the simulator could not produce (NaN) counts as a large miss.
        r = np.where(np.isfinite(r), r, 3.0)
        z = (r / 0.1) ** 2
        c = float(np.mean(2.0 * (np.sqrt(1.0 + z) - 1.0))) if r.size else 0.0
        # The prior (see PRIOR_LOG_SIGMA), on the scale of the data term: soft-L1 ≈ (r/0.1)²
        # per sample, so a log-normal prior adds Σ((x − x0)/σ)² / n_effective.
        n_eff = min(max(r.size, 1), MAX_EFFECTIVE_SAMPLES)
        c += float(np.sum(((x - x_prior) / sig_prior) ** 2)) / n_eff
        if c < best[0]:
            best = (c, x.copy())
        return c

    # Nelder–Mead converges prematurely on kinked costs (the roofline's max(), scheduling
    # jumps), so it is restarted from the best point with a fresh, smaller simplex while the
    # budget lasts. The first simplex moves each parameter down by 0.3 in log space (×0.74; up
    # at its lower bound); restarts use 0.15, then 0.075 ...
    budget = max(max_evaluations, 2 * x0.size + 2)
    step = 0.3
    while budget - count > 2 * x0.size + 1:
        start = best[1]
        simplex = [start]
        for k in range(start.size):
            xk = start.copy()
            xk[k] += -step if start[k] - step >= lo[k] else step
            simplex.append(np.clip(xk, lo, hi))
        before = best[0]
        minimize(cost, start, method="Nelder-Mead", bounds=list(zip(lo, hi, strict=True)),
                 options={"maxfev": budget - count, "xatol": 0.005, "fatol": 1e-5,
                          "initial_simplex": np.array(simplex)})
        if best[0] > before - 1e-6 and step < 0.05:
            break
        step /= 2
    return _to_cal(base, params, best[1]), count


def uncertainty(residuals: Residuals, fitted: Calibration, params: tuple[str, ...]
                ) -> tuple[dict[str, float], int]:
    """One-sigma multiplicative uncertainty of each fitted parameter (1.2 = ±20%), from the
    Gauss–Newton covariance of the log-parameters at the fit: forward differences of the
    residuals (one extra evaluation per parameter), the residual variance, and the prior.
    Returns the factors and the evaluations used; a parameter the data do not constrain
    gets the prior's width back."""
    x = np.log([base_value(fitted, p) for p in params])
    r0 = residuals(fitted)
    r0 = np.where(np.isfinite(r0), r0, 3.0)
    h = 0.05
    cols = []
    for i in range(len(params)):
        xi = x.copy()
        hi = np.log(BOUNDS[params[i]][1])
        step = h if xi[i] + h <= hi else -h
        xi[i] += step
        ri = residuals(_to_cal(fitted, params, xi))
        ri = np.where(np.isfinite(ri), ri, 3.0)
        cols.append((ri - r0) / step)
    j = np.stack(cols, axis=1) if cols else np.zeros((r0.size, 0))
    n = max(r0.size, 1)
    n_eff = min(n, MAX_EFFECTIVE_SAMPLES)
    s2 = max(float(np.sum(r0 ** 2)) / max(n - len(params), 1), 1e-6)
    # Information per effective sample, scaled to the effective number of samples.
    prior = 1.0 / np.minimum(prior_sigmas(fitted, params), 10.0) ** 2
    info = j.T @ j * (n_eff / n) / s2 + np.diag(prior)
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.diag(1.0 / prior)
    sig = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return {p: float(math.exp(v)) for p, v in zip(params, sig, strict=True)}, len(params) + 1


def bound_notes(fitted: Calibration, params: tuple[str, ...]) -> list[str]:
    """A warning for each fitted parameter that ended on its search bound."""
    notes = []
    for p in params:
        v = float(getattr(fitted, p))
        lo, hi = BOUNDS[p]
        at = "upper" if v >= hi * 0.99 else "lower" if v <= lo * 1.01 else None
        if at is None:
            continue
        notes.append(
            f"{p} = {v:.4g} sits on its {at} bound ({lo:g}..{hi:g}): the measurements ask for a "
            f"value outside the physical range, so it is not a measurement of {p}. Usually "
            "the replay lacks something the real server had (prefix-cache hits, a different "
            "engine or scheduler, CPU offload, other load on the GPUs) or the units of a column "
            "are off; check those before using this calibration.")
    return notes


def finish_fit(base: Calibration, fitted: Calibration, params: tuple[str, ...], before: FitError,
               after: FitError, evals: int, t0: float, source: str, notes: list[str],
               sigma: dict[str, float] | None = None) -> CalibrationFit:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    cal = replace(fitted, overrides=(), source=source, fit_date=stamp,
                  fit_error=f"before: {before.describe()}; after: {after.describe()}")
    return CalibrationFit(
        calibration=cal, fitted=tuple((p, float(getattr(cal, p))) for p in params),
        base=tuple((p, base_value(base, p)) for p in params), error_before=before,
        error_after=after, num_evaluations=evals, wall_s=time.perf_counter() - t0,
        notes=tuple(bound_notes(fitted, params) + notes),
        uncertainty=tuple((sigma or {}).items()))


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


STEP_PARAMS = ("gemm_compute_frac", "gemm_memory_frac", "step_overhead_s")


def fit_step_times(model: ModelArch, deployment: Deployment, steps: StepTimings, *,
                   base: Calibration | None = None, params: Sequence[str] = STEP_PARAMS,
                   max_evaluations: int = 200, source: str = "step timings",
                   engine: str | None = None) -> CalibrationFit:
    """Fit ``params`` so ``StepCostModel.step_time_s`` matches measured step times."""
    t0 = time.perf_counter()
    params = check_params(params)
    b = flat_base(deployment, base, engine)

    def predict(cal: Calibration) -> np.ndarray:
        return steps.predict(StepCostModel(model, deployment, cal))

    def residuals(cal: Calibration) -> np.ndarray:
        return np.log(predict(cal) / steps.time_s)

    fitted, evals = fit_residuals(residuals, b, params, max_evaluations=max_evaluations)
    sigma, more = uncertainty(residuals, fitted, params)

    def err(cal: Calibration) -> FitError:
        return FitError(step_frac=median_abs_err(predict(cal), steps.time_s),
                        num_samples=int(steps.time_s.size))

    return finish_fit(b, fitted, params, err(b), err(fitted), evals + more, t0,
                      f"tokenworks calibrate: {source}", [], sigma)
