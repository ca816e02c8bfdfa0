"""Accelerators: the catalog entry at the edge, the frozen spec inside.

Units inside: FLOP/s, bytes, bytes/s, W, USD. The catalog (``data/accelerators.toml``)
transcribes datasheet numbers as printed (TFLOPS, GB, TB/s, Gbit/s) and they are converted
once here. HBM capacities are binary: an "80GB" H100 exposes 80 GiB (81,559 MiB usable per
nvidia-smi in MLPerf system descriptions), so HBM parts are transcribed as
``memory_capacity_gib``; LPDDR/SRAM/GDDR parts use decimal ``memory_capacity_gb``. Peak FLOPS are always *dense* (no 2:4 sparsity); key names say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import Field, model_validator

from tokenworks.catalog import Sourced, TomlEntries, data_path, read_toml, validate_entries
from tokenworks.errors import CatalogError, InfeasibleError, unknown_name
from tokenworks.units import BITS_PER_BYTE, GB, GIB, MB, TERA

PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8", "fp6", "fp4", "int8", "int4")

AcceleratorKind = Literal["gpu", "tpu", "asic", "lpu", "wafer", "soc"]


class AcceleratorEntry(Sourced):
    """One ``[[accelerator]]`` table as written in the catalog file."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    display_name: str
    vendor: str
    kind: AcceleratorKind
    launch_date: str = Field(pattern=r"^\d{4}(-\d{2})?(-\d{2})?$")
    dense_fp32_tflops: float | None = Field(default=None, gt=0)
    dense_tf32_tflops: float | None = Field(default=None, gt=0)
    dense_bf16_tflops: float | None = Field(default=None, gt=0)
    dense_fp16_tflops: float | None = Field(default=None, gt=0)
    dense_fp8_tflops: float | None = Field(default=None, gt=0)
    dense_fp6_tflops: float | None = Field(default=None, gt=0)
    dense_fp4_tflops: float | None = Field(default=None, gt=0)
    dense_int8_tops: float | None = Field(default=None, gt=0)
    dense_int4_tops: float | None = Field(default=None, gt=0)
    memory_type: str
    memory_capacity_gb: float | None = Field(default=None, gt=0)
    memory_capacity_gib: float | None = Field(default=None, gt=0)
    memory_bandwidth_tb_per_s: float | None = Field(default=None, gt=0)
    memory_bandwidth_gb_per_s: float | None = Field(default=None, gt=0)
    sram_capacity_mb: float | None = Field(default=None, gt=0)
    sram_bandwidth_tb_per_s: float | None = Field(default=None, gt=0)
    scaleup_tech: str | None = None
    scaleup_bandwidth_gb_per_s_unidirectional: float | None = Field(default=None, gt=0)
    scaleup_domain_size: int = Field(default=1, ge=1)
    scaleout_bandwidth_gbit_per_s: float | None = Field(default=None, gt=0)
    # The card's host interface (PCIe) per direction, for parts without a scale-up link.
    host_link_gb_per_s_unidirectional: float | None = Field(default=None, gt=0)
    tdp_w: float = Field(gt=0)
    purchase_price_usd_low: float | None = Field(default=None, gt=0)
    purchase_price_usd_high: float | None = Field(default=None, gt=0)
    rental_usd_per_hour_low: float | None = Field(default=None, gt=0)
    rental_usd_per_hour_high: float | None = Field(default=None, gt=0)

    @property
    def memory_capacity_bytes(self) -> float:
        if self.memory_capacity_gib is not None:
            return self.memory_capacity_gib * GIB
        return self.memory_capacity_gb * GB  # type: ignore[operator]

    @model_validator(mode="after")
    def _one_bandwidth(self) -> AcceleratorEntry:
        if (self.memory_capacity_gb is None) == (self.memory_capacity_gib is None):
            raise ValueError("give exactly one of memory_capacity_gb or memory_capacity_gib")
        if (self.memory_bandwidth_tb_per_s is None) == (self.memory_bandwidth_gb_per_s is None):
            raise ValueError(
                "give exactly one of memory_bandwidth_tb_per_s or memory_bandwidth_gb_per_s"
            )
        if not any(getattr(self, f"dense_{p}_{'tops' if p.startswith('int') else 'tflops'}")
                   for p in PRECISIONS):
            raise ValueError("at least one dense_*_tflops / dense_*_tops figure is required")
        for lo, hi in (("purchase_price_usd_low", "purchase_price_usd_high"),
                       ("rental_usd_per_hour_low", "rental_usd_per_hour_high")):
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and a > b:
                raise ValueError(f"{lo} ({a}) exceeds {hi} ({b})")
        return self


