"""Foundation: errors, dtypes, units, the README/CI contract, layers, lint, assumptions doc."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tokenworks.dtypes import get_dtype
from tokenworks.errors import ConfigError, UnknownNameError, check_range, did_you_mean, unknown_name

ROOT = Path(__file__).resolve().parents[1]


def test_did_you_mean_finds_substring_and_close_names():
    hint = did_you_mean("h100", ["h100-sxm", "h100-pcie", "a100-80g-sxm"])
    assert "h100-sxm" in hint and "h100-pcie" in hint
    assert did_you_mean("zzzz", ["h100-sxm"]) == ""


def test_unknown_name_message_names_kind_and_value():
    err = unknown_name("accelerator", "h100", ["h100-sxm", "b200"])
    assert isinstance(err, UnknownNameError)
    assert "accelerator 'h100' is not in the catalog" in str(err)
    assert "Did you mean" in str(err)


@pytest.mark.parametrize("value", [-1.0, 1.5, float("nan")])
def test_check_range_rejects_and_names_rule(value):
    with pytest.raises(ConfigError) as e:
        check_range("utilization_frac", value, low=0, high=1, fix="Use a fraction.")
    msg = str(e.value)
    assert "utilization_frac" in msg and ">= 0" in msg and "<= 1" in msg and "Use a fraction." in msg


def test_check_range_accepts_bounds():
    assert check_range("x", 0.0, low=0, high=1) == 0.0
    assert check_range("x", 1.0, low=0, high=1) == 1.0


def test_dtype_widths_and_aliases():
    assert get_dtype("bf16").bytes == 2
    assert get_dtype("BFloat16").name == "bf16"
    assert get_dtype("fp8").bytes == 1
    # MXFP4: 4 bits + one 8-bit scale per 32 elements = 4.25 bits (OCP MX spec v1.0).
    assert get_dtype("mxfp4").bits == pytest.approx(4.25)
    with pytest.raises(ConfigError, match="Valid:"):
        get_dtype("fp5")


def test_readme_has_exactly_two_fresh_machine_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(python3 -m venv[^\n]*)\n```", readme)
    assert len(blocks) == 2, blocks
    main_cmd, test_cmd = blocks
    assert "tokenworks" in main_cmd and "pytest" in test_cmd
    ci = (ROOT / ".ci" / "run").read_text()
    # .ci/run runs the README's test command (after its own venv creation).
    test_part = test_cmd.split("&& ", 2)[-1]
    assert test_part in ci


def test_import_layers_contract():
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint_imports).exists():
        pytest.skip("import-linter not installed")
    r = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed")
    r = subprocess.run([ruff, "check", "src", "tests", "benchmarks", "scripts"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:]


def test_assumptions_doc_is_current():
    r = subprocess.run([sys.executable, "scripts/collect_assumptions.py", "--check"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
