"""The report of a plan: Pareto fronts of cost vs latency and of tokens/s per GPU vs tokens/s
per user, the recommended configuration highlighted, and the runner-up.

The report reads a planner result (``PlanResult`` or its ``to_dict()``, converted by
``from_planner``) or plain data, documented in docs/reports.md ("Plan data") and checked by
``plan_data``:

* ``candidates``: a list of rows (dicts), or a dict of equal-length columns; each row has an
  ``id`` and numeric cost and latency columns (names below, or set in ``columns``);
* ``pareto``: the ids on the cost–latency front, or ``{"cost_latency": [...],
  "throughput_interactivity": [...]}``; an entry is a candidate id or a point of its own (a
  dict with the front's two columns and a ``label``, e.g. the planner's analytic
  throughput curve); a front that is not given is drawn as the non-dominated candidates;
* ``recommended`` and ``runner_up``: a row, or the id of a candidate, with an optional
  ``why`` (or ``explanation``) string;
* optional ``title``, ``objective``, ``slo`` (``{"ttft_s": .., "tpot_s": ..}``) and
  ``columns`` (``{"cost": name, "latency": name, "throughput_per_gpu": name,
  "throughput_per_user": name}``).

Units are SI (seconds, tokens/s, $ per million tokens); the charts show ms.
"""

from __future__ import annotations

from typing import Any

from tokenworks.errors import ConfigError
from tokenworks.report.blocks import Chart, Note, Table
from tokenworks.report.figures import COLORS, figure
from tokenworks.report.format import fmt_s, to_jsonable

__all__ = ["DEFAULT_COLUMNS", "from_planner", "pareto_front", "plan_data"]

# Each role's column: the first of these a candidate has, unless ``columns`` names one.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "cost": ("usd_per_million_output_tokens", "usd_per_million_tokens",
             "usd_per_million_tokens_blended"),
    "latency": ("tpot_s", "e2e_s", "ttft_s"),
    "throughput_per_gpu": ("output_tokens_per_s_per_gpu", "tokens_per_s_per_gpu"),
    "throughput_per_user": ("output_tokens_per_s_per_user", "tokens_per_s_per_user"),
}
_FRONTS = ("cost_latency", "throughput_interactivity")
# Axis titles of the known cost columns (others show their own name).
_COST_TITLES = {"usd_per_million_output_tokens": "$ per million output tokens",
                "usd_per_million_tokens": "$ per million tokens",
                "usd_per_million_tokens_blended": "$ per million tokens (blended)"}


def _rows(candidates: Any) -> list[dict[str, Any]]:
    if isinstance(candidates, dict):
        cols = list(candidates)
        n = {len(v) for v in candidates.values()}
        if len(n) > 1:
            raise ConfigError(f"plan candidates given as columns must have equal lengths; "
                              f"got {dict(zip(cols, map(len, candidates.values()), strict=True))}.")
        return [dict(zip(cols, vals, strict=True)) for vals in zip(*candidates.values(),
                                                                   strict=True)]
    if isinstance(candidates, list) and all(isinstance(r, dict) for r in candidates):
        return [dict(r) for r in candidates]
    raise ConfigError("plan 'candidates' must be a list of rows (dicts) or a dict of columns.")


def _pick(role: str, rows: list[dict[str, Any]], given: dict[str, str]) -> str | None:
    if role in given:
        if not any(given[role] in r for r in rows):
            raise ConfigError(f"plan columns.{role} = '{given[role]}' is not a candidate column; "
                              f"columns: {', '.join(rows[0])}.")
        return given[role]
    return next((c for c in DEFAULT_COLUMNS[role] if any(r.get(c) is not None for r in rows)),
                None)


def pareto_front(rows: list[dict[str, Any]], x: str, y: str, *, x_better: str,
                 y_better: str) -> list[str]:
    """Ids of the rows no other row beats on both ``x`` and ``y`` ("low" or "high" better)."""
    def key(r: dict[str, Any]) -> tuple[float, float]:
        return ((r[x] if x_better == "low" else -r[x]), (r[y] if y_better == "low" else -r[y]))

    pts = sorted((key(r), str(r["id"])) for r in rows
                 if r.get(x) is not None and r.get(y) is not None)
    front, best = [], float("inf")
    for (_, b), rid in pts:
        if b < best:
            front.append(rid)
            best = b
    return front


