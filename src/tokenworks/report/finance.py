"""The reports of money over an asset's life: TCO (cost waterfall per million tokens), P&L,
sensitivity (tornado, two-way grid) and capital.

The data of each is the economics report as JSON (``to_jsonable`` of ``api.economics``'s
report, the same object ``--json`` prints). ``cost_waterfall`` splits the TCO's price of a
token over its components in proportion to their share of the hourly cost — a presentation of
economics' numbers, not a second cost model.
"""

from __future__ import annotations

from typing import Any

from tokenworks.report.blocks import Chart, Table
from tokenworks.report.figures import COLORS, figure
from tokenworks.report.format import fmt_metric, fmt_money, fmt_pct, fmt_usd

__all__ = ["COMPONENTS", "cost_waterfall", "tornado_bars"]

COMPONENTS = ("depreciation", "financing", "power", "facility", "maintenance", "staff")
_MILLION = 1e6


def cost_waterfall(d: dict[str, Any]) -> dict[str, Any]:
    """Steps of the cost of a token (or of a sold accelerator-hour when no throughput is
    known): ``{"unit", "basis", "steps": [(label, value)], "total_label", "total"}``. With a
    list price, a ``margin`` step takes the total to the price."""
    b = d["breakdown"]
    comps = {k: b[f"{k}_usd_per_hour"] for k in COMPONENTS}
    total_h = b["total_usd_per_hour"]
    tc = d.get("token_cost")
    per_mtok, basis = d.get("usd_per_million_tokens_at_throughput"), ""
    if per_mtok is not None:
        basis = "at the given tokens/s per accelerator, on sold hours"
    elif tc is not None and d.get("price_basis", "tco") == "tco":
        per_mtok = tc["all_in_usd_per_output_mtok"]
        basis = "all-in per output token of the model's estimate, at the break-even price"
    # ASSUMPTION: a token's cost splits over the TCO components in proportion to their share
    # of the hourly cost (each component accrues per installed hour, so each scales alike from
    # an hour to the tokens that hour produces on sold hours).
    if per_mtok is None:
        scale, unit = 1.0 / b["utilization_frac"], "$ per sold accelerator-hour"
        basis = f"per sold hour at {fmt_pct(b['utilization_frac'])} utilization"
        total, total_label = b["breakeven_usd_per_sold_hour"], "break-even price"
    else:
        scale, unit = per_mtok / total_h, "$ per million tokens"
        total, total_label = per_mtok, "cost"
    steps = [(k, v * scale) for k, v in comps.items()]
    out: dict[str, Any] = {"unit": unit, "basis": basis, "steps": steps,
                           "total_label": total_label, "total": total}
    m = d.get("margin")
    if m is not None and per_mtok is not None and tc is not None:
        price = total * m["markup"]
        out["steps"] = [*steps, ("margin", price - total)]
        out["total_label"], out["total"] = f"list price ({d.get('list_price')})", price
    return out


def tornado_bars(d: dict[str, Any]) -> list[dict[str, Any]]:
    """Tornado rows, largest swing first: input, metric at the low and high input, base."""
    rows = sorted(d["tornado"], key=lambda r: r["swing"] or 0.0, reverse=True)
    return [{"input": r["input"], "low": r["metric_at_low"], "high": r["metric_at_high"],
             "low_value": r["low_value"], "high_value": r["high_value"], "base": d["base"]}
            for r in rows]


# ------------------------------------------------------------------------------ TCO


def tco_table(d: dict[str, Any]) -> Table:
    b = d["breakdown"]
    total = b["total_usd_per_hour"]
    rows = [(k, f"{b[f'{k}_usd_per_hour']:.3f}", fmt_pct(b[f"{k}_usd_per_hour"] / total))
            for k in COMPONENTS]
    rows += [("total per installed hour", f"{total:.3f}", "100.0%"),
             (f"break-even per sold hour ({fmt_pct(b['utilization_frac'])} utilization)",
              f"{b['breakeven_usd_per_sold_hour']:.3f}", ""),
             ("IT capex per accelerator", fmt_usd(b["capex_usd"]), ""),
             ("WACC", fmt_pct(b["wacc_frac"]), ""),
             ("average power at the meter", f"{b['average_power_w']:,.0f} W", "")]
    return Table(id="tco-components", title=f"TCO of one {b['accelerator']} ($ per hour)",
                 columns=("component", "$/h", "share"), rows=tuple(rows))


