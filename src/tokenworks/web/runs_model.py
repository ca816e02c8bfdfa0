"""Runs of the model: estimate, simulate, the claims ledger, and plan (a documented hook).

Each ``prepare_*`` checks its inputs with the CLI's own validation (the ``api`` functions and
``io.scenario``) and returns a ``Prepared`` run; only ``execute`` does the work, so a bad field
is reported before anything is queued. Simulations, the ledger and plans are ``long`` (they go
to the background worker); an estimate answers at once.
"""

from __future__ import annotations

import json
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import yaml

from tokenworks.api import estimate, simulate
from tokenworks.api.plan import load_plan
from tokenworks.api.plan import plan as run_plan
from tokenworks.claims import run_ledger
from tokenworks.errors import ConfigError, ScenarioError
from tokenworks.io.calibration import read_calibration
from tokenworks.io.plan import read_plan_file
from tokenworks.io.scenario import scenario_price, simulation_spec
from tokenworks.io.scenario_file import Scenario, parse_scenario_dict
from tokenworks.perf.deployment import make_spec_decode
from tokenworks.report.data import result_data
from tokenworks.report.plan import plan_data
from tokenworks.web.forms import EstimateInputs, SimulateInputs
from tokenworks.web.outputs import Output, Prepared, Progress, table_files
from tokenworks.web.uploads import UPLOAD_PREFIX, Uploads

__all__ = ["prepare_claims", "prepare_estimate", "prepare_plan",
           "prepare_simulate"]


def prepare_estimate(inputs: dict[str, Any], uploads: Uploads) -> Prepared:
    form = EstimateInputs.model_validate(inputs)
    args = form.model_dump()
    model = args.pop("model")
    if model.startswith(UPLOAD_PREFIX) or model.lower().endswith(".json"):
        model = str(uploads.path(model, what="model config.json"))
    cal_name = args.pop("calibration")
    cal = None if cal_name is None else read_calibration(
        uploads.path(cal_name, what="calibration"))
    for k in ("tpot_slo", "ttft_slo"):  # the form takes ms, as the CLI's flags
        ms = args.pop(f"{k}_ms")
        args[f"{k}_s"] = None if ms is None else ms / 1e3
    method, k, length, draft = (args.pop(n) for n in ("spec", "spec_tokens",
                                                      "spec_acceptance_length", "draft_model"))
    args["spec"] = None if method is None else make_spec_decode(
        method, num_tokens=k, acceptance_length=length, draft_model=draft)
    # Validates, and is fast: run it now.
    est = estimate(model, args.pop("hardware"), calibration=cal, **args)

    def execute(progress: Progress) -> Output:
        kind, data = result_data(est, model=model, calibration=cal,
                                 max_num_batched_tokens=est.max_num_batched_tokens)
        e = est.to_dict()
        out = Output(summary={k: e[k] for k in (
            "model", "hardware", "num_gpus", "tp", "batch_size", "ttft_s", "tpot_s",
            "output_tokens_per_s", "output_tokens_per_s_per_gpu",
            "usd_per_million_output_tokens", "energy_per_output_token_j")},
            report_kind=kind, report_data=data)
        out.add_result(e)
        if data.get("curve"):
            out.files.update(table_files("curve", data["curve"]["points"]))
        return out

    return Prepared(kind="estimate", inputs=form.model_dump(), long=False, execute=execute)


def _scenario(form: SimulateInputs, uploads: Uploads) -> tuple[dict[str, Any], str]:
    """(scenario dict, origin) from an upload, a dict, or the quick form."""
    if form.scenario_file is not None:
        p = uploads.path(form.scenario_file, what="scenario_file")
        text = p.read_text(encoding="utf-8")
        try:
            raw = tomllib.loads(text) if p.suffix.lower() == ".toml" else yaml.safe_load(text)
        except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
            raise ScenarioError(f"scenario_file {p.name} is not valid "
                                f"{p.suffix[1:].upper()}: {str(e).splitlines()[0]}") from None
        if not isinstance(raw, dict):
            raise ScenarioError(f"scenario_file {p.name} must be a mapping of sections.")
        return raw, p.name
    if form.scenario is not None:
        return form.scenario, "scenario"
    return form.scenario_dict(), "quick form"


