"""Calibration of the roofline: achieved fractions of peak, collective costs, per-step overhead.

A roofline gives the time a perfect kernel would take; real engines reach a fraction of peak
FLOP/s and HBM bandwidth and add per-step CPU/launch time. Those fractions are not datasheet
numbers, so they are fitted on measured throughput (``benchmarks/calibrate.py``) and stored in
the packaged ``data/calibration.toml`` with their source data, fit date and fit error.

Units: fractions in 0–1 (``_frac``), seconds (``_s``). One global parameter set plus
overrides matched by accelerator name (``"h100-sxm"``) or vendor (``"vendor:amd"``); an
accelerator-name override wins over a vendor override, which wins over the global values.
A user's calibration file is read and written at the edge (``tokenworks.io.calibration``);
this module parses its table (``parse_calibration``) and serialises one
(``calibration_to_toml``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any

from tokenworks.catalog import data_path, read_toml
from tokenworks.errors import ConfigError
from tokenworks.hardware import get_accelerator

# Parameters an override may change (everything numeric in Calibration).
PARAM_NAMES = (
    "compute_efficiency_frac",
    "prefill_compute_efficiency_frac",
    "memory_efficiency_frac",
    "comm_efficiency_frac",
    "comm_latency_s",
    "step_overhead_s",
    "per_seq_overhead_s",
)
_FRACS = {"compute_efficiency_frac", "prefill_compute_efficiency_frac", "memory_efficiency_frac",
          "comm_efficiency_frac"}
_META = ("source", "fit_date", "fit_error")


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibrationOverride:
    """Values replacing the global ones for one accelerator (``match="h100-sxm"``) or vendor
    (``match="vendor:nvidia"``). ``None`` keeps the global value."""

    match: str
    compute_efficiency_frac: float | None = None
    prefill_compute_efficiency_frac: float | None = None
    memory_efficiency_frac: float | None = None
    comm_efficiency_frac: float | None = None
    comm_latency_s: float | None = None
    step_overhead_s: float | None = None
    per_seq_overhead_s: float | None = None
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """Achieved-vs-peak fractions and overheads used by ``StepCostModel``.

    The defaults are hand estimates used only when no fitted file is loaded; the packaged
    ``data/calibration.toml`` holds the fitted values (see ``load_calibration``).
    """

    # ASSUMPTION (unfitted default): large GEMMs reach ~70% of dense peak on NVIDIA Hopper
    # (cuBLAS/CUTLASS sustained vs datasheet; fitted values replace this).
    compute_efficiency_frac: float = 0.7
    # Prefill/chunk tokens may reach a different fraction than decode tokens (None: same).
    prefill_compute_efficiency_frac: float | None = None
    # ASSUMPTION (unfitted default): streaming kernels reach ~80% of HBM peak bandwidth.
    memory_efficiency_frac: float = 0.8
    # ASSUMPTION (unfitted default): NCCL ring all-reduce bus bandwidth ~70% of NVLink peak.
    comm_efficiency_frac: float = 0.7
    # ASSUMPTION (unfitted default): ~10 µs per collective (small-message NCCL/custom
    # all-reduce latency inside an NVLink node).
    comm_latency_s: float = 10e-6
    # ASSUMPTION (unfitted default): ~3 ms per engine step (scheduling, sampling, launches).
    step_overhead_s: float = 3e-3
    # Time per running sequence per step (sampling, detokenisation, bookkeeping).
    per_seq_overhead_s: float = 0.0
    overrides: tuple[CalibrationOverride, ...] = ()
    source: str = "unfitted defaults"
    fit_date: str = ""
    fit_error: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        for name in PARAM_NAMES:
            _check_param(name, getattr(self, name), where="calibration")
        for o in self.overrides:
            for name in PARAM_NAMES:
                _check_param(name, getattr(o, name), where=f"calibration override '{o.match}'")

    @property
    def prefill_efficiency_frac(self) -> float:
        """Compute fraction for prefill tokens (falls back to ``compute_efficiency_frac``)."""
        p = self.prefill_compute_efficiency_frac
        return self.compute_efficiency_frac if p is None else p

    def for_accelerator(self, name: str, vendor: str = "") -> Calibration:
        """The flat parameter set for one accelerator: global, then vendor, then name overrides."""
        out = replace(self, overrides=())
        keys = [f"vendor:{vendor.lower()}"] if vendor else []
        keys.append(name.lower())
        for key in keys:
            for o in self.overrides:
                if o.match.lower() != key:
                    continue
                changes = {n: getattr(o, n) for n in PARAM_NAMES if getattr(o, n) is not None}
                out = replace(out, **changes)
        return out


def _check_param(name: str, value: float | None, *, where: str) -> None:
    if value is None:
        if name == "prefill_compute_efficiency_frac" or where != "calibration":
            return
        raise ConfigError(f"{where}: {name} is missing; give a number.")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}: {name} = {value!r} is not a finite number; give a number.")
    if name in _FRACS and not 0.0 < value <= 1.0:
        raise ConfigError(f"{where}: {name} = {value:g} must be in (0, 1]; it is a fraction of "
                          f"the datasheet peak.")
    if name not in _FRACS and value < 0.0:
        raise ConfigError(f"{where}: {name} = {value:g} s must be >= 0.")


def parse_calibration(raw: dict[str, Any], origin: str) -> Calibration:
    """A ``Calibration`` from a calibration file's TOML table (``ConfigError`` naming the key)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: a calibration file is a TOML table with [calibration].")
    unknown = set(raw) - {"calibration", "override"}
    if unknown:
        raise ConfigError(f"{origin}: unknown top-level keys {sorted(unknown)}; only "
                          f"[calibration] and [[override]] are allowed.")
    base = dict(raw.get("calibration", {}))
    allowed = set(PARAM_NAMES) | set(_META)
    extra = {k: v for k, v in base.items() if k not in allowed}
    for k in extra:
        if not k.startswith("note_"):
            raise ConfigError(f"{origin}: [calibration] key '{k}' is unknown. Valid keys: "
                              f"{', '.join(sorted(allowed))} (free text under note_*).")
    overrides = []
    okeys = set(PARAM_NAMES) | {"match", "source"}
    for i, o in enumerate(raw.get("override", [])):
        bad = set(o) - okeys
        if bad or "match" not in o:
            raise ConfigError(f"{origin}: [[override]] #{i} has unknown keys {sorted(bad)} or no "
                              f"'match'; valid keys: {', '.join(sorted(okeys))}.")
        overrides.append(CalibrationOverride(**o))
    kwargs = {k: base[k] for k in allowed if k in base}
    return Calibration(**kwargs, overrides=tuple(overrides),
                       extra=tuple(sorted((k, str(v)) for k, v in extra.items())))


