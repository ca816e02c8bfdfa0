"""Sensitivity tables, scenario files and the economics catalogs (lint)."""

from __future__ import annotations

import math

import pytest

from tokenworks.economics.catalog import (
    api_price_entries,
    finance_entries,
    get_grid,
    gpu_price_entries,
    grid_entries,
    resolve_params,
)
from tokenworks.economics.sensitivity import grid2, tornado
from tokenworks.economics.tco import tco_per_accelerator_hour
from tokenworks.errors import ConfigError, ScenarioError, UnknownNameError
from tokenworks.hardware import get_accelerator
from tokenworks.io.defaults import tco_spec
from tokenworks.io.economics import question


def tco_inputs(accelerator: str, **kw):
    return tco_spec(question("tco", flags={"accelerator": accelerator, **kw}))


def _metric(t):
    return tco_per_accelerator_hour(t).total_usd_per_hour


def test_tornado_sorted_and_meaningful():
    t = tco_inputs("h100-sxm")
    base, rows = tornado(t, _metric, ["server_capex_usd_per_accelerator", "pue", "staff_usd_per_accelerator_year"])
    assert base == pytest.approx(_metric(t))
    swings = [r.swing for r in rows]
    assert swings == sorted(swings, reverse=True)
    assert rows[0].input == "server_capex_usd_per_accelerator"
    assert rows[0].metric_at_high > base > rows[0].metric_at_low


def test_tornado_clamps_fractions():
    t = tco_inputs("h100-sxm", utilization_frac=0.95)
    _, rows = tornado(t, _metric, ["utilization_frac"], high_mult=1.5)
    assert rows[0].high_value == 1.0


def test_grid2_shape():
    t = tco_inputs("h100-sxm")
    g = grid2(t, _metric, x_input="utilization_frac", x_values=[0.3, 0.6, 0.9],
              y_input="electricity_usd_per_kwh", y_values=[0.05, 0.15])
    assert len(g.metric) == 2 and len(g.metric[0]) == 3
    assert g.metric[1][2] > g.metric[0][2]  # dearer power costs more


def test_sensitivity_unknown_input():
    with pytest.raises(ConfigError, match="cannot vary"):
        tornado(tco_inputs("h100-sxm"), _metric, ["accelerator"])


def test_scenario_toml_and_yaml(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('accelerator = "h200"\npue = 1.15\n')
    q = question("tco", scenario=p)
    assert (q.accelerator, q.pue, q.utilization_frac) == ("h200", 1.15, None)
    y = tmp_path / "s.yaml"
    y.write_text("num_accelerators: 64\nutilization_frac: 0.7\n")
    q = question("pnl", scenario=y)
    assert (q.num_accelerators, q.utilization_frac) == (64, 0.7)


def test_scenario_unknown_key_lists_valid(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text("puee = 1.2\n")
    with pytest.raises(ScenarioError, match=r"unknown key\(s\) puee .*Valid keys: .*pue"):
        question("tco", scenario=p)


def test_file_then_sets_then_flags(tmp_path):
    """Later layers win; a flag left None is not given; a 0 is a value, not "not given"."""
    p = tmp_path / "s.toml"
    p.write_text("pue = 1.5\nutilization_frac = 0.6\n")
    q = question("tco", scenario=p, sets=["pue=1.2", "accelerator=h200"],
                 flags={"pue": None, "utilization_frac": 0.0})
    assert (q.pue, q.accelerator, q.utilization_frac) == (1.2, "h200", 0.0)
    with pytest.raises(ScenarioError, match="key=value"):
        question("tco", sets=["pue"])


def test_resolve_params_reports_defaults():
    values, used = resolve_params(("pue", "electricity_usd_per_kwh"), {"pue": 1.1})
    assert values["pue"] == 1.1 and used == ("electricity_usd_per_kwh",)
    with pytest.raises(ConfigError, match=r"pue = 0\.5"):
        resolve_params(("pue",), {"pue": 0.5})


# --- catalog lint ------------------------------------------------------------------------

ROOT_SEEDS = __import__('pathlib').Path(__file__).resolve().parents[3] / 'shared' / 'seeds'


def test_every_entry_is_sourced():
    for e in (*gpu_price_entries(), *api_price_entries(), *finance_entries(), *grid_entries()):
        assert e.source_url.startswith(("http", "seed:")) and len(e.source_title) > 5
        assert len(e.as_of) >= 4
        if e.source_url.startswith("seed:"):  # a seed document cited by file name must exist
            assert (ROOT_SEEDS / e.source_url.removeprefix("seed:")).name.endswith(".txt")


def test_gpu_prices_plausible_and_known():
    for e in gpu_price_entries():
        get_accelerator(e.accelerator)  # must exist in the accelerator catalog
        assert e.rental_usd_per_hour is None or 0.2 < e.rental_usd_per_hour < 50
        assert e.rental_usd_per_hour is not None or e.server_capex_usd_per_accelerator
        if e.server_capex_usd_per_accelerator:
            assert 5_000 < e.server_capex_usd_per_accelerator < 500_000


def test_finance_params_inside_their_ranges():
    names = [e.name for e in finance_entries()]
    assert len(names) == len(set(names))
    for e in finance_entries():
        assert e.valid_low <= e.value <= e.valid_high
        assert math.isfinite(e.value)


def test_grids():
    assert 0 < get_grid("norway").carbon_g_per_kwh < get_grid("india").carbon_g_per_kwh
    with pytest.raises(UnknownNameError, match="Did you mean"):
        get_grid("frnace")


def test_public_api_pinned():
    import tokenworks.economics as econ

    assert len(set(econ.__all__)) == len(econ.__all__)  # (its order is ruff's RUF022)
    for name in econ.__all__:
        assert hasattr(econ, name)
    assert {"tco_per_accelerator_hour", "usd_per_million_tokens", "energy_per_token_j",
            "accelerator_power_w", "default_usd_per_gpu_hour", "split_gpu_hour"} <= set(econ.__all__)
