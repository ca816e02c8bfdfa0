"""report.series: the CDF, thinning and per-window series the charts draw (hand arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest

from tokenworks.report.series import (
    busy_frac_over_time,
    cdf_points,
    ratio_over_time,
    thin,
    time_bins,
)


def test_cdf_of_few_values_is_the_exact_step_function():
    c = cdf_points(np.array([3.0, 1.0, np.nan, 2.0]))
    assert c == {"x": [1.0, 2.0, 3.0], "p": [1 / 3, 2 / 3, 1.0]}


def test_cdf_of_many_values_keeps_the_tail_and_is_monotone():
    x = np.random.default_rng(0).lognormal(size=10_000)
    c = cdf_points(x)
    assert len(c["x"]) <= 151
    assert c["p"][0] == 0.0 and c["p"][-1] == 1.0
    assert c["x"][0] == x.min() and c["x"][-1] == x.max()
    assert np.all(np.diff(c["x"]) >= 0) and np.all(np.diff(c["p"]) > 0)
    # The p99 point is the numpy percentile (same interpolation).
    i = c["p"].index(0.99)
    assert c["x"][i] == pytest.approx(np.percentile(x, 99))
    # Dense tail: at least 40 points above p99.
    assert sum(p > 0.99 for p in c["p"]) >= 40


def test_cdf_of_nothing_is_empty():
    assert cdf_points(np.array([np.nan])) == {"x": [], "p": []}


def test_thin_keeps_first_and_last_and_aligns_columns():
    t = np.arange(10_000.0)
    a, b = thin(t, t * 2, max_points=100)
    assert len(a) <= 100 and a[0] == 0 and a[-1] == 9_999
    assert b == [2 * v for v in a]
    assert thin(t[:5], max_points=100) == [t[:5].tolist()]


def test_busy_fraction_by_hand():
    """Steps [0, 1) and [2.5, 3.5) s on bins of 1 s: busy 1, 0, 0.5, 0.5, 0."""
    edges = time_bins(5.0, num=5)
    f = busy_frac_over_time(np.array([2.5, 0.0]), np.array([1.0, 1.0]), edges)
    assert f.tolist() == pytest.approx([1.0, 0.0, 0.5, 0.5, 0.0])


def test_busy_fraction_of_a_step_longer_than_a_bin():
    """One jump from 0.5 s to 3.5 s: bins of 1 s are 0.5, 1, 1, 0.5 busy."""
    f = busy_frac_over_time(np.array([0.5]), np.array([3.0]), time_bins(4.0, num=4))
    assert f.tolist() == pytest.approx([0.5, 1.0, 1.0, 0.5])


def test_busy_time_is_conserved():
    rng = np.random.default_rng(1)
    d = rng.uniform(0.001, 0.05, 2000)
    gaps = rng.uniform(0, 0.02, 2000)
    s = np.cumsum(d + gaps) - d
    edges = time_bins(float(s[-1] + d[-1]), num=37)
    f = busy_frac_over_time(s, d, edges)
    assert float(np.sum(f * np.diff(edges))) == pytest.approx(d.sum(), rel=1e-9)


def test_ratio_over_time_sums_per_bin():
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    r = ratio_over_time(np.array([0.1, 0.9, 1.5, np.nan]), np.array([1.0, 3.0, 0.0, 5.0]),
                        np.array([4.0, 4.0, 10.0, 1.0]), edges)
    assert r[0] == pytest.approx(0.5) and r[1] == 0.0 and np.isnan(r[2])
