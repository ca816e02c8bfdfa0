"""Chart series from raw results: empirical CDFs, thinned time series, busy time per window,
and ratios per time window. Display preparation only (no model): every function reshapes
numbers the result already holds. Units as given (seconds in, seconds out).
"""

from __future__ import annotations

import numpy as np

__all__ = ["busy_frac_over_time", "cdf_points", "ratio_over_time", "thin", "time_bins"]

# Probabilities at which a CDF is drawn: dense in the body, denser still in the tail (p99+).
_CDF_P = np.unique(np.concatenate([np.linspace(0.0, 0.99, 100), np.linspace(0.99, 1.0, 51)]))


def cdf_points(values: np.ndarray) -> dict[str, list[float]]:
    """Empirical CDF of the finite ``values`` as ``{"x": quantiles, "p": probabilities}``
    (at most ~150 points, the tail kept); empty lists when there are none."""
    x = np.asarray(values, np.float64)
    x = np.sort(x[np.isfinite(x)])
    if len(x) == 0:
        return {"x": [], "p": []}
    if len(x) <= len(_CDF_P):
        return {"x": x.tolist(), "p": (np.arange(1, len(x) + 1) / len(x)).tolist()}
    q = np.quantile(x, _CDF_P)
    return {"x": q.tolist(), "p": _CDF_P.tolist()}


def thin(*columns: np.ndarray, max_points: int = 500) -> list[list[float]]:
    """The same evenly spaced rows of each column (first and last kept), at most
    ``max_points`` of them."""
    n = len(columns[0]) if columns else 0
    if n <= max_points:
        idx = np.arange(n)
    else:
        idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    return [np.asarray(c)[idx].tolist() for c in columns]


def time_bins(end_s: float, *, num: int = 100) -> np.ndarray:
    """``num + 1`` bin edges from 0 to ``end_s`` (one bin of 1 s when the run is empty)."""
    end = end_s if end_s > 0 else 1.0
    return np.linspace(0.0, end, num + 1)


def busy_frac_over_time(starts_s: np.ndarray, durations_s: np.ndarray,
                        edges_s: np.ndarray) -> np.ndarray:
    """Fraction of each bin a replica spent in steps, from its (non-overlapping) steps.

    Busy time up to ``t`` is the sum of the steps that ended by ``t`` plus the part of the
    one in progress; the fraction per bin is its difference over the bin width.
    """
    s = np.asarray(starts_s, np.float64)
    d = np.asarray(durations_s, np.float64)
    if len(s) == 0:
        return np.zeros(len(edges_s) - 1)
    order = np.argsort(s, kind="stable")
    s, d = s[order], d[order]
    ends = s + d
    cum = np.concatenate(([0.0], np.cumsum(d)))
    done = np.searchsorted(ends, edges_s, side="right")
    busy = cum[done]
    nxt = np.minimum(done, len(s) - 1)
    running = (done < len(s)) & (s[nxt] < edges_s)
    busy = busy + np.where(running, edges_s - s[nxt], 0.0)
    width = np.diff(edges_s)
    return np.clip(np.diff(busy) / np.where(width > 0, width, 1.0), 0.0, 1.0)


def ratio_over_time(at_s: np.ndarray, numerator: np.ndarray, denominator: np.ndarray,
                    edges_s: np.ndarray) -> np.ndarray:
    """Σ numerator / Σ denominator of the rows whose time falls in each bin (NaN where the
    bin has no denominator)."""
    t = np.asarray(at_s, np.float64)
    ok = np.isfinite(t)
    num, _ = np.histogram(t[ok], bins=edges_s, weights=np.asarray(numerator, np.float64)[ok])
    den, _ = np.histogram(t[ok], bins=edges_s, weights=np.asarray(denominator, np.float64)[ok])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)
