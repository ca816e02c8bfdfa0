"""A ``Report`` as one self-contained HTML file: plotly.js, the stylesheet, the figures and the
script that draws them are all inside, so the file opens offline and needs no network.

``render_fragment`` is the report's body alone (its blocks), which the web dashboard inserts
into its own page and draws with the same script (``assets/report.js``). Each chart's figure
is a ``<script type="application/json">`` next to its ``<div class="tw-plot">``; plotly's
modebar downloads a chart as PNG, and a button added by the script as SVG.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache
from importlib import resources
from pathlib import Path

from tokenworks.files import writing_atomically
from tokenworks.report.blocks import Chart, Note, Report, Table

__all__ = ["asset_text", "plotly_js", "render_fragment", "render_html", "write_report"]

_URL = re.compile(r"^https?://\S+$")


@cache
def asset_text(name: str) -> str:
    """A file of ``report/assets`` (the stylesheet and the drawing script)."""
    return resources.files("tokenworks.report").joinpath("assets", name).read_text("utf-8")


@cache
def plotly_js() -> str:
    """The plotly.js bundle that ships with the plotly package (works offline)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _slug(s: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", s).strip("-") or "x"


def _json_script(obj: object) -> str:
    # "</script>" inside a <script> would close it: escape every "<" (JSON allows \u003c).
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def _cell(col: str, value: str) -> str:
    cls = f' class="tw-verdict-{_slug(value)}"' if col == "verdict" else ""
    if _URL.match(value):
        return f'<td{cls}><a href="{_esc(value)}" rel="noopener">{_esc(value)}</a></td>'
    return f"<td{cls}>{_esc(value)}</td>"


def _table(t: Table, prefix: str) -> str:
    tid = f"{prefix}table-{_slug(t.id)}"
    head = "".join(f"<th>{_esc(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(_cell(c, v) for c, v in zip(t.columns, row, strict=True))
                   + "</tr>" for row in t.rows)
    filt = ""
    if t.filterable:
        sel = ""
        if t.filter_column is not None and t.filter_column in t.columns:
            i = t.columns.index(t.filter_column)
            values = sorted({row[i] for row in t.rows})
            opts = "".join(f'<option value="{_esc(v)}">{_esc(v)}</option>' for v in values)
            sel = (f'<select data-column="{i}" aria-label="{_esc(t.filter_column)}">'
                   f'<option value="">all {_esc(t.filter_column)}s</option>{opts}</select>')
        filt = (f'<div class="tw-filter" data-table="{tid}"><input type="search" '
                f'placeholder="filter rows" aria-label="filter {_esc(t.title)}">{sel}'
                f'<span class="tw-count"></span></div>')
    return (f'{filt}<div class="tw-scroll"><table class="tw-table" id="{tid}">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def render_fragment(report: Report, *, prefix: str = "") -> str:
    """The report's blocks as HTML; ``prefix`` keeps element ids unique when several reports
    share a page (the dashboard's side-by-side comparison)."""
    parts = []
    for b in report.blocks:
        bid = f"{prefix}{_slug(b.id)}"
        cap = getattr(b, "caption", "")
        cap_html = f'<p class="tw-caption">{_esc(cap)}</p>' if cap else ""
        if isinstance(b, Chart):
            inner = (f'<div class="tw-plot" data-figure="{bid}-figure" '
                     f'data-name="{_esc(_slug(b.id))}" role="img" aria-label="{_esc(b.title)}">'
                     f'</div><script type="application/json" id="{bid}-figure" '
                     f'class="tw-figure">{_json_script(b.figure)}</script>')
            cls = "tw-chart"
        elif isinstance(b, Table):
            inner, cls = _table(b, prefix), "tw-tablebox"
        elif isinstance(b, Note):
            inner = f"<p>{_esc(b.text)}</p>"
            cls = "tw-note tw-warning" if b.warning else "tw-note"
        else:  # pragma: no cover - Block is a closed union
            raise TypeError(f"unknown block {type(b).__name__}")
        parts.append(f'<section class="tw-block {cls}" id="{bid}" data-block="{_esc(b.id)}">'
                     f"<h2>{_esc(b.title)}</h2>{inner}{cap_html}</section>")
    return "\n".join(parts)


def render_html(report: Report) -> str:
    """The whole report as one self-contained HTML document."""
    nav = "".join(f'<a href="#{_slug(b.id)}">{_esc(b.title)}</a>' for b in report.blocks
                  if isinstance(b, Chart))
    sub = f"<p>{_esc(report.subtitle)}</p>" if report.subtitle else ""
    gen = _esc(report.generated_by or "tokenworks")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_esc(report.title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="{gen}">'
        f'<meta name="tokenworks-report-kind" content="{_esc(report.kind)}">'
        f"<style>{asset_text('report.css')}</style>"
        f"<script>{plotly_js()}</script></head>\n"
        f'<body><header class="tw-head"><h1>{_esc(report.title)}</h1>{sub}'
        f"<nav>{nav}</nav></header>\n"
        f'<main class="tw-report" id="tw-report">\n{render_fragment(report)}\n</main>\n'
        f'<footer class="tw-foot">Generated by {gen}. Charts: plotly.js, embedded; the modebar '
        f"of each chart downloads it as PNG or SVG.</footer>\n"
        f"<script>{asset_text('report.js')}</script></body></html>\n")


def write_report(report: Report, path: str | Path) -> Path:
    """Write ``render_html(report)`` to ``path`` atomically; returns the path."""
    p = Path(path)
    with writing_atomically(p) as tmp:
        tmp.write_text(render_html(report), encoding="utf-8")
        tmp.chmod(0o644)  # a report is meant to be opened and shared (mkstemp makes 0600)
    return p
