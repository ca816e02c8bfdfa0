"""Collect every ``# ASSUMPTION:`` comment in src/ into docs/assumptions.md.

Usage: python scripts/collect_assumptions.py [--check]
With --check, exit 1 if docs/assumptions.md is out of date (the test suite runs this).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from docgen import write_or_check  # scripts/docgen.py

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "tokenworks"
DOC = ROOT / "docs" / "assumptions.md"
PATTERN = re.compile(r"#\s*ASSUMPTION:\s*(.*)")
NAME = re.compile(r'^(?:name|id|accelerator)\s*=\s*"([^"]+)"')
NOTE = re.compile(r"ASSUMPTION:?\s*([^.\"]*(?:\.\d[^.\"]*)*)")


def collect() -> list[tuple[str, int, str]]:
    found = []
    files = sorted(SRC.rglob("*.py")) + sorted(SRC.rglob("*.toml"))
    for path in files:
        lines = path.read_text().splitlines()
        i = 0
        while i < len(lines):
            m = PATTERN.search(lines[i])
            if m:
                text = m.group(1).strip()
                # Continuation lines: following comment lines indented under the first.
                j = i + 1
                while j < len(lines):
                    nxt = lines[j].strip()
                    if nxt.startswith("#") and not PATTERN.search(nxt) and not nxt.startswith("# NOTE"):
                        body = nxt.lstrip("#").strip()
                        if not body:
                            break
                        text += " " + body
                        j += 1
                    else:
                        break
                found.append((str(path.relative_to(ROOT)), i + 1, text))
                i = j
            elif (path.suffix == ".toml" and "ASSUMPTION" in lines[i]
                  and not lines[i].lstrip().startswith("#")):
                # Catalog entries mark assumptions inside their notes strings.
                name = next((m.group(1) for j in range(i, -1, -1)
                             if (m := NAME.match(lines[j]))), "?")
                for m in NOTE.finditer(lines[i]):
                    if len(m.group(1).strip()) < 3:
                        continue
                    found.append((str(path.relative_to(ROOT)), i + 1,
                                  f"[{name}] {m.group(1).strip()}"))
                i += 1
            else:
                i += 1
    return found


def render(items: list[tuple[str, int, str]]) -> str:
    out = [
        "# Modelling assumptions",
        "",
        "Every `# ASSUMPTION:` comment in the source, collected by "
        "`python scripts/collect_assumptions.py` (a test fails when this page is stale).",
        "Each is a choice where the physics or the sources leave room; change one by editing the",
        "line it points to.",
        "",
        f"{len(items)} assumptions.",
        "",
    ]
    current = None
    for path, line, text in items:
        if path != current:
            out += ["", f"## `{path}`", ""]
            current = path
        out.append(f"- line {line}: {text}")
    return "\n".join(out) + "\n"


def main() -> int:
    items = collect()
    code = write_or_check(DOC, render(items), sys.argv[1:],
                          command="python scripts/collect_assumptions.py")
    if code == 0 and "--check" not in sys.argv:
        print(f"({len(items)} assumptions)")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
