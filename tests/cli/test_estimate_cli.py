"""CLI: estimate and the catalog commands — exit codes, JSON, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from clitools import run


def test_default_scenario_prints_a_summary(capsys):
    code, out, _ = run(["estimate"], capsys)
    assert code == 0
    for text in ("llama-3.1-70b", "8× h200", "Memory plan", "TTFT", "$ / M output tokens"):
        assert text in out


def test_estimate_json_has_the_documented_keys(capsys):
    code, out, _ = run(["estimate", "--model", "llama-3.1-8b", "--hardware", "h100-sxm",
                        "--num-gpus", "1", "--tp", "1", "--weights-dtype", "bf16", "--batch", "8",
                        "--json"], capsys)
    assert code == 0
    d = json.loads(out)
    for k in ("weight_bytes", "kv_bytes_per_token", "max_concurrent_sequences", "batch_size",
              "ttft_s", "tpot_s", "output_tokens_per_s", "output_tokens_per_s_per_gpu",
              "usd_per_million_output_tokens", "usd_per_million_input_tokens",
              "energy_per_output_token_j", "bound"):
        assert k in d
    assert d["batch_size"] == 8


@pytest.mark.parametrize("args,needle", [
    (["estimate", "--hardware", "h100"], "Did you mean"),
    (["estimate", "--model", "llama-3.1-405b", "--hardware", "h100-sxm", "--num-gpus", "1",
      "--tp", "1", "--weights-dtype", "bf16"], "Try"),
    (["estimate", "--tp", "3", "--num-gpus", "3"], "tp = 3"),
    (["estimate", "--batch", "lots"], "--batch"),
    (["estimate", "--input-tokens", "0"], "input_tokens"),
    (["model-info", "gpt-9"], "not in the catalog"),
    (["hardware", "--kind", "quantum"], "Valid"),
    (["estimate", "--model", "llama-3.1-8b", "--dp", "2"], "dense"),
    (["estimate", "--model", "deepseek-v3", "--hardware", "h200", "--tp", "1", "--dp", "8"],
     "set ep = 8"),
    (["estimate", "--spec", "mtp", "--model", "llama-3.1-8b", "--hardware", "h100-sxm"],
     "has none"),
    (["estimate", "--spec-tokens", "3"], "need --spec"),
    (["estimate", "--spec", "eagle", "--spec-acceptance-length", "9"], "acceptance_length"),
    (["estimate", "--engine", "trtllm", "--hardware", "mi300x", "--tp", "8"], "NVIDIA GPUs only"),
])
def test_user_errors_are_one_red_line_exit_1(args, needle, capsys):
    code, _out, err = run(args, capsys)
    assert code == 1
    assert needle in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3  # one message (rich may soft-wrap it)


@pytest.mark.parametrize("cmd", ["models", "hardware", "systems"])
def test_catalog_listings_json(cmd, capsys):
    code, out, _ = run([cmd, "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert len(rows) >= 10 and all("name" in r for r in rows)


def test_model_info_json_and_table(capsys):
    code, out, _ = run(["model-info", "deepseek-v3", "--json"], capsys)
    assert code == 0
    d = json.loads(out)
    assert d["attention_kind"] == "mla" and d["moe"]["num_experts"] == 256
    code, out, _ = run(["model-info", "mixtral-8x7b"], capsys)
    assert code == 0 and "experts" in out


def test_console_script_exits_1_without_traceback():
    """The installed entry point, as a user runs it."""
    r = subprocess.run([sys.executable, "-m", "tokenworks.cli", "estimate", "--hardware", "tpu-v9"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "tpu-v9" in r.stderr


def test_moe_layouts_and_speculative_decoding_from_the_command_line(capsys):
    base = ["estimate", "--model", "deepseek-v3", "--hardware", "h200", "--weights-dtype",
            "fp8_block", "--engine", "sglang", "--batch", "16", "--json"]
    code, out, err = run([*base, "--tp", "8", "--ep", "8"], capsys)
    assert code == 0, err
    tp = json.loads(out)
    code, out, err = run([*base, "--tp", "1", "--dp", "8", "--ep", "8"], capsys)
    assert code == 0, err
    dp = json.loads(out)
    assert dp["dp"] == 8 and dp["num_gpus"] == 8
    assert dp["max_concurrent_sequences"] > tp["max_concurrent_sequences"]
    code, out, err = run([*base, "--tp", "8", "--ep", "8", "--spec", "mtp",
                          "--spec-acceptance-length", "2.5"], capsys)
    assert code == 0, err
    mtp = json.loads(out)
    assert mtp["speculative"]["method"] == "mtp" and mtp["speculative"]["num_tokens"] == 3
    assert mtp["speculative"]["tokens_per_step"] == pytest.approx(2.5, rel=1e-6)
    assert mtp["tpot_s"] < tp["tpot_s"]
    assert any("speculative decoding" in n for n in mtp["notes"])
