"""The report of the seed-claims ledger: verdicts per seed document and a filterable table.

Data: ``{"claims": [row, ...]}`` where each row is ``ClaimResult.to_dict()`` (id, claim,
seed value, computed value, unit, verdict, explanation, ...). Columns the rows lack are left
out, and columns the ledger adds later (e.g. ``kind``) are shown when present, so the table
follows the ledger's row format rather than pinning it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tokenworks.report.blocks import Chart, Table
from tokenworks.report.figures import COLORS, figure

__all__ = ["claims_data", "verdict_counts"]

# (row key, column title), in display order; a key no row has is skipped.
_COLUMNS = (("id", "id"), ("kind", "kind"), ("seed_value_text", "seed"),
            ("computed_value", "computed"), ("unit", "unit"), ("verdict", "verdict"),
            ("claim", "claim"), ("explanation", "explanation"), ("seed_title", "seed document"))
_VERDICT_COLORS = {"reproduced": COLORS["green"], "differs": COLORS["orange"]}


def claims_data(results: list[Any]) -> dict[str, Any]:
    """Ledger data from ``ClaimResult`` objects or their ``to_dict()`` rows."""
    return {"claims": [r if isinstance(r, dict) else r.to_dict() for r in results]}


def verdict_counts(rows: list[dict[str, Any]], by: str = "seed_title") -> dict[str, Counter]:
    """{group: Counter(verdict)} with groups in first-seen order."""
    out: dict[str, Counter] = {}
    for r in rows:
        out.setdefault(str(r.get(by, "—")), Counter())[str(r.get("verdict", "—"))] += 1
    return out


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        ax = abs(v)
        if ax != 0 and (ax >= 1e7 or ax < 1e-3):
            return f"{v:.3g}"
        return f"{v:,.0f}" if ax >= 100 else f"{v:.3g}"
    return str(v)


def verdicts_chart(d: dict[str, Any]) -> Chart | None:
    rows = d["claims"]
    if not rows:
        return None
    counts = verdict_counts(rows, "kind" if any("kind" in r for r in rows) else "seed_title")
    verdicts = sorted({v for c in counts.values() for v in c})
    traces = [{"type": "bar", "orientation": "h", "name": v, "y": list(counts),
               "x": [counts[g][v] for g in counts],
               "marker": {"color": _VERDICT_COLORS.get(v, COLORS["grey"])}} for v in verdicts]
    total = Counter(str(r.get("verdict")) for r in rows)
    return Chart(id="claims-verdicts", title="Verdicts", figure=figure(
        traces, title="Seed claims recomputed: verdicts by source", x_title="claims",
        barmode="stack", height=max(300, 170 + 40 * len(counts)),
        margin={"l": 260, "r": 20, "t": 50, "b": 110}),
        caption=", ".join(f"{n} {v}" for v, n in total.items()) + f" of {len(rows)} claims.")


def claims_table(d: dict[str, Any]) -> Table:
    rows = d["claims"]
    cols = [(k, t) for k, t in _COLUMNS if any(k in r for r in rows)]
    return Table(id="claims-table", title="Seed claims ledger",
                 columns=tuple(t for _, t in cols),
                 rows=tuple(tuple(_cell(r.get(k)) for k, _ in cols) for r in rows),
                 filterable=True, filter_column="verdict" if any(k == "verdict" for k, _ in cols)
                 else None)