@dataclass(frozen=True, slots=True, kw_only=True)
class Accelerator:
    """An accelerator's peak capabilities in SI units (dense FLOP/s, bytes, bytes/s, W)."""

    name: str
    display_name: str
    vendor: str
    kind: str
    launch_date: str
    peak_flops_per_s: tuple[tuple[str, float], ...]  # (precision, dense FLOP/s) pairs
    memory_type: str
    memory_bytes: float
    memory_bytes_per_s: float
    sram_bytes: float | None
    sram_bytes_per_s: float | None
    scaleup_tech: str | None
    scaleup_bytes_per_s: float | None  # unidirectional, per accelerator
    scaleup_domain_size: int
    scaleout_bytes_per_s: float | None  # per accelerator
    host_link_bytes_per_s: float | None  # PCIe per direction (parts without scale-up)
    tdp_w: float
    purchase_usd_low: float | None
    purchase_usd_high: float | None
    rental_usd_per_hour_low: float | None
    rental_usd_per_hour_high: float | None
    source_url: str
    source_title: str
    as_of: str

    def supports(self, precision: str) -> bool:
        return any(p == precision for p, _ in self.peak_flops_per_s)

    def dense_flops_per_s(self, precision: str) -> float:
        """Dense peak FLOP/s in ``precision``; raise InfeasibleError naming what exists."""
        for p, v in self.peak_flops_per_s:
            if p == precision:
                return v
        have = ", ".join(p for p, _ in self.peak_flops_per_s)
        raise InfeasibleError(
            f"{self.name} has no {precision} peak in the catalog (it lists: {have}). "
            f"Pick one of those precisions."
        )

    def matmul_flops_per_s(self, precision: str) -> float:
        """Peak for matmuls in ``precision``, falling back to the next wider format.

        A format with no native tensor-core path runs at the rate of the format it is
        upcast to (e.g. FP8 weights on an A100 compute in FP16).
        """
        # ASSUMPTION: an unsupported narrow format runs at the next wider supported format's rate
        # (weight-only quantisation dequantises to bf16/fp16 before the matmul).
        chain = {"fp4": ("fp4", "fp6", "fp8", "int8", "bf16", "fp16"),
                 "int4": ("int4", "int8", "bf16", "fp16"),
                 "fp6": ("fp6", "fp8", "bf16", "fp16"),
                 "fp8": ("fp8", "bf16", "fp16"),
                 "int8": ("int8", "bf16", "fp16"),
                 "bf16": ("bf16", "fp16"), "fp16": ("fp16", "bf16"),
                 "tf32": ("tf32", "fp32"), "fp32": ("fp32",)}.get(precision, (precision,))
        for p in chain:
            if self.supports(p):
                return self.dense_flops_per_s(p)
        # ASSUMPTION: a part whose catalog entry lists only an NPU integer figure (edge SoCs give
        # INT8 TOPS only) runs every matmul at that rate: on-device runtimes (Core ML, QNN,
        # OpenVINO) quantise activations to the NPU's integer format.
        for p in ("int8", "fp8", "fp16", "bf16", "int4", "fp4"):
            if self.supports(p):
                return self.dense_flops_per_s(p)
        return self.dense_flops_per_s(precision)

    @property
    def rental_usd_per_hour_mid(self) -> float | None:
        lo, hi = self.rental_usd_per_hour_low, self.rental_usd_per_hour_high
        if lo is None and hi is None:
            return None
        if lo is None or hi is None:
            return lo if hi is None else hi
        return 0.5 * (lo + hi)


