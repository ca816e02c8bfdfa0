"""tokenworks.report: how results are shown — number formats, and HTML reports with charts.

The CLI and the web app both render from here; nothing in this package computes the model.
A result becomes *report data* (plain JSON, SI units: ``data.result_data``), each kind's data
becomes blocks (charts, tables, notes: ``registry.KINDS``), and blocks become one
self-contained HTML file (``html.render_html``) or a fragment of the dashboard's page.

Modules: ``format`` (number formats), ``blocks`` (the report's parts), ``figures`` (plotly
figures as JSON), ``series`` (CDFs, time bins), one module per kind of result (``estimate``,
``curve``, ``simulation``, ``finance``, ``capacity``, ``ledger``, ``plan``, ``catalogs``),
``sources`` (catalog values and assumptions), ``registry``, ``data`` and ``load`` (results and
files in), ``html`` and ``build`` (HTML out). ``make_report``, ``save_report`` and
``build_report`` are importable from here; the import is lazy so ``report.format`` stays
cheap for the CLI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report", "make_report", "render_html", "save_report"]

_LAZY = {"build_report": "tokenworks.report.registry", "make_report": "tokenworks.report.build",
         "save_report": "tokenworks.report.build", "render_html": "tokenworks.report.html"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tokenworks.report' has no attribute '{name}'")
