"""Every CLI command and option, fed bad values: no traceback ever, and every non-zero exit
prints one line that names the input (issue #9, "close the class").

The walk is generated from the typer app itself, so a new command or option is covered the
day it is added. Each option gets values that are wrong for its type (a negative, zero, a
word where a number goes, inf/NaN, a huge number, a missing or binary file); the other
arguments are valid and small so commands that run (simulate, calibrate) stay quick.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import typer.main

from clitools import run
from tokenworks.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("walk")
    scen = d / "tiny.yaml"
    scen.write_text("model: llama-3.1-8b\nhardware: {accelerator: h100-sxm}\n"
                    "workload:\n  arrivals: {kind: poisson, rate_per_s: 4}\n"
                    "  prompt_tokens: 100\n  output_tokens: 20\n  num_requests: 8\n")
    meas = d / "meas.csv"
    meas.write_text("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s\n"
                    "0.0,100,20,0.05,0.3\n0.5,120,20,0.05,0.3\n1.0,90,10,0.04,0.2\n")
    binary = d / "binary.toml"
    binary.write_bytes(b"\x00\xff\xfe binary \x00")
    return {"scenario": scen, "measurements": meas, "binary": binary, "dir": d}


def _commands() -> dict:
    return dict(typer.main.get_command(app).commands)


# Valid values for required arguments (the walk varies one option at a time on top of them).
def _base(name: str, files: dict[str, Path]) -> list[str]:
    return {
        "simulate": [str(files["scenario"]), "--max-requests", "4", "--quiet"],
        "calibrate": [str(files["measurements"]), "--model", "llama-3.1-8b", "--hardware",
                      "h100-sxm", "--max-evaluations", "3"],
        "model-info": ["llama-3.1-8b"],
        "estimate": ["--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--tp", "1"],
        "report": ["hardware"],
        "plan": ["--model", "llama-3.1-8b", "--input-tokens", "256", "--output-tokens", "64",
                 "--tpot-slo-ms", "100", "--hardware", "h100-sxm", "--tp", "1", "--no-db",
                 "--backend", "serial"],
    }.get(name, [])


def _bad_values(param, files: dict[str, Path]) -> list[str]:
    t = param.bare_type()
    if getattr(param, "is_flag", False) or t is bool:
        return []
    if t is int:
        return ["0", "-3", "abc", "1e400", str(10**30)]
    if t is float:
        return ["-1", "nan", "inf", "abc", "1e308"]
    if t is Path or param.name in ("scenario", "scenarios", "calibration", "measurements",
                                   "base", "out", "trace_out"):
        return [str(files["binary"]), str(files["dir"]), "/nonexistent/dir/file.toml"]
    return ["nope-not-a-name", "", "a" * 300]


def _cases(files: dict[str, Path]) -> list[tuple[str, list[str], str]]:
    cases = []
    for name, cmd in sorted(_commands().items()):
        for p in cmd.params:
            if p.param_type_name != "option" or p.name in ("help", "version"):
                continue
            flag = next((o for o in p.opts if o.startswith("--")), p.opts[0])
            for v in _bad_values(p, files):
                cases.append((name, [*_base(name, files), flag, v], flag))
    return cases


def test_every_command_and_option_is_walked(files):
    cases = _cases(files)
    walked = {c[0] for c in cases}
    assert {"estimate", "simulate", "tco", "pnl", "fleet", "calibrate"} <= walked
    assert len(cases) > 300


def test_no_traceback_and_one_line_naming_the_input(files, capsys, monkeypatch):
    """Runs every case in-process: ``main`` turns user errors into exit 1 and usage errors
    into exit 2; any other exception escapes ``run`` and fails this test with its traceback."""
    monkeypatch.chdir(files["dir"])
    # ``serve`` would start a server on its valid cases: check its arguments, start nothing.
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    # ``plan`` checks its question, backend and store, then searches (minutes): stop there.
    import sys

    import tokenworks.api.plan  # noqa: F401  (the module; ``tokenworks.api.plan`` the function)
    api_plan = sys.modules["tokenworks.api.plan"]

    def searched(*a, **k):
        raise SystemExit(0)

    monkeypatch.setattr(api_plan, "run_plan", searched)
    monkeypatch.setenv("TOKENWORKS_STORE", str(files["dir"] / "runs.duckdb"))
    failures = []
    for name, argv, flag in _cases(files):
        try:
            code, _out, err = run([name, *argv], capsys)
        except Exception as e:  # a traceback a user would see
            capsys.readouterr()
            failures.append(f"{name} {argv}: TRACEBACK {type(e).__name__}: {str(e)[:200]}")
            continue
        if code == 0:
            continue
        if code not in (1, 2):
            failures.append(f"{name} {argv}: exit {code}")
            continue
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        value = argv[argv.index(flag) + 1]
        named = (flag in err or flag.lstrip("-").replace("-", "_") in err
                 or (value and value[:40] in err) or (not value and "''" in err)
                 or _names_value(value, err))
        if not lines or (code == 1 and not lines[0].startswith("error:")) or not named:
            failures.append(f"{name} {argv}: exit {code}, stderr {err.strip()[:300]!r}")
    assert not failures, f"{len(failures)} cases:\n" + "\n".join(failures[:40])


def _names_value(value: str, err: str) -> bool:
    """The message shows the value as a number (1e400 -> inf, 10**30 -> 1e+30)."""
    try:
        x = float(value)
    except ValueError:
        return False
    if math.isnan(x):
        return "nan" in err.lower()
    return any(s in err for s in (f"{x:g}", repr(x), f"{x:,.0f}", "inf", str(int(x))
                                  if math.isfinite(x) and x == int(x) else "\0"))
