"""Calibration: TOML round trip, overrides, validation, the packaged fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenworks.errors import ConfigError
from tokenworks.io.calibration import load_calibration, save_calibration
from tokenworks.perf import (
    Calibration,
    CalibrationOverride,
    default_calibration,
)


def test_round_trip(tmp_path: Path) -> None:
    cal = Calibration(compute_efficiency_frac=0.61, prefill_compute_efficiency_frac=0.55,
                      memory_efficiency_frac=0.83, comm_efficiency_frac=0.72,
                      comm_latency_s=1.2e-5, step_overhead_s=2.5e-3, per_seq_overhead_s=1e-6,
                      overrides=(CalibrationOverride(match="vendor:amd",
                                                     memory_efficiency_frac=0.6),
                                 CalibrationOverride(match="a100-80g-sxm",
                                                     step_overhead_s=4e-3, source="x \"q\"")),
                      source="unit test", fit_date="2026-11-22", fit_error="median 1%")
    p = save_calibration(cal, tmp_path / "cal.toml")
    assert load_calibration(p) == cal


def test_override_precedence() -> None:
    cal = Calibration(memory_efficiency_frac=0.8, overrides=(
        CalibrationOverride(match="h100-sxm", memory_efficiency_frac=0.9),
        CalibrationOverride(match="vendor:nvidia", memory_efficiency_frac=0.7,
                            step_overhead_s=1e-3)))
    flat = cal.for_accelerator("h100-sxm", "nvidia")
    assert flat.memory_efficiency_frac == 0.9  # name beats vendor
    assert flat.step_overhead_s == 1e-3  # vendor beats global
    assert cal.for_accelerator("mi300x", "amd").memory_efficiency_frac == 0.8
    assert flat.overrides == ()


def test_bad_values_raise() -> None:
    with pytest.raises(ConfigError, match=r"memory_efficiency_frac = 1.5 must be in \(0, 1\]"):
        Calibration(memory_efficiency_frac=1.5)
    with pytest.raises(ConfigError, match="step_overhead_s = -1 s must be >= 0"):
        Calibration(step_overhead_s=-1.0)


def test_bad_file_raises(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("[calibration]\ncompute_eff = 0.5\n")
    with pytest.raises(ConfigError, match="key 'compute_eff' is unknown"):
        load_calibration(p)
    with pytest.raises(ConfigError, match="does not exist"):
        load_calibration(tmp_path / "missing.toml")


def test_packaged_fit_loads_with_provenance() -> None:
    cal = load_calibration()
    assert cal.source and cal.fit_date and cal.fit_error
    flat = default_calibration("h100-sxm")
    assert 0 < flat.compute_efficiency_frac <= 1 and 0 < flat.memory_efficiency_frac <= 1
    assert flat.overrides == ()
