"""What every CLI command shares: the console, JSON output, tables, the defaults footer and
the options of the economics questions. Number formats come from ``tokenworks.report``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tokenworks.report.format import (
    fmt_bytes,
    fmt_count,
    fmt_gib,
    fmt_metric,
    fmt_money,
    fmt_pct,
    fmt_s,
    fmt_usd,
    to_jsonable,
)

__all__ = ["Acc", "Json", "PipeConsole", "ReportOpt", "ScenarioOpt", "SetOpt",
           "check_report_path", "console", "err_console", "fmt_bytes", "fmt_count", "fmt_gib",
           "fmt_metric", "fmt_money", "fmt_pct", "fmt_s", "fmt_usd", "print_defaults",
           "print_json", "table", "to_jsonable", "write_report_file"]

class PipeConsole(Console):
    """A console for which a closed output pipe (``tokenworks claims | head``) is not an
    error: rich exits 1 there; a reader that stopped reading asked for no more, so exit 0."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0)


console = PipeConsole(highlight=False)
err_console = PipeConsole(stderr=True, highlight=False)

ScenarioOpt = Annotated[str | None, typer.Option("--scenario", help="TOML/YAML file of inputs (flat key = value).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override any input: --set pue=1.2 (repeatable).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Also write an HTML report (charts, sources, assumptions) to this .html file.")]
Acc = Annotated[str | None, typer.Option("--accelerator", "--hardware", "-H", help="Accelerator catalog name (default h100-sxm).")]


def print_json(obj: Any) -> None:
    """One JSON document on stdout (no rich markup, so it pipes cleanly)."""
    print(json.dumps(to_jsonable(obj), indent=2, sort_keys=False))


def table(title: str, cols: list[str]) -> Table:
    """A table whose first column is left-aligned and the rest right-aligned."""
    t = Table(title=title, header_style="bold")
    for i, c in enumerate(cols):
        t.add_column(c, justify="left" if i == 0 else "right")
    return t


def print_defaults(lines: list[str]) -> None:
    """The footer every economics command prints: which sourced defaults it used."""
    if lines:
        console.print("[bold]Defaults used[/] (override with flags, --set or --scenario):")
        for line in lines:
            console.print(f"  • {escape(line)}")


def check_report_path(path: Path | None) -> None:
    """Fail before the work when ``--report`` cannot be written."""
    if path is not None:
        from tokenworks.files import check_output_path

        check_output_path(path, what="--report", suffixes=(".html", ".htm"))


def write_report_file(path: Path | None, result: Any, *, quiet: bool = False,
                      **context: Any) -> None:
    """``--report``: the result's HTML report to ``path`` (a dim note on stderr unless
    ``quiet``, so ``--json`` output stays clean)."""
    if path is None:
        return
    from tokenworks.report.build import save_report

    save_report(result, path, **context)
    if not quiet:
        Console(stderr=True, highlight=False).print(f"[dim]report written to {path}[/]")
