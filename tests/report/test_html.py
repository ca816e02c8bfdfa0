"""report.html: every report is one self-contained HTML file whose charts are all there.

The HTML is parsed (stdlib ``html.parser``); each chart is a ``<section data-block=ID>`` with
a ``<div class="tw-plot">`` and its figure as ``<script type="application/json">``.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

import tokenworks as tw
from tokenworks.api.economics import (
    capital_report,
    pnl_report,
    power_report,
    sensitivity_report,
    tco_report,
    train_report,
)
from tokenworks.report.blocks import Chart, Note, Report, Table
from tokenworks.report.build import make_report, save_report
from tokenworks.report.catalogs import catalog_data
from tokenworks.report.html import render_html
from tokenworks.report.registry import build_report

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class ReportParser(HTMLParser):
    """Blocks, plot divs, JSON figures, external references and the title of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[str] = []
        self.plots: list[str] = []
        self.figures: dict[str, dict] = {}
        self.external: list[str] = []
        self.scripts_inline = 0
        self._json_id: str | None = None
        self._buf: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-block" in a:
            self.blocks.append(a["data-block"])
        if tag == "div" and "tw-plot" in (a.get("class") or ""):
            self.plots.append(a["data-figure"])
        if tag == "script":
            if a.get("src"):
                self.external.append(a["src"])
            elif a.get("type") == "application/json":
                self._json_id, self._buf = a["id"], []
            else:
                self.scripts_inline += 1
        if tag == "link" and a.get("rel") == "stylesheet":
            self.external.append(a.get("href", ""))
        if tag == "img" and a.get("src", "").startswith("http"):
            self.external.append(a["src"])
        self._in_title = tag == "title"

    def handle_data(self, data):
        if self._json_id is not None:
            self._buf.append(data)
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        if tag == "script" and self._json_id is not None:
            self.figures[self._json_id] = json.loads("".join(self._buf))
            self._json_id = None
        self._in_title = False


def parse(html: str) -> ReportParser:
    p = ReportParser()
    p.feed(html)
    return p


def _points(fig: dict) -> int:
    n = 0
    for t in fig["data"]:
        for key in ("x", "y", "z"):
            if isinstance(t.get(key), list):
                n = max(n, len(t[key]))
    return n


def check_charts(html: str, expected: tuple[str, ...]) -> ReportParser:
    p = parse(html)
    for chart in expected:
        assert chart in p.blocks, f"chart {chart} missing; blocks: {p.blocks}"
        fig_id = f"{chart}-figure"
        assert fig_id in p.plots
        assert _points(p.figures[fig_id]) >= 1, chart
    assert not p.external, f"a report must not load anything: {p.external}"
    assert p.scripts_inline == 2  # plotly.js and the drawing script, both embedded
    return p


CASES = {
    "estimate": (lambda: tw.estimate("llama-3.1-8b", "h100-sxm", num_gpus=1, tp=1),
                 ("roofline", "latency-throughput", "memory-plan", "step-breakdown")),
    "simulation": (lambda: tw.simulate(EXAMPLES / "chat-h100-tp4.yaml", max_requests=120,
                                       record_steps=True),
                   ("ttft-cdf", "tpot-cdf", "e2e-cdf", "queue", "utilization", "kv-usage",
                    "prefix-hits")),
    "agentic": (lambda: tw.simulate(EXAMPLES / "agentic.yaml", max_requests=10),
                ("ttft-cdf", "sessions", "queue")),
    "tco": (lambda: tco_report(accelerator="h100-sxm", model="llama-3.1-70b", tp=4,
                               list_price="deepseek-r1-api"),
            ("cost-waterfall", "vendor-financing")),
    "pnl": (lambda: pnl_report(num_accelerators=512), ("pnl",)),
    "sensitivity": (lambda: sensitivity_report(accelerator="h100-sxm",
                                               grid_x=("utilization_frac", [0.4, 0.6]),
                                               grid_y=("pue", [1.1, 1.4])),
                    ("tornado", "sensitivity-grid")),
    "capital": (lambda: capital_report(), ("capital",)),
    "train": (lambda: train_report(model="llama-3.1-8b", tokens=1e12, num_accelerators=512,
                                   accelerator="h100-sxm"), ("train-chinchilla",)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_chart_of_a_result_is_in_its_html(name):
    make, charts = CASES[name]
    html = render_html(make_report(make()))
    p = check_charts(html, charts)
    assert p.title.strip()


def test_power_and_catalog_reports():
    rep, lines = power_report(accelerator="h100-sxm", num_accelerators=1024)
    check_charts(render_html(make_report(rep, defaults_used=lines)), ("power-breakdown",))
    for name, chart in (("models", "catalog-models-chart"), ("hardware", "catalog-hardware-chart")):
        check_charts(render_html(build_report("catalog", catalog_data(name))), (chart,))


def test_save_report_writes_a_readable_file(tmp_path):
    est = tw.estimate("llama-3.1-8b", "h100-sxm", num_gpus=1, tp=1)
    out = save_report(est, tmp_path / "est.html")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Plotly" in text
    assert out.stat().st_mode & 0o044  # readable by others: a report is for sharing
    with pytest.raises(tw.ConfigError, match=r"use \.html"):
        save_report(est, tmp_path / "est.pdf")


def test_html_escapes_text_and_script_endings():
    evil = "</script><img src=x onerror=alert(1)>"
    rep = Report(kind="claims", title=evil, blocks=(
        Chart(id="c", title=evil, figure={"data": [{"type": "bar", "x": [evil], "y": [1]}],
                                          "layout": {}}),
        Table(id="t", title="t", columns=("a", "verdict"), rows=((evil, "reproduced"),),
              filterable=True, filter_column="verdict"),
        Note(id="n", title="n", text=evil, warning=True)))
    html = render_html(rep)
    assert "<img src=x" not in html
    p = parse(html)
    assert p.figures["c-figure"]["data"][0]["x"] == [evil]  # JSON intact, tag neutralised
    assert p.blocks == ["c", "t", "n"]
    assert 'class="tw-verdict-reproduced"' in html and "all verdicts" in html
