"""The reports of sizing questions: power (IT, host, cooling and facility overhead), fleet and
training runs. Data: the economics report as JSON (what ``--json`` prints); units SI.
"""

from __future__ import annotations

from typing import Any

from tokenworks.report.blocks import Chart, Table
from tokenworks.report.figures import COLORS, figure
from tokenworks.report.format import fmt_count, fmt_money, fmt_pct, fmt_s, fmt_usd
from tokenworks.units import DAY, KWH

__all__ = ["power_segments"]

_MW = 1e6


def power_segments(p: dict[str, Any]) -> list[tuple[str, float]]:
    """Average facility power as (label, W) that sum to ``facility_power_w``: accelerators,
    host (CPUs, NICs, fans: the rest of the IT load) and cooling and facility overhead
    (IT × (PUE − 1))."""
    acc_w = p["num_nodes"] * p["accelerators_per_node"] * p["accelerator_power_w"]
    return [("accelerators", acc_w), ("host", max(p["it_power_w"] - acc_w, 0.0)),
            ("cooling and facility (PUE)", p["facility_power_w"] - p["it_power_w"])]


def _power_chart(p: dict[str, Any], chart_id: str) -> Chart:
    segs = power_segments(p)
    colors = (COLORS["blue"], COLORS["sky"], COLORS["orange"])
    traces = [{"type": "bar", "orientation": "h", "name": label, "y": ["average draw"],
               "x": [w / _MW], "marker": {"color": c},
               "hovertemplate": f"{label}: %{{x:.4g}} MW<extra></extra>"}
              for (label, w), c in zip(segs, colors, strict=True)]
    traces.append({"type": "bar", "orientation": "h", "name": "provisioned at TDP (IT)",
                   "y": ["provisioned"], "x": [p["it_power_provisioned_w"] / _MW],
                   "marker": {"color": COLORS["grey"]}})
    traces.append({"type": "bar", "orientation": "h", "name": "provisioned facility overhead",
                   "y": ["provisioned"], "x": [(p["facility_power_provisioned_w"]
                                                - p["it_power_provisioned_w"]) / _MW],
                   "marker": {"color": "#cccccc"}})
    return Chart(id=chart_id, title="Power breakdown", figure=figure(
        traces, title=f"Power of {p['num_accelerators']:,} × {p['accelerator']} "
                      f"(PUE {p['pue']:g})", x_title="MW", barmode="stack", height=340),
        caption=f"IT {p['it_power_w'] / _MW:,.3g} MW average at "
                f"{fmt_pct(p['utilization_frac'])} utilization; {p['num_racks']:,} racks of "
                f"{p['rack_power_w'] / 1e3:,.1f} kW ({p['cooling']} cooling).")


def power_chart(d: dict[str, Any]) -> Chart:
    return _power_chart(d["power"], "power-breakdown")


def power_table(d: dict[str, Any]) -> Table:
    p = d["power"]
    rows = [("accelerators", f"{p['num_accelerators']:,} × {p['accelerator']} in "
                             f"{p['num_nodes']:,} nodes, {p['num_racks']:,} racks"),
            ("accelerator draw", f"{p['accelerator_power_w']:,.0f} W average"),
            ("IT power (average / provisioned)", f"{p['it_power_w'] / _MW:,.3f} / "
                                                 f"{p['it_power_provisioned_w'] / _MW:,.3f} MW"),
            ("facility power (average / provisioned)",
             f"{p['facility_power_w'] / _MW:,.3f} / "
             f"{p['facility_power_provisioned_w'] / _MW:,.3f} MW"),
            ("annual energy", f"{p['annual_energy_j'] / KWH / 1e6:,.2f} GWh"),
            ("annual carbon", f"{p['annual_carbon_g'] / 1e6:,.0f} t CO2 "
                              f"({p['grid']}, {p['carbon_g_per_kwh']:g} g/kWh)"),
            ("annual water", f"{p['annual_water_l'] / 1e6:,.2f} ML")]
    if p.get("energy_per_token_j") is not None:
        rows.append(("energy per token", f"{p['energy_per_token_j']:.3f} J"))
    rows += [("source", s) for s in p.get("sources", [])]
    return Table(id="power-rows", title="Power, energy, carbon, water", columns=("item", "value"),
                 rows=tuple(rows))


