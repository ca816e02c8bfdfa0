"""report.finance and report.capacity: the cost waterfall, tornado and power breakdown add up
to the economics layer's own totals."""

from __future__ import annotations

import pytest

from tokenworks.api.economics import (
    fleet_report,
    pnl_report,
    power_report,
    sensitivity_report,
    tco_report,
)
from tokenworks.report.capacity import power_segments
from tokenworks.report.data import result_data
from tokenworks.report.finance import COMPONENTS, cost_waterfall, tornado_bars
from tokenworks.report.registry import build_report


def test_waterfall_per_sold_hour_sums_to_the_break_even_price():
    _, d = result_data(tco_report(accelerator="h100-sxm"))
    w = cost_waterfall(d)
    assert w["unit"] == "$ per sold accelerator-hour"
    assert [k for k, _ in w["steps"]] == list(COMPONENTS)
    assert sum(v for _, v in w["steps"]) == pytest.approx(w["total"], rel=1e-12)
    assert w["total"] == d["breakdown"]["breakeven_usd_per_sold_hour"]


def test_waterfall_per_million_tokens_at_a_throughput():
    """$/M tokens = break-even $/sold hour / (tokens/s × 3600) × 1e6; each component keeps its
    share of the hourly cost."""
    _, d = result_data(tco_report(accelerator="h100-sxm", output_tokens_per_s=1000.0))
    w = cost_waterfall(d)
    b = d["breakdown"]
    assert w["total"] == pytest.approx(b["breakeven_usd_per_sold_hour"] / 3600 * 1e3, rel=1e-9)
    power = dict(w["steps"])["power"]
    assert power / w["total"] == pytest.approx(b["power_usd_per_hour"] / b["total_usd_per_hour"])


def test_waterfall_with_a_list_price_ends_at_the_price():
    _, d = result_data(tco_report(accelerator="h100-sxm", model="llama-3.1-70b", tp=4,
                                  list_price="deepseek-r1-api"))
    w = cost_waterfall(d)
    cost = d["token_cost"]["all_in_usd_per_output_mtok"]
    assert w["steps"][-1][0] == "margin"
    assert sum(v for _, v in w["steps"]) == pytest.approx(w["total"], rel=1e-12)
    assert w["total"] == pytest.approx(cost * d["margin"]["markup"], rel=1e-12)


def test_waterfall_of_a_rental_price_is_per_hour():
    """Priced at a rental rate, the token cost is not the TCO's: the waterfall stays per hour."""
    _, d = result_data(tco_report(accelerator="h100-sxm", model="llama-3.1-8b", tp=1,
                                  price_basis="rental"), price_basis="rental")
    assert cost_waterfall(d)["unit"] == "$ per sold accelerator-hour"


def test_tornado_bars_are_sorted_by_swing():
    _, d = result_data(sensitivity_report(accelerator="h100-sxm"))
    bars = tornado_bars(d)
    swings = [abs(b["high"] - b["low"]) for b in bars]
    assert swings == sorted(swings, reverse=True)
    rep = build_report("sensitivity", d)
    fig = rep.block("tornado").figure
    assert fig["data"][0]["base"] == pytest.approx(d["base"], rel=1e-6)
    assert fig["data"][0]["y"][-1] == bars[0]["input"]  # the largest swing on top


def test_power_segments_add_up_to_the_facility():
    rep, lines = power_report(accelerator="gb200", num_accelerators=72_000)
    _, d = result_data(rep, defaults_used=lines)
    segs = dict(power_segments(d["power"]))
    assert sum(segs.values()) == pytest.approx(rep.facility_power_w, rel=1e-12)
    assert segs["accelerators"] + segs["host"] == pytest.approx(rep.it_power_w, rel=1e-12)
    assert segs["cooling and facility (PUE)"] == pytest.approx(rep.it_power_w * (rep.pue - 1))
    r = build_report("power", d)
    assert r.block("power-breakdown") and r.block("defaults-used")
    assert any("gb200" in row[0] for row in r.block("catalog-values").rows)


@pytest.mark.parametrize("make,kind,charts", [
    (lambda: pnl_report(num_accelerators=1024, on_demand_usd_per_hour=2.99), "pnl", ("pnl",)),
    (lambda: fleet_report(accelerator="h100-sxm", model="llama-3.1-70b", tp=4,
                          demand_output_tokens_per_day=1e11), "fleet",
     ("fleet-cost", "fleet-power")),
])
def test_economics_reports_have_their_charts(make, kind, charts):
    k, d = result_data(make())
    assert k == kind
    rep = build_report(k, d)
    for c in charts:
        assert rep.block(c).figure["data"]


def test_pnl_cumulative_cash_is_the_running_sum():
    _, d = result_data(pnl_report(num_accelerators=1024, on_demand_usd_per_hour=2.99))
    line = build_report("pnl", d).block("pnl").figure["data"][-1]
    total = 0.0
    for y, v in zip(d["pnl"]["years"], line["y"], strict=True):
        total += y["project_cash_flow_usd"] / 1e6
        assert v == pytest.approx(total, rel=1e-6)