def _to_spec(e: AcceleratorEntry) -> Accelerator:
    peaks = []
    for p in PRECISIONS:
        v = getattr(e, f"dense_{p}_{'tops' if p.startswith('int') else 'tflops'}")
        if v is not None:
            peaks.append((p, v * TERA))
    bw = (e.memory_bandwidth_tb_per_s * 1e12 if e.memory_bandwidth_tb_per_s is not None
          else e.memory_bandwidth_gb_per_s * GB)  # type: ignore[operator]
    return Accelerator(
        name=e.name, display_name=e.display_name, vendor=e.vendor, kind=e.kind,
        launch_date=e.launch_date, peak_flops_per_s=tuple(peaks), memory_type=e.memory_type,
        memory_bytes=e.memory_capacity_bytes, memory_bytes_per_s=bw,
        sram_bytes=None if e.sram_capacity_mb is None else e.sram_capacity_mb * MB,
        sram_bytes_per_s=None if e.sram_bandwidth_tb_per_s is None
        else e.sram_bandwidth_tb_per_s * 1e12,
        scaleup_tech=e.scaleup_tech,
        scaleup_bytes_per_s=None if e.scaleup_bandwidth_gb_per_s_unidirectional is None
        else e.scaleup_bandwidth_gb_per_s_unidirectional * GB,
        scaleup_domain_size=e.scaleup_domain_size,
        scaleout_bytes_per_s=None if e.scaleout_bandwidth_gbit_per_s is None
        else e.scaleout_bandwidth_gbit_per_s * 1e9 / BITS_PER_BYTE,
        host_link_bytes_per_s=None if e.host_link_gb_per_s_unidirectional is None
        else e.host_link_gb_per_s_unidirectional * GB,
        tdp_w=e.tdp_w, purchase_usd_low=e.purchase_price_usd_low,
        purchase_usd_high=e.purchase_price_usd_high,
        rental_usd_per_hour_low=e.rental_usd_per_hour_low,
        rental_usd_per_hour_high=e.rental_usd_per_hour_high,
        source_url=e.source_url, source_title=e.source_title, as_of=e.as_of,
    )


@cache
def accelerator_entries() -> tuple[AcceleratorEntry, ...]:
    """All catalog entries as written (for lint and listing)."""
    path = data_path("accelerators.toml")
    raw = read_toml(path)
    unknown = set(raw) - {"accelerator"}
    if unknown:
        raise CatalogError(f"{path.name}: unknown top-level keys {sorted(unknown)}; "
                           f"only [[accelerator]] tables are allowed.")
    return tuple(validate_entries(AcceleratorEntry, raw.get("accelerator", []),
                                  file=path, kind="accelerator"))


@cache
def _catalog() -> dict[str, Accelerator]:
    return {e.name: _to_spec(e) for e in accelerator_entries()}


def list_accelerators() -> list[Accelerator]:
    return list(_catalog().values())


@cache
def _one(key: str) -> Accelerator | None:
    """The entry named ``key`` parsed and validated alone (None: ask the full catalog).

    NOTE: one entry instead of the whole file (~25 ms) on a process's first lookup, for
    performance; the result equals the full catalog's.
    """
    path = data_path("accelerators.toml")
    raw = TomlEntries(path, "accelerator").find("name", key)
    if raw is None:
        return None
    return _to_spec(validate_entries(AcceleratorEntry, [raw], file=path, kind="accelerator")[0])


def get_accelerator(name: str) -> Accelerator:
    """Exact, case-insensitive lookup; a miss raises with did-you-mean suggestions."""
    key = name.strip().lower()
    if not _catalog.cache_info().currsize:
        acc = _one(key)
        if acc is not None:
            return acc
    cat = _catalog()
    if key not in cat:
        raise unknown_name("accelerator", name, cat)
    return cat[key]
