"""Every ``$ tokenworks …`` line in a ```console block of docs/user-guide.md runs, exits 0 and
prints what was recorded for it (tests/golden/user_guide/). When a change is meant to alter an
output, re-record with ``TOKENWORKS_RECORD_GUIDE=1 python -m pytest tests/test_user_guide.py``
and review the diff of the golden files. The commands run in a fresh folder holding a link to
``examples/``, so the files an example writes (reports, records) land there and not in the
repository."""

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
                 "tco", "pnl", "train", "power", "plan", "runs", "report"):
        assert f"tokenworks {name}" in cmds, name


def test_every_recorded_output_belongs_to_a_command():
    """A golden file whose command left the guide is stale: remove it (or re-record)."""
    expected = {_golden(i, c).name for i, c in enumerate(_commands())}
    stale = sorted(p.name for p in GOLDEN.glob("*.txt") if p.name not in expected)
    assert not stale, f"stale recorded outputs: {stale}"


# What changes from run to run without meaning anything: clock times and wall-clock durations;
# and the planner's content-addressed candidate keys and run ids, which digest the modelling
# code too (planner/confirm.py code_fingerprint), so any change to that code changes them (their
# determinism is tested in tests/planner).
_VOLATILE = (
    (re.compile(r'"(key|run_id)": "[0-9a-f]{16,64}"'), r'"\1": "<digest>"'),
    (re.compile(r"│ [0-9a-f]{16} │"), "│ <run id>         │"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?"), "<time>"),
    (re.compile(r'"(\w*_s)": \d+(\.\d+)?(e-?\d+)?(?=,?\n(\s*"\w*_s": [\d.e-]+,?\n)*\s*})'),
     r'"\1": <t>'),
    (re.compile(r"\b(in|total)\s+\d+(\.\d+)?\s+s\b"), r"\1 <t> s"),
)


def _stable(text: str) -> str:
    for pat, rep in _VOLATILE:
        text = pat.sub(rep, text)
    return text


def _db_files(cmd: str) -> set[str]:
    return {t for t in shlex.split(cmd) if t.endswith(".duckdb")}


@pytest.mark.parametrize("i,cmd", list(enumerate(_commands())))
def test_guide_command_prints_its_recorded_output(i, cmd, capsys, monkeypatch, tmp_path):
    from tokenworks.cli.render import console

    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(console, "width", 100)
    # A command that reads a results database (runs list ...) gets it from the guide's earlier
    # commands that write it, run first in the same folder.
    if not cmd.startswith("tokenworks plan"):
        for earlier in _commands()[:i]:
            if _db_files(earlier) & _db_files(cmd) and earlier.startswith("tokenworks plan"):
                run(shlex.split(earlier)[1:], capsys)
    code, out, err = run(shlex.split(cmd)[1:], capsys)
    assert code == 0, err
    path = _golden(i, cmd)
    out = _stable(out)
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