def waterfall_chart(d: dict[str, Any]) -> Chart:
    w = cost_waterfall(d)
    labels = [k for k, _ in w["steps"]] + [w["total_label"]]
    values = [v for _, v in w["steps"]] + [w["total"]]
    fig = figure([{
        "type": "waterfall", "name": "cost", "x": labels, "y": values,
        "measure": ["relative"] * len(w["steps"]) + ["total"],
        "text": [f"{v:,.3g}" for v in values], "textposition": "outside",
        "connector": {"line": {"color": "#999"}},
        "increasing": {"marker": {"color": COLORS["orange"]}},
        "decreasing": {"marker": {"color": COLORS["green"]}},
        "totals": {"marker": {"color": COLORS["blue"]}}}],
        title=f"Cost waterfall: {w['unit']}", y_title=w["unit"], height=400, showlegend=False)
    return Chart(id="cost-waterfall", title="Cost waterfall", figure=fig,
                 caption=f"Components of the TCO {w['basis']}.")


def vendor_chart(d: dict[str, Any]) -> Chart:
    v = d["vendor_case"]
    cases = (("cheap build", v["cheap_build"]), ("cheap finance", v["cheap_finance"]))
    traces = [{"type": "bar", "name": k, "x": [c for c, _ in cases],
               "y": [b[f"{k}_usd_per_hour"] for _, b in cases]} for k in COMPONENTS]
    return Chart(id="vendor-financing", title="Vendor financing case", figure=figure(
        traces, title="Cheaper to buy vs cheaper to finance ($ per installed hour)",
        y_title="$/h", barmode="stack", height=360),
        caption=f"Winner: {v['winner'].replace('_', ' ')}, saving "
                f"{fmt_usd(v['lifetime_saving_usd'])} per accelerator over its life.")


def token_cost_table(d: dict[str, Any]) -> Table | None:
    c = d.get("token_cost")
    if c is None:
        return None
    rows = [("batch / prefix hit", f"{c['batch_size']} / {fmt_pct(c['prefix_hit_frac'])}"),
            ("replica $/h", f"{c['usd_per_hour']:.2f}"),
            ("$ per request", f"{c['usd_per_request']:.6f}"),
            ("input $/M (uncached / cached)",
             f"{c['input_usd_per_mtok']:.3f} / {c['cached_input_usd_per_mtok']:.3f}"),
            ("output $/M (decode only)", f"{c['output_usd_per_mtok']:.3f}"),
            ("all-in $/M output", f"{c['all_in_usd_per_output_mtok']:.3f}"),
            ("prefill share of time", fmt_pct(c["prefill_time_frac"]))]
    m = d.get("margin")
    if m is not None:
        rows.append((f"margin at {d.get('list_price')} list prices",
                     f"{fmt_pct(m['margin_frac'])} ({m['markup']:.1f}×)"))
    return Table(id="token-cost", title="Cost per token", columns=("term", "value"),
                 rows=tuple(rows))


# ------------------------------------------------------------------------------ P&L


def pnl_chart(d: dict[str, Any]) -> Chart:
    years = d["pnl"]["years"]
    x = [f"year {y['year']}" for y in years]
    cum, total = [], 0.0
    for y in years:
        total += y["project_cash_flow_usd"]
        cum.append(total / _MILLION)
    traces = [
        {"type": "bar", "name": "revenue", "x": x, "y": [y["revenue_usd"] / _MILLION for y in years],
         "marker": {"color": COLORS["blue"]}},
        {"type": "bar", "name": "EBITDA", "x": x, "y": [y["ebitda_usd"] / _MILLION for y in years],
         "marker": {"color": COLORS["green"]}},
        {"type": "bar", "name": "depreciation", "x": x,
         "y": [-y["depreciation_usd"] / _MILLION for y in years],
         "marker": {"color": COLORS["grey"]}},
        {"type": "bar", "name": "net income", "x": x,
         "y": [y["net_income_usd"] / _MILLION for y in years],
         "marker": {"color": COLORS["orange"]}},
        {"type": "scatter", "mode": "lines+markers", "name": "cumulative project cash flow",
         "x": x, "y": cum, "line": {"color": COLORS["black"]}},
    ]
    p = d["pnl"]
    return Chart(id="pnl", title="P&L over the asset's life", figure=figure(
        traces, title=f"P&L of {p['num_accelerators']:,} × {d['inputs']['accelerator']} ($M)",
        y_title="$M", barmode="group", height=420),
        caption=f"Project IRR {fmt_pct(p['project_irr_frac'])}, NPV at "
                f"{fmt_pct(p['discount_rate_frac'])} {fmt_money(p['npv_usd'])}, payback "
                + ("never" if p["payback_years"] is None else f"{p['payback_years']:.2f} years")
                + f"; {p['depreciation_method'].replace('_', ' ')} depreciation.")


def pnl_table(d: dict[str, Any]) -> Table:
    rows = tuple((str(y["year"]), fmt_pct(y["utilization_frac"]),
                  f"{y['market_usd_per_hour']:.2f}", fmt_money(y["revenue_usd"]),
                  fmt_money(y["ebitda_usd"]), fmt_money(y["net_income_usd"]),
                  fmt_money(y["project_cash_flow_usd"])) for y in d["pnl"]["years"])
    return Table(id="pnl-years", title="Yearly P&L",
                 columns=("year", "utilization", "$/h", "revenue", "EBITDA", "net income",
                          "project cash flow"), rows=rows)


