"""CLI: ``tokenworks report`` and ``--report FILE`` on the commands that compute results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clitools import run

ROOT = Path(__file__).resolve().parents[2]


def _blocks(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    return text


@pytest.mark.parametrize("argv,chart", [
    (["estimate", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--num-gpus", "1",
      "--tp", "1"], "roofline"),
    (["simulate", "examples/chat-h100-tp4.yaml", "--max-requests", "60", "--quiet"],
     "ttft-cdf"),
    (["tco", "--hardware", "h100-sxm", "--output-tokens-per-s", "1000"], "cost-waterfall"),
    (["pnl", "--num-gpus", "64"], "pnl"),
    (["sensitivity", "--hardware", "h100-sxm"], "tornado"),
    (["power", "--hardware", "h100-sxm", "--num-gpus", "64"], "power-breakdown"),
    (["capital"], "capital"),
    (["train", "--model", "llama-3.1-8b", "--num-gpus", "64", "--hardware", "h100-sxm",
      "--tokens", "1e11"], "train-chinchilla"),
    (["fleet", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--tp", "1",
      "--demand-tokens-per-day", "1e9"], "fleet-power"),
])
def test_report_flag_writes_the_result_report(argv, chart, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "r.html"
    code, _stdout, err = run([*argv, "--report", str(out)], capsys)
    assert code == 0, err
    assert f'data-block="{chart}"' in _blocks(out)
    assert "report written to" in err


def test_report_flag_keeps_json_output_clean(tmp_path, capsys):
    out = tmp_path / "r.html"
    code, stdout, err = run(["tco", "--hardware", "h100-sxm", "--json", "--report", str(out)],
                            capsys)
    assert code == 0 and json.loads(stdout)["breakdown"] and out.exists()
    assert "report written" not in err


def test_a_bad_report_path_fails_before_the_work(tmp_path, capsys):
    code, _, err = run(["estimate", "--report", str(tmp_path / "r.pdf")], capsys)
    assert code == 1 and "use .html" in err
    code, _, err = run(["estimate", "--report", str(tmp_path / "no" / "r.html")], capsys)
    assert code == 1 and "does not exist" in err


def test_report_command_on_claims_catalogs_and_saved_results(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["report", "claims"], capsys)
    assert code == 0, err
    assert 'data-block="claims-table"' in _blocks(tmp_path / "claims-report.html")
    code, _, err = run(["report", "hardware", "--out", "hw.html"], capsys)
    assert code == 0 and 'data-block="catalog-hardware-chart"' in _blocks(tmp_path / "hw.html")
    code, est_json, _ = run(["estimate", "--json"], capsys)
    (tmp_path / "est.json").write_text(est_json)
    code, out, err = run(["report", "est.json"], capsys)
    assert code == 0, err
    assert "estimate report written to" in out
    assert 'data-block="latency-throughput"' in _blocks(tmp_path / "est-report.html")


def test_report_command_simulates_a_scenario(tmp_path, capsys):
    out = tmp_path / "sim.html"
    code, _, err = run(["report", str(ROOT / "examples" / "agentic.yaml"), "--max-requests",
                        "8", "--out", str(out)], capsys)
    assert code == 0, err
    html = _blocks(out)
    assert 'data-block="sessions"' in html and 'data-block="utilization"' in html


def test_report_command_on_a_plan(tmp_path, capsys):
    plan = {"candidates": [{"id": "a", "usd_per_million_output_tokens": 1.0, "tpot_s": 0.02},
                           {"id": "b", "usd_per_million_output_tokens": 0.5, "tpot_s": 0.05}],
            "recommended": "b"}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    code, _, err = run(["report", str(tmp_path / "plan.json"), "--out",
                        str(tmp_path / "p.html")], capsys)
    assert code == 0, err
    assert 'data-block="pareto-cost-latency"' in _blocks(tmp_path / "p.html")


@pytest.mark.parametrize("source,needle", [
    ("nothing-here.json", "does not exist"),
    ("README.md", "not something tokenworks can report on"),
])
def test_report_command_errors_are_one_line(source, needle, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    code, _, err = run(["report", source, "--out", str(tmp_path / "x.html")], capsys)
    assert code == 1 and needle in err and "Traceback" not in err
