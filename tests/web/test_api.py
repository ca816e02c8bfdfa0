"""The JSON API on a TestClient: runs, errors by field, background work, files, uploads."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest
from webtools import ROOT, wait_done


def _get(client):
    return lambda url: client.get(url).json()


def _post(client, kind, **inputs):
    return client.post("/api/runs", json={"kind": kind, "inputs": inputs})


def test_an_estimate_is_answered_at_once_with_its_files_and_report(client):
    r = _post(client, "estimate", model="llama-3.1-8b", hardware="h100-sxm", num_gpus="1",
              tp="1", input_tokens="1024")
    assert r.status_code == 201
    run = r.json()
    assert run["status"] == "done" and run["kind"] == "estimate"
    assert run["inputs"]["input_tokens"] == 1024 and run["summary"]["tp"] == 1
    assert set(run["files"]) >= {"result.json", "result.csv", "curve.csv", "curve.parquet"}
    res = client.get(f"/api/runs/{run['id']}/files/result.json").json()
    assert res["input_tokens"] == 1024 and res["ttft_s"] == pytest.approx(
        run["summary"]["ttft_s"])
    table = pq.read_table(io.BytesIO(client.get(f"/api/runs/{run['id']}/files/curve.parquet")
                                     .content))
    assert "tpot_s" in table.column_names
    rep = client.get(f"/api/runs/{run['id']}/report.json").json()
    charts = [b["id"] for b in rep["blocks"] if b["kind"] == "chart"]
    assert charts == ["roofline", "latency-throughput", "memory-plan", "step-breakdown"]
    html = client.get(f"/api/runs/{run['id']}/report.html")
    assert html.headers["content-disposition"].startswith("attachment")
    assert 'data-block="roofline"' in html.text


def test_an_estimate_takes_the_engine_and_a_latency_target_like_the_cli(client):
    from tokenworks.api import estimate

    r = _post(client, "estimate", model="llama-3.1-8b", hardware="h100-sxm", num_gpus="1",
              tp="1", engine="sglang", tpot_slo_ms="20")
    assert r.status_code == 201, r.json()
    res = client.get(f"/api/runs/{r.json()['id']}/files/result.json").json()
    cli = estimate("llama-3.1-8b", "h100-sxm", num_gpus=1, tp=1, weights_dtype="fp8",
                   engine="sglang", tpot_slo_s=0.02)
    assert res["engine"] == "sglang" and res["batch_size"] == cli.batch_size
    assert res["tpot_s"] <= 0.02
    bad = _post(client, "estimate", engine="tgi")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "engine"


@pytest.mark.parametrize("inputs,field,needle", [
    ({"tp": "0"}, "tp", "it must be a whole number >= 1"),
    ({"tp": "abc"}, "tp", "tp = 'abc'"),
    ({"hardware": "h100"}, "hardware", "Did you mean"),
    ({"model": "llama-9"}, "model", "not in the catalog"),
    ({"prefix_hit_frac": "1.5"}, "prefix_hit_frac", "must be >= 0 and < 1"),
    ({"input_tokens": "200000"}, "input_tokens", "context window"),
    ({"num_gpus": "12"}, "num_gpus", "multiples of 8"),
    ({"colour": "red"}, None, "'colour' is not an input"),
])
def test_a_bad_field_is_named_with_its_rule(client, inputs, field, needle):
    r = _post(client, "estimate", **inputs)
    assert r.status_code == 422
    errs = r.json()["errors"]
    assert errs[0]["field"] == field and needle in errs[0]["message"]
    assert client.get("/api/runs").json() == []  # nothing stored


def test_economics_errors_are_the_clis(client):
    r = _post(client, "tco", accelerator="h100-sxm", utilization_frac="2")
    assert r.status_code == 422
    e = r.json()["errors"][0]
    assert e["field"] == "utilization_frac" and "<= 1" in e["message"]
    r = _post(client, "tco", colour=1)
    assert r.json()["errors"][0]["field"] == "more"  # unknown keys belong to the free lines
    r = client.post("/api/runs", json={"kind": "nope", "inputs": {}})
    assert r.status_code == 422  # not a run kind (checked by the schema)


@pytest.mark.parametrize("kind,inputs,summary_key", [
    ("tco", {"accelerator": "h100-sxm", "output_tokens_per_s": 1000}, "usd_per_million_tokens"),
    ("pnl", {"num_accelerators": 64}, "npv_usd"),
    ("power", {"accelerator": "gb200", "num_accelerators": 72}, "facility_power_w"),
    ("fleet", {"model": "llama-3.1-8b", "accelerator": "h100-sxm", "tp": 1,
               "demand_output_tokens_per_day": 1e9}, "num_accelerators"),
    ("train", {"model": "llama-3.1-8b", "tokens": 1e11, "num_accelerators": 64}, "cost_usd"),
    ("capital", {}, "capital_ceiling_usd_base"),
    ("sensitivity", {"accelerator": "h100-sxm", "metric": "tco_usd_per_hour",
                     "grid_x": ["pue", [1.1, 1.3]], "grid_y": ["utilization_frac", [0.5, 0.7]]},
     "top_input"),
])
def test_every_economics_question_runs(client, kind, inputs, summary_key):
    r = _post(client, kind, **inputs)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "done" and summary_key in run["summary"]
    rep = client.get(f"/api/runs/{run['id']}/report.json").json()
    assert any(b["kind"] == "chart" for b in rep["blocks"])
    assert "result.json" in run["files"]


def test_a_simulation_runs_in_the_background_and_leaves_its_records(client):
    r = _post(client, "simulate", num_requests="60", rate_per_s="5")
    assert r.status_code == 201 and r.json()["status"] in ("queued", "running", "done")
    st = wait_done(_get(client), r.json()["id"])
    assert st["status"] == "done", st["error"]
    assert st["summary"]["num_completed"] == 60
    rid = st["id"]
    table = pq.read_table(io.BytesIO(client.get(f"/api/runs/{rid}/files/requests.parquet")
                                     .content))
    assert table.num_rows == 60
    csv = client.get(f"/api/runs/{rid}/files/requests.csv").text
    assert csv.splitlines()[0].startswith('"request_id"') or csv.startswith("request_id")
    assert "workload:" in client.get(f"/api/runs/{rid}/files/scenario.yaml").text
    rep = client.get(f"/api/runs/{rid}/report.json").json()
    ids = [b["id"] for b in rep["blocks"]]
    assert {"ttft-cdf", "tpot-cdf", "e2e-cdf", "queue", "utilization"} <= set(ids)
    frag = client.get(f"/runs/{rid}/fragment").text
    assert f"r{rid[:8]}-ttft-cdf-figure" in frag and "requests.parquet" in frag


def test_a_long_run_can_be_cancelled(client):
    r = _post(client, "simulate", num_requests="200000", rate_per_s="200")
    rid = r.json()["id"]
    get = _get(client)
    for _ in range(400):  # wait for it to start and report progress
        st = get(f"/api/runs/{rid}")
        if st["status"] == "running" and st["progress"] and st["progress"]["done"] > 0:
            break
        import time

        time.sleep(0.05)
    assert st["progress"]["expected"] == 200000
    assert client.post(f"/api/runs/{rid}/cancel").status_code == 200
    st = wait_done(get, rid)
    assert st["status"] == "cancelled" and st["files"] == []


def test_a_full_queue_refuses_with_its_limit(client):
    get = _get(client)
    first = _post(client, "simulate", num_requests="200000", rate_per_s="200").json()["id"]
    for _ in range(400):
        if get(f"/api/runs/{first}")["status"] == "running":
            break
        import time

        time.sleep(0.02)
    queued = [_post(client, "simulate", num_requests="100").json()["id"] for _ in range(2)]
    r = _post(client, "simulate", num_requests="100")
    assert r.status_code == 503 and "the limit is 2" in r.json()["detail"]
    for rid in (first, *queued):
        client.post(f"/api/runs/{rid}/cancel")
    states = {rid: wait_done(get, rid) for rid in (first, *queued)}
    assert all(s["status"] == "cancelled" for s in states.values()), states


def test_uploads_are_checked_limited_and_usable(client):
    scenario = (ROOT / "examples" / "agentic.yaml").read_bytes()
    up = client.post("/api/uploads?kind=scenario",
                     files={"file": ("agentic.yaml", scenario, "application/yaml")})
    assert up.status_code == 201 and up.json()["describes"] == "scenario 'agentic'"
    assert client.get("/api/uploads").json() == ["agentic.yaml"]
    r = _post(client, "simulate", scenario_file="agentic.yaml", max_requests="4")
    st = wait_done(_get(client), r.json()["id"])
    assert st["status"] == "done" and st["inputs"] == {"scenario_file": "agentic.yaml",
                                                       "max_requests": 4}
    big = client.post("/api/uploads?kind=trace",
                      files={"file": ("big.csv", b"x" * 60_000, "text/csv")})
    assert big.status_code == 413 and "limit of 0.1 MB" in big.json()["detail"]
    bad = client.post("/api/uploads?kind=scenario",
                      files={"file": ("bad.yaml", b"name: x\ncolour: red\n", "text/yaml")})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "file"
    assert "colour" in bad.json()["detail"]
    sneaky = client.post("/api/uploads?kind=scenario",
                         files={"file": ("../../etc.yaml", scenario, "text/yaml")})
    assert sneaky.status_code == 201 and sneaky.json()["name"] == "etc.yaml"


def test_a_scenario_may_only_read_uploaded_files(client):
    sc = {"name": "t", "model": "llama-3.1-8b", "hardware": {"accelerator": "h100-sxm"},
          "trace": {"path": "/etc/passwd"}}
    r = _post(client, "simulate", scenario=sc)
    assert r.status_code == 422 and "not a plain file name" in r.json()["detail"]
    sc["trace"]["path"] = "mine.csv"
    r = _post(client, "simulate", scenario=sc)
    assert "is not one of your uploads" in r.json()["detail"]


def test_an_uploaded_config_json_is_a_model(client):
    cfg = next((ROOT / "src" / "tokenworks" / "data" / "models").glob("llama-3.1-8b*.json"))
    up = client.post("/api/uploads?kind=config",
                     files={"file": ("my-model.json", cfg.read_bytes(), "application/json")})
    assert up.status_code == 201 and up.json()["use_as"] == "upload:my-model.json"
    r = _post(client, "estimate", model="upload:my-model.json", hardware="h100-sxm",
              num_gpus="1", tp="1")
    assert r.status_code == 201 and r.json()["status"] == "done"


PLAN = {"candidates": [{"id": "a", "usd_per_million_output_tokens": 1.0, "tpot_s": 0.02},
                       {"id": "b", "usd_per_million_output_tokens": 0.5, "tpot_s": 0.05}],
        "pareto": ["a", "b"], "recommended": "b", "runner_up": "a"}


def test_a_plan_result_is_shown_and_a_bad_one_refused(client):
    r = _post(client, "plan", result=PLAN)
    assert r.status_code == 201 and r.json()["summary"]["recommended"] == "b"
    rep = client.get(f"/api/runs/{r.json()['id']}/report.json").json()
    assert "pareto-cost-latency" in [b["id"] for b in rep["blocks"]]
    bad = _post(client, "plan", result={"candidates": []})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "result"


SPEC = """model: llama-3.1-8b
demand: {rate_per_s: 4, input_tokens: 600, output_tokens: 100}
slo: {ttft_s: 1.0, tpot_s: 0.05}
search: {hardware: [h100-sxm], tp: [1], weights_dtypes: [fp8]}
simulation: {top_k: 1, num_requests: 150}
"""


def test_a_plan_spec_runs_the_planner_in_the_background(client):
    r = _post(client, "plan", spec=SPEC)
    assert r.status_code == 201, r.json()
    st = wait_done(_get(client), r.json()["id"])
    assert st["status"] == "done", st["error"]
    assert "h100-sxm tp1" in st["summary"]["recommended"]
    rep = client.get(f"/api/runs/{st['id']}/report.json").json()
    ids = [b["id"] for b in rep["blocks"]]
    assert "pareto-cost-latency" in ids and "pareto-throughput" in ids


@pytest.mark.parametrize(("spec", "needle"), [
    ("/etc/passwd", "spec must be a plan spec"),
    ("model: [unclosed", "not valid YAML"),
    (SPEC.replace("demand: {rate_per_s: 4,", "demand: {trace: hosts.csv,"),
     "not one of your uploads"),
    (SPEC.replace("model: llama-3.1-8b", "model: llama-9"), "llama-9"),
])
def test_a_bad_plan_spec_is_a_422_and_reads_no_server_file(client, spec, needle):
    r = _post(client, "plan", spec=spec)
    assert r.status_code == 422
    assert needle in " ".join(e["message"] for e in r.json()["errors"])


def test_clients_see_their_own_runs_and_compare_any(client):
    mine = _post(client, "pnl", num_accelerators=64).json()["id"]
    other = client.post("/api/runs", json={"kind": "pnl", "inputs": {"num_accelerators": 128}},
                        headers={"X-Tokenworks-Client": "b" * 32}).json()["id"]
    assert [r["id"] for r in client.get("/api/runs").json()] == [mine]
    assert {r["id"] for r in client.get("/api/runs?all=true").json()} == {mine, other}
    cmp = client.get(f"/api/compare?ids={mine},{other}").json()["runs"]
    assert [r["inputs"]["num_accelerators"] for r in cmp] == [64, 128]
    page = client.get(f"/compare?ids={mine},{other}")
    assert page.status_code == 200 and page.text.count('class="compare-col"') == 2
    assert client.delete(f"/api/runs/{other}").status_code == 403
    assert client.delete(f"/api/runs/{mine}").status_code == 204
    assert client.get(f"/api/runs/{mine}").status_code == 404


def test_the_api_is_documented(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/cancel",
                 "/api/runs/{run_id}/report.json", "/api/runs/{run_id}/files/{name}",
                 "/api/uploads", "/api/catalog/{name}", "/api/compare"):
        assert path in spec["paths"], path
    assert "/" not in spec["paths"]  # pages are not API
    models = client.get("/api/catalog/models").json()
    assert any(m["name"] == "llama-3.1-70b" for m in models)
    assert set(client.get("/api/kinds").json()) >= {"estimate", "simulate", "plan", "tco"}


def test_pages_and_static_files_are_served_offline(client):
    page = client.get("/")
    assert page.status_code == 200 and 'data-error-for="tp"' in page.text
    assert "Serving on testclient" in page.text
    for name in ("app.js", "app.css", "report.js", "report.css", "plotly.min.js"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and len(r.content) > 500, name
    assert client.get("/static/../pyproject.toml").status_code == 404
    assert "https://" not in page.text.split("</head>")[0]  # nothing fetched from the web
    missing = client.get("/runs/<script>alert(1)</script>")
    assert missing.status_code == 404 and "<script>" not in missing.text
    assert json.loads(client.get("/api/runs/nope").text)["detail"].startswith("no run")


def test_a_declared_oversize_upload_is_refused_before_it_is_read(client):
    r = client.post("/api/uploads?kind=trace", content=b"x" * 200_000,
                    headers={"Content-Type": "multipart/form-data; boundary=zz"})
    assert r.status_code == 413 and "limit of 0.1 MB" in r.json()["detail"]


def test_every_run_keeps_its_request_to_send_again(client):
    run = _post(client, "power", accelerator="h100-sxm", num_accelerators=8).json()
    again = client.get(f"/api/runs/{run['id']}/files/inputs.json").json()
    assert again == {"kind": "power", "inputs": {"accelerator": "h100-sxm",
                                                 "num_accelerators": 8}}
    assert client.post("/api/runs", json=again).json()["summary"] == run["summary"]


def test_an_uploaded_trace_is_replayed_by_the_quick_form(client):
    rows = "\n".join(f"{0.2 * i:.1f},{300 + 10 * i},{20 + i}" for i in range(30))
    trace = f"arrived_at,num_prefill_tokens,num_decode_tokens\n{rows}\n".encode()
    up = client.post("/api/uploads?kind=trace", files={"file": ("mine.csv", trace, "text/csv")})
    assert up.status_code == 201 and up.json()["describes"] == "trace of 30 requests"
    r = _post(client, "simulate", trace_file="mine.csv", model="llama-3.1-8b",
              hardware="h100-sxm")
    st = wait_done(_get(client), r.json()["id"])
    assert st["status"] == "done" and st["summary"]["num_requests"] == 30
    scenario = client.get(f"/api/runs/{st['id']}/files/scenario.yaml").text
    assert "path: mine.csv" in scenario and "workload" not in scenario


def test_an_uploaded_calibration_prices_the_estimate(client):
    from dataclasses import replace

    from tokenworks.perf import calibration_to_toml, packaged_calibration

    # No per-accelerator overrides: the slow step applies to the H100.
    slow = replace(packaged_calibration(), overrides=(), step_overhead_s=0.05,
                   source="test: slow steps")
    up = client.post("/api/uploads?kind=calibration", files={
        "file": ("slow.toml", calibration_to_toml(slow).encode(), "application/toml")})
    assert up.status_code == 201 and "test: slow steps" in up.json()["describes"]
    base = dict(model="llama-3.1-8b", hardware="h100-sxm", num_gpus="1", tp="1", batch="8")
    fast = _post(client, "estimate", **base).json()["summary"]["tpot_s"]
    run = _post(client, "estimate", calibration="slow.toml", **base).json()
    assert run["summary"]["tpot_s"] > fast + 0.04
    rep = client.get(f"/api/runs/{run['id']}/report.json").json()
    defaults = next(b for b in rep["blocks"] if b["id"] == "defaults-used")
    assert "packaged fit" not in str(defaults["rows"])
    data = client.get(f"/api/runs/{run['id']}/files/report_data.json").json()["data"]
    assert data["curve"]["calibration_source"] == "test: slow steps"
    bad = _post(client, "estimate", calibration="nope.toml", **base)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "calibration"


def test_an_uploaded_plan_spec_runs(client):
    up = client.post("/api/uploads?kind=plan_spec",
                     files={"file": ("chat.yaml", SPEC.encode(), "application/yaml")})
    assert up.status_code == 201 and up.json()["describes"] == "plan spec for llama-3.1-8b"
    bad = client.post("/api/uploads?kind=plan_spec",
                      files={"file": ("b.yaml", b"model: x\nslo: {tpot: 1}\n", "text/yaml")})
    assert bad.status_code == 422 and "tpot" in bad.json()["detail"]
    r = _post(client, "plan", spec_file="chat.yaml")
    st = wait_done(_get(client), r.json()["id"])
    assert st["status"] == "done", st["error"]
    assert st["inputs"] == {"spec_file": "chat.yaml"}


def test_an_estimate_takes_moe_layouts_and_speculative_decoding(client):
    r = _post(client, "estimate", model="deepseek-v3", hardware="h200", num_gpus="8", tp="1",
              dp="8", ep="8", weights_dtype="fp8_block", engine="sglang", batch="32",
              spec="mtp", spec_acceptance_length="2.4")
    assert r.status_code == 201, r.json()
    res = client.get(f"/api/runs/{r.json()['id']}/files/result.json").json()
    assert res["dp"] == 8 and res["speculative"]["method"] == "mtp"
    bad = _post(client, "estimate", model="deepseek-v3", hardware="h200", spec="mtp",
                spec_acceptance_length="9")
    assert bad.status_code == 422 and "acceptance_length" in bad.json()["errors"][0]["message"]
