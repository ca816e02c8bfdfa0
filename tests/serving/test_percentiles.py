"""The summary's percentiles must equal numpy's bit for bit (sim_result.percentiles)."""

from __future__ import annotations

import numpy as np
import pytest

from tokenworks.serving.result import percentiles, stats


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11, 101, 1000, 4097])
def test_percentiles_bitwise_equal_numpy(n):
    rng = np.random.default_rng(n)
    for x in (rng.lognormal(0.0, 2.0, n), rng.integers(0, 4, n).astype(np.float64),
              rng.normal(size=n) * 1e-3, np.full(n, -0.0),
              rng.integers(-1, 2, n) * np.where(rng.random(n) < 0.5, 0.0, -0.0)):
        for qs in ((50, 90, 99), (0, 100, 0.1), (33.3, 66.7, 99.9)):
            ref = np.percentile(x, list(qs))
            got = np.array(percentiles(x, qs))
            assert got.tobytes() == ref.tobytes(), (n, qs)


def test_percentiles_hand_values():
    """Type-7 quantiles of 1..5: p50 = 3 (index 2), p90 = 4.6 (index 3.6), p99 = 4.96."""
    p50, p90, p99 = percentiles(np.array([5.0, 1.0, 4.0, 2.0, 3.0]), (50, 90, 99))
    assert p50 == 3.0
    assert p90 == pytest.approx(4.6, abs=1e-12)
    assert p99 == pytest.approx(4.96, abs=1e-12)


def test_stats_skips_non_finite_and_empty():
    assert stats(np.array([np.nan, np.inf])) == {"mean": None, "p50": None, "p90": None,
                                                 "p99": None}
    s = stats(np.array([1.0, np.nan, 3.0]))
    assert s["mean"] == 2.0 and s["p50"] == 2.0
