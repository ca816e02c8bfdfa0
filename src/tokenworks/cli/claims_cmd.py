"""``tokenworks claims``: the seed-claims ledger as a table, JSON, or the docs/claims.md page.

Renders ``tokenworks.claims`` results; computes nothing itself.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from tokenworks.claims import render_markdown, run_ledger
from tokenworks.claims.ledger import fmt, seed_text
from tokenworks.cli.render import PipeConsole

# Claims in the seeds the ledger deliberately does not evaluate, with the reason (rendered in
# docs/claims.md so the omission is visible).
NOT_EVALUATED = """
| seed claim | why it is not in the ledger |
|---|---|
| DistServe: 4.48× higher throughput or 10.2× tighter latency (003) | A goodput-under-SLO result: it depends on queueing and prefill/decode interference, which a roofline cannot see (at the roofline, splitting the same GPUs into pools does not raise peak throughput). The serving simulator evaluates it. |
| Splitwise: 1.4× throughput at 20% lower cost (003) | Same: a simulator question. |
| SSMs: ~5× higher throughput than transformers (003) | Depends on context length and batch; no like-for-like SSM/transformer pair of equal quality in the catalog. |
| Poor MoE load balancing causes up to 82% GPU idle time (003) | Needs a routing-skew distribution; tokenworks assumes uniform routing. |
| PagedAttention: waste from 60–80% to <4%, 2–4× more requests (003) | Fragmentation of pre-paging allocators is not modelled (tokenworks' memory plan is already paged). |
| WEKA 75× faster prefill, ICMSP 5× tokens/s (003) | Vendor system claims without a defined workload. |
| Rubin NVL72 5× inference / 10× lower cost per token; Rubin 10× perf/W (002, 003) | Roadmap claims with unstated precision and workload. |
| Training costs ($100M GPT-4 etc., 002); energy per token, cluster and rack power; the output/input price asymmetry; cache-hit fleet savings; market, capex and price figures (000, 001, 003) | Economics and power: `data/claims/economics.toml` (same ledger). Seed 001 contains no physics claims. |
"""


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
            typer.echo(render_markdown(results, not_evaluated=NOT_EVALUATED), nl=False)
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
            color = "green" if r.verdict == "reproduced" else "yellow"
            table.add_row(r.claim.id, seed_text(r.claim), fmt(r.computed_value), r.claim.unit,
                          f"[{color}]{r.verdict}[/]", r.claim.claim)
        out.print(table)
        n_rep = sum(r.verdict == "reproduced" for r in results)
        out.print(f"{len(results)} claims: {n_rep} reproduced, {len(results) - n_rep} differ. "
                  f"Details: tokenworks claims --id <id> --json, or docs/claims.md.")
        if ids and len(results) <= 3:
            for r in results:
                out.print(f"\n[bold]{r.claim.id}[/] — {r.verdict}\n  scenario: {r.claim.scenario}"
                          f"\n  working: {r.working}\n  {r.explanation}")
