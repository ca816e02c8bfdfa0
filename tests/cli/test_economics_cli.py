"""Economics commands: every documented example runs; --json parses; bad input is one line."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from clitools import run

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _examples(doc: str) -> list[tuple[str, str, str | None]]:
    """(kind, text, expected error) for each console command / python block / toml file."""
    items: list[tuple[str, str, str | None]] = []
    for lang, body in FENCE.findall((DOCS / doc).read_text()):
        if lang == "console":
            lines = body.strip().splitlines()
            for i, line in enumerate(lines):
                if line.startswith("$ tokenworks "):
                    nxt = lines[i + 1] if i + 1 < len(lines) else ""
                    items.append(("cmd", line[2:], nxt if nxt.startswith("error:") else None))
        elif lang == "python":
            items.append(("python", body, None))
        elif lang == "toml" and body.startswith("# file: "):
            items.append(("file", body, None))
    return items


@pytest.mark.parametrize("doc", ["economics.md", "thesis-check.md"])
def test_doc_examples_run(doc, tmp_path, monkeypatch, capsys):
    if not (DOCS / doc).exists():
        pytest.skip(f"docs/{doc} missing")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "120")
    items = _examples(doc)
    assert any(k == "cmd" for k, _, _ in items)
    for kind, text, expected_error in items:
        if kind == "file":
            name = text.splitlines()[0].removeprefix("# file: ").strip()
            (tmp_path / name).write_text(text)
        elif kind == "python":
            exec(compile(text, f"{doc}:python", "exec"), {})
        else:
            argv = shlex.split(text)[1:]
            code, out, err = run(argv, capsys)
            if expected_error:
                assert code == 1, text
                assert err.strip().startswith("error:") and expected_error[7:40] in err
            else:
                assert code == 0, f"{text}\n{err}"
                assert "Defaults used" in out or "--scenario" in text or "--set" in text


@pytest.mark.parametrize("argv,keys", [
    (["tco", "--json"], ["breakdown", "vendor_case", "defaults_used"]),
    (["pnl", "--json", "-n", "16"], ["pnl", "depreciation_risk", "defaults_used"]),
    (["fleet", "--json", "--set", "output_tokens_per_s_per_replica=2000",
      "--set", "accelerators_per_replica=8", "--demand-tokens-per-s", "1e5"],
     ["plan", "power_budget", "defaults_used"]),
    (["train", "--json", "--active-params", "7e9", "--tokens", "1e12", "-n", "64"],
     ["run", "chinchilla", "defaults_used"]),
    (["power", "--json", "-n", "64"], ["power", "defaults_used"]),
    (["sensitivity", "--json", "--vary", "pue"], ["tornado", "base"]),
    (["sensitivity", "--json", "--metric", "npv_usd", "--vary", "utilization_frac",
      "--set", "num_accelerators=8"], ["tornado", "base", "defaults_used"]),
    (["capital", "--json"], ["cases", "defaults_used"]),
])
def test_json_outputs(argv, keys, capsys):
    code, out, err = run(argv, capsys)
    assert code == 0, err
    doc = json.loads(out)
    for k in keys:
        assert k in doc


def test_tco_json_numbers_add_up(capsys):
    code, out, _ = run(["tco", "--json", "--capex-usd", "30000", "--utilization", "0.8"], capsys)
    assert code == 0
    b = json.loads(out)["breakdown"]
    parts = ("depreciation", "financing", "power", "facility", "maintenance", "staff")
    assert sum(b[f"{p}_usd_per_hour"] for p in parts) == pytest.approx(b["total_usd_per_hour"])
    assert b["breakeven_usd_per_sold_hour"] == pytest.approx(b["total_usd_per_hour"] / 0.8)
    defaults = " ".join(json.loads(out)["defaults_used"])
    assert "utilization_frac" not in defaults and "pue = 1.3" in defaults


@pytest.mark.parametrize("argv,needle", [
    (["tco", "--electricity-usd-per-kwh", "-0.1"], "electricity_usd_per_kwh = -0.1"),
    (["tco", "--debt-rate", "1.5"], "debt_rate_frac = 1.5"),
    (["pnl", "--life-years", "0"], "useful_life_years = 0"),
    (["power", "--utilization", "1.2"], "utilization_frac = 1.2"),
    (["tco", "--set", "puee=1"], "Valid keys:"),
    (["power", "--grid", "mars"], "grid 'mars'"),
    (["capital", "--margin", "1.5"], "end_user_gross_margin_frac = 1.5"),
    (["capital", "--cfo-usd-per-year", "-1"], "cfo_usd_per_year = -1"),
])
def test_bad_input_one_red_line(argv, needle, capsys):
    code, _, err = run(argv, capsys)
    assert code == 1
    assert needle in err
    assert len(err.strip().splitlines()) <= 3  # one logical line (rich may soft-wrap)


def test_scenario_file_unknown_key(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text("accelerator: h100-sxm\nlife: 6\n")
    code, _, err = run(["pnl", "--scenario", str(f)], capsys)
    assert code == 1 and "unknown key(s) life" in err and "useful_life_years" in err


def test_flags_override_scenario(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text("pue = 1.5\n")
    _, out, _ = run(["tco", "--json", "--scenario", str(f), "--pue", "1.1"], capsys)
    assert json.loads(out)["inputs"]["pue"] == 1.1


def test_fleet_tpot_slo_shrinks_batch(capsys):
    base = ["fleet", "--json", "--model", "llama-3.1-8b", "-H", "h100-sxm", "--tp", "1",
            "--demand-requests-per-s", "100", "--input-tokens", "512", "--output-tokens", "128"]
    _, out, _ = run(base, capsys)
    free = json.loads(out)
    code, out, err = run([*base, "--tpot-slo-ms", "20"], capsys)
    assert code == 0, err
    slo = json.loads(out)
    assert slo["estimate"]["tpot_s"] <= 0.02
    assert slo["estimate"]["batch_size"] <= free["estimate"]["batch_size"]
    assert slo["plan"]["demand_output_tokens_per_s"] == pytest.approx(100 * 128)
    assert slo["plan"]["num_accelerators"] >= free["plan"]["num_accelerators"]


def test_fleet_impossible_slo(capsys):
    code, _, err = run(["fleet", "--tpot-slo-ms", "0.1"], capsys)
    assert code == 1 and "tpot_slo_s = 0.0001" in err


def test_pnl_json_has_margins(capsys):
    code, out, _ = run(["pnl", "--json", "-n", "8", "--price", "4", "--utilization", "0.7"], capsys)
    assert code == 0
    y = json.loads(out)["pnl"]["years"][0]
    assert y["gross_margin_frac"] == pytest.approx(y["gross_profit_usd"] / y["revenue_usd"])
