"""The report package's front door: a result object in, a ``Report`` or an HTML file out.

``make_report(result)`` = ``registry.build_report(*data.result_data(result))``; the CLI's
``--report FILE`` flags and ``tokenworks report`` call ``save_report`` / ``save_data_report``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenworks import __version__
from tokenworks.files import check_output_path
from tokenworks.report.blocks import Report
from tokenworks.report.data import result_data
from tokenworks.report.html import write_report
from tokenworks.report.registry import build_report

__all__ = ["GENERATOR", "make_report", "save_data_report", "save_report"]

GENERATOR = f"tokenworks {__version__}"


def make_report(result: Any, **context: Any) -> Report:
    """The report of a result (see ``data.result_data`` for ``context``)."""
    kind, data = result_data(result, **context)
    return build_report(kind, data, generated_by=GENERATOR)


def save_data_report(kind: str, data: dict[str, Any], path: str | Path) -> Path:
    """Write the report of ``kind``'s data to ``path`` (.html), atomically."""
    p = check_output_path(path, what="report", suffixes=(".html", ".htm"))
    return write_report(build_report(kind, data, generated_by=GENERATOR), p)


def save_report(result: Any, path: str | Path, **context: Any) -> Path:
    """Write the report of ``result`` to ``path`` (.html), atomically."""
    kind, data = result_data(result, **context)
    return save_data_report(kind, data, path)