def _ref(v: Any, by_id: dict[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
    if v is None:
        return None
    rid = str(v.get("id")) if isinstance(v, dict) else str(v)
    if rid not in by_id:
        raise ConfigError(f"plan {name} '{rid}' is not a candidate id; ids: "
                          f"{', '.join(list(by_id)[:10])}{' ...' if len(by_id) > 10 else ''}.")
    row = {**by_id[rid], **(v if isinstance(v, dict) else {})}
    row["why"] = row.get("why") or row.get("explanation") or ""
    return row


# The planner's latency columns, in the order one is chosen for the cost–latency chart when
# its front does not name one.
_PLANNER_LATENCY = ("tpot_p90_s", "tpot_p50_s", "e2e_p90_s", "ttft_p90_s", "tpot_p99_s",
                    "e2e_p50_s", "ttft_p50_s")


def is_planner_result(raw: Any) -> bool:
    return isinstance(raw, dict) and "recommendation" in raw and "plan" in raw


def from_planner(raw: dict[str, Any]) -> dict[str, Any]:
    """A planner result (``PlanResult.to_dict()``) as the plain data above: candidates keyed
    by their label, the SLO's first target as the latency column, the simulated cost–latency
    front by id and the analytic throughput curve as points of its own."""
    rows, seen = [], set()
    for c in raw.get("candidates") or []:
        r = {k: v for k, v in c.items() if k != "candidate"}
        rid = str(r.get("label") or r.get("key") or f"c{len(rows) + 1}")
        if rid in seen:  # the same layout in two modes: keep ids unique
            rid = f"{rid} #{r.get('rank', len(rows) + 1)}"
        seen.add(rid)
        rows.append({"id": rid, **r})
    by_label = {r.get("label"): r["id"] for r in rows}
    pareto = raw.get("pareto") or {}
    cl = pareto.get("cost_latency") or []
    lat = next((k for k in (cl[0] if cl else {}) if k.endswith("_s")), None) \
        or next((k for k in _PLANNER_LATENCY if any(r.get(k) is not None for r in rows)), None)
    q = raw.get("plan") or {}
    slo = {f"{t['metric']}_{t['percentile']}_s": t["limit_s"] for t in q.get("slo") or []
           if {"metric", "percentile", "limit_s"} <= set(t)}

    def ref(c: dict[str, Any] | None, why: str) -> dict[str, Any] | None:
        if not c:
            return None
        return {"id": by_label.get(c.get("label"), c.get("label")), "why": why}

    e = raw.get("explanation") or {}
    lines = e.get("lines") or []
    return {
        "title": " on ".join(str(x) for x in (q.get("name"), q.get("model")) if x) or "Plan",
        "objective": q.get("objective", ""), "slo": slo, "candidates": rows,
        "columns": {"cost": "usd_per_million_output_tokens", **({"latency": lat} if lat else {}),
                    "throughput_per_gpu": "output_tokens_per_s_per_gpu",
                    "throughput_per_user": "output_tokens_per_s_per_user"},
        "pareto": {"cost_latency": [by_label.get(p.get("label"), p.get("label")) for p in cl],
                   "throughput_interactivity": list(pareto.get("throughput_interactivity")
                                                    or [])},
        "recommended": ref(raw.get("recommendation"), " ".join(lines[:1]) or
                           e.get("binding", "")),
        "runner_up": ref(raw.get("runner_up"), e.get("runner_up_lost", "")),
        "diagnosis": list(raw.get("diagnosis") or []),
    }


def plan_data(plan: Any) -> dict[str, Any]:
    """The plan as checked chart data: rows with ids, the role columns, both fronts, the
    recommended and runner-up rows. Accepts the dict above, a planner result, or an object
    with ``to_dict()`` giving either."""
    raw = plan.to_dict() if hasattr(plan, "to_dict") else plan
    if is_planner_result(raw):
        raw = from_planner(raw)
    if not isinstance(raw, dict) or "candidates" not in raw:
        raise ConfigError("a plan needs 'candidates' (rows with id, cost and latency columns); "
                          "see docs/reports.md, 'Plan data'.")
    rows = _rows(raw["candidates"])
    if not rows:
        raise ConfigError("the plan has no candidates to show.")
    for i, r in enumerate(rows):
        r.setdefault("id", f"c{i + 1}")
        r["id"] = str(r["id"])
    given = raw.get("columns") or {}
    cols = {role: _pick(role, rows, given) for role in DEFAULT_COLUMNS}
    if cols["cost"] is None or cols["latency"] is None:
        raise ConfigError(f"plan candidates need a cost and a latency column: one of "
                          f"{', '.join(DEFAULT_COLUMNS['cost'])} and one of "
                          f"{', '.join(DEFAULT_COLUMNS['latency'])}, or name them in 'columns'.")
    if cols["throughput_per_user"] is None and cols["latency"] == "tpot_s":
        # ASSUMPTION: with no per-user column, a user's speed is its decode stream's, 1 / TPOT.
        for r in rows:
            r["output_tokens_per_s_per_user"] = 1.0 / r["tpot_s"] if r.get("tpot_s") else None
        cols["throughput_per_user"] = "output_tokens_per_s_per_user"
    p = raw.get("pareto")
    fronts: dict[str, list[str] | None] = dict.fromkeys(_FRONTS)
    points: dict[str, list[dict[str, Any]]] = {f: [] for f in _FRONTS}
    axes = {"cost_latency": ("latency", "cost"),
            "throughput_interactivity": ("throughput_per_user", "throughput_per_gpu")}

    def entries(front: str, v: Any) -> list[str]:
        if not isinstance(v, list):
            raise ConfigError(f"plan pareto {front} must be a list of candidate ids or points.")
        ids = []
        for x in v:
            if isinstance(x, dict) and "id" not in x:
                need = [cols[a] for a in axes[front]]
                if None in need or any(not isinstance(x.get(c), int | float) for c in need):
                    raise ConfigError(
                        f"plan pareto {front} point {x.get('label', x)} has no id and not "
                        f"both of its columns ({', '.join(str(c) for c in need)}); give a "
                        f"candidate id or a point with those columns.")
                points[front].append({"label": str(x.get("label", "")), **x})
            else:
                ids.append(str(x.get("id") if isinstance(x, dict) else x))
        return ids

    if isinstance(p, dict):
        fronts.update({k: entries(k, v) for k, v in p.items() if k in _FRONTS})
    elif isinstance(p, list):
        fronts["cost_latency"] = entries("cost_latency", p)
    for k in _FRONTS:  # an empty front (the planner found none) is drawn by the report
        if fronts[k] == [] and not points[k]:
            fronts[k] = None
    computed = []
    if fronts["cost_latency"] is None:
        fronts["cost_latency"] = pareto_front(rows, cols["latency"], cols["cost"],
                                              x_better="low", y_better="low")
        computed.append("cost_latency")
    if fronts["throughput_interactivity"] is None and cols["throughput_per_gpu"] \
            and cols["throughput_per_user"]:
        fronts["throughput_interactivity"] = pareto_front(
            rows, cols["throughput_per_user"], cols["throughput_per_gpu"], x_better="high",
            y_better="high")
        computed.append("throughput_interactivity")
    by_id = {r["id"]: r for r in rows}
    for name, ids in fronts.items():
        missing = [i for i in ids or [] if i not in by_id]
        if missing:
            raise ConfigError(f"plan pareto {name} names ids that are not candidates: "
                              f"{', '.join(missing[:5])}.")
    return to_jsonable({"title": raw.get("title", "Plan"), "objective": raw.get("objective", ""),
            "slo": raw.get("slo") or {}, "columns": cols, "candidates": rows,
            "pareto": fronts, "pareto_points": points, "fronts_computed_by_report": computed,
            "diagnosis": list(raw.get("diagnosis") or []),
            "recommended": _ref(raw.get("recommended"), by_id, "recommended"),
            "runner_up": _ref(raw.get("runner_up"), by_id, "runner_up")})


def _label(r: dict[str, Any]) -> str:
    return str(r.get("label") or r["id"])


def _front_chart(d: dict[str, Any], *, front: str, x: str, y: str, x_scale: float,
                 x_title: str, y_title: str, chart_id: str, title: str) -> Chart | None:
    xc, yc = d["columns"][x], d["columns"][y]
    ids = d["pareto"].get(front)
    if xc is None or yc is None or (ids is None and not d["pareto_points"].get(front)):
        return None
    rows = [r for r in d["candidates"] if r.get(xc) is not None and r.get(yc) is not None]
    by_id = {r["id"]: r for r in rows}
    fr = sorted([*(by_id[i] for i in ids if i in by_id), *d["pareto_points"].get(front, [])],
                key=lambda r: r[xc])

    def pts(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"x": [r[xc] * x_scale for r in rs], "y": [r[yc] for r in rs],
                "text": [_label(r) for r in rs]}

    traces = [
        {"type": "scatter", "mode": "markers", "name": "candidates", **pts(rows),
         "marker": {"color": "#bbbbbb", "size": 7},
         "hovertemplate": "%{text}: %{x:.4g}, %{y:.4g}<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Pareto front", **pts(fr),
         "line": {"color": COLORS["blue"], "shape": "hv" if front == "cost_latency" else "linear"},
         "marker": {"color": COLORS["blue"], "size": 9},
         "hovertemplate": "%{text}: %{x:.4g}, %{y:.4g}<extra>front</extra>"},
    ]
    for key, name, color, symbol in (("runner_up", "runner-up", COLORS["orange"], "diamond"),
                                     ("recommended", "recommended", COLORS["red"], "star")):
        r = d.get(key)
        if r is not None and r.get(xc) is not None and r.get(yc) is not None:
            traces.append({"type": "scatter", "mode": "markers+text", "name": name,
                           **pts([r]), "textposition": "top center",
                           "marker": {"color": color, "size": 18, "symbol": symbol,
                                      "line": {"color": "#000", "width": 1}}})
    shapes = []
    lat_slo = d["slo"].get(d["columns"]["latency"]) if x == "latency" else None
    if lat_slo is not None:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": lat_slo * x_scale,
                       "x1": lat_slo * x_scale, "y0": 0, "y1": 1,
                       "line": {"color": COLORS["red"], "dash": "dash"}})
    return Chart(id=chart_id, title=title, figure=figure(
        traces, title=title, x_title=x_title, y_title=y_title, height=420, shapes=shapes),
        caption=f"{len(rows)} candidates, {len(fr)} on the front"
                + (f" ({len(d['pareto_points'][front])} points from the plan's own curve)"
                   if d["pareto_points"].get(front) else "")
                + (" (front drawn by the report: the plan gave none)"
                   if front in d["fronts_computed_by_report"] else "") + ".")


