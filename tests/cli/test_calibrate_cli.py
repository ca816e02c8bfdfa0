"""``tokenworks calibrate``: exit codes, error lines naming file/line/field, JSON output."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from tokenworks.cli import calibrate_cmd
from tokenworks.errors import ConfigError

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    a = typer.Typer(pretty_exceptions_enable=False)
    a.command("version")(lambda: None)  # a second command keeps typer in group mode
    calibrate_cmd.register(a)
    return a


def _main_has_calibrate() -> bool:
    from tokenworks.cli.main import app as main_app

    return any(c.name == "calibrate" for c in main_app.registered_commands)


def test_malformed_csv_is_a_user_error_naming_line_and_field(app, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s\n0,100,10,0.1,0.5\n"
                 "1,100,ten,0.1,0.5\n")
    res = runner.invoke(app, ["calibrate", str(f), "--model", "llama-3.1-8b",
                              "--hardware", "h100-sxm"])
    assert res.exit_code != 0
    assert isinstance(res.exception, ConfigError)
    assert "bad.csv: line 3, field output_tokens" in str(res.exception)


def test_unknown_parameter_lists_valid_ones(app, tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s\n0,100,10,0.1,0.5\n")
    res = runner.invoke(app, ["calibrate", str(f), "--model", "llama-3.1-8b", "--hardware",
                              "h100-sxm", "--params", "warp_speed"])
    assert isinstance(res.exception, ConfigError)
    assert "Valid: gemm_compute_frac" in str(res.exception)


@pytest.mark.skipif("not _main_has_calibrate()", reason="calibrate not yet registered in main")
def test_main_prints_one_red_line_and_exits_1(tmp_path, capsys):
    from tokenworks.cli.main import main

    f = tmp_path / "bad.json"
    f.write_text('{"ttfts": [0.1], "oops"\n')
    with pytest.raises(SystemExit) as e:
        main(["calibrate", str(f), "--model", "llama-3.1-8b", "--hardware", "h100-sxm"])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "bad.json: line 2, column 1: not valid JSON" in err and "Traceback" not in err


def test_full_run_writes_a_loadable_calibration(app, tmp_path):
    """A tiny CSV (20 requests) through the real simulator: JSON output has before/after errors
    and the written file loads with load_calibration."""
    pytest.importorskip("tokenworks.api.simulate")
    from tokenworks.io.calibration import load_calibration

    rows = ["arrival_s,input_tokens,output_tokens,ttft_s,e2e_s"]
    rows += [f"{i * 2.0},{500 + 50 * i},{40 + i},{0.05 + 0.002 * i},{0.05 + 0.002 * i + 0.02 * (39 + i)}"
             for i in range(20)]
    f = tmp_path / "m.csv"
    f.write_text("\n".join(rows) + "\n")
    out = tmp_path / "cal.toml"
    res = runner.invoke(app, ["calibrate", str(f), "--model", "llama-3.1-8b", "--hardware",
                              "h100-sxm", "--out", str(out), "--json", "--max-evaluations", "12"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["calibration_file"] == str(out)
    assert doc["error_after"]["tpot_median_abs_err_frac"] <= doc["error_before"][
        "tpot_median_abs_err_frac"] + 1e-9
    cal = load_calibration(out)
    assert cal.source.startswith("tokenworks calibrate")
