"""``tokenworks plan`` and ``tokenworks runs``: output, exit codes, plan files."""

from __future__ import annotations

import json

from clitools import run

FLAGS = ["plan", "--model", "llama-3.1-8b", "--input-tokens", "1000", "--output-tokens", "200",
         "--ttft-slo-ms", "500", "--tpot-slo-ms", "30", "--hardware", "h100-sxm,h200",
         "--tp", "1,2", "--top-k", "2", "--num-requests", "300", "--backend", "serial"]


def test_plan_from_flags_prints_top_configurations_and_front(capsys):
    code, out, err = run([*FLAGS, "--num-gpus", "4", "--no-db"], capsys)
    assert code == 0, err
    assert "Top configurations" in out and "Binding constraint" in out
    assert "Pareto front" in out


def test_plan_json_and_runs_commands(tmp_path, capsys):
    db = tmp_path / "r.duckdb"
    code, out, err = run([*FLAGS, "--rate", "10", "--db", str(db), "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["recommendation"]["meets_slo"] and d["run_id"]
    rid = d["run_id"]
    code, out, _ = run(["runs", "list", "--db", str(db)], capsys)
    assert code == 0 and rid in out
    code, out, _ = run(["runs", "show", rid[:8], "--db", str(db)], capsys)
    assert code == 0 and "recommendation" in out
    code, out, _ = run(["runs", "compare", rid, rid, "--db", str(db), "--json"], capsys)
    assert code == 0 and json.loads(out)[rid]["usd_per_million_output_tokens"] > 0
    csv = tmp_path / "r.csv"
    code, out, _ = run(["runs", "export", rid, "--db", str(db), "--out", str(csv)], capsys)
    assert code == 0 and csv.read_text().startswith('"key"')
    code, _, err = run(["runs", "show", "nope", "--db", str(db)], capsys)
    assert code == 1 and "is not in" in err


def test_unmeetable_slo_exits_1_after_answering(capsys):
    code, out, err = run([*FLAGS[:7], "--ttft-slo-ms", "5", "--tpot-slo-ms", "1",
                          "--hardware", "h100-sxm", "--tp", "1", "--top-k", "1",
                          "--num-requests", "200", "--backend", "serial", "--no-db"], capsys)
    assert code == 1
    assert "Closest" in out and "looser SLO" in out
    assert err.count("\n") == 1 and "no configuration meets the SLO" in err


def test_plan_file_unknown_key_lists_valid_keys(tmp_path, capsys):
    f = tmp_path / "p.yaml"
    f.write_text("model: llama-3.1-8b\nslo: {ttft_s: 1.0, tpot: 0.03}\n")
    code, _, err = run(["plan", str(f)], capsys)
    assert code == 1 and "unknown key 'slo.tpot'" in err and "tpot_s" in err


def test_plan_file_runs_and_writes_db_beside_it(tmp_path, capsys):
    f = tmp_path / "chat.toml"
    f.write_text('model = "llama-3.1-8b"\n[demand]\ninput_tokens = 800\noutput_tokens = 150\n'
                 'rate_per_s = 5\n[slo]\nttft_s = 1.0\ntpot_s = 0.04\n[search]\n'
                 'hardware = ["h100-sxm"]\ntp = [1]\nmodes = ["aggregated"]\n'
                 '[simulation]\ntop_k = 1\nnum_requests = 200\n')
    code, _out, err = run(["plan", str(f), "--backend", "serial"], capsys)
    assert code == 0, err
    assert (tmp_path / "chat.plans.duckdb").exists()


def test_bad_ray_address_is_one_line(capsys):
    code, _, err = run([*FLAGS, "--no-db", "--backend", "ray", "--address", "127.0.0.1:1"],
                       capsys)
    assert code == 1 and "cannot reach the Ray cluster" in err and err.count("\n") == 1


def test_mi300x_from_flags_is_priced_by_tco(capsys):
    code, out, err = run(["plan", "--model", "llama-3.1-8b", "--input-tokens", "1000",
                          "--output-tokens", "200", "--ttft-slo-ms", "800",
                          "--tpot-slo-ms", "40", "--hardware", "mi300x", "--tp", "1",
                          "--modes", "aggregated", "--top-k", "1", "--num-requests", "200",
                          "--backend", "serial", "--no-db", "--json"], capsys)
    assert code == 0, err
    prices = json.loads(out)["plan"]["prices"]
    assert prices[0]["accelerator"] == "mi300x" and "TCO" in prices[0]["source"]


def test_plan_report_written_and_checked_before_the_run(tmp_path, capsys):
    out_html = tmp_path / "plan.html"
    code, _, err = run([*FLAGS, "--rate", "10", "--no-db", "--report", str(out_html)], capsys)
    assert code == 0, err
    html = out_html.read_text()
    assert 'data-block="pareto-cost-latency"' in html and 'data-block="plan-recommendation"' in html
    code, _, err = run([*FLAGS, "--no-db", "--report", str(tmp_path / "nodir" / "p.html")],
                       capsys)
    assert code == 1 and "nodir" in err and "Traceback" not in err
