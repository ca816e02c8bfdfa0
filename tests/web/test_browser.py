"""The dashboard in a real browser: Debian's Chromium, driven headless by Playwright.

Loads the dashboard from a live server, shows that a bad input gets its message next to its
field, runs an estimate and a small simulation, checks that their charts are drawn (plotly
SVG with data points), and takes the screenshots the docs show (docs/images/, with
TOKENWORKS_SCREENSHOTS=1; otherwise into a scratch folder, leaving the checkout clean). Skips, saying why, only where Chromium or Playwright is absent; CI installs both
(.ci/run).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from webtools import ROOT

import tokenworks as tw
from tokenworks.report.build import save_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The screenshots the docs show are retaken only when asked (TOKENWORKS_SCREENSHOTS=1), so a
# test run leaves the checkout clean; otherwise they go to a scratch folder.
IMAGES = ROOT / "docs" / "images" if os.environ.get("TOKENWORKS_SCREENSHOTS") == "1" else \
    Path(tempfile.mkdtemp(prefix="tokenworks-shots-"))
# The machine's notes: a closed network, root in CI (no sandbox), no GPU.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="Chromium is not installed (apt-get install -y chromium "
                              "chromium-driver; .ci/run does this)"),
    pytest.mark.slow,
]
# Marks of drawn data in a plotly SVG: scatter markers and lines, bars, waterfall boxes.
DRAWN = (".scatterlayer .point, .scatterlayer .js-line, .barlayer .point, "
         ".heatmaplayer image")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install -e "
                                          "'.[test]')")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors: {errors}"


def drawn_marks(page, block: str) -> int:
    """Data marks plotly drew in the chart of ``block`` (0 if blank)."""
    return page.eval_on_selector(f'#run-body [data-block="{block}"] .tw-plot',
                                 f"el => el.querySelectorAll({DRAWN!r}).length")


def test_dashboard_runs_an_estimate_and_a_simulation(page, live_server):
    page.goto(live_server.url + "/")
    assert "tokenworks dashboard" in page.title()

    # A bad input: its message appears next to its field, with the valid range.
    page.fill("#form-estimate [name=tp]", "0")
    page.click("#form-estimate button[type=submit]")
    slot = page.wait_for_selector('#form-estimate [data-error-for="tp"]:not(:empty)')
    assert "it must be a whole number >= 1" in slot.inner_text()
    assert "has-error" in page.get_attribute('#form-estimate [data-field="tp"]', "class")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.locator("#form-estimate").screenshot(path=str(IMAGES / "dashboard-error.png"))

    # An estimate: answered at once, its charts drawn.
    page.fill("#form-estimate [name=tp]", "8")
    page.click("#form-estimate button[type=submit]")
    page.wait_for_selector('#run-body [data-block="roofline"] .tw-plot .main-svg')
    assert page.inner_text('[data-error-for="tp"]') == ""
    for block in ("roofline", "latency-throughput", "memory-plan", "step-breakdown"):
        assert drawn_marks(page, block) > 0, block
    page.screenshot(path=str(IMAGES / "dashboard-estimate.png"))

    # A small simulation: queued on the worker, then its charts.
    page.click('.tab[data-tab="simulate"]')
    page.fill("#form-simulate [name=num_requests]", "150")
    page.click("#form-simulate button[type=submit]")
    page.wait_for_selector('#run-body [data-block="ttft-cdf"] .tw-plot .main-svg',
                           timeout=60_000)
    for block in ("ttft-cdf", "tpot-cdf", "e2e-cdf", "queue", "utilization", "kv-usage"):
        assert drawn_marks(page, block) > 0, block
    page.locator('#run-body [data-block="ttft-cdf"]').scroll_into_view_if_needed()
    page.screenshot(path=str(IMAGES / "dashboard-simulation.png"))

    # Both runs are listed with their inputs.
    page.wait_for_function("document.querySelectorAll('#runs-table tbody tr').length >= 2")
    kinds = page.eval_on_selector_all("#runs-table tbody tr td:nth-child(3)",
                                      "tds => tds.map(t => t.textContent)")
    assert set(kinds) >= {"estimate", "simulation"}


def test_a_report_file_opens_offline_with_its_charts(page, tmp_path):
    path = save_report(tw.estimate("llama-3.1-70b", "h200", num_gpus=8, tp=8,
                                   weights_dtype="fp8"), tmp_path / "estimate.html")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_selector('[data-block="roofline"] .tw-plot .main-svg')
    n = page.eval_on_selector('[data-block="latency-throughput"] .tw-plot',
                              f"el => el.querySelectorAll({DRAWN!r}).length")
    assert n > 0
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.screenshot(path=str(IMAGES / "report-estimate.png"))
    # The filter of a table hides the rows that do not match.
    page.fill('[data-table="table-catalog-values"] input', "bandwidth")
    shown = page.eval_on_selector_all("#table-catalog-values tbody tr",
                                      "rows => rows.filter(r => r.style.display !== 'none')"
                                      ".length")
    assert shown == 1
