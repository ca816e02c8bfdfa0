"""Neocloud P&L: revenue arithmetic, contract repricing, margins, returns, depreciation risk."""

from __future__ import annotations

import pytest

from tokenworks.economics.pnl import (
    MarketSpec,
    NewGeneration,
    PnlSpec,
    depreciation_risk,
    neocloud_pnl,
)
from tokenworks.economics.tco import HOURS_PER_YEAR
from tokenworks.errors import ConfigError
from tokenworks.io.defaults import tco_spec
from tokenworks.io.economics import question


def tco_inputs(accelerator: str, **kw):
    return tco_spec(question("tco", flags={"accelerator": accelerator, **kw}))


def pnl(t, market, num_accelerators, **kw):
    """A P&L with the finance catalog's accounting (21% tax, 8% SG&A, 12% discount rate)."""
    return PnlSpec(tco=t, market=market, num_accelerators=num_accelerators,
                   **{**dict(years=None, depreciation_method="straight_line", tax_rate_frac=0.21,
                             sga_frac_of_revenue=0.08, discount_rate_frac=0.12), **kw})


def _market(**kw):
    base = dict(on_demand_usd_per_hour=4.0, price_decline_frac_per_year=0.0,
                utilization_year1_frac=0.5, utilization_mature_frac=0.5, reserved_share_frac=0.0,
                spot_share_frac=0.0)
    return MarketSpec(**{**base, **kw})


def test_flat_revenue_golden():
    """10 GPUs x 8,760 h x 50% x $4 = $175,200 per year."""
    p = neocloud_pnl(pnl(tco_inputs("h100-sxm"), _market(), 10))
    assert p.years[0].revenue_usd == pytest.approx(10 * HOURS_PER_YEAR * 0.5 * 4.0)
    assert all(y.revenue_usd == pytest.approx(p.years[0].revenue_usd) for y in p.years)


def test_reserved_price_locked_then_repriced():
    """2-year contracts at 25% off: years 1-2 pay 0.75 x $4; year 3 reprices to 0.75 x 4 x 0.8^2."""
    m = _market(reserved_share_frac=1.0, reserved_discount_frac=0.25, contract_years=2,
                price_decline_frac_per_year=0.2)
    assert m.reserved_price(1) == pytest.approx(3.0)
    assert m.reserved_price(2) == pytest.approx(3.0)
    assert m.reserved_price(3) == pytest.approx(3.0 * 0.64)


def test_utilization_ramp():
    m = _market(utilization_year1_frac=0.3, utilization_mature_frac=0.6, ramp_years=2)
    assert [m.utilization(y) for y in (1, 2, 3, 4)] == pytest.approx([0.3, 0.45, 0.6, 0.6])


def test_pnl_identities():
    p = neocloud_pnl(pnl(tco_inputs("h100-sxm"), _market(), 100))
    for y in p.years:
        assert y.gross_profit_usd == pytest.approx(y.revenue_usd - y.cash_cost_of_revenue_usd)
        assert y.ebit_usd == pytest.approx(y.ebitda_usd - y.depreciation_usd)
        assert y.net_income_usd == pytest.approx(y.ebit_usd - y.interest_usd - y.tax_usd)
    assert sum(y.depreciation_usd for y in p.years) == pytest.approx(p.capex_usd * 0.9)


def test_higher_price_higher_irr():
    t = tco_inputs("h100-sxm")
    lo = neocloud_pnl(pnl(t, _market(on_demand_usd_per_hour=3.0), 10))
    hi = neocloud_pnl(pnl(t, _market(on_demand_usd_per_hour=6.0), 10))
    assert hi.project_irr_frac > (lo.project_irr_frac if lo.project_irr_frac is not None else -1)
    assert hi.payback_years is not None and hi.npv_usd > lo.npv_usd


def test_depreciation_risk_shapes():
    """Shorter book life -> lower reported profit in years 1-3; a new generation -> lower
    cumulative profit and a shorter economic life."""
    t = tco_inputs("h100-sxm")
    m = _market(on_demand_usd_per_hour=4.0, utilization_mature_frac=0.7,
                utilization_year1_frac=0.7)
    cases = depreciation_risk(pnl(t, m, 10), NewGeneration(year=3, speedup=4.0),
                              lives_years=(6, 3))
    by = {(c.life_years, c.new_generation_year): c for c in cases}
    assert by[(3, None)].net_income_first3_usd < by[(6, None)].net_income_first3_usd
    assert by[(6, 3)].cumulative_net_income_usd < by[(6, None)].cumulative_net_income_usd
    assert by[(6, 3)].economic_life_years <= by[(6, None)].economic_life_years


def test_bad_market_inputs():
    with pytest.raises(ConfigError, match="reserved_share_frac \\+ spot_share_frac"):
        _market(reserved_share_frac=0.8, spot_share_frac=0.5)
    with pytest.raises(ConfigError, match="on_demand_usd_per_hour = -1"):
        _market(on_demand_usd_per_hour=-1)


def test_take_or_pay_floor():
    """Take-or-pay at 60% of capacity: year-1 usage of 30% is billed as 60%."""
    m = _market(utilization_year1_frac=0.3, utilization_mature_frac=0.7, take_or_pay_frac=0.6)
    assert m.utilization(1) == pytest.approx(0.6)
    assert m.utilization(3) == pytest.approx(0.7)


def test_repricings_at_contract_expiry():
    """2-year contracts, 20%/yr decline, 25% off: $3.00 locked in years 1-2, then year 3
    reprices to 0.75 x 4 x 0.8^2 = $1.92; year 5 to 0.75 x 4 x 0.8^4 = $1.2288."""
    m = _market(reserved_share_frac=1.0, reserved_discount_frac=0.25, contract_years=2,
                price_decline_frac_per_year=0.2)
    rep = m.repricings(6)
    assert [y for y, _, _ in rep] == [3, 5]
    assert rep[0][1:] == pytest.approx((3.0, 1.92))
    assert rep[1][2] == pytest.approx(1.2288)
