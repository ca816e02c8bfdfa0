"""`tokenworks capital`, fleet sizing with a request-length mix, P&L-metric sensitivity.

Hand arithmetic is in each docstring; the CLI is driven through ``tokenworks.cli.main.main``.
"""

from __future__ import annotations

import json
import math

import pytest

from clitools import run
from tokenworks.api.economics import (
    capital_report,
    fleet_report,
    pnl_report,
    sensitivity_report,
)
from tokenworks.errors import ConfigError, TokenworksError
from tokenworks.io.defaults import request_classes

# --- capital ------------------------------------------------------------------------------


def test_capital_defaults_reproduce_cahn_and_the_ceiling():
    """Catalog defaults: $150B / 0.5 / (1 - 0.5) = $600B required; with $100B earned the gap is
    $500B. Ceiling: $450B x 7 x 1 = $3.15T, + 1 x $3.15T SPVs, + 1 x $450B = $6.75T, which
    covers 6.75T / 500B = 13.5 years of the gap."""
    r = capital_report(**{"actual_ai_revenue_usd_per_year": 100e9})
    (c,) = r.cases
    assert c.name == "base"
    assert c.gap.required_revenue_usd_per_year == pytest.approx(600e9)
    assert c.gap.gap_usd_per_year == pytest.approx(500e9)
    assert c.ceiling.total_usd == pytest.approx(6.75e12)
    assert c.years_of_gap_covered == pytest.approx(13.5)
    used = " ".join(r.defaults_used)
    for name in ("gpu_revenue_usd_per_year", "cfo_usd_per_year", "years = 7", "spv_multiple",
                 "end_user_gross_margin_frac"):
        assert name in used
    assert "actual_ai_revenue" not in used  # given, so not a default
    assert c.asset is None


def test_capital_overrides_are_not_listed_as_defaults():
    """$200B / 0.4 / (1 - 0.6) = $1.25T required."""
    r = capital_report(**{"gpu_revenue_usd_per_year": 200e9, "gpu_share_of_dc_cost_frac": 0.4,
                        "end_user_gross_margin_frac": 0.6})
    assert r.cases[0].gap.required_revenue_usd_per_year == pytest.approx(1.25e12)
    used = " ".join(r.defaults_used)
    assert "gpu_revenue_usd_per_year" not in used and "end_user_gross_margin_frac" not in used


def test_capital_asset_multiple():
    """1e5 tok/s x 100% x 6 y x 31,536,000 s = 1.8922e13 tokens x $2.19/M = $41.438M on a $5M
    rack = 8.2877x."""
    r = capital_report(**{"asset_usd": 5e6, "tokens_per_s": 1e5, "usd_per_mtok": 2.19,
                        "utilization_frac": 1.0, "asset_years": 6})
    a = r.cases[0].asset
    assert a is not None
    assert a.revenue_usd == pytest.approx(1e5 * 6 * 31_536_000 * 2.19e-6)
    assert a.revenue_multiple == pytest.approx(8.2877, rel=1e-4)


def test_capital_scenarios_side_by_side(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "140")
    """bear: $200B / 0.5 / 0.5 = $800B required, gap $750B; ceiling 450 x 5 = $2.25T + 0.5 x
    2.25T SPVs + 0.5 x $450B = $3.6T -> 4.8 years. bull keeps the defaults but earns $300B:
    gap $300B, $6.75T -> 22.5 years."""
    f = tmp_path / "cap.toml"
    f.write_text("[bull]\nactual_ai_revenue_usd_per_year = 3e11\n\n"
                 "[bear]\ngpu_revenue_usd_per_year = 2e11\nactual_ai_revenue_usd_per_year = 5e10\n"
                 "years = 5\nspv_multiple = 0.5\nleverage_x_cfo = 0.5\n")
    code, out, err = run(["capital", "--json", "--scenarios", str(f)], capsys)
    assert code == 0, err
    doc = json.loads(out)
    bull, bear = doc["cases"]
    assert (bull["name"], bear["name"]) == ("bull", "bear")
    assert bull["years_of_gap_covered"] == pytest.approx(22.5)
    assert bear["gap"]["gap_usd_per_year"] == pytest.approx(750e9)
    assert bear["ceiling"]["total_usd"] == pytest.approx(3.6e12)
    assert bear["years_of_gap_covered"] == pytest.approx(4.8)
    # spv_multiple defaulted only in bull: its line says which scenario.
    assert any(d.startswith("spv_multiple") and "(scenario bull)" in d
               for d in doc["defaults_used"])
    code, out, _ = run(["capital", "--scenarios", str(f)], capsys)
    assert code == 0 and "bull" in out and "bear" in out and "$3.60T" in out


