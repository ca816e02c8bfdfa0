"""Shared test helper: run the CLI in-process and capture its exit code and output."""

from __future__ import annotations

import pytest

from tokenworks.cli.main import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``tokenworks *argv`` as the console script would exit."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
