"""What ``tokenworks report SOURCE`` reads: a saved result (JSON), a scenario (run now), a plan,
or a catalog (``models``, ``hardware``). (The claims ledger is run by the CLI, which may
import ``tokenworks.claims``; this package sits beside it and may not.)

* ``.yaml``/``.yml``/``.toml``: a simulation scenario, simulated with its engine steps
  recorded (for the utilization chart);
* ``.json``: a report-data envelope (the web dashboard's download), the JSON a command prints
  with ``--json``, ``simulate --out run.json`` (summary and per-request records), or a plan;
* ``models``, ``hardware``: the catalogs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tokenworks.api import simulate
from tokenworks.errors import ConfigError
from tokenworks.files import read_text
from tokenworks.report.catalogs import CATALOGS, catalog_data
from tokenworks.report.data import guess_kind, result_data, with_sources
from tokenworks.report.estimate import estimate_data
from tokenworks.report.ledger import claims_data
from tokenworks.report.plan import plan_data
from tokenworks.report.simulation import simulation_data
from tokenworks.serving.result import SimulationResult, arrow_table

__all__ = ["BUILTINS", "SCENARIO_SUFFIXES", "load_source", "report_data_from_json"]

BUILTINS = CATALOGS
SCENARIO_SUFFIXES = (".yaml", ".yml", ".toml")
_TIMELINE = ("time_s", "num_outstanding", "num_in_transfer", "kv_usage_frac")


def _empty_timeline() -> pa.Table:
    return arrow_table({c: np.zeros(0, np.int64 if c.startswith("num_") else np.float64)
                        for c in _TIMELINE})


def _simulation_from_json(summary: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    requests = pa.Table.from_pylist(rows) if rows else pa.table({})
    if rows:  # the JSON writer stores nulls; the report reads float64/int64/bool columns
        requests = pa.table({n: (c.cast(pa.float64()) if pa.types.is_null(c.type) else c)
                             for n, c in zip(requests.column_names, requests.columns,
                                             strict=True)})
    res = SimulationResult(summary=summary, requests=requests, timeline=_empty_timeline())
    return simulation_data(res)


def report_data_from_json(doc: Any) -> tuple[str, dict[str, Any]]:
    """(kind, report data) of a parsed JSON document (see ``data.guess_kind``)."""
    kind = guess_kind(doc)
    if isinstance(doc, dict) and kind == doc.get("kind") and "data" in doc:
        return kind, doc["data"]
    if kind == "estimate":
        return kind, estimate_data(doc)
    if kind == "claims":
        return kind, claims_data(doc)
    if kind == "plan":
        return kind, plan_data(doc)
    if kind == "simulation_file":
        return "simulation", _simulation_from_json(doc["summary"], doc["requests"])
    if kind == "simulation_summary":
        return "simulation", _simulation_from_json(doc, [])
    if kind == "tco":
        doc = {**doc, "price_basis": doc.get("price_basis", "tco")}
    return kind, with_sources(kind, doc)


def load_source(source: str | Path, *, seed: int | None = None,
                max_requests: int | None = None) -> tuple[str, dict[str, Any]]:
    """(kind, report data) for ``tokenworks report SOURCE`` (see module docstring)."""
    name = str(source)
    if name in BUILTINS and not Path(name).exists():
        return "catalog", catalog_data(name)
    p = Path(name)
    suffix = p.suffix.lower()
    if suffix in SCENARIO_SUFFIXES:
        return result_data(simulate(p, seed=seed, max_requests=max_requests, record_steps=True))
    if suffix != ".json":
        raise ConfigError(
            f"'{name}' is not something tokenworks can report on: give a scenario "
            f"({', '.join(SCENARIO_SUFFIXES)}), a saved result (.json), claims, or one of "
            f"{', '.join(BUILTINS)}.")
    text = read_text(p, what="result file")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"result file {p} is not valid JSON: {e.msg} at line {e.lineno}."
                          ) from None
    return report_data_from_json(doc)