def test_capital_flag_beats_scenario_file_and_scenarios_beat_flags(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text("years = 3\n")
    _, out, _ = run(["capital", "--json", "--scenario", str(f), "--years", "4"], capsys)
    assert json.loads(out)["cases"][0]["inputs"]["years"] == 4
    named = tmp_path / "n.yaml"
    named.write_text("short:\n  years: 2\nlong:\n  years: 10\n")
    _, out, _ = run(["capital", "--json", "--scenarios", str(named), "--cfo-usd-per-year", "1e11"],
                    capsys)
    short, long_ = json.loads(out)["cases"]
    assert short["inputs"]["cfo_usd_per_year"] == long_["inputs"]["cfo_usd_per_year"] == 1e11
    assert short["ceiling"]["internal_usd"] == pytest.approx(2e11)
    assert long_["ceiling"]["internal_usd"] == pytest.approx(1e12)


@pytest.mark.parametrize("argv,needle", [
    (["capital", "--margin", "1.2"], "end_user_gross_margin_frac = 1.2"),
    (["capital", "--cfo-usd-per-year", "-5"], "cfo_usd_per_year = -5"),
    (["capital", "--gpu-revenue-usd-per-year", "-1e9"], "gpu_revenue_usd_per_year = -1e+09"),
    (["capital", "--actual-ai-revenue-usd-per-year", "-1"], "actual_ai_revenue_usd_per_year = -1"),
    (["capital", "--reinvest", "1.5"], "reinvest_frac = 1.5"),
    (["capital", "--asset-usd", "5e6"], "tokens_per_s, usd_per_mtok missing"),
    (["capital", "--set", "margin=0.5"], "Valid keys:"),
])
def test_capital_bad_input_one_line(argv, needle, capsys):
    code, _, err = run(argv, capsys)
    assert code == 1
    assert needle in err
    assert len(err.strip().splitlines()) <= 3


def test_capital_scenarios_file_errors(tmp_path, capsys):
    flat = tmp_path / "flat.toml"
    flat.write_text("years = 5\n")
    code, _, err = run(["capital", "--scenarios", str(flat)], capsys)
    assert code == 1 and "one table per named scenario" in err and "years" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[bear]\nmargin = 0.3\n")
    code, _, err = run(["capital", "--scenarios", str(bad)], capsys)
    assert code == 1 and "scenario 'bear'" in err and "unknown key(s) margin" in err
    code, _, err = run(["capital", "--scenarios", str(tmp_path / "none.toml")], capsys)
    assert code == 1 and "does not exist" in err


# --- fleet with a request-length mix ------------------------------------------------------

MIX = [{"input_tokens": 512, "output_tokens": 128, "share": 0.7},
       {"input_tokens": 4096, "output_tokens": 512, "share": 0.3}]
BASE = {"model": "llama-3.1-8b", "accelerator": "h100-sxm", "tp": 1, "tpot_slo_s": 0.03}


def test_request_mix_validation():
    assert [(c.input_tokens, c.output_tokens, c.share_frac) for c in request_classes(MIX)] == \
        [(512, 128, 0.7), (4096, 512, 0.3)]
    with pytest.raises(ConfigError, match=r"shares sum to 0\.9: they must sum to 1"):
        request_classes([{**MIX[0], "share": 0.6}, MIX[1]])
    with pytest.raises(TokenworksError, match=r"request_mix.1.*output_tokens.*Field required"):
        fleet_report(request_mix=[MIX[0], {"input_tokens": 10, "share": 0.3}])
    with pytest.raises(ConfigError, match=r"request_mix\[0\].output_tokens = 0"):
        request_classes([{**MIX[0], "output_tokens": 0}, MIX[1]])
    with pytest.raises(ConfigError, match="non-empty list"):
        request_classes([])


def test_fleet_mix_is_the_sum_of_single_shape_fleets():
    """200 req/s of the mix: 140 req/s x 128 = 17,920 tok/s of class 1 and 60 x 512 = 30,720
    of class 2 (48,640 output tok/s). Each class must size exactly like a single-shape fleet
    with its own demand; the totals are the sums."""
    r = fleet_report(**{**BASE, "request_mix": MIX, "demand_requests_per_s": 200})
    assert len(r.classes) == 2
    assert r.plan.demand_output_tokens_per_s == pytest.approx(200 * (0.7 * 128 + 0.3 * 512))
    for c, (inp, out, share) in zip(r.classes, [(512, 128, 0.7), (4096, 512, 0.3)], strict=True):
        single = fleet_report(**{**BASE, "input_tokens": inp, "output_tokens": out,
                               "demand_requests_per_s": 200 * share})
        assert c.requests_per_s == pytest.approx(200 * share)
        assert c.plan.num_accelerators == single.plan.num_accelerators
        assert c.plan.annual_tco_usd == pytest.approx(single.plan.annual_tco_usd)
        assert c.estimate.tpot_s <= 0.03
    p = r.plan
    assert p.num_accelerators == sum(c.plan.num_accelerators for c in r.classes)
    assert p.it_capex_usd == pytest.approx(sum(c.plan.it_capex_usd for c in r.classes))
    assert p.annual_tco_usd == pytest.approx(sum(c.plan.annual_tco_usd for c in r.classes))
    assert p.usd_per_million_output_tokens == pytest.approx(
        p.annual_tco_usd / (p.annual_output_tokens / 1e6))
    # Accelerator draw is linear in utilization, so pooling at the accelerator-weighted
    # utilization draws exactly the classes' sum; hosts are shared in pooled nodes, so IT
    # power can only fall (each class alone rounds up to whole 8-GPU nodes).
    acc_w = sum(c.plan.num_accelerators * c.plan.power.accelerator_power_w for c in r.classes)
    assert p.num_accelerators * p.power.accelerator_power_w == pytest.approx(acc_w)
    assert p.power.it_power_w <= sum(c.plan.power.it_power_w for c in r.classes) + 1e-6
    assert p.power.num_nodes <= sum(c.plan.power.num_nodes for c in r.classes)
    # The long class is costlier per output token (prefill of 4k tokens, smaller batch).
    assert r.classes[1].plan.usd_per_million_output_tokens > \
        r.classes[0].plan.usd_per_million_output_tokens


def test_fleet_mix_from_scenario_file_cli(tmp_path, capsys, monkeypatch):
    from tokenworks.cli.render import console

    # The shared console fixed its width when first built (by whichever test came first).
    monkeypatch.setattr(console, "width", 140)
    f = tmp_path / "mix.toml"
    f.write_text('model = "llama-3.1-8b"\ntp = 1\ndemand_output_tokens_per_s = 48640\n'
                 "request_mix = [\n  {input_tokens = 512, output_tokens = 128, share = 0.7},\n"
                 "  {input_tokens = 4096, output_tokens = 512, share = 0.3},\n]\n")
    code, out, err = run(["fleet", "--json", "--scenario", str(f), "--power-budget-mw", "10"],
                         capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert [c["input_tokens"] for c in doc["classes"]] == [512, 4096]
    # 48,640 tok/s / 243.2 output tokens per request = 200 req/s.
    assert sum(c["requests_per_s"] for c in doc["classes"]) == pytest.approx(200)
    assert doc["plan"]["num_accelerators"] == sum(c["plan"]["num_accelerators"]
                                                  for c in doc["classes"])
    assert doc["power_budget"]["output_tokens_per_s"] > 0
    code, out, _ = run(["fleet", "--scenario", str(f)], capsys)
    assert code == 0 and "Request classes" in out and "4096/512" in out and "total" in out


def test_fleet_mix_errors(tmp_path, capsys):
    f = tmp_path / "mix.toml"
    f.write_text("request_mix = [{input_tokens = 512, output_tokens = 128, share = 0.5}]\n")
    code, _, err = run(["fleet", "--scenario", str(f)], capsys)
    assert code == 1 and "shares sum to 0.5" in err
    f.write_text("request_mix = [{input_tokens = 512, output_tokens = 128, share = 1.0}]\n")
    code, _, err = run(["fleet", "--scenario", str(f), "--input-tokens", "100"], capsys)
    assert code == 1 and "request_mix and input_tokens were both given" in err


# --- sensitivity of P&L metrics -----------------------------------------------------------

BULL = {"accelerator": "h100-sxm", "num_accelerators": 64, "on_demand_usd_per_hour": 4.5,
        "utilization_frac": 0.8, "utilization_year1_frac": 0.6,
        "price_decline_frac_per_year": 0.1, "reserved_share_frac": 0.7,
        "reserved_discount_frac": 0.0, "contract_years": 3}


def test_pnl_metric_tornado_matches_pnl_report():
    """The tornado's base and each varied point are the P&L of the same inputs."""
    r = sensitivity_report(**BULL, metric="npv_usd",
                           vary=["on_demand_usd_per_hour", "useful_life_years", "debt_rate_frac"])
    assert r.base == pytest.approx(pnl_report(**BULL).pnl.npv_usd)
    rows = {row.input: row for row in r.tornado}
    price = rows["on_demand_usd_per_hour"]
    assert price.metric_at_high == pytest.approx(
        pnl_report(**{**BULL, "on_demand_usd_per_hour": 4.5 * 1.2}).pnl.npv_usd)
    assert price.metric_at_high > r.base > price.metric_at_low
    assert r.tornado[0].input == "on_demand_usd_per_hour"  # the largest swing
    # Project cash flows are unlevered: the debt rate does not move project NPV.
    assert rows["debt_rate_frac"].swing == pytest.approx(0.0, abs=1e-6)
    assert "useful_life_years = 6" in " ".join(r.defaults_used)


def test_pnl_metric_grid_and_irr():
    r = sensitivity_report(**BULL, metric="irr_frac", vary=["utilization_frac"],
                           grid_x=("on_demand_usd_per_hour", [3.0, 4.5]),
                           grid_y=("useful_life_years", [4.0, 6.0]))
    assert r.base == pytest.approx(pnl_report(**BULL).pnl.project_irr_frac)
    g = r.grid
    assert g is not None and len(g.metric) == 2 and len(g.metric[0]) == 2
    assert g.metric[1][0] == pytest.approx(pnl_report(
        **{**BULL, "on_demand_usd_per_hour": 3.0, "useful_life_years": 6.0}).pnl.project_irr_frac)
    assert g.metric[0][1] < g.metric[1][1]  # a longer life earns a higher IRR at $4.5/h


def test_payback_never_is_nan_and_json_null(capsys):
    """At $1/h an H100 never pays back: NaN in the API, null in JSON, n/a in the table."""
    r = sensitivity_report(**{"on_demand_usd_per_hour": 1.0, "num_accelerators": 8},
                           metric="payback_years", vary=["pue"])
    assert math.isnan(r.base)
    code, out, err = run(["sensitivity", "--json", "--metric", "payback_years", "--vary", "pue",
                          "--set", "on_demand_usd_per_hour=1", "--set", "num_accelerators=8"],
                         capsys)
    assert code == 0, err
    assert json.loads(out)["base"] is None
    code, out, _ = run(["sensitivity", "--metric", "equity_irr_frac", "--vary", "debt_rate_frac",
                        "--set", "on_demand_usd_per_hour=4.5", "--set", "num_accelerators=8"],
                       capsys)
    assert code == 0 and "debt_rate_frac" in out


def test_sensitivity_metric_errors(capsys):
    with pytest.raises(ConfigError, match="npv_usd"):
        sensitivity_report(**{}, metric="irr")
    with pytest.raises(TokenworksError, match="cannot vary"):
        sensitivity_report(**{}, metric="npv_usd", vary=["accelerator"])
    # A P&L metric reads P&L inputs: a TCO-only key is rejected with the valid ones.
    code, _, err = run(["sensitivity", "--metric", "npv_usd", "--set",
                        "output_tokens_per_s=5"], capsys)
    assert code == 1 and "Valid keys:" in err
