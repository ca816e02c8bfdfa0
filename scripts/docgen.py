"""Shared by the doc generators: write a generated page, or check that it is current."""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(doc: Path, text: str, argv: list[str], *, command: str) -> int:
    """With ``--check`` in argv: 0 if ``doc`` equals ``text``, else 1 and how to fix it.
    Otherwise write ``doc``. Returns the exit code."""
    if "--check" in argv:
        if not doc.exists() or doc.read_text() != text:
            print(f"{doc} is out of date: run {command}", file=sys.stderr)
            return 1
        return 0
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
    print(f"wrote {doc}")
    return 0