def prepare_simulate(inputs: dict[str, Any], uploads: Uploads) -> Prepared:
    form = SimulateInputs.model_validate(inputs)
    raw, origin = _scenario(form, uploads)
    sc = Scenario(spec=parse_scenario_dict(uploads.resolve_scenario_paths(raw), origin=origin),
                  base_dir=uploads.dir)
    if form.max_requests is not None and form.max_requests < 1:
        raise ConfigError(f"max_requests = {form.max_requests} must be >= 1 (or left empty).")
    # Building the spec checks everything a file can get wrong (names, sizes, traces).
    spec = simulation_spec(sc, max_requests=form.max_requests, record_steps=True)
    price = scenario_price(sc)

    def execute(progress: Progress) -> Output:
        result = simulate(spec, progress=progress, usd_per_gpu_hour=price)
        kind, data = result_data(result)
        s = result.summary
        out = Output(summary={
            "scenario": s["scenario"], "model": s["model"], "num_gpus": s["num_gpus"],
            "num_requests": s["num_requests"], "num_completed": s["num_completed"],
            "ttft_p50_s": s["ttft_s"]["p50"], "ttft_p99_s": s["ttft_s"]["p99"],
            "tpot_p50_s": s["tpot_s"]["p50"], "tpot_p99_s": s["tpot_s"]["p99"],
            "output_tokens_per_s": s["output_tokens_per_s"],
            "slo_attainment_frac": s["slo_attainment_frac"],
            "usd_per_million_output_tokens": s.get("usd_per_million_output_tokens")},
            report_kind=kind, report_data=data)
        with tempfile.TemporaryDirectory() as tmp:
            for name, media in (("requests.parquet", "application/vnd.apache.parquet"),
                                ("requests.csv", "text/csv; charset=utf-8"),
                                ("result.json", "application/json")):
                out.files[name] = (result.write_requests(Path(tmp) / name).read_bytes(), media)
        out.files["scenario.yaml"] = (yaml.safe_dump(raw, sort_keys=False).encode("utf-8"),
                                      "application/yaml")
        return out

    stored = {k: v for k, v in form.model_dump().items() if v is not None}
    if form.scenario is not None or form.scenario_file is not None:
        stored = {k: stored[k] for k in ("scenario", "scenario_file", "max_requests")
                  if k in stored}
    return Prepared(kind="simulation", inputs=stored, long=True, execute=execute)


def prepare_claims(inputs: dict[str, Any], uploads: Uploads) -> Prepared:
    unknown = sorted(set(inputs) - {"ids"})
    if unknown:
        raise ConfigError(f"'{unknown[0]}' is not an input of the claims ledger; valid: ids.")
    ids = inputs.get("ids") or None

    def execute(progress: Progress) -> Output:
        results = run_ledger(ids)
        kind, data = result_data(results)
        n = sum(r.verdict == "reproduced" for r in results)
        out = Output(summary={"num_claims": len(results), "num_reproduced": n,
                              "num_differ": len(results) - n},
                     report_kind=kind, report_data=data)
        out.add_result(data["claims"])
        out.files.update(table_files("claims", data["claims"]))
        return out

    return Prepared(kind="claims", inputs={"ids": ids}, long=True, execute=execute)


def prepare_plan(inputs: dict[str, Any], uploads: Uploads) -> Prepared:
    """A plan: ``{"result": plan data}`` (or ``{"result_file": name}``, an uploaded plan)
    shows a plan computed elsewhere (the plain data of docs/reports.md); ``{"spec": {...}}``
    or ``{"spec_file": name}`` runs the planner.

    The spec is checked when the run is submitted; the planner's result goes through
    ``report.plan.plan_data`` (it accepts the result's ``to_dict()``).
    """
    unknown = sorted(set(inputs) - {"result", "result_file", "spec", "spec_file"})
    if unknown or len(inputs) != 1:
        raise ConfigError("a plan run takes exactly one of: result (plan data to show), "
                          "result_file (an uploaded plan), spec (a planner spec) or spec_file "
                          "(an uploaded spec).")
    if "result_file" in inputs:
        p = uploads.path(inputs["result_file"], what="result_file")
        try:
            inputs = {"result": json.loads(p.read_text(encoding="utf-8"))}
        except json.JSONDecodeError as e:
            raise ConfigError(f"result_file {p.name} is not valid JSON: {e.msg}.") from None
    if "result" in inputs:
        data = plan_data(inputs["result"])  # checked now: a bad plan is a 422, not a failure

        def show(progress: Progress) -> Output:
            return _plan_output(data)

        return Prepared(kind="plan", inputs={"result": inputs["result"]}, long=False,
                        execute=show)
    spec: Any = inputs.get("spec")
    if "spec_file" in inputs:
        spec = read_plan_file(uploads.path(inputs["spec_file"], what="spec_file"))
    elif isinstance(spec, str):  # pasted YAML (or JSON); never a path on the server
        try:
            spec = yaml.safe_load(spec)
        except yaml.YAMLError as e:
            raise ConfigError(f"spec is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(spec, dict):
        raise ConfigError("spec must be a plan spec: a mapping with model, demand and slo "
                          "(the plan file of tokenworks plan, e.g. examples/plans/chat-8b.yaml).")
    # Files it names (a trace, a calibration, a config.json) must be the client's uploads.
    ps = load_plan(uploads.resolve_scenario_paths(spec))  # checked now: a bad spec is a 422

    def execute(progress: Progress) -> Output:
        # The web app's workers are threads: the planner's simulations run in them, serially.
        return _plan_output(plan_data(run_plan(ps, backend="serial",
                                               progress=lambda d, n: progress(d, n))))

    return Prepared(kind="plan", inputs=dict(inputs), long=True, execute=execute)


def _plan_output(data: dict[str, Any]) -> Output:
    rec = data.get("recommended") or {}
    out = Output(summary={"title": data["title"], "num_candidates": len(data["candidates"]),
                          "recommended": rec.get("id"),
                          "runner_up": (data.get("runner_up") or {}).get("id")},
                 report_kind="plan", report_data=data)
    out.add_result(data)
    out.files.update(table_files("candidates", data["candidates"]))
    return out
