"""Distinct-experts occupancy model: limits, monotonicity, vectorisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenworks.errors import ConfigError
from tokenworks.model import expected_distinct_experts, moe_saturation_tokens


def test_one_token_touches_k():
    assert expected_distinct_experts(256, 8, 1) == pytest.approx(8.0)


def test_many_tokens_touch_all():
    assert expected_distinct_experts(256, 8, 10_000) == pytest.approx(256.0)
    assert expected_distinct_experts(8, 2, 0) == 0.0


def test_vectorised():
    b = np.array([1, 2, 16, 1024])
    out = expected_distinct_experts(128, 4, b)
    assert out.shape == (4,)
    assert np.all(np.diff(out) > 0)


@given(e=st.integers(1, 512), data=st.data())
def test_monotone_and_bounded(e, data):
    k = data.draw(st.integers(1, e))
    b1 = data.draw(st.floats(0, 5000))
    b2 = data.draw(st.floats(0, 5000))
    lo, hi = sorted((b1, b2))
    d_lo = expected_distinct_experts(e, k, lo)
    d_hi = expected_distinct_experts(e, k, hi)
    assert d_lo <= d_hi + 1e-9
    assert 0.0 <= d_hi <= e + 1e-9
    if hi >= 1:
        assert d_hi >= k - 1e-9  # at least one token's k experts


def test_saturation_inverts():
    """Mixtral (8, top-2): 95% touched at B = ln 0.05 / ln 0.75 = 10.41 tokens."""
    b = moe_saturation_tokens(8, 2, 0.95)
    assert b == pytest.approx(math.log(0.05) / math.log(0.75))
    assert expected_distinct_experts(8, 2, b) == pytest.approx(0.95 * 8)
    assert moe_saturation_tokens(4, 4) == 1.0


def test_bad_routing_rejected():
    with pytest.raises(ConfigError, match="top_k"):
        expected_distinct_experts(8, 9, 1)
    with pytest.raises(ConfigError, match="frac"):
        moe_saturation_tokens(8, 2, 1.0)
