"""Lookups, SI conversion goldens, and schema errors for the hardware catalogs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from tokenworks.catalog import data_path, validate_entries
from tokenworks.errors import CatalogError, UnknownNameError
from tokenworks.hardware import get_accelerator, get_system
from tokenworks.hardware.accelerator import AcceleratorEntry


def _raw_entry(name: str) -> dict:
    raw = tomllib.loads(data_path("accelerators.toml").read_text())["accelerator"]
    return dict(next(r for r in raw if r["name"] == name))


def test_lookup_is_case_insensitive():
    assert get_accelerator("H100-SXM").name == "h100-sxm"
    assert get_accelerator("  Mi355X ").name == "mi355x"
    assert get_system("GB200-NVL72").name == "gb200-nvl72"


def test_miss_suggests_close_names():
    with pytest.raises(UnknownNameError) as exc:
        get_accelerator("h100")
    msg = str(exc.value)
    assert "Did you mean" in msg and "h100-sxm" in msg and "'h100'" in msg
    with pytest.raises(UnknownNameError, match=r"Did you mean.*gb200-nvl72"):
        get_system("gb200-nvl")


def test_h100_golden_si():
    """H100 SXM datasheet: 3.35 TB/s HBM3 -> 3.35e12 B/s; 1,979 TFLOPS bf16 with sparsity
    -> 989.4e12 FLOP/s dense; 80 GB of HBM is binary -> 80 × 2**30 B; NVLink 900 GB/s bidirectional -> 450e9 B/s per
    direction; 400 Gb/s NIC -> 400e9 / 8 = 50e9 B/s."""
    h = get_accelerator("h100-sxm")
    assert h.memory_bytes_per_s == pytest.approx(3.35e12)
    assert h.dense_flops_per_s("bf16") == pytest.approx(989.4e12)
    assert h.dense_flops_per_s("fp8") == pytest.approx(1978.9e12)
    assert h.memory_bytes == pytest.approx(80 * 2**30)
    assert h.scaleup_bytes_per_s == pytest.approx(450e9)
    assert h.scaleout_bytes_per_s == pytest.approx(50e9)
    assert h.tdp_w == 700


def test_edge_soc_golden_si():
    """M4 Max: 546 GB/s -> 5.46e11 B/s (given in GB/s, not TB/s); 38 TOPS -> 3.8e13 op/s."""
    m = get_accelerator("apple-m4-max")
    assert m.memory_bytes_per_s == pytest.approx(546e9)
    assert m.dense_flops_per_s("int8") == pytest.approx(38e12)
    assert m.kind == "soc"


def test_sram_machine_golden_si():
    """Groq LPU: 230 MB SRAM -> 2.3e8 B at 80 TB/s -> 8e13 B/s."""
    g = get_accelerator("groq-lpu")
    assert g.sram_bytes == pytest.approx(230e6)
    assert g.memory_bytes_per_s == pytest.approx(80e12)
    assert g.memory_bytes == pytest.approx(0.23e9)


def test_rack_unit_golden_si():
    """GB200 NVL72 as one unit: 72 GPUs, 36 x 480 GB LPDDR5X = 17,280 GB -> 1.728e13 B,
    72 NICs x 400 Gb/s -> 5e10 B/s each, 120 kW -> 1.2e5 W."""
    s = get_system("gb200-nvl72")
    assert s.num_accelerators == 72 and s.nodes_per_rack == 1
    assert s.host_dram_bytes == pytest.approx(1.728e13)
    assert s.nic_bytes_per_s == pytest.approx(50e9)
    assert s.node_power_w == pytest.approx(120e3)
    cpx = get_system("vera-rubin-nvl144-cpx")
    assert (cpx.prefill_accelerator, cpx.num_prefill_accelerators) == ("rubin-cpx", 144)


def test_missing_source_url_fails_naming_the_field():
    entry = _raw_entry("h100-sxm")
    AcceleratorEntry.model_validate(entry)  # the untouched entry is valid
    del entry["source_url"]
    with pytest.raises(ValidationError, match="source_url"):
        AcceleratorEntry.model_validate(entry)
    with pytest.raises(CatalogError, match=r"'h100-sxm'.*source_url"):
        validate_entries(AcceleratorEntry, [entry], file=Path("accelerators.toml"),
                         kind="accelerator")


@pytest.mark.parametrize("field,value,needle", [
    ("source_url", "www.nvidia.com", "source_url"),
    ("memory_capacity_gb", -80, "memory_capacity_gb"),
    ("hbm_gb", 80, "unknown key"),
    ("kind", "fpga", "kind"),
])
def test_bad_entries_fail_with_the_field_named(field, value, needle):
    entry = _raw_entry("h100-sxm")
    entry[field] = value
    with pytest.raises(CatalogError, match=needle):
        validate_entries(AcceleratorEntry, [entry], file=Path("accelerators.toml"),
                         kind="accelerator")


def test_two_bandwidth_units_rejected():
    entry = _raw_entry("h100-sxm")
    entry["memory_bandwidth_gb_per_s"] = 3350
    with pytest.raises(ValidationError, match="exactly one"):
        AcceleratorEntry.model_validate(entry)


def test_duplicate_names_rejected():
    entry = _raw_entry("h200")
    with pytest.raises(CatalogError, match="appears twice"):
        validate_entries(AcceleratorEntry, [entry, dict(entry)],
                         file=Path("accelerators.toml"), kind="accelerator")
