"""Every ``$ tokenworks …`` line in a ```console block of docs/user-guide.md runs, exits 0 and
prints what was recorded for it (tests/golden/user_guide/). When a change is meant to alter an
output, re-record with ``TOKENWORKS_RECORD_GUIDE=1 python -m pytest tests/test_user_guide.py``
and review the diff of the golden files."""

from __future__ import annotations

import difflib
import os
import re
import shlex
from pathlib import Path

import pytest

from clitools import run

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "user-guide.md"
GOLDEN = ROOT / "tests" / "golden" / "user_guide"
RECORD = os.environ.get("TOKENWORKS_RECORD_GUIDE") == "1"


def _commands() -> list[str]:
    text = GUIDE.read_text()
    cmds = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        cmds += [line[2:].strip() for line in block.splitlines() if line.startswith("$ tokenworks")]
    return cmds


def _golden(i: int, cmd: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", cmd.removeprefix("tokenworks ").lower()).strip("-")[:60]
    return GOLDEN / f"{i:02d}-{slug}.txt"


def test_guide_has_examples_for_every_command():
    cmds = " ".join(_commands())
    for name in ("estimate", "models", "hardware", "systems", "model-info", "claims", "simulate",
                 "tco", "pnl", "train", "power", "plan", "runs"):
        assert f"tokenworks {name}" in cmds, name


def test_every_recorded_output_belongs_to_a_command():
    """A golden file whose command left the guide is stale: remove it (or re-record)."""
    expected = {_golden(i, c).name for i, c in enumerate(_commands())}
    stale = sorted(p.name for p in GOLDEN.glob("*.txt") if p.name not in expected)
    assert not stale, f"stale recorded outputs: {stale}"


@pytest.mark.parametrize("i,cmd", list(enumerate(_commands())))
def test_guide_command_prints_its_recorded_output(i, cmd, capsys, monkeypatch):
    from tokenworks.cli.render import console

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(console, "width", 100)
    code, out, err = run(shlex.split(cmd)[1:], capsys)
    assert code == 0, err
    path = _golden(i, cmd)
    if RECORD:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(out)
        return
    assert path.exists(), (f"no recorded output for `{cmd}`: run TOKENWORKS_RECORD_GUIDE=1 "
                           f"python -m pytest tests/test_user_guide.py")
    recorded = path.read_text()
    if out != recorded:
        diff = "".join(difflib.unified_diff(recorded.splitlines(True), out.splitlines(True),
                                            "recorded", "now", n=1))
        pytest.fail(f"`{cmd}` printed something else than recorded in {path.name}:\n{diff[:4000]}")
