"""Generated sections of a document: the block between a script's BEGIN and END markers is
replaced by the script's latest text (appended when the markers are not there yet)."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, begin: str, end: str, text: str) -> None:
    """Replace ``begin``…``end`` in ``path`` (``text`` ends with a newline)."""
    doc = path.read_text() if path.exists() else "# Accuracy\n"
    block = f"{begin}\n{text}{end}\n"
    if begin in doc and end in doc:
        doc = doc[:doc.index(begin)] + block + doc[doc.index(end) + len(end) + 1:]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block
    path.write_text(doc)
