"""Which blocks each kind of result gets: one plain dict, ``KINDS``.

A block function takes the kind's chart data (plain JSON, built by ``report/<kind>.py`` or
``report.data``) and returns a ``Chart``, ``Table`` or ``Note`` — or ``None`` when the result
has nothing to show there (a run with no prefix cache has no hit-rate chart). Adding a chart is
one function in the kind's module and one entry in its tuple here.

``build_report`` runs a kind's blocks in order and closes every report with where its numbers
came from: the catalog values used (with sources), the defaults the run used (with sources)
and the modelling assumptions on its path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tokenworks.errors import ConfigError
from tokenworks.report import capacity, catalogs, estimate, finance, ledger, plan, simulation
from tokenworks.report.blocks import Block, Report, Table
from tokenworks.report.sources import code_assumptions

__all__ = ["KINDS", "Kind", "build_report"]

BlockFn = Callable[[dict[str, Any]], Block | None]


@dataclass(frozen=True, slots=True)
class Kind:
    title: Callable[[dict[str, Any]], str]
    blocks: tuple[BlockFn, ...]


def _estimate_title(d: dict[str, Any]) -> str:
    e = d["estimate"]
    return f"Estimate: {e['model']} on {e['num_gpus']}× {e['hardware']}"


def _simulation_title(d: dict[str, Any]) -> str:
    s = d["summary"]
    return f"Simulation: {s.get('scenario')} ({s.get('model')}, {s.get('num_gpus')} GPUs)"


KINDS: dict[str, Kind] = {
    "estimate": Kind(_estimate_title, (
        estimate.summary_table, estimate.roofline_chart, estimate.curve_chart,
        estimate.memory_chart, estimate.breakdown_chart)),
    "simulation": Kind(_simulation_title, (
        simulation.summary_table, simulation.warnings_note, simulation.percentiles_table,
        simulation.ttft_cdf, simulation.tpot_cdf, simulation.e2e_cdf, simulation.queue_chart,
        simulation.utilization_chart, simulation.kv_chart, simulation.tier_hits_chart,
        simulation.sessions_chart, simulation.replicas_table)),
    "tco": Kind(lambda d: f"TCO: {d['breakdown']['accelerator']}", (
        finance.tco_table, finance.waterfall_chart, finance.token_cost_table,
        finance.vendor_chart)),
    "pnl": Kind(lambda d: f"P&L: {d['pnl']['num_accelerators']:,} × {d['inputs']['accelerator']}",
                (finance.pnl_chart, finance.pnl_table, finance.depreciation_table)),
    "sensitivity": Kind(lambda d: f"Sensitivity of {d['metric']}", (
        finance.tornado_chart, finance.grid_chart, finance.tornado_table)),
    "capital": Kind(lambda d: "Capital: revenue gap and deployable capital", (
        finance.capital_chart, finance.capital_table)),
    "power": Kind(lambda d: f"Power: {d['power']['num_accelerators']:,} × "
                            f"{d['power']['accelerator']}",
                  (capacity.power_chart, capacity.power_table)),
    "fleet": Kind(lambda d: f"Fleet: {d['plan']['num_accelerators']:,} × "
                            f"{d['plan']['accelerator']}",
                  (capacity.fleet_table, capacity.fleet_cost_chart, capacity.fleet_power_chart)),
    "train": Kind(lambda d: f"Training run on {d['run']['num_accelerators']:,} × "
                            f"{d['run']['accelerator']}",
                  (capacity.train_table, capacity.train_chart)),
    "claims": Kind(lambda d: "Seed claims ledger", (ledger.verdicts_chart, ledger.claims_table)),
    "plan": Kind(lambda d: f"Plan: {d['title']}", (
        plan.diagnosis_note, plan.recommendation_table, plan.cost_latency_chart, plan.throughput_chart,
        plan.candidates_table)),
    "catalog": Kind(lambda d: f"Catalog: {d['catalog']}", (
        catalogs.catalog_chart, catalogs.catalog_table)),
}


def _sources_table(rows: list[dict[str, str]]) -> Table | None:
    if not rows:
        return None
    return Table(id="catalog-values", title="Catalog values used",
                 columns=("value", "number", "source", "url", "as of"),
                 rows=tuple((r["item"], r["value"], r["source"], r["url"], r["as_of"])
                            for r in rows), filterable=True)


def _defaults(d: dict[str, Any]) -> list[str]:
    """The defaults a run used (each line names its source)."""
    lines = list(d.get("defaults_used") or [])
    for key in ("estimate", "inputs"):
        sub = d.get(key)
        if isinstance(sub, dict):
            lines += list(sub.get("defaults_used") or [])
    return list(dict.fromkeys(lines))


def build_report(kind: str, data: dict[str, Any], *, generated_by: str = "") -> Report:
    """The report of ``data`` (a kind's chart data) as blocks, closed by its sources."""
    k = KINDS.get(kind)
    if k is None:
        raise ConfigError(f"no report for result kind '{kind}'; kinds: {', '.join(KINDS)}.")
    blocks = [b for fn in k.blocks if (b := fn(data)) is not None]
    sources = list(data.get("sources") or [])
    defaults = _defaults(data)
    assumptions = code_assumptions(kind)
    tail = [_sources_table(sources)]
    if defaults:
        tail.append(Table(id="defaults-used", title="Defaults used (with their sources)",
                          columns=("default",), rows=tuple((x,) for x in defaults),
                          filterable=len(defaults) > 8))
    if assumptions:
        tail.append(Table(id="assumptions", title="Modelling assumptions on this result's path",
                          columns=("module: assumption",), rows=tuple((a,) for a in assumptions),
                          filterable=True,
                          caption="Every ASSUMPTION comment of the code this result ran "
                                  "through (all of them: docs/assumptions.md)."))
    blocks += [b for b in tail if b is not None]
    return Report(kind=kind, title=k.title(data), blocks=tuple(blocks), sources=tuple(sources),
                  assumptions=tuple(defaults + assumptions), generated_by=generated_by)
