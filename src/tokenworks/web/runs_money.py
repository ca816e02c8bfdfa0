"""Runs of the economics questions: tco, pnl, power, fleet, train, capital, sensitivity.

Inputs are the question's keys (the names ``--set`` takes on the CLI), checked by
``io.economics.question`` exactly as the CLI checks them; sensitivity adds ``metric``,
``vary``, ``low_mult``, ``high_mult`` and ``grid_x``/``grid_y`` (``[name, [values]]``), and
capital may give ``scenarios`` (named overrides side by side). Every question answers in
milliseconds, so these runs are computed when they are asked.
"""

from __future__ import annotations

from typing import Any

from tokenworks.api.economics import (
    capital_report,
    fleet_report,
    pnl_report,
    power_report,
    sensitivity_report,
    tco_report,
    train_report,
)
from tokenworks.errors import ConfigError
from tokenworks.io.economics import question
from tokenworks.report.data import result_data
from tokenworks.web.outputs import Output, Prepared, Progress, table_files
from tokenworks.web.uploads import Uploads

__all__ = ["ECONOMICS_KINDS", "SENSITIVITY_KEYS", "prepare_economics"]

ECONOMICS_KINDS = ("tco", "pnl", "power", "fleet", "train", "capital", "sensitivity")
SENSITIVITY_KEYS = ("metric", "vary", "low_mult", "high_mult", "grid_x", "grid_y")


def _summary(kind: str, d: dict[str, Any]) -> dict[str, Any]:
    """Headline numbers of an economics report's JSON (for the runs list)."""
    if kind == "tco":
        b = d["breakdown"]
        return {"accelerator": b["accelerator"], "total_usd_per_hour": b["total_usd_per_hour"],
                "breakeven_usd_per_sold_hour": b["breakeven_usd_per_sold_hour"],
                "usd_per_million_tokens": d.get("usd_per_million_tokens_at_throughput")}
    if kind == "pnl":
        p = d["pnl"]
        return {"num_accelerators": p["num_accelerators"], "npv_usd": p["npv_usd"],
                "project_irr_frac": p["project_irr_frac"], "payback_years": p["payback_years"]}
    if kind == "power":
        p = d["power"]
        return {"accelerator": p["accelerator"], "num_accelerators": p["num_accelerators"],
                "facility_power_w": p["facility_power_w"], "it_power_w": p["it_power_w"]}
    if kind == "fleet":
        f = d["plan"]
        return {"accelerator": f["accelerator"], "num_accelerators": f["num_accelerators"],
                "usd_per_million_output_tokens": f["usd_per_million_output_tokens"]}
    if kind == "train":
        r = d["run"]
        return {"accelerator": r["accelerator"], "num_accelerators": r["num_accelerators"],
                "wall_s": r["wall_s"], "cost_usd": r["cost_usd"]}
    if kind == "capital":
        return {f"capital_ceiling_usd_{c['name']}": c["ceiling"]["total_usd"] for c in d["cases"]}
    top = max(d["tornado"], key=lambda r: r["swing"] or 0.0) if d["tornado"] else None
    return {"metric": d["metric"], "base": d["base"], "top_input": top and top["input"]}


def _axis(v: Any, name: str) -> tuple[str, list[float]] | None:
    if v is None:
        return None
    if (not isinstance(v, list | tuple) or len(v) != 2 or not isinstance(v[0], str)
            or not isinstance(v[1], list)):
        raise ConfigError(f"{name} must be [input name, [values]], e.g. "
                          f"[\"utilization_frac\", [0.4, 0.6, 0.8]].")
    try:
        return v[0], [float(x) for x in v[1]]
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: the values must be numbers.") from None


def _run(kind: str, inputs: dict[str, Any]) -> Any:
    """The economics report of ``kind`` for ``inputs`` (the CLI's validation)."""
    if kind == "sensitivity":
        flags = {k: v for k, v in inputs.items() if k not in SENSITIVITY_KEYS}
        gx, gy = _axis(inputs.get("grid_x"), "grid_x"), _axis(inputs.get("grid_y"), "grid_y")
        if (gx is None) != (gy is None):
            raise ConfigError("a two-way grid needs both grid_x and grid_y.")
        return sensitivity_report(
            question("pnl", flags=flags), metric=inputs.get("metric", "tco_usd_per_hour"),
            vary=inputs.get("vary"), low_mult=float(inputs.get("low_mult", 0.8)),
            high_mult=float(inputs.get("high_mult", 1.2)), grid_x=gx, grid_y=gy)
    if kind == "capital":
        flags = {k: v for k, v in inputs.items() if k != "scenarios"}
        return capital_report(question("capital", flags=flags), scenarios=inputs.get("scenarios"))
    q = question(kind, flags=inputs)
    return {"tco": tco_report, "pnl": pnl_report, "power": power_report, "fleet": fleet_report,
            "train": train_report}[kind](q)


def prepare_economics(kind: str, inputs: dict[str, Any], uploads: Uploads) -> Prepared:
    if kind not in ECONOMICS_KINDS:
        raise ConfigError(f"'{kind}' is not an economics question; use one of "
                          f"{', '.join(ECONOMICS_KINDS)}.")
    given = {k: v for k, v in inputs.items() if v is not None and v != ""}
    report = _run(kind, given)
    context: dict[str, Any] = {}
    if kind == "power":
        report, context["defaults_used"] = report
    if kind == "tco":
        context["price_basis"] = given.get("price_basis")

    def execute(progress: Progress) -> Output:
        rkind, data = result_data(report, **context)
        out = Output(summary=_summary(kind, data), report_kind=rkind, report_data=data)
        out.add_result(data)
        if kind == "pnl":
            out.files.update(table_files("years", data["pnl"]["years"]))
        if kind == "sensitivity":
            out.files.update(table_files("tornado", data["tornado"]))
        return out

    return Prepared(kind=kind, inputs=given, long=False, execute=execute)