def default_calibration(accelerator_name: str) -> Calibration:
    """The packaged fitted calibration, flattened for one catalog accelerator."""
    acc = get_accelerator(accelerator_name)
    return packaged_calibration().for_accelerator(acc.name, acc.vendor)


@cache
def packaged_calibration() -> Calibration:
    """The fitted calibration shipped in ``data/calibration.toml``."""
    # NOTE: cached for performance; the packaged file does not change while running.
    path = data_path("calibration.toml")
    return parse_calibration(read_toml(path), str(path))


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(float(v)) if isinstance(v, float) else str(v)
    s = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def calibration_to_toml(cal: Calibration) -> str:
    """Serialise to the TOML layout ``load_calibration`` reads (round-trips exactly)."""
    lines = ["# tokenworks roofline calibration (see docs/accuracy.md).", "", "[calibration]"]
    for name in (*PARAM_NAMES, *_META):
        v = getattr(cal, name)
        if v is not None and v != "":
            lines.append(f"{name} = {_toml_value(v)}")
    for k, v in cal.extra:
        lines.append(f"{k} = {_toml_value(v)}")
    for o in cal.overrides:
        lines += ["", "[[override]]", f"match = {_toml_value(o.match)}"]
        for f in fields(o):
            v = getattr(o, f.name)
            if f.name != "match" and v is not None and v != "":
                lines.append(f"{f.name} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"
