"""Display units and number formats: the one place SI values become ms, GB, $ and 1.2B.

Every interface (CLI tables, JSON for humans, HTML reports) formats numbers with these, so a
value reads the same everywhere. Inputs are SI (s, bytes, USD, counts, fractions).
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from typing import Any

__all__ = ["fmt_bytes", "fmt_count", "fmt_gib", "fmt_metric", "fmt_money", "fmt_pct", "fmt_s", "fmt_usd",
           "to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Dataclasses (or objects with ``to_dict``), tuples and non-finite floats into plain JSON
    values."""
    if hasattr(obj, "to_dict") and callable(obj.to_dict) and not isinstance(obj, type):
        return to_jsonable(obj.to_dict())
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable({f.name: getattr(obj, f.name) for f in fields(obj)})
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return obj.item()
    return obj


def fmt_bytes(n: float) -> str:
    """Decimal byte units (GB = 1e9 bytes, as datasheets print bandwidths and disk sizes)."""
    for unit, div in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= div:
            return f"{n / div:,.1f} {unit}"
    return f"{n:,.0f} B"


def fmt_gib(n: float) -> str:
    """Binary units for memory (GiB = 2^30 bytes, as engines and nvidia-smi report it)."""
    for unit, div in (("TiB", 2.0**40), ("GiB", 2.0**30), ("MiB", 2.0**20), ("KiB", 2.0**10)):
        if abs(n) >= div:
            return f"{n / div:,.1f} {unit}"
    return f"{n:,.0f} B"


def fmt_s(t: float) -> str:
    if t >= 1.0:
        return f"{t:,.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:,.1f} ms"
    return f"{t * 1e6:,.0f} µs"


def fmt_usd(x: float) -> str:
    if x >= 100:
        return f"${x:,.0f}"
    if x >= 1:
        return f"${x:,.2f}"
    return f"${x:,.3f}"


def fmt_count(x: float) -> str:
    if x >= 1e12:
        return f"{x / 1e12:,.2f}T"
    if x >= 1e9:
        return f"{x / 1e9:,.2f}B"
    if x >= 1e6:
        return f"{x / 1e6:,.1f}M"
    return f"{x:,.0f}"


def fmt_pct(x: float | None) -> str:
    """A fraction as a percentage with one decimal; None or NaN as n/a."""
    return "n/a" if x is None or x != x else f"{x * 100:,.1f}%"


def fmt_metric(x: float) -> str:
    """A metric value: 3 decimals, thousands separators for large ones, n/a for NaN."""
    if x != x:
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1e5 else f"{x:.3f}"


def fmt_money(x: float | None) -> str:
    """Large dollar amounts as $B / $T (negatives keep their sign); None or NaN as n/a."""
    if x is None or x != x or abs(x) == float("inf"):
        return "n/a"
    return ("-$" if x < 0 else "$") + fmt_count(abs(x))
