"""Evaluators that read figures rather than model them: published sources, other seeds, and
the seed's own arithmetic.

* ``reported_value``: a figure from a public source (the claim's ``sources`` name it, with
  its date); ``value`` in the claim's display ``unit``, or ``values`` summed (e.g. quarters);
* ``unverifiable``: no public source or first-principles check found; ``reason`` says why;
* ``seed_figure``: the same quantity as another seed (or section) states it; ``quote`` must
  appear in ``seed_file`` (a test checks it);
* ``seed_arithmetic``: the seed's stated result recomputed from its own stated inputs.

All return SI (``value × UNITS[unit]``; growth rates and shares as fractions).
"""

from __future__ import annotations

import math

from tokenworks.claims.kinds import UNITS
from tokenworks.claims.registry import Computed, Params, evaluator
from tokenworks.errors import CatalogError


def _unit(p: Params) -> tuple[str, float]:
    unit = p.str("unit")
    if unit not in UNITS:
        raise CatalogError(f"params.unit '{unit}' is not one of: {', '.join(UNITS)}.")
    return unit, UNITS[unit]


@evaluator("reported_value")
def reported_value(p: Params) -> Computed:
    """A published figure: ``value``, or the sum of ``values`` (labelled by ``labels``)."""
    unit, si = _unit(p)
    what = p.str("what")
    if p.has("values"):
        vals = p.floats("values")
        labels = p.strs("labels")
        if len(labels) != len(vals):
            raise CatalogError(f"reported_value: {len(labels)} labels for {len(vals)} values.")
        total = sum(vals)
        parts = " + ".join(f"{v:g} ({lab})" for v, lab in zip(vals, labels, strict=True))
        return Computed(value=total * si, working=f"{what}: {parts} = {total:g} {unit}",
                        terms=tuple((lab, v * si) for lab, v in zip(labels, vals, strict=True)))
    v = p.float("value")
    return Computed(value=v * si, working=f"{what}: {v:g} {unit}")


@evaluator("unverifiable")
def unverifiable(p: Params) -> Computed:
    return Computed(value=None, working=p.str("reason"))


@evaluator("seed_figure")
def seed_figure(p: Params) -> Computed:
    """The figure another seed file (or another section of the same one) gives."""
    unit, si = _unit(p)
    v = p.float("value")
    return Computed(value=v * si, working=(
        f"{p.str('seed_file')[:3]} says \"{p.str('quote')}\" → {v:g} {unit}"))


def _growth(p: Params) -> tuple[float, str]:
    a, b = p.float("start"), p.float("end")
    return b / a - 1.0, f"{b:g} ÷ {a:g} − 1 = {b / a - 1:.1%}"


def _cagr(p: Params) -> tuple[float, str]:
    a, b, n = p.float("start"), p.float("end"), p.float("years")
    g = (b / a) ** (1.0 / n) - 1.0
    return g, f"({b:g} ÷ {a:g})^(1/{n:g}) − 1 = {g:.1%} per year"


def _multiple_per_year(p: Params) -> tuple[float, str]:
    a, b, n = p.float("start"), p.float("end"), p.float("years")
    r = (a / b) ** (1.0 / n)
    return r, f"({a:g} ÷ {b:g})^(1/{n:g} years) = {r:.1f}× per year"


def _project(p: Params) -> tuple[float, str]:
    a, g, n = p.float("start"), p.float("rate"), p.float("years")
    v = a * (1.0 + g) ** n
    return v, f"{a:g} × (1 + {g:.1%})^{n:g} = {v:,.4g}"


def _implied_base(p: Params) -> tuple[float, str]:
    b, g = p.float("end"), p.float("rate")
    v = b / (1.0 + g)
    return v, f"{b:g} ÷ (1 + {g:.0%}) = {v:,.4g}"


def _ratio(p: Params) -> tuple[float, str]:
    a, b = p.float("a"), p.float("b")
    return a / b, f"{a:g} ÷ {b:g} = {a / b:.4g}"


def _product(p: Params) -> tuple[float, str]:
    xs = p.floats("factors")
    v = math.prod(xs)
    return v, " × ".join(f"{x:g}" for x in xs) + f" = {v:,.4g}"


def _sum(p: Params) -> tuple[float, str]:
    xs = p.floats("addends")
    return sum(xs), " + ".join(f"{x:g}" for x in xs) + f" = {sum(xs):,.4g}"


def _margin(p: Params) -> tuple[float, str]:
    price, cost = p.float("price"), p.float("cost")
    m = 1.0 - cost / price
    return m, f"1 − {cost:g} ÷ {price:g} = {m:.1%}"


OPS = {"growth": _growth, "cagr": _cagr, "multiple_per_year": _multiple_per_year,
       "project": _project, "implied_base": _implied_base, "ratio": _ratio,
       "product": _product, "sum": _sum, "margin": _margin}


@evaluator("seed_arithmetic")
def seed_arithmetic(p: Params) -> Computed:
    """``op`` on the seed's own inputs (``OPS``): growth, cagr, multiple_per_year (a fall of
    ``start`` to ``end`` over ``years`` as a ×/year), project, implied_base, ratio, product,
    sum, margin. ``unit`` converts the result to SI (``x`` and ``%`` results are fractions
    already: give ``unit = "1"``)."""
    op = p.str("op")
    if op not in OPS:
        raise CatalogError(f"seed_arithmetic op '{op}' is not one of: {', '.join(OPS)}.")
    v, work = OPS[op](p)
    scale = 1.0 if p.str("unit", "1") == "1" else _unit(p)[1]
    terms: tuple[tuple[str, float], ...] = ()
    if op == "sum" and p.has("labels"):
        terms = tuple((lab, x * scale) for lab, x in zip(p.strs("labels"), p.floats("addends"),
                                                           strict=True))
    return Computed(value=v * scale, working=f"{p.str('what')}: {work}", terms=terms)