def depreciation_table(d: dict[str, Any]) -> Table:
    rows = tuple((c["label"], fmt_money(c["net_income_first3_usd"]),
                  fmt_money(c["cumulative_net_income_usd"]), f"{c['economic_life_years']} y",
                  fmt_money(c["impairment_usd"]), fmt_pct(c["project_irr_frac"]))
                 for c in d["depreciation_risk"])
    return Table(id="depreciation-risk", title="Depreciation risk",
                 columns=("case", "net income y1–3", "cumulative net income", "economic life",
                          "impairment", "IRR"), rows=rows)


# ------------------------------------------------------------------------------ sensitivity


def tornado_chart(d: dict[str, Any]) -> Chart:
    bars = list(reversed(tornado_bars(d)))  # plotly draws the first row at the bottom
    base = d["base"]
    traces = [
        {"type": "bar", "orientation": "h", "name": "input × low", "y": [b["input"] for b in bars],
         "x": [b["low"] - base for b in bars], "base": base, "marker": {"color": COLORS["sky"]},
         "customdata": [b["low_value"] for b in bars],
         "hovertemplate": "%{y} = %{customdata:.4g} → %{x:.4g} vs base<extra>low</extra>"},
        {"type": "bar", "orientation": "h", "name": "input × high",
         "y": [b["input"] for b in bars], "x": [b["high"] - base for b in bars], "base": base,
         "marker": {"color": COLORS["red"]}, "customdata": [b["high_value"] for b in bars],
         "hovertemplate": "%{y} = %{customdata:.4g} → %{x:.4g} vs base<extra>high</extra>"},
    ]
    return Chart(id="tornado", title="Sensitivity tornado", figure=figure(
        traces, title=f"{d['metric']}: one input at a time (base {fmt_metric(base)})",
        x_title=d["metric"], barmode="overlay", height=max(340, 160 + 28 * len(bars)),
        margin={"l": 230, "r": 20, "t": 50, "b": 110}))


def grid_chart(d: dict[str, Any]) -> Chart | None:
    g = d.get("grid")
    if g is None:
        return None
    return Chart(id="sensitivity-grid", title="Two-way grid", figure=figure(
        [{"type": "heatmap", "x": g["x_values"], "y": g["y_values"], "z": g["metric"],
          "colorscale": "Viridis", "colorbar": {"title": {"text": d["metric"]}}}],
        title=f"{d['metric']} by {g['y_input']} and {g['x_input']}", x_title=g["x_input"],
        y_title=g["y_input"], height=420))


def tornado_table(d: dict[str, Any]) -> Table:
    rows = tuple((b["input"], f"{b['low_value']:g} → {fmt_metric(b['low'])}",
                  f"{b['high_value']:g} → {fmt_metric(b['high'])}",
                  fmt_metric(abs(b["high"] - b["low"]))) for b in tornado_bars(d))
    return Table(id="tornado-rows", title="Tornado rows",
                 columns=("input", "low → metric", "high → metric", "swing"), rows=rows)


# ------------------------------------------------------------------------------ capital


def capital_chart(d: dict[str, Any]) -> Chart:
    cases = d["cases"]
    items = (("revenue required /yr", lambda c: c["gap"]["required_revenue_usd_per_year"]),
             ("actual AI revenue /yr", lambda c: c["gap"]["actual_ai_revenue_usd_per_year"]),
             ("capital ceiling", lambda c: c["ceiling"]["total_usd"]))
    traces = [{"type": "bar", "name": label, "x": [c["name"] for c in cases],
               "y": [None if fn(c) is None else fn(c) / 1e9 for c in cases]}
              for label, fn in items]
    return Chart(id="capital", title="Revenue gap and capital ceiling", figure=figure(
        traces, title="Revenue a year of GPU spend needs vs the capital that can be deployed",
        y_title="$B", barmode="group", height=380))


def capital_table(d: dict[str, Any]) -> Table:
    cases = d["cases"]
    lines = (("revenue required /yr", lambda c: c["gap"]["required_revenue_usd_per_year"]),
             ("revenue gap /yr", lambda c: c["gap"]["gap_usd_per_year"]),
             ("internal capital", lambda c: c["ceiling"]["internal_usd"]),
             ("off-balance-sheet SPVs", lambda c: c["ceiling"]["spv_usd"]),
             ("corporate leverage", lambda c: c["ceiling"]["leverage_usd"]),
             ("deployable capital ceiling", lambda c: c["ceiling"]["total_usd"]))
    rows = tuple((label, *(fmt_money(fn(c)) for c in cases)) for label, fn in lines)
    return Table(id="capital-rows", title="Capital math",
                 columns=("item", *(c["name"] for c in cases)), rows=rows)
