"""Every ``$ tokenworks …`` line in a ```console block of docs/user-guide.md runs and exits 0.

They run in a fresh folder holding a link to ``examples/``, so the files an example writes
(reports, records) land there and not in the repository.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from clitools import run

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "user-guide.md"


def _commands() -> list[str]:
    text = GUIDE.read_text()
    cmds = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        cmds += [line[2:].strip() for line in block.splitlines() if line.startswith("$ tokenworks")]
    return cmds


def test_guide_has_examples_for_every_command():
    cmds = " ".join(_commands())
    for name in ("estimate", "models", "hardware", "systems", "model-info", "claims", "simulate",
                 "tco", "pnl", "train", "power", "report"):
        assert f"tokenworks {name}" in cmds, name


@pytest.mark.parametrize("cmd", _commands())
def test_guide_command_runs(cmd, capsys, monkeypatch, tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    code, _out, err = run(shlex.split(cmd)[1:], capsys)
    assert code == 0, err
