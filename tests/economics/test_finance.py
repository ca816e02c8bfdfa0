"""Golden and property tests for the finance primitives (hand arithmetic in docstrings)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenworks.economics.finance import (
    annuity_payment_usd,
    depreciation_schedule_usd,
    irr_frac,
    loan_schedule,
    npv_usd,
    payback_years,
    wacc_frac,
)
from tokenworks.errors import ConfigError


def test_annuity_golden():
    """$100,000 at 12%/yr over 5 years: 100000 x 0.12 / (1 - 1.12^-5) = 27,740.97."""
    assert annuity_payment_usd(100_000, 0.12, 5) == pytest.approx(27_740.97, abs=0.01)


def test_annuity_zero_rate_is_principal_over_periods():
    assert annuity_payment_usd(1200, 0.0, 12) == pytest.approx(100.0)


def test_straight_line_schedule_golden():
    """$46,500 cost, $4,650 residual, 6 years: (46500 - 4650) / 6 = 6,975 per year."""
    sched = depreciation_schedule_usd(46_500, life_years=6, residual_usd=4_650)
    assert sched == pytest.approx((6975.0,) * 6)


def test_double_declining_golden():
    """$1,000, no residual, 5 years: 400, 240, 144, then straight-line 108, 108 (sum 1000)."""
    sched = depreciation_schedule_usd(1000, life_years=5, method="double_declining")
    assert sched == pytest.approx((400, 240, 144, 108, 108))


def test_sum_of_years_golden():
    """$1,500, 5 years, SYD = 15: 500, 400, 300, 200, 100."""
    sched = depreciation_schedule_usd(1500, life_years=5, method="sum_of_years")
    assert sched == pytest.approx((500, 400, 300, 200, 100))


@pytest.mark.parametrize("method", ["straight_line", "double_declining", "sum_of_years"])
def test_schedules_total_cost_minus_residual(method):
    sched = depreciation_schedule_usd(10_000, life_years=4, residual_usd=1_000, method=method)
    assert sum(sched) == pytest.approx(9_000)
    assert all(d >= 0 for d in sched)


def test_irr_known_case():
    """[-100, 60, 60]: 100 = 60/(1+r) + 60/(1+r)^2 -> r = 13.07% (quadratic: (1+r) = 1.1307)."""
    assert irr_frac([-100, 60, 60]) == pytest.approx(0.130662, abs=1e-5)


def test_irr_none_without_sign_change():
    assert irr_frac([100, 10, 10]) is None


def test_npv_golden():
    """NPV at 10% of [-100, 110] = -100 + 110 / 1.1 = 0."""
    assert npv_usd(0.10, [-100, 110]) == pytest.approx(0.0, abs=1e-9)


def test_payback_interpolates():
    """[-100, 40, 40, 40]: cumulative -60, -20, +20 -> 2 + 20/40 = 2.5 years."""
    assert payback_years([-100, 40, 40, 40]) == pytest.approx(2.5)
    assert payback_years([-100, 10, 10]) is None


def test_loan_schedule_repays_principal():
    rows = loan_schedule(1_000_000, 0.12, 5)
    assert sum(r.principal_usd for r in rows) == pytest.approx(1_000_000)
    assert rows[-1].balance_usd == pytest.approx(0.0, abs=1e-6)
    assert rows[0].interest_usd == pytest.approx(120_000)


def test_wacc():
    """70% debt at 12% + 30% equity at 20% = 8.4% + 6% = 14.4% (pre-tax)."""
    assert wacc_frac(debt_share_frac=0.7, debt_rate_frac=0.12,
                     equity_hurdle_frac=0.2) == pytest.approx(0.144)


@pytest.mark.parametrize("call,match", [
    (lambda: annuity_payment_usd(100, 1.5, 5), "rate_frac = 1.5"),
    (lambda: annuity_payment_usd(-1, 0.1, 5), "principal_usd = -1"),
    (lambda: depreciation_schedule_usd(100, life_years=0), "life_years = 0"),
    (lambda: depreciation_schedule_usd(100, life_years=3, method="magic"), "magic"),
])
def test_bad_inputs_name_the_input(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


@given(st.floats(min_value=10, max_value=1e6), st.floats(min_value=0.01, max_value=0.5),
       st.integers(min_value=2, max_value=10))
def test_npv_at_irr_is_zero(outlay, rate, n):
    pay = annuity_payment_usd(outlay, rate, n)
    flows = [-outlay] + [pay] * n
    r = irr_frac(flows)
    assert r == pytest.approx(rate, abs=1e-6)
    assert npv_usd(r, flows) == pytest.approx(0.0, abs=1e-4 * outlay)
