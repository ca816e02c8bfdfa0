"""Results into report data: ``result_data(result)`` → ``(kind, data)``, and files back.

Report data is the plain-JSON input of a kind's blocks (``registry.KINDS``). It is what the
web dashboard stores with a run and what ``tokenworks report`` reads from a file, wrapped in
an envelope: ``{"tokenworks_report_data": 1, "kind": ..., "data": {...}}``. ``guess_kind``
also recognises the JSON that the commands print with ``--json`` (and ``simulate --out
x.json``), so any saved result can become a report.
"""

from __future__ import annotations

from typing import Any

from tokenworks.api.economics import (
    CapitalReport,
    PnlReport,
    SensitivityReport,
    TcoReport,
)
from tokenworks.economics.estimate_cost import Estimate
from tokenworks.economics.fleet import FleetReport
from tokenworks.economics.power import PowerReport
from tokenworks.economics.training import TrainReport
from tokenworks.errors import ConfigError
from tokenworks.report.estimate import estimate_data
from tokenworks.report.format import to_jsonable
from tokenworks.report.ledger import claims_data
from tokenworks.report.plan import plan_data
from tokenworks.report.simulation import simulation_data
from tokenworks.report.sources import accelerator_sources
from tokenworks.serving.result import SimulationResult

__all__ = ["ENVELOPE_KEY", "envelope", "guess_kind", "result_data", "with_sources"]

ENVELOPE_KEY = "tokenworks_report_data"
_ECONOMICS = ((TcoReport, "tco"), (PnlReport, "pnl"), (SensitivityReport, "sensitivity"),
              (CapitalReport, "capital"), (FleetReport, "fleet"), (TrainReport, "train"))


def result_data(result: Any, **context: Any) -> tuple[str, dict[str, Any]]:
    """(kind, report data) of a result object. ``context``: for an estimate, the ``model``
    and ``calibration`` it ran with; for a TCO, its ``price_basis``; for power, the
    ``defaults_used`` lines."""
    if isinstance(result, Estimate):
        return "estimate", estimate_data(result, **context)
    if isinstance(result, SimulationResult):
        return "simulation", simulation_data(result, **context)
    if isinstance(result, PowerReport):
        return "power", with_sources("power", {
            "power": to_jsonable(result),
            "defaults_used": list(context.get("defaults_used") or [])})
    for cls, kind in _ECONOMICS:
        if isinstance(result, cls):
            d = to_jsonable(result)
            if kind == "tco":
                d["price_basis"] = context.get("price_basis") or "tco"
            return kind, with_sources(kind, d)
    if isinstance(result, list) and all(hasattr(r, "to_dict") and hasattr(r, "verdict")
                                        for r in result):
        return "claims", claims_data(result)
    if hasattr(result, "candidates") or (isinstance(result, dict) and "candidates" in result):
        return "plan", plan_data(result)
    raise ConfigError(f"no report for a {type(result).__name__}; reports exist for estimates, "
                      f"simulations, economics reports, the claims ledger and plans.")


# Where each economics report names its accelerator.
_ACCELERATOR_AT = {"tco": ("inputs", "accelerator"), "pnl": ("inputs", "accelerator"),
                   "power": ("power", "accelerator"), "fleet": ("plan", "accelerator"),
                   "train": ("run", "accelerator")}


def with_sources(kind: str, d: dict[str, Any]) -> dict[str, Any]:
    """``d`` with the catalog values of its accelerator (``sources``) when it names one."""
    at = _ACCELERATOR_AT.get(kind)
    if at is None or "sources" in d:
        return d
    name = (d.get(at[0]) or {}).get(at[1])
    return {**d, "sources": accelerator_sources(name) if name else []}


def envelope(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Report data as a self-describing JSON document."""
    return {ENVELOPE_KEY: 1, "kind": kind, "data": data}


# (kind, keys a JSON document of that kind has), in the order they are tried.
_SIGNATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("estimate", ("ttft_s", "tpot_s", "decode_breakdown", "memory")),
    ("tco", ("breakdown", "vendor_case")),
    ("pnl", ("pnl", "market", "depreciation_risk")),
    ("sensitivity", ("metric", "tornado")),
    ("capital", ("cases",)),
    ("fleet", ("plan", "power_budget")),
    ("train", ("run", "chinchilla")),
    ("power", ("power",)),
    ("plan", ("candidates",)),
    ("simulation_file", ("summary", "requests")),
    ("simulation_summary", ("num_requests", "ttft_s", "duration_s", "replicas")),
)


def guess_kind(doc: Any) -> str:
    """The kind of a JSON document: an envelope's own, or recognised by its keys (the JSON
    the commands print). ``simulation_file``/``simulation_summary`` are a simulation's
    records or summary, which ``report.load`` turns into simulation data."""
    if isinstance(doc, dict) and doc.get(ENVELOPE_KEY):
        return str(doc["kind"])
    if isinstance(doc, list) and doc and all(isinstance(r, dict) and "verdict" in r
                                             for r in doc):
        return "claims"
    if isinstance(doc, dict):
        for kind, keys in _SIGNATURES:
            if all(k in doc for k in keys):
                return kind
    raise ConfigError(
        "this JSON is not a result tokenworks can report on. Give the output of "
        "`estimate --json`, `simulate --out run.json`, `claims --json`, an economics command's "
        "--json, a plan (with 'candidates'), or a report-data file from the web dashboard.")
