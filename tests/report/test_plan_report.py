"""report.plan against hand-made plan data (the planner, issue #13, is not wired yet)."""

from __future__ import annotations

import pytest

from tokenworks.errors import ConfigError
from tokenworks.report.plan import pareto_front, plan_data
from tokenworks.report.registry import build_report

# Five configurations: cost ($/M output tokens) and TPOT (s). c1, c2, c4 are on the
# cost–latency front (no other is both cheaper and faster); c3 is beaten by c2, c5 by c4.
ROWS = [
    {"id": "c1", "hardware": "h100-sxm", "tp": 1, "usd_per_million_output_tokens": 0.40,
     "tpot_s": 0.080, "output_tokens_per_s_per_gpu": 2600.0},
    {"id": "c2", "hardware": "h100-sxm", "tp": 2, "usd_per_million_output_tokens": 0.55,
     "tpot_s": 0.040, "output_tokens_per_s_per_gpu": 1900.0},
    {"id": "c3", "hardware": "h200", "tp": 2, "usd_per_million_output_tokens": 0.60,
     "tpot_s": 0.045, "output_tokens_per_s_per_gpu": 1700.0},
    {"id": "c4", "hardware": "b200", "tp": 4, "usd_per_million_output_tokens": 0.90,
     "tpot_s": 0.015, "output_tokens_per_s_per_gpu": 1200.0},
    {"id": "c5", "hardware": "b200", "tp": 8, "usd_per_million_output_tokens": 1.40,
     "tpot_s": 0.016, "output_tokens_per_s_per_gpu": 600.0},
]
PLAN = {"title": "70B chat at TPOT <= 50 ms", "slo": {"tpot_s": 0.05}, "candidates": ROWS,
        "pareto": ["c1", "c2", "c4"],
        "recommended": {"id": "c2", "why": "cheapest that meets the 50 ms TPOT SLO"},
        "runner_up": "c4"}


def test_pareto_front_by_hand():
    assert pareto_front(ROWS, "tpot_s", "usd_per_million_output_tokens", x_better="low",
                        y_better="low") == ["c4", "c2", "c1"]
    # tokens/s per user (1 / TPOT) vs tokens/s per GPU, both better high.
    d = plan_data({"candidates": ROWS})
    assert d["pareto"]["throughput_interactivity"] == ["c4", "c2", "c1"]
    assert d["fronts_computed_by_report"] == ["cost_latency", "throughput_interactivity"]


def test_plan_data_checks_and_resolves_rows():
    d = plan_data(PLAN)
    assert d["columns"]["cost"] == "usd_per_million_output_tokens"
    assert d["columns"]["latency"] == "tpot_s"
    assert d["columns"]["throughput_per_user"] == "output_tokens_per_s_per_user"
    assert d["recommended"]["hardware"] == "h100-sxm" and d["recommended"]["why"].startswith("cheap")
    assert d["runner_up"]["id"] == "c4" and d["runner_up"]["why"] == ""
    assert d["pareto"]["cost_latency"] == ["c1", "c2", "c4"]
    assert d["fronts_computed_by_report"] == ["throughput_interactivity"]


def test_candidates_as_columns_are_the_same_plan():
    cols = {k: [r[k] for r in ROWS] for k in ROWS[0]}
    assert plan_data({**PLAN, "candidates": cols})["candidates"] == plan_data(PLAN)["candidates"]


def test_plan_from_an_object_with_to_dict():
    class PlanResult:
        def to_dict(self):
            return PLAN

    assert plan_data(PlanResult())["recommended"]["id"] == "c2"


@pytest.mark.parametrize("bad,needle", [
    ({"pareto": []}, "needs 'candidates'"),
    ({"candidates": [{"id": "a", "x": 1}]}, "cost and a latency column"),
    ({**PLAN, "recommended": "zz"}, "recommended 'zz' is not a candidate id"),
    ({**PLAN, "pareto": ["c1", "nope"]}, "not candidates: nope"),
    ({**PLAN, "columns": {"cost": "price"}}, "columns.cost = 'price'"),
    ({"candidates": {"id": ["a", "b"], "tpot_s": [0.1]}}, "equal lengths"),
])
def test_bad_plans_say_what_is_wrong(bad, needle):
    with pytest.raises(ConfigError, match=needle):
        plan_data(bad)


def test_plan_report_highlights_the_recommendation():
    rep = build_report("plan", plan_data(PLAN))
    ids = [b.id for b in rep.blocks]
    assert ids[:4] == ["plan-recommendation", "pareto-cost-latency", "pareto-throughput",
                       "plan-candidates"]
    traces = {t["name"]: t for t in rep.block("pareto-cost-latency").figure["data"]}
    assert traces["recommended"]["x"] == [pytest.approx(40.0)]  # TPOT in ms
    assert traces["recommended"]["y"] == [0.55]
    assert traces["runner-up"]["text"] == ["c4"]
    assert traces["Pareto front"]["text"] == ["c4", "c2", "c1"]  # drawn by latency
    assert len(traces["candidates"]["x"]) == 5
    # The SLO is drawn on the latency axis.
    shapes = rep.block("pareto-cost-latency").figure["layout"]["shapes"]
    assert shapes[0]["x0"] == pytest.approx(50.0)
    table = rep.block("plan-candidates")
    roles = {row[1]: row[0] for row in table.rows}
    assert roles == {"c1": "front", "c2": "recommended", "c3": "", "c4": "runner-up", "c5": ""}
    assert table.filter_column == "role"
    rec = rep.block("plan-recommendation")
    assert rec.columns == ("", "recommended", "runner-up")
    assert rec.rows[-1][1] == "cheapest that meets the 50 ms TPOT SLO"
