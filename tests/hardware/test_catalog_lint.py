"""Catalog lint: every accelerator and system entry parses, carries its source and is plausible.

Bounds are deliberately loose: they catch unit slips (GB/s typed as TB/s, sparse figures not
halved into an impossible ratio, bidirectional aggregate rack bandwidth typed per GPU), not
legitimate differences between parts.
"""

from __future__ import annotations

import itertools
import re
import tomllib

import pytest

from tokenworks.catalog import data_path
from tokenworks.hardware import accelerator_entries, get_accelerator, system_entries
from tokenworks.hardware.accelerator import AcceleratorEntry
from tokenworks.hardware.system import SystemEntry

ACCS = accelerator_entries()
SYSTEMS = system_entries()
DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")

REQUIRED_ACCELERATORS = {
    "a100-80g-sxm", "a100-40g-sxm", "h100-sxm", "h100-pcie", "h200", "b200", "b300", "gb200",
    "gb300", "mi300x", "mi325x", "mi355x", "mi455x", "gaudi2", "gaudi3", "tpu-v5e", "tpu-v5p",
    "tpu-v6e", "tpu-v7", "trainium2", "trainium3", "r200", "rubin-cpx", "groq-lpu",
    "cerebras-wse3", "l40s", "apple-a18-pro", "apple-m4-max", "snapdragon-x-elite",
    "snapdragon-8-elite", "intel-core-ultra", "amd-ryzen-ai", "mediatek-dimensity-9400",
    "rtx-pro-6000-server", "mi350x", "intel-arc-pro-b60",
}
REQUIRED_SYSTEMS = {
    "hgx-a100-8", "hgx-h100-8", "hgx-h200-8", "hgx-b200-8", "hgx-b300-8", "gb200-nvl72",
    "gb300-nvl72", "mi300x-platform-8", "mi355x-platform-8", "tpu-v6e-host-8", "tpu-v7-host-4",
    "trn2-48xlarge", "vera-rubin-nvl144-cpx",
}
SRAM_KINDS = {"wafer", "lpu"}


def _ids(entries):
    return [e.name for e in entries]


def _peak(e: AcceleratorEntry, p: str) -> float | None:
    return getattr(e, f"dense_{p}_{'tops' if p.startswith('int') else 'tflops'}")


def test_required_names_present():
    have_accs, have_systems = {e.name for e in ACCS}, {s.name for s in SYSTEMS}
    assert not REQUIRED_ACCELERATORS - have_accs, REQUIRED_ACCELERATORS - have_accs
    assert not REQUIRED_SYSTEMS - have_systems, REQUIRED_SYSTEMS - have_systems


@pytest.mark.parametrize("file,table", [("accelerators.toml", "accelerator"),
                                        ("systems.toml", "system")])
def test_raw_names_unique_and_lowercase(file, table):
    raw = tomllib.loads(data_path(file).read_text())[table]
    names = [r["name"] for r in raw]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert all(n == n.lower() for n in names)


@pytest.mark.parametrize("e", ACCS + SYSTEMS, ids=_ids(ACCS) + _ids(SYSTEMS))
def test_every_entry_has_sources(e):
    assert e.source_url.startswith(("https://", "http://", "github:"))
    assert len(e.source_title) >= 10
    assert DATE.match(e.as_of), e.as_of
    fields = set(type(e).model_fields)
    for ref in e.extra_sources:
        assert DATE.match(ref.as_of), ref.as_of
        assert ref.covers, f"{e.name}: extra source {ref.url} must say which fields it covers"
        assert set(ref.covers) <= fields, set(ref.covers) - fields


