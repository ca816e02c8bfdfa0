"""Claim kinds, their declared tolerances, verdicts, display units and number formatting.

A claim's *kind* says what kind of check it gets, and so how much slack the comparison has.
The tolerance belongs to the kind (``KINDS``); a claim may only depart from it with a written
``tolerance_note``. Display units map to SI (evaluators return SI; the ledger converts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tokenworks.units import DAY, GB, GBIT, GIB, GW, KW, MILLION, MS, MW, PETA, TB, TERA

Verdict = Literal["reproduced", "differs", "unverifiable"]
VERDICTS: tuple[str, ...] = ("reproduced", "differs", "unverifiable")

Kind = Literal["physics", "spec", "model", "reported", "arithmetic", "consistency",
               "conditional"]


@dataclass(frozen=True, slots=True, kw_only=True)
class KindSpec:
    """What a kind checks and the relative tolerance its comparisons use."""

    tolerance_frac: float
    checks: str


# The tolerance is a property of the kind of check, not of the claim.
KINDS: dict[str, KindSpec] = {
    "physics": KindSpec(tolerance_frac=0.15, checks=(
        "recomputed from first principles (model math, hardware catalog, roofline, estimator); "
        "±15% because seeds round to one or two figures ('~80 GB') and the sourced catalog "
        "inputs themselves spread by 5–10% between sources")),
    "spec": KindSpec(tolerance_frac=0.10, checks=(
        "a datasheet figure checked against the sourced hardware catalog; ±10% absorbs "
        "usable-vs-physical memory and rounding, not a wrong generation")),
    "model": KindSpec(tolerance_frac=0.15, checks=(
        "an economics result recomputed with tokenworks' sourced cost model; ±15%, and the "
        "verdict is re-run across the seed's own stated input range (sensitivity): a figure "
        "the seed's own inputs can produce is not refuted")),
    "reported": KindSpec(tolerance_frac=0.05, checks=(
        "a published figure (a market size, a company's revenue, margin or funding) checked "
        "against the cited or a public source with its date; ±5% for rounding. A model never "
        "refutes a reported figure: where tokenworks' model disagrees, both are shown"),
    ),
    "arithmetic": KindSpec(tolerance_frac=0.05, checks=(
        "the seed's stated result against its own stated inputs (a growth rate against its "
        "endpoints, a share against its total, a product against its factors); ±5%")),
    "consistency": KindSpec(tolerance_frac=0.10, checks=(
        "the same quantity stated in two places (two seeds, or two sections of one seed); "
        "±10%, since the two statements round independently")),
    "conditional": KindSpec(tolerance_frac=0.15, checks=(
        "an 'if X then Y' or a scenario: Y is recomputed under X; X is stated and never "
        "judged; ±15% as for model results")),
}

# Display unit -> SI value of one display unit. Evaluators return SI; claims are written in these.
UNITS: dict[str, float] = {
    "GB": GB, "TB": TB, "MB": 1e6,
    # Vendors print HBM capacity in "GB" that count binary gigabytes (80 GB H100 = 80 GiB).
    "GB (vendor)": GIB,
    "GB/s": GB, "TB/s": TB, "Gbit/s": GBIT / 8.0,
    "ms": MS, "s": 1.0, "days": DAY, "weeks": 7.0 * DAY, "years": 365.0 * DAY,
    "FLOP": 1.0, "FLOP/byte": 1.0, "PFLOPS": PETA, "TFLOPS": TERA,
    "W": 1.0, "kW": KW, "MW": MW, "GW": GW, "TWh": 3.6e15, "J/token": 1.0,
    "USD": 1.0, "million USD": MILLION, "billion USD": 1e9, "USD/M tokens": 1.0 / MILLION,
    "USD/GPU-hour": 1.0,
    "calendar year": 1.0, "tokens/s": 1.0, "sequences": 1.0, "tokens": 1.0, "tokens/param": 1.0,
    "billion params": 1e9, "devices": 1.0, "GPUs": 1.0, "homes": 1.0, "x": 1.0, "%": 0.01,
}


def fmt(x: float | None) -> str:
    """A display number: 3 significant figures, thousands separators, scientific when huge."""
    if x is None:
        return "—"
    ax = abs(x)
    if ax != 0 and (ax >= 1e7 or ax < 1e-3):
        return f"{x:.3g}".replace("e+", "e")
    if ax >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def with_unit(number: str, unit: str) -> str:
    """'6.2×', '26%', '42.9 GB'."""
    if unit == "x":
        return f"{number}×"
    if unit == "%":
        return f"{number}%"
    return f"{number} {unit}"
