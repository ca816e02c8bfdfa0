"""report.data and report.load: saved results (what --json prints) become reports again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tokenworks as tw
from clitools import run
from tokenworks.report.data import envelope, guess_kind, result_data
from tokenworks.report.load import load_source, report_data_from_json
from tokenworks.report.registry import build_report
from tokenworks.report.simulation import simulation_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("argv,kind", [
    (["estimate", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--num-gpus", "1",
      "--tp", "1"], "estimate"),
    (["tco", "--hardware", "h100-sxm"], "tco"),
    (["pnl", "--num-gpus", "64"], "pnl"),
    (["sensitivity", "--hardware", "h100-sxm"], "sensitivity"),
    (["capital"], "capital"),
    (["power", "--hardware", "h100-sxm", "--num-gpus", "64"], "power"),
    (["train", "--model", "llama-3.1-8b", "--num-gpus", "64", "--hardware", "h100-sxm",
      "--tokens", "1e11"], "train"),
    (["fleet", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--tp", "1",
      "--demand-tokens-per-day", "1e9"], "fleet"),
    (["claims", "--id", "neocloud-gross-margin-pre-dep"], "claims"),
    (["simulate", "examples/agentic.yaml", "--max-requests", "5", "--quiet"],
     "simulation_summary"),
])
def test_the_json_each_command_prints_is_recognised(argv, kind, capsys, monkeypatch):
    monkeypatch.chdir(EXAMPLES.parent)
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert guess_kind(doc) == kind
    k, data = report_data_from_json(doc)
    assert build_report(k, data).blocks


def test_simulate_out_json_keeps_the_latency_distributions(tmp_path):
    r = tw.simulate(EXAMPLES / "chat-h100-tp4.yaml", max_requests=80)
    path = r.write_requests(tmp_path / "run.json")
    kind, data = load_source(path)
    assert kind == "simulation"
    live = simulation_data(r)["cdf"]
    for key in ("ttft_s", "tpot_s", "e2e_s"):
        assert data["cdf"][key]["x"] == pytest.approx(live[key]["x"], rel=1e-12)
    rep = build_report(kind, data)
    ids = [b.id for b in rep.blocks]
    assert "ttft-cdf" in ids and "queue" not in ids  # the file has no timeline


def test_envelope_round_trip(tmp_path):
    kind, data = result_data(tw.estimate("llama-3.1-8b", "h100-sxm", num_gpus=1, tp=1))
    p = tmp_path / "data.json"
    p.write_text(json.dumps(envelope(kind, data)))
    assert load_source(p) == (kind, json.loads(json.dumps(data)))


def test_a_scenario_is_simulated_with_its_steps(tmp_path):
    kind, data = load_source(EXAMPLES / "agentic.yaml", max_requests=5)
    assert kind == "simulation" and data["replicas"][0]["busy_frac_by_bin"] is not None


@pytest.mark.parametrize("name,doc,needle", [
    ("x.json", {"hello": 1}, "not a result tokenworks can report on"),
    ("x.json", "not json {", "not valid JSON"),
    ("x.txt", "", "not something tokenworks can report on"),
])
def test_unreportable_sources_say_what_works(tmp_path, name, doc, needle):
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(tw.ConfigError, match=needle):
        load_source(p)
