"""``tokenworks claims``: the seed-claims ledger as a table, JSON, or the docs/claims.md page.

Renders ``tokenworks.claims`` results; computes nothing itself.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from tokenworks.claims import render_markdown, run_ledger, summary_line
from tokenworks.claims.kinds import fmt
from tokenworks.claims.result import seed_text
from tokenworks.cli.render import PipeConsole


def register(app: typer.Typer) -> None:
    """Add the ``claims`` command."""

    @app.command("claims")
    def claims(
        ids: Annotated[list[str] | None, typer.Option(
            "--id", help="Only these claim ids (repeatable).")] = None,
        as_json: Annotated[bool, typer.Option(
            "--json", help="Print a JSON list of claim objects.")] = False,
        markdown: Annotated[bool, typer.Option(
            "--markdown", help="Print the docs/claims.md page.")] = False,
    ) -> None:
        """Recompute the seed documents' quantitative claims and show each verdict."""
        results = run_ledger(ids or None)
        out = PipeConsole(soft_wrap=True, highlight=False)
        if markdown:
            typer.echo(render_markdown(results), nl=False)
            return
        if as_json:
            typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
            return
        table = Table(title="Seed claims, recomputed by tokenworks", show_lines=False)
        for col, kw in (("id", {"style": "cyan", "no_wrap": True}), ("seed", {"justify": "right"}),
                        ("computed", {"justify": "right"}), ("unit", {}), ("verdict", {}),
                        ("claim", {"overflow": "fold"})):
            table.add_column(col, **kw)
        for r in results:
            color = {"reproduced": "green", "differs": "yellow"}.get(r.verdict, "blue")
            table.add_row(r.claim.id, seed_text(r.claim), fmt(r.computed_value), r.claim.unit,
                          f"[{color}]{r.verdict}[/]", r.claim.claim)
        out.print(table)
        out.print(f"{summary_line(results)} "
                  f"Details: tokenworks claims --id <id> --json, or docs/claims.md.")
        if ids and len(results) <= 3:
            for r in results:
                out.print(f"\n[bold]{r.claim.id}[/] — {r.verdict}\n  scenario: {r.claim.scenario}"
                          f"\n  working: {r.working}\n  {r.explanation}")
