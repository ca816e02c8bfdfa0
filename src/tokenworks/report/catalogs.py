"""The reports of the catalogs: models and accelerators as filterable tables with their
sources, and a chart of each (memory bandwidth vs compute; parameters vs KV bytes per token).

Data: ``{"catalog": "models" | "hardware", "rows": [...]}`` with the rows of
``api.catalog.model_rows`` / ``hardware_rows`` (SI units).
"""

from __future__ import annotations

from typing import Any

from tokenworks.api.catalog import hardware_rows, model_rows
from tokenworks.errors import ConfigError
from tokenworks.report.blocks import Chart, Table
from tokenworks.report.figures import SEQUENCE, figure
from tokenworks.report.format import fmt_bytes, fmt_count

__all__ = ["CATALOGS", "catalog_data"]

CATALOGS = ("models", "hardware")


def catalog_data(name: str) -> dict[str, Any]:
    """The rows of catalog ``name`` (``models`` or ``hardware``)."""
    if name == "models":
        return {"catalog": name, "rows": model_rows()}
    if name == "hardware":
        return {"catalog": name, "rows": hardware_rows()}
    raise ConfigError(f"catalog '{name}' has no report; use one of: {', '.join(CATALOGS)}.")


def _v(x: Any, f: Any) -> str:
    return "—" if x is None else f(x)


def catalog_table(d: dict[str, Any]) -> Table:
    rows = d["rows"]
    if d["catalog"] == "models":
        out = tuple((r["name"], r["architecture"], fmt_count(r["params_total"]),
                     fmt_count(r["params_active"]), str(r["num_layers"]), r["attention_kind"],
                     fmt_bytes(r["kv_bytes_per_token_bf16"]), f"{r['max_context_tokens']:,}")
                    for r in rows)
        return Table(id="catalog-models", title="Model catalog", rows=out, filterable=True,
                     columns=("model", "architecture", "params", "active", "layers",
                              "attention", "KV/token (bf16)", "context"))
    out = tuple((r["name"], r["vendor"], r["kind"], _v(r["dense_bf16_flops_per_s"],
                                                       lambda x: f"{x / 1e12:,.0f}"),
                 _v(r["memory_bytes"], fmt_bytes), _v(r["memory_bytes_per_s"],
                                                      lambda x: f"{x / 1e12:,.2f}"),
                 f"{r['tdp_w']:,.0f}", r["source_title"], r["source_url"], r["as_of"])
                for r in rows)
    return Table(id="catalog-hardware", title="Accelerator catalog", rows=out, filterable=True,
                 filter_column="kind",
                 columns=("accelerator", "vendor", "kind", "bf16 TFLOP/s", "memory", "TB/s",
                          "TDP W", "source", "url", "as of"))


def catalog_chart(d: dict[str, Any]) -> Chart:
    rows = d["rows"]
    if d["catalog"] == "models":
        traces = [{"type": "scatter", "mode": "markers", "name": arch,
                   "x": [r["params_active"] / 1e9 for r in rows if r["is_moe"] == moe],
                   "y": [r["kv_bytes_per_token_bf16"] / 1e3 for r in rows if r["is_moe"] == moe],
                   "text": [r["name"] for r in rows if r["is_moe"] == moe],
                   "marker": {"size": 9, "color": SEQUENCE[i]},
                   "hovertemplate": "%{text}: %{x:.3g}B active, %{y:.4g} KB/token<extra></extra>"}
                  for i, (arch, moe) in enumerate((("dense", False), ("MoE", True)))]
        return Chart(id="catalog-models-chart", title="Models", figure=figure(
            traces, title="Active parameters vs KV cache per token", x_title="active params (B)",
            y_title="KV bytes per token, bf16 (KB)", x_type="log", y_type="log"))
    kinds = sorted({r["kind"] for r in rows})
    traces = []
    for i, k in enumerate(kinds):
        rs = [r for r in rows if r["kind"] == k and r["dense_bf16_flops_per_s"]
              and r["memory_bytes_per_s"]]
        traces.append({"type": "scatter", "mode": "markers", "name": k,
                       "x": [r["memory_bytes_per_s"] / 1e12 for r in rs],
                       "y": [r["dense_bf16_flops_per_s"] / 1e12 for r in rs],
                       "text": [r["name"] for r in rs],
                       "marker": {"size": 9, "color": SEQUENCE[i % len(SEQUENCE)]},
                       "hovertemplate": "%{text}: %{x:.3g} TB/s, %{y:.4g} TFLOP/s<extra></extra>"})
    return Chart(id="catalog-hardware-chart", title="Accelerators", figure=figure(
        traces, title="Memory bandwidth vs dense bf16 compute", x_title="memory TB/s",
        y_title="dense bf16 TFLOP/s", x_type="log", y_type="log"))
