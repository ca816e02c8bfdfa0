"""The evaluator registry: claim evaluators register here by name.

An evaluator is a pure function ``fn(params: Params) -> Computed`` that recomputes one kind of
seed claim with tokenworks (model math, hardware catalog, roofline step costs, the estimator),
or reads a published or seed figure for reported and consistency claims.
It returns the value in **SI units** (bytes, seconds, FLOP, W, USD per token, plain ratios)
plus a one-line ``working`` string that shows the arithmetic in display units, and where the
value is a sum, its named ``terms``. The ledger
converts the SI value to the claim's display unit and compares it with the seed's figure.

Modules add evaluators with the decorator::

    from tokenworks.claims.registry import Computed, Params, evaluator

    @evaluator("kv_cache_bytes")
    def kv_cache(p: Params) -> Computed:
        ...

``EVALUATORS`` maps the registry key (the ``evaluator`` field of a claim in
``data/claims/*.toml``) to the function. A key registered twice is a bug and raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tokenworks.errors import CatalogError


@dataclass(frozen=True, slots=True, kw_only=True)
class Computed:
    """What an evaluator found: the value in SI units and how it got there.

    ``value`` is ``None`` when nothing can check the figure (the verdict is then
    *unverifiable*; ``working`` says why). ``terms`` are named additive parts of ``value``
    (SI; they sum to it, except a margin, which is 1 plus its cost terms): the ledger names
    the dominant one, and for a claim whose ``seed_includes`` lists the terms the seed
    counted, the dominant term of the difference.
    """

    value: float | None
    working: str
    terms: tuple[tuple[str, float], ...] = ()


class Params:
    """Read-only view of a claim's ``params`` table with typed, error-naming accessors."""

    __slots__ = ("_claim_id", "_raw")

    def __init__(self, claim_id: str, raw: Mapping[str, Any]) -> None:
        self._claim_id = claim_id
        self._raw = dict(raw)

    def _need(self, key: str) -> Any:
        if key not in self._raw:
            raise CatalogError(
                f"claim '{self._claim_id}': params.{key} is missing; its evaluator needs it. "
                f"Add `{key} = ...` to the claim's params table."
            )
        return self._raw[key]

    def has(self, key: str) -> bool:
        return key in self._raw

    def str(self, key: str, default: str | None = None) -> str:
        if default is not None and key not in self._raw:
            return default
        v = self._need(key)
        if not isinstance(v, str):
            raise CatalogError(f"claim '{self._claim_id}': params.{key} = {v!r} must be a string.")
        return v

    def float(self, key: str, default: float | None = None) -> float:
        if default is not None and key not in self._raw:
            return default
        v = self._need(key)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise CatalogError(f"claim '{self._claim_id}': params.{key} = {v!r} must be a number.")
        return float(v)

    def int(self, key: str, default: int | None = None) -> int:
        if default is not None and key not in self._raw:
            return default
        v = self._need(key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise CatalogError(f"claim '{self._claim_id}': params.{key} = {v!r} must be an integer.")
        return v

    def bool(self, key: str, default: bool = False) -> bool:
        if key not in self._raw:
            return default
        v = self._raw[key]
        if not isinstance(v, bool):
            raise CatalogError(f"claim '{self._claim_id}': params.{key} = {v!r} must be true/false.")
        return v

    def table(self, key: str) -> dict[str, Any]:
        v = self._need(key)
        if not isinstance(v, dict):
            raise CatalogError(f"claim '{self._claim_id}': params.{key} must be a table.")
        return dict(v)

    def floats(self, key: str) -> list[float]:
        v = self._need(key)
        if not isinstance(v, list) or not v or not all(
                isinstance(x, int | float) and not isinstance(x, bool) for x in v):
            raise CatalogError(f"claim '{self._claim_id}': params.{key} must be a non-empty "
                               f"list of numbers.")
        return [float(x) for x in v]

    def strs(self, key: str) -> list[str]:
        v = self._need(key)
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise CatalogError(f"claim '{self._claim_id}': params.{key} must be a list of strings.")
        return list(v)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._raw)


EvaluatorFn = Callable[[Params], Computed]

EVALUATORS: dict[str, EvaluatorFn] = {}


def evaluator(name: str) -> Callable[[EvaluatorFn], EvaluatorFn]:
    """Register ``fn`` under ``name``; the claim's ``evaluator`` field selects it."""

    def register(fn: EvaluatorFn) -> EvaluatorFn:
        if name in EVALUATORS and EVALUATORS[name] is not fn:
            raise CatalogError(
                f"claim evaluator '{name}' is registered twice ({EVALUATORS[name].__module__} and "
                f"{fn.__module__}); pick a unique name."
            )
        EVALUATORS[name] = fn
        return fn

    return register