@pytest.mark.parametrize("e", ACCS, ids=_ids(ACCS))
def test_accelerator_plausible(e):
    year = int(e.launch_date[:4])
    assert 2015 <= year <= 2027
    assert 1 <= e.tdp_w <= 30_000
    bw_tb = (e.memory_bandwidth_tb_per_s if e.memory_bandwidth_tb_per_s is not None
             else e.memory_bandwidth_gb_per_s / 1000)
    if e.kind in SRAM_KINDS:
        assert e.sram_capacity_mb is not None and e.sram_bandwidth_tb_per_s is not None
        assert bw_tb >= 10, "SRAM machines stream weights at tens of TB/s or more"
    elif e.kind == "soc":
        assert 0.02 <= bw_tb <= 1.0, "LPDDR SoCs sit between 20 GB/s and 1 TB/s"
        assert 1 <= (e.memory_capacity_bytes / 1e9) <= 512
        assert e.tdp_w <= 200
        assert e.dense_int8_tops is not None, "edge NPUs are recorded as dense_int8_tops"
    else:
        # PCIe workstation cards on GDDR (Arc Pro B60: 456 GB/s) sit below HBM parts; a GB/s
        # figure typed as TB/s still lands far above 30.
        low_tb = 0.2 if e.memory_type.upper().startswith("GDDR") else 0.5
        assert low_tb <= bw_tb <= 30, f"{bw_tb} TB/s outside datacenter range"
        assert 8 <= (e.memory_capacity_bytes / 1e9) <= 1024
        assert 100 <= e.tdp_w <= 3000
    # Narrower formats are never slower than wider ones on the same tensor engine.
    order = ["fp32", "tf32", "bf16", "fp8", "fp6", "fp4"]
    given = [(p, _peak(e, p)) for p in order if _peak(e, p) is not None]
    for (p_wide, v_wide), (p_narrow, v_narrow) in itertools.pairwise(given):
        assert v_narrow >= v_wide, f"{p_narrow} ({v_narrow}) < {p_wide} ({v_wide})"
    if e.dense_bf16_tflops is not None and e.dense_fp16_tflops is not None:
        assert e.dense_fp16_tflops == pytest.approx(e.dense_bf16_tflops, rel=0.01)
    # Ridge point (bf16 FLOP per HBM byte) of every HBM/GDDR/LPDDR part is 20..1500; a
    # sparse figure left un-halved or TB/s typed as GB/s lands outside.
    if e.kind not in SRAM_KINDS and e.dense_bf16_tflops is not None:
        assert 20 <= e.dense_bf16_tflops / bw_tb <= 1500
    for lo, hi in (("purchase_price_usd_low", "purchase_price_usd_high"),
                   ("rental_usd_per_hour_low", "rental_usd_per_hour_high")):
        a, b = getattr(e, lo), getattr(e, hi)
        if a is not None and b is not None:
            assert a <= b
        if a is not None or b is not None:
            covered = {f for ref in e.extra_sources for f in ref.covers}
            assert {lo, hi} & covered, f"{e.name}: prices need an extra_sources entry"
    if e.rental_usd_per_hour_low is not None:
        assert 0.1 <= e.rental_usd_per_hour_low <= 50
    if e.scaleup_bandwidth_gb_per_s_unidirectional is not None:
        assert e.scaleup_tech, "a scale-up bandwidth needs its technology named"
        # Per accelerator, one direction: an NVL72 rack total (130 TB/s) typed here fails.
        assert 10 <= e.scaleup_bandwidth_gb_per_s_unidirectional <= 5000
    if e.scaleout_bandwidth_gbit_per_s is not None:
        assert 10 <= e.scaleout_bandwidth_gbit_per_s <= 5000


@pytest.mark.parametrize("s", SYSTEMS, ids=_ids(SYSTEMS))
def test_system_plausible_and_consistent(s):
    acc = get_accelerator(s.accelerator)  # raises UnknownNameError if missing
    total_tdp_w = s.num_accelerators * acc.tdp_w
    if s.prefill_accelerator is not None:
        total_tdp_w += s.num_prefill_accelerators * get_accelerator(s.prefill_accelerator).tdp_w
    node_w = s.node_power_kw * 1e3
    assert 0.95 * total_tdp_w <= node_w <= 3.0 * total_tdp_w, "node power vs accelerator TDPs"
    if s.rack_power_kw is not None and s.nodes_per_rack is not None:
        assert s.rack_power_kw >= 0.95 * s.nodes_per_rack * s.node_power_kw
    assert 0.5 <= s.rack_power_kw <= 1000 if s.rack_power_kw is not None else True
    if s.accelerators_per_scaleup_domain is not None:
        assert s.accelerators_per_scaleup_domain <= acc.scaleup_domain_size
    assert 1 <= s.host_to_device_gb_per_s <= 2000
    assert s.host_cpu_cores >= s.num_accelerators or s.num_accelerators > 64
    assert s.local_nvme_write_gb_per_s <= max(s.local_nvme_read_gb_per_s, 1e-9) or (
        s.local_nvme_tb == 0)
    # NIC bandwidth per accelerator matches the accelerator's scale-out figure.
    if acc.scaleout_bytes_per_s is not None and s.num_nics > 0:
        per_acc_gbit = s.num_nics * s.nic_gbit_per_s / s.num_accelerators
        assert per_acc_gbit == pytest.approx(acc.scaleout_bytes_per_s * 8 / 1e9, rel=0.01)
    if s.num_accelerators > 8:  # rack-scale or multi-host units must state their unit
        assert s.nodes_per_rack in (None, 1)


def test_default_system_is_the_pure_one():
    """The first system listed for r200 is the plain NVL72, not the CPX rack (its power
    includes 144 prefill GPUs and would inflate the host-overhead fraction)."""
    from tokenworks.hardware import default_system_for

    assert default_system_for("r200").name == "vera-rubin-nvl72"
    assert default_system_for("trainium2").name == "trn2-48xlarge"


def test_system_schema_rejects_half_a_prefill_pair():
    raw = tomllib.loads(data_path("systems.toml").read_text())["system"]
    cpx = next(dict(r) for r in raw if r["name"] == "vera-rubin-nvl144-cpx")
    SystemEntry.model_validate(cpx)
    del cpx["num_prefill_accelerators"]
    with pytest.raises(ValueError, match="prefill_accelerator"):
        SystemEntry.model_validate(cpx)
