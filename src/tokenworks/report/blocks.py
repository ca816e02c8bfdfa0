"""What a report is made of: charts, tables and notes, grouped in a ``Report``.

A block is plain data (a plotly figure as a JSON dict, table rows as display strings), so the
same report renders as a self-contained HTML file (``report.html``) and in the web dashboard,
and serialises to JSON for the web API. Blocks hold display units only; the data they are
built from (``report/<kind>.py``) is SI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Block", "Chart", "Note", "Report", "Table"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    """One plotly figure (``{"data": [...], "layout": {...}}``) with a stable id."""

    id: str
    title: str
    figure: dict[str, Any]
    caption: str = ""
    kind: str = "chart"


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """Rows of display strings under ``columns``; ``filterable`` adds a search box and, when
    ``filter_column`` is set, a select of that column's values (e.g. the claims' verdicts)."""

    id: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    filterable: bool = False
    filter_column: str | None = None
    kind: str = "table"


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """A paragraph (plain text; warnings are shown highlighted)."""

    id: str
    title: str
    text: str
    warning: bool = False
    kind: str = "note"


Block = Chart | Table | Note


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """A result's report: a title, its blocks in order, and where every number came from.

    ``sources`` are catalog values with their source (label, value, source title, url, as of);
    ``assumptions`` are the defaults the run used and the modelling assumptions on its path.
    """

    kind: str
    title: str
    subtitle: str = ""
    blocks: tuple[Block, ...] = ()
    sources: tuple[dict[str, str], ...] = ()
    assumptions: tuple[str, ...] = ()
    generated_by: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def charts(self) -> list[Chart]:
        return [b for b in self.blocks if isinstance(b, Chart)]

    def block(self, block_id: str) -> Block:
        for b in self.blocks:
            if b.id == block_id:
                return b
        raise KeyError(f"report has no block '{block_id}'; it has: "
                       f"{', '.join(b.id for b in self.blocks)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the web API's ``report.json``)."""
        return asdict(self)
