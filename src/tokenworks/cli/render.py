"""Shared rendering helpers for the CLI: display units live here, not in the core."""

from __future__ import annotations

import json
import math
from dataclasses import fields, is_dataclass
from typing import Any

from rich.console import Console

console = Console(highlight=False)


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, tuples and non-finite floats into plain JSON values."""
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


def print_json(obj: Any) -> None:
    """One JSON document on stdout (no rich markup, so it pipes cleanly)."""
    print(json.dumps(to_jsonable(obj), indent=2, sort_keys=False))


def fmt_bytes(n: float) -> str:
    for unit, div in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
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
