"""``tokenworks report SOURCE``: one self-contained HTML report of a result, a scenario, a plan,
the claims ledger or a catalog.

SOURCE is a scenario file (simulated now), a saved result (.json: what ``--json`` prints,
``simulate --out run.json``, a plan, or a report-data file from the web dashboard), or one of
``claims``, ``models``, ``hardware``. Renders ``tokenworks.report``; computes nothing itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tokenworks.cli.render import console


def report_command(
    source: Annotated[str, typer.Argument(help="Scenario (.yaml/.toml), saved result or plan (.json), or claims / models / hardware.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="HTML file to write (default: <source name>-report.html here).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="For a scenario: override its seed.")] = None,
    max_requests: Annotated[int | None, typer.Option("--max-requests", help="For a scenario: cap the requests (sessions for multi-turn traffic).")] = None,
) -> None:
    """Write an HTML report (charts, tables, sources, assumptions) that opens offline."""
    from tokenworks.files import check_output_path
    from tokenworks.report.build import save_data_report
    from tokenworks.report.ledger import claims_data
    from tokenworks.report.load import load_source

    path = out if out is not None else Path(f"{Path(source).stem or 'tokenworks'}-report.html")
    check_output_path(path, what="--out", suffixes=(".html", ".htm"))
    if source == "claims" and not Path(source).exists():
        from tokenworks.claims import run_ledger

        kind, data = "claims", claims_data(run_ledger())
    else:
        kind, data = load_source(source, seed=seed, max_requests=max_requests)
    save_data_report(kind, data, path)
    console.print(f"{kind} report written to [bold]{path}[/] (open it in a browser; it works "
                  f"offline)")


def register(app: typer.Typer) -> None:
    """Add ``report`` to the app."""
    app.command("report")(report_command)
