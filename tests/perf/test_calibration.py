"""Calibration: TOML round trip, override resolution, validation, the packaged file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenworks.errors import ConfigError
from tokenworks.io.calibration import load_calibration, save_calibration
from tokenworks.perf import Calibration, CalibrationOverride, default_calibration
from tokenworks.perf.calibration import PARAMS


def test_round_trip(tmp_path: Path) -> None:
    cal = Calibration(gemm_compute_frac=0.61, gemm_memory_frac=0.83, comm_bus_frac=0.72,
                      comm_latency_s=1.2e-5, step_overhead_s=2.5e-3, per_seq_overhead_s=1e-6,
                      frontend_s=0.03,
                      overrides=(CalibrationOverride(match="vendor:amd", gemm_memory_frac=0.6),
                                 CalibrationOverride(match="engine:vllm/a100-80g-sxm",
                                                     step_overhead_s=4e-3, source="x \"q\"")),
                      source="unit test", fit_date="2026-11-22", fit_error="median 1%")
    p = save_calibration(cal, tmp_path / "cal.toml")
    assert load_calibration(p) == cal


def test_resolution_order_global_vendor_part_engine_engine_on_part() -> None:
    cal = Calibration(gemm_memory_frac=0.8, overrides=(
        CalibrationOverride(match="engine:vllm/h100-sxm", step_overhead_s=4e-3),
        CalibrationOverride(match="engine:vllm", step_overhead_s=2e-3, frontend_s=0.05),
        CalibrationOverride(match="h100-sxm", gemm_memory_frac=0.9, step_overhead_s=9e-3),
        CalibrationOverride(match="vendor:nvidia", gemm_memory_frac=0.7,
                            per_seq_overhead_s=1e-6)))
    flat = cal.resolve("h100-sxm", "nvidia", "vllm")
    assert flat.gemm_memory_frac == 0.9  # the part beats its vendor
    assert flat.per_seq_overhead_s == 1e-6  # the vendor beats the global value
    assert flat.step_overhead_s == 4e-3  # engine on this part beats engine beats part
    assert flat.frontend_s == 0.05
    assert cal.resolve("h100-sxm", "nvidia", "sglang").step_overhead_s == 9e-3
    assert cal.resolve("mi300x", "amd").gemm_memory_frac == 0.8
    assert flat.overrides == ()


def test_bad_values_name_the_parameter_and_its_meaning() -> None:
    with pytest.raises(ConfigError, match=r"gemm_memory_frac = 1.5 must be in \(0, 1\]"):
        Calibration(gemm_memory_frac=1.5)
    with pytest.raises(ConfigError, match=r"step_overhead_s = -1 s is outside \[0, 0.5\] s"):
        Calibration(step_overhead_s=-1.0)
    with pytest.raises(ConfigError, match=r"gemm_sharpness = 0\.5 is outside"):
        Calibration(gemm_sharpness=0.5)
    for name, spec in PARAMS.items():  # every parameter says what it is
        assert spec.meaning and spec.low <= getattr(Calibration(), name) <= spec.high, name


def test_bad_file_raises_and_old_keys_point_to_their_successors(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("[calibration]\ncompute_eff = 0.5\n")
    with pytest.raises(ConfigError, match="key 'compute_eff' is unknown"):
        load_calibration(p)
    p.write_text("[calibration]\ncompute_efficiency_frac = 0.5\n")
    with pytest.raises(ConfigError, match="old step model; it is now gemm_compute_frac"):
        load_calibration(p)
    p.write_text("[[override]]\nmatch = \"h100-sxm\"\nmemory_efficiency_frac = 0.5\n")
    with pytest.raises(ConfigError, match="gemm_memory_frac and attention_memory_frac"):
        load_calibration(p)
    with pytest.raises(ConfigError, match="does not exist"):
        load_calibration(tmp_path / "missing.toml")


def test_packaged_file_loads_with_sources_for_every_table() -> None:
    cal = load_calibration()
    assert cal.source and cal.fit_date and cal.fit_error
    assert all(o.source for o in cal.overrides)
    # Measured kernel tables for the parts AIConfigurator covers, an engine fit for each engine.
    matches = {o.match for o in cal.overrides}
    assert {"h100-sxm", "h200", "b200", "a100-80g-sxm"} <= matches
    assert {"engine:vllm", "engine:sglang", "engine:trtllm"} <= matches
    flat = default_calibration("h100-sxm", "vllm")
    assert 0 < flat.gemm_compute_frac <= 1 and 0 < flat.gemm_memory_frac <= 1
    assert flat.overrides == ()
    # Engine overheads are small: a few ms per step at most, not the old 10 ms fits.
    for e in ("vllm", "sglang", "trtllm"):
        f = default_calibration("h100-sxm", e)
        assert 0 < f.step_overhead_s < 5e-3 and 0 <= f.per_seq_overhead_s < 2e-4
