"""``tokenworks simulate``: exit codes, JSON summary, exports, warnings."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from clitools import run

SCENARIO = """
name: cli-test
model: llama-3.1-8b
hardware: {accelerator: h100-sxm}
workload:
  arrivals: {kind: poisson, rate_per_s: 3}
  prompt_tokens: {kind: uniform, low: 100, high: 900}
  output_tokens: 30
  num_requests: 40
slo: {ttft_s: 1.0, tpot_s: 0.05}
"""


@pytest.fixture
def scen(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(SCENARIO)
    return p


def test_json_summary(scen, capsys):
    code, out, _ = run(["simulate", str(scen), "--json"], capsys)
    assert code == 0
    s = json.loads(out)
    for k in ("num_requests", "num_completed", "duration_s", "ttft_s", "tpot_s", "e2e_s",
              "output_tokens_per_s", "goodput_requests_per_s", "prefix_hit_frac",
              "num_preemptions", "usd_per_million_output_tokens"):
        assert k in s
    assert set(s["ttft_s"]) == {"mean", "p50", "p90", "p99"}
    assert s["num_requests"] == 40


def test_seed_and_max_requests(scen, capsys):
    _, a, _ = run(["simulate", str(scen), "--json", "--seed", "1"], capsys)
    _, b, _ = run(["simulate", str(scen), "--json", "--seed", "2"], capsys)
    _, c, _ = run(["simulate", str(scen), "--json", "--seed", "1", "--max-requests", "7"], capsys)
    assert json.loads(a)["ttft_s"] != json.loads(b)["ttft_s"]
    assert json.loads(c)["num_requests"] == 7


def test_table_and_exports(scen, tmp_path, capsys):
    out_file = tmp_path / "r.parquet"
    trace_file = tmp_path / "trace.json"
    code, out, _ = run(["simulate", str(scen), "--out", str(out_file), "--trace-out",
                        str(trace_file)], capsys)
    assert code == 0
    assert "TTFT" in out and "goodput" in out and "$ per million output tokens" in out
    assert pq.read_table(out_file).num_rows == 40
    assert json.loads(trace_file.read_text())["traceEvents"]


@pytest.mark.parametrize(("argv", "needle"), [
    (["simulate", "/nonexistent/s.yaml"], "does not exist"),
    (["simulate", "{scen}", "--out", "x.txt"], ".parquet, .csv, .json"),
])
def test_user_errors_exit_1_with_one_line(scen, capsys, argv, needle):
    argv = [a.replace("{scen}", str(scen)) for a in argv]
    code, _, err = run(argv, capsys)
    assert code == 1
    assert needle in err and "Traceback" not in err


def test_unknown_key_is_a_user_error(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text(SCENARIO + "routr: {kind: round_robin}\n")
    code, _, err = run(["simulate", str(p)], capsys)
    assert code == 1 and "unknown key 'routr'" in err and "router" in err


def test_overload_warning_on_stderr(tmp_path, capsys):
    p = tmp_path / "over.yaml"
    p.write_text(SCENARIO.replace("rate_per_s: 3", "rate_per_s: 500").replace(
        "num_requests: 40", "num_requests: 400").replace("output_tokens: 30", "output_tokens: 800")
        + "simulation: {drain_limit_s: 2.0}\n")
    code, out, err = run(["simulate", str(p), "--json"], capsys)
    assert code == 0
    assert json.loads(out)["num_unfinished"] > 0
    assert "overload" in err
