"""Cross-check the accelerator catalog against the measured/spec tables in shared/validation.

validation/measured/hardware.csv carries the InferenceX (SemiAnalysis) dense spec table; its
`source` column is cited in the catalog's extra_sources. Skips cleanly when the folder is absent.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tokenworks.hardware import get_accelerator, get_system

HARDWARE_CSV = Path("/work/shared/validation/measured/hardware.csv")

# InferenceX row name -> catalog name.
INFERENCEX = {
    "H100 SXM": "h100-sxm", "H200 SXM": "h200", "B200 SXM": "b200", "B300 SXM": "b300",
    "GB200 NVL72": "gb200", "GB300 NVL72": "gb300", "MI300X": "mi300x", "MI325X": "mi325x",
    "MI355X": "mi355x",
}


def _inferencex_rows() -> list[dict[str, str]]:
    if not HARDWARE_CSV.exists():
        pytest.skip(f"{HARDWARE_CSV} not present")
    with HARDWARE_CSV.open() as f:
        return [r for r in csv.DictReader(f) if "InferenceX" in r["source_kind"]]


def test_catalog_matches_inferencex_dense_table():
    rows = _inferencex_rows()
    assert {r["accelerator"] for r in rows} >= set(INFERENCEX)
    for r in rows:
        acc = get_accelerator(INFERENCEX[r["accelerator"]])
        for col, prec in (("dense_bf16_tflops", "bf16"), ("dense_fp8_tflops", "fp8"),
                          ("dense_fp4_tflops", "fp4")):
            if r[col]:
                got = acc.dense_flops_per_s(prec) / 1e12
                assert got == pytest.approx(float(r[col]), rel=0.02), (acc.name, prec)
        assert acc.memory_bytes_per_s / 1e12 == pytest.approx(float(r["memory_bw_tbps"]),
                                                              rel=0.02), acc.name
        # GB200: InferenceX prints 192 GB (physical), the catalog 186 GB (usable): 5% band.
        assert acc.memory_bytes / 1e9 == pytest.approx(float(r["memory_gb"]), rel=0.05)
        assert acc.scaleup_bytes_per_s / 1e9 == pytest.approx(float(r["scaleup_bw_gbps"]),
                                                              rel=0.01), acc.name
        assert acc.scaleup_domain_size == int(r["scaleup_domain_gpus"])


@pytest.mark.parametrize("claim,value,expected", [
    # 002 seed: "Each B200 GPU ... delivers 4.5 petaflops of FP8" and "1000W".
    ("b200 fp8 PFLOPS", lambda: get_accelerator("b200").dense_flops_per_s("fp8") / 1e15, 4.5),
    ("b200 TDP W", lambda: get_accelerator("b200").tdp_w, 1000),
    # 003 seed: "Ironwood, 4,614 TFLOPS FP8".
    ("tpu-v7 fp8 TFLOPS", lambda: get_accelerator("tpu-v7").dense_flops_per_s("fp8") / 1e12,
     4614),
    # 003 seed: "R200 (288 GB HBM ...)"; "Rubin CPX: 128GB GDDR7".
    ("r200 HBM GB", lambda: get_accelerator("r200").memory_bytes / 1e9, 288),
    ("rubin-cpx GB", lambda: get_accelerator("rubin-cpx").memory_bytes / 1e9, 128),
    # 003 seed: "GB200 NVL72 rack consumes ~120kW"; "VR NVL144 CPX ... ~370 kW".
    ("gb200-nvl72 kW", lambda: get_system("gb200-nvl72").node_power_w / 1e3, 120),
    ("nvl144-cpx kW", lambda: get_system("vera-rubin-nvl144-cpx").node_power_w / 1e3, 370),
    # 000 seed edge table: A18 Pro 35 TOPS, Snapdragon X Elite 45 TOPS.
    ("a18 TOPS", lambda: get_accelerator("apple-a18-pro").dense_flops_per_s("int8") / 1e12, 35),
    ("x-elite TOPS",
     lambda: get_accelerator("snapdragon-x-elite").dense_flops_per_s("int8") / 1e12, 45),
])
def test_seed_claims_the_catalog_confirms(claim, value, expected):
    """Seed claims that agree with the sourced catalog (the contradicted ones are listed in
    docs/catalogs/hardware.md). The catalog values come from vendor/Epoch sources, not seeds."""
    assert value() == pytest.approx(expected, rel=0.01), claim