def cost_latency_chart(d: dict[str, Any]) -> Chart | None:
    lat = d["columns"]["latency"].removesuffix("_s").upper()
    return _front_chart(d, front="cost_latency", x="latency", y="cost", x_scale=1e3,
                        x_title=f"{lat} (ms)",
                        y_title=_COST_TITLES.get(d["columns"]["cost"], d["columns"]["cost"]),
                        chart_id="pareto-cost-latency", title="Cost vs latency")


def throughput_chart(d: dict[str, Any]) -> Chart | None:
    return _front_chart(d, front="throughput_interactivity", x="throughput_per_user",
                        y="throughput_per_gpu", x_scale=1.0,
                        x_title="output tokens/s per user", y_title="output tokens/s per GPU",
                        chart_id="pareto-throughput", title="Throughput per GPU vs per user")


def _fmt(v: Any, col: str) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return fmt_s(v) if col.endswith("_s") else f"{v:,.4g}"
    return str(v)


def recommendation_table(d: dict[str, Any]) -> Table | None:
    picks = [(name, d[key]) for key, name in (("recommended", "recommended"),
                                             ("runner_up", "runner-up")) if d.get(key)]
    if not picks:
        return None
    keys = [k for k in picks[0][1] if k not in ("why", "explanation")]
    rows = [(k, *(_fmt(r.get(k), k) for _, r in picks)) for k in keys]
    rows.append(("why", *(r["why"] or "—" for _, r in picks)))
    return Table(id="plan-recommendation", title="Recommendation",
                 columns=("", *(n for n, _ in picks)), rows=tuple(rows))


def candidates_table(d: dict[str, Any]) -> Table:
    rows = d["candidates"]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    on_front = set(d["pareto"].get("cost_latency") or [])
    rec = (d.get("recommended") or {}).get("id")
    run = (d.get("runner_up") or {}).get("id")

    def role(r: dict[str, Any]) -> str:
        return ("recommended" if r["id"] == rec else "runner-up" if r["id"] == run
                else "front" if r["id"] in on_front else "")

    return Table(id="plan-candidates", title="Candidates", columns=("role", *keys),
                 rows=tuple((role(r), *(_fmt(r.get(k), k) for k in keys)) for r in rows),
                 filterable=True, filter_column="role")


def diagnosis_note(d: dict[str, Any]) -> Note | None:
    """Why nothing met the SLO (the planner's diagnosis), shown before the charts."""
    if not d.get("diagnosis"):
        return None
    return Note(id="plan-diagnosis", title="No configuration meets the SLO",
                text=" ".join(d["diagnosis"]), warning=True)
