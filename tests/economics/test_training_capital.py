"""Training runs and the capital math (hand arithmetic in docstrings)."""

from __future__ import annotations

import pytest

from tokenworks.economics.capital import (
    breakeven_tokens_per_s,
    capital_ceiling,
    revenue_gap,
    token_revenue_multiple,
)
from tokenworks.economics.training import chinchilla_optimal, training_flops, training_run
from tokenworks.errors import ConfigError


def test_six_n_d():
    """Llama 3.1 405B on 15.6T tokens: 6 x 405e9 x 15.6e12 = 3.79e25 FLOPs (paper: 3.8e25)."""
    assert training_flops(405e9, 15.6e12) == pytest.approx(3.7908e25)


def test_chinchilla_golden():
    """C = 6 N (20 N) = 120 N^2; C = 1.2e23 -> N^2 = 1e21 -> N = 3.162e10, D = 6.32e11."""
    p = chinchilla_optimal(1.2e23)
    assert p.params == pytest.approx(3.16228e10, rel=1e-5)
    assert p.tokens == pytest.approx(20 * p.params)
    assert 6 * p.params * p.tokens == pytest.approx(1.2e23)


def test_llama3_405b_gpu_hours_close_to_reported():
    """Meta reports 30.84M H100-hours for Llama 3.1 405B (model card) at 38-43% MFU (paper
    Table 4). 6ND / (989.4 TFLOP/s x 0.40) / 3600 = 26.6M; within 20% of the report."""
    r = training_run("h100-sxm", active_params=405e9, tokens=15.6e12, num_accelerators=16384,
                     mfu_frac=0.40, usd_per_accelerator_hour=2.0,
                     facility_power_w_per_accelerator=1600)
    assert r.accelerator_hours == pytest.approx(30.84e6, rel=0.20)
    assert r.cost_usd == pytest.approx(r.accelerator_hours * 2.0)
    assert r.energy_j == pytest.approx(1600 * 16384 * r.wall_s)


def test_training_bad_mfu():
    with pytest.raises(ConfigError, match=r"mfu_frac = 1\.5"):
        training_run("h100-sxm", active_params=1e9, tokens=1e9, num_accelerators=1,
                     mfu_frac=1.5, usd_per_accelerator_hour=1, facility_power_w_per_accelerator=1)


def test_cahn_600b():
    """$150B NVIDIA DC run-rate x 2 (GPUs are half of DC cost) x 2 (50% margin) = $600B."""
    g = revenue_gap(gpu_revenue_usd_per_year=150e9, gpu_share_of_dc_cost_frac=0.5,
                    end_user_gross_margin_frac=0.5, actual_ai_revenue_usd_per_year=100e9)
    assert g.required_revenue_usd_per_year == pytest.approx(600e9)
    assert g.gap_usd_per_year == pytest.approx(500e9)


def test_capital_ceiling():
    """$450B x 7 = $3.15T internal; SPVs double it to $6.3T; + 1x CFO leverage = $6.75T."""
    c = capital_ceiling(cfo_usd_per_year=450e9, years=7, reinvest_frac=1.0, spv_multiple=1.0,
                        leverage_x_cfo=1.0)
    assert c.internal_usd == pytest.approx(3.15e12)
    assert c.total_usd == pytest.approx(6.75e12)
    assert c.compute_usd + c.power_usd + c.construction_usd == pytest.approx(c.total_usd)


def test_token_revenue_multiple():
    """1,000 tok/s x 100% x 1 year = 3.1536e10 tokens at $1/M = $31,536 on a $10,000 asset."""
    r = token_revenue_multiple(asset_usd=10_000, tokens_per_s=1000, usd_per_mtok=1.0,
                               utilization_frac=1.0, years=1)
    assert r.revenue_usd == pytest.approx(31_536)
    assert r.revenue_multiple == pytest.approx(3.1536)
    assert breakeven_tokens_per_s(usd_per_hour=3.6, usd_per_mtok=1.0) == pytest.approx(1000)


def test_capital_cases_side_by_side():
    """Bull: $450B x 7 years -> $6.75T ceiling over a $500B yearly gap = 13.5 years of it;
    bear (5 years, SPVs at 0.5x) has a lower ceiling. A value outside its range is refused."""
    from tokenworks.economics.capital import CapitalSpec, capital_case

    base = dict(gpu_revenue_usd_per_year=150e9, gpu_share_of_dc_cost_frac=0.5,
                end_user_gross_margin_frac=0.5, cfo_usd_per_year=450e9, reinvest_frac=1.0,
                leverage_x_cfo=1.0, actual_ai_revenue_usd_per_year=100e9)
    bull = capital_case(CapitalSpec(name="bull", years=7, spv_multiple=1.0, **base))
    bear = capital_case(CapitalSpec(name="bear", years=5, spv_multiple=0.5, **base))
    assert bull.ceiling.total_usd > bear.ceiling.total_usd
    assert bull.years_of_gap_covered == pytest.approx(13.5)
    assert bull.inputs["spv_multiple"] == 1.0 and bear.inputs["years"] == 5.0
    with pytest.raises(ConfigError, match="spv_multiple = 20"):
        CapitalSpec(name="x", years=7, spv_multiple=20.0, **base)
