"""Where a report's numbers come from: catalog values with their sources, and assumptions.

``accelerator_sources`` and ``model_sources`` list the catalog values a result used, each with
its source title, URL and date, in display units. ``code_assumptions`` reads the ASSUMPTION
comments of the modules on a result's path from the installed source (the same comments
``scripts/collect_assumptions.py`` gathers into docs/assumptions.md).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from tokenworks.errors import TokenworksError
from tokenworks.hardware import get_accelerator
from tokenworks.model import model_entries

__all__ = ["ASSUMPTION_PATHS", "accelerator_sources", "code_assumptions", "model_sources"]

_PACKAGE = Path(__file__).resolve().parents[1]
_PATTERN = re.compile(r"#\s*ASSUMPTION(?: \([^)]*\))?:\s*(.*)")

# The source folders (or files) each result kind's numbers pass through.
ASSUMPTION_PATHS: dict[str, tuple[str, ...]] = {
    "estimate": ("api/estimate.py", "perf", "economics/estimate_cost.py",
                 "economics/token_cost.py", "economics/power.py"),
    "simulation": ("io/scenario.py", "perf", "serving", "economics/run_cost.py"),
    "tco": ("economics/tco.py", "economics/finance.py", "economics/power.py",
            "economics/token_cost.py", "io/defaults.py", "report/finance.py"),
    "pnl": ("economics/pnl.py", "economics/finance.py", "economics/tco.py", "io/defaults.py"),
    "sensitivity": ("economics/sensitivity.py", "economics/tco.py", "economics/pnl.py"),
    "power": ("economics/power.py", "io/defaults.py"),
    "fleet": ("economics/fleet.py", "economics/power.py", "economics/tco.py", "perf"),
    "train": ("economics/training.py",),
    "capital": ("economics/capital.py",),
    "plan": ("planner", "report/plan.py"),
}


def _row(item: str, value: str, title: str, url: str, as_of: str) -> dict[str, str]:
    return {"item": item, "value": value, "source": title, "url": url, "as_of": as_of}


def accelerator_sources(name: str) -> list[dict[str, str]]:
    """The accelerator's catalog values (display units) with its source; [] if unknown."""
    try:
        a = get_accelerator(name)
    except TokenworksError:
        return []
    src = (a.source_title, a.source_url, a.as_of)
    rows = [_row(f"{a.name}: {p} dense peak", f"{v / 1e12:,.1f} TFLOP/s", *src)
            for p, v in a.peak_flops_per_s]
    rows += [
        _row(f"{a.name}: memory", f"{a.memory_bytes / 2**30:,.1f} GiB {a.memory_type}", *src),
        _row(f"{a.name}: memory bandwidth", f"{a.memory_bytes_per_s / 1e12:,.2f} TB/s", *src),
        _row(f"{a.name}: TDP", f"{a.tdp_w:,.0f} W", *src),
    ]
    if a.scaleup_bytes_per_s:
        rows.append(_row(f"{a.name}: scale-up ({a.scaleup_tech or 'link'})",
                         f"{a.scaleup_bytes_per_s / 1e9:,.0f} GB/s per direction", *src))
    # Prices are not listed here: the price a result used names its own source (defaults).
    return rows


def model_sources(name: str) -> list[dict[str, str]]:
    """The model's catalog entry (config.json and published parameter counts); [] if the
    model is not a catalog entry (e.g. a local config.json)."""
    entry = next((e for e in model_entries() if e.name == name), None)
    if entry is None:
        return []
    rows = [_row(f"{entry.name}: architecture (config.json)", entry.hf_repo or entry.config,
                 entry.source_title, entry.source_url, entry.as_of)]
    rows.append(_row(f"{entry.name}: published parameters",
                     f"{entry.published_params_total_b:g}B total, "
                     f"{entry.published_params_active_b:g}B active",
                     entry.params_source_title or entry.source_title,
                     entry.params_source_url or entry.source_url, entry.as_of))
    return rows


@cache
def _assumptions_in(path: Path) -> tuple[str, ...]:
    out = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _PATTERN.search(lines[i])
        i += 1
        if not m:
            continue
        text = m.group(1).strip()
        while i < len(lines):
            nxt = lines[i].strip()
            body = nxt.lstrip("#").strip()
            if not nxt.startswith("#") or _PATTERN.search(nxt) or nxt.startswith("# NOTE") \
                    or not body:
                break
            text += " " + body
            i += 1
        out.append(text)
    return tuple(out)


def code_assumptions(kind: str) -> list[str]:
    """The ASSUMPTION comments of the modules a result of ``kind`` passes through, each
    prefixed with its module (``perf/step.py: ...``); [] when the source is not installed."""
    out = []
    for rel in ASSUMPTION_PATHS.get(kind, ()):
        p = _PACKAGE / rel
        files = sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.exists() else []
        for f in files:
            where = f.relative_to(_PACKAGE).as_posix()
            out += [f"{where}: {t}" for t in _assumptions_in(f)]
    return list(dict.fromkeys(out))