def fleet_table(d: dict[str, Any]) -> Table:
    f = d["plan"]
    rows = [("demand (average output tokens/s)", f"{f['demand_output_tokens_per_s']:,.0f} "
                                                 f"(peak ×{f['peak_to_average']:g})"),
            ("replica throughput", f"{f['output_tokens_per_s_per_replica']:,.0f} tokens/s on "
                                   f"{f['accelerators_per_replica']} × {f['accelerator']}"),
            ("fleet", f"{f['num_replicas']:,} replicas = {f['num_accelerators']:,} "
                      f"accelerators at {fmt_pct(f['utilization_frac'])} utilization"),
            ("capex (IT / data center)", f"{fmt_money(f['it_capex_usd'])} / "
                                         f"{fmt_money(f['dc_capex_usd'])}"),
            ("annual TCO (cash opex)", f"{fmt_money(f['annual_tco_usd'])} "
                                       f"({fmt_money(f['annual_cash_opex_usd'])})"),
            ("annual output tokens", fmt_count(f["annual_output_tokens"])),
            ("$ / M output tokens", fmt_usd(f["usd_per_million_output_tokens"])),
            ("energy per output token", f"{f['energy_per_output_token_j']:.3f} J")]
    e = d.get("estimate")
    if e is not None:
        rows.append(("replica estimate", f"batch {e['batch_size']}, TTFT {fmt_s(e['ttft_s'])}, "
                                         f"TPOT {fmt_s(e['tpot_s'])}"))
    return Table(id="fleet-rows", title="Fleet", columns=("item", "value"), rows=tuple(rows))


def fleet_cost_chart(d: dict[str, Any]) -> Chart:
    f = d["plan"]
    other = f["annual_tco_usd"] - f["annual_cash_opex_usd"]
    traces = [{"type": "bar", "name": "cash opex (power, facility, maintenance, staff)",
               "x": ["annual TCO"], "y": [f["annual_cash_opex_usd"] / _MW],
               "marker": {"color": COLORS["orange"]}},
              {"type": "bar", "name": "depreciation and financing", "x": ["annual TCO"],
               "y": [other / _MW], "marker": {"color": COLORS["blue"]}}]
    return Chart(id="fleet-cost", title="Fleet cost per year", figure=figure(
        traces, title="Annual cost of the fleet ($M)", y_title="$M", barmode="stack",
        height=340))


def fleet_power_chart(d: dict[str, Any]) -> Chart:
    return _power_chart(d["plan"]["power"], "fleet-power")


def train_table(d: dict[str, Any]) -> Table:
    r, c = d["run"], d["chinchilla"]
    rows = [("run", f"{fmt_count(r['active_params'])} active parameters × "
                    f"{fmt_count(r['tokens'])} tokens = {r['flops']:.3e} FLOPs"),
            ("cluster", f"{r['num_accelerators']:,} × {r['accelerator']} at "
                        f"{fmt_pct(r['mfu_frac'])} MFU ({r['precision']})"),
            ("wall clock", f"{r['wall_s'] / DAY:,.1f} days"),
            ("accelerator-hours", fmt_count(r["accelerator_hours"])),
            ("cost", f"{fmt_money(r['cost_usd'])} at {fmt_usd(r['usd_per_accelerator_hour'])}/h"),
            ("energy", f"{r['energy_j'] / KWH / 1e6:,.2f} GWh"),
            ("carbon", f"{d['carbon_g'] / 1e6:,.0f} t CO2 ({d['grid']})"),
            ("Chinchilla-optimal for this compute", f"{fmt_count(c['params'])} parameters, "
                                                    f"{fmt_count(c['tokens'])} tokens")]
    return Table(id="train-rows", title="Training run", columns=("item", "value"),
                 rows=tuple(rows))


def train_chart(d: dict[str, Any]) -> Chart:
    r = d["run"]
    hours = r["accelerator_hours"]
    traces = [{"type": "bar", "name": "this run", "x": ["parameters (B)", "tokens (T)"],
               "y": [r["active_params"] / 1e9, r["tokens"] / 1e12],
               "marker": {"color": COLORS["blue"]}},
              {"type": "bar", "name": "Chinchilla-optimal", "x": ["parameters (B)", "tokens (T)"],
               "y": [d["chinchilla"]["params"] / 1e9, d["chinchilla"]["tokens"] / 1e12],
               "marker": {"color": COLORS["orange"]}}]
    return Chart(id="train-chinchilla", title="Run vs compute-optimal", figure=figure(
        traces, title="Parameters and tokens vs the Chinchilla point for the same compute",
        barmode="group", height=340),
        caption=f"{fmt_count(hours)} accelerator-hours, {fmt_money(r['cost_usd'])}.")
