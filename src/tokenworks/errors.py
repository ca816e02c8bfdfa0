"""The tokenworks exception tree (STYLE.md section 6).

Every error a user can cause is a ``TokenworksError``; the CLI prints its message as one red
line and exits 1. A ``SimulationError`` is a bug in tokenworks and keeps its traceback.
Messages say what was being done, the offending value with units, the rule or the valid
options, and the next step.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TokenworksError(Exception):
    """Base class for every error tokenworks raises on purpose."""


class CatalogError(TokenworksError):
    """A catalog file is malformed, an entry lacks its source, or a value is implausible."""


class UnknownNameError(CatalogError):
    """A name was looked up in a catalog and is not there."""


class UnsupportedArchitectureError(TokenworksError):
    """A model config.json names an architecture tokenworks does not model."""


class ConfigError(TokenworksError):
    """A user-supplied value (flag, scenario key, argument) is outside its valid range."""


class ScenarioError(ConfigError):
    """A scenario file is malformed or inconsistent."""


class InfeasibleError(TokenworksError):
    """The request is well formed but physically impossible (model does not fit, SLO unmeetable)."""


class SimulationError(Exception):
    """An internal invariant of the simulator broke: a bug, never a user error."""


def did_you_mean(name: str, options: Iterable[str], *, n: int = 3) -> str:
    """A ' Did you mean: a, b?' suffix for an unknown name, or '' when nothing is close."""
    options = list(options)
    lowered = {o.lower(): o for o in options}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    # Substring matches catch 'h100' -> 'h100-sxm', which difflib scores low.
    subs = [o for lo, o in lowered.items() if name.lower() in lo and o not in close]
    picks = [lowered[c] for c in close] + subs
    picks = list(dict.fromkeys(picks))[:n]
    return f" Did you mean: {', '.join(picks)}?" if picks else ""


def unknown_name(kind: str, name: str, options: Iterable[str]) -> UnknownNameError:
    """Build the standard 'not in the catalog' error with suggestions."""
    options = sorted(options)
    if not name.strip():
        shown = ", ".join(options) if len(options) <= 40 else ", ".join(options[:40]) + ", ..."
        return UnknownNameError(f"{kind} name '{name}' is empty; give one of: {shown}.")
    hint = did_you_mean(name, options)
    if not hint:
        hint = f" Valid names: {', '.join(options)}." if len(options) <= 40 else ""
    return UnknownNameError(f"{kind} '{name}' is not in the catalog.{hint}")


def check_range(
    name: str,
    value: float,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    unit: str = "",
    fix: str = "",
) -> float:
    """Raise ConfigError naming the value, the rule and the fix when value is out of range."""
    bad = value != value  # NaN
    if low is not None:
        bad = bad or (value < low if low_inclusive else value <= low)
    if high is not None:
        bad = bad or (value > high if high_inclusive else value >= high)
    if bad:
        lo = "" if low is None else (f">= {low:g}" if low_inclusive else f"> {low:g}")
        hi = "" if high is None else (f"<= {high:g}" if high_inclusive else f"< {high:g}")
        rule = " and ".join(r for r in (lo, hi) if r)
        u = f" {unit}" if unit else ""
        tail = f" {fix}" if fix else ""
        raise ConfigError(f"{name} = {value:g}{u} is out of range: it must be {rule}.{tail}")
    return value
