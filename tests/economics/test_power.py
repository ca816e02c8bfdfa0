"""Power, energy, facility: hand-worked draw, racks, cooling classes, carbon."""

from __future__ import annotations

import pytest

from tokenworks.economics.power import (
    accelerator_power_w,
    cooling_class,
    deployment_power,
    energy_per_token_j,
    host_overhead_frac,
)
from tokenworks.errors import ConfigError
from tokenworks.units import KW, KWH, MW, YEAR


def test_accelerator_power_linear():
    """700 W TDP, idle 25%: u=0 -> 175 W, u=1 -> 700 W, u=0.5 -> 437.5 W."""
    assert accelerator_power_w("h100-sxm", 0.0, idle_power_frac=0.25) == pytest.approx(175)
    assert accelerator_power_w("h100-sxm", 1.0, idle_power_frac=0.25) == pytest.approx(700)
    assert accelerator_power_w("h100-sxm", 0.5, idle_power_frac=0.25) == pytest.approx(437.5)


def test_energy_per_token():
    assert energy_per_token_j(700.0, 100.0) == pytest.approx(7.0)
    with pytest.raises(ConfigError, match="tokens_per_s = 0"):
        energy_per_token_j(700.0, 0.0)


def test_utilization_above_one_rejected():
    with pytest.raises(ConfigError, match=r"utilization_frac = 1.5 .* <= 1"):
        accelerator_power_w("h100-sxm", 1.5)


def test_host_overhead_from_dgx_h100():
    """DGX H100: 10.2 kW / (8 x 700 W) - 1 = 0.8214."""
    frac, src = host_overhead_frac("h100-sxm")
    assert frac == pytest.approx(10.2 / 5.6 - 1)
    assert "hgx-h100-8" in src


def test_100k_h100_cluster_mw():
    """100,000 H100 at TDP: 12,500 nodes x 10.2 kW = 127.5 MW IT; x PUE 1.3 = 165.75 MW
    (seed 003: a 100,000-GPU cluster draws 150-200 MW)."""
    r = deployment_power("h100-sxm", num_accelerators=100_000, utilization_frac=1.0, pue=1.3,
                         carbon_g_per_kwh=367)
    assert r.it_power_provisioned_w / MW == pytest.approx(127.5)
    assert r.facility_power_provisioned_w / MW == pytest.approx(165.75)
    assert r.num_nodes == 12_500
    # Carbon: facility energy (kWh) x 367 g/kWh.
    assert r.annual_carbon_g == pytest.approx(r.facility_power_w * YEAR / KWH * 367)


def test_gb200_rack_from_systems_catalog():
    """GB200 NVL72: one 72-GPU rack at ~120 kW (seed 003), liquid cooled."""
    r = deployment_power("gb200", num_accelerators=72, utilization_frac=1.0, pue=1.2,
                         carbon_g_per_kwh=0)
    assert r.num_racks == 1
    assert r.rack_power_w == pytest.approx(120 * KW)
    assert r.cooling != "air"


@pytest.mark.parametrize("kw,cls", [(15, "air"), (120, "liquid-to-air"), (370, "liquid-to-liquid")])
def test_cooling_class(kw, cls):
    assert cooling_class(kw * KW) == cls


def test_water_from_wue():
    r = deployment_power("h100-sxm", num_accelerators=8, utilization_frac=1.0, pue=1.0,
                         carbon_g_per_kwh=0, wue_l_per_kwh=1.8)
    assert r.annual_water_l == pytest.approx(r.it_power_w * YEAR / KWH * 1.8)
