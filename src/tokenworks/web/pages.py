"""The dashboard's HTML, rendered on the server: the main page (forms, the current run, the
runs list), a run's page and the side-by-side comparison. Plain HTML with a little vanilla
JavaScript (``static/app.js``); no build step, no external assets.

Every input has an error slot (``<div class="field-error" data-error-for="NAME">``) where the
page puts the message the API returns for that field.
"""

from __future__ import annotations

import html
from typing import Any

from tokenworks.api.catalog import hardware_rows, model_rows
from tokenworks.perf.engine import ENGINES
from tokenworks.report.blocks import Report
from tokenworks.report.html import render_fragment
from tokenworks.store import RunRecord
from tokenworks.web.forms import EstimateInputs, SimulateInputs
from tokenworks.web.runs_money import ECONOMICS_KINDS

__all__ = ["compare_page", "dashboard_page", "run_page"]

DTYPES = ("bf16", "fp16", "fp8", "fp8_block", "int8", "int4", "fp4", "nvfp4", "mxfp4")


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _page(title: str, body: str, *, bind: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/static/report.css">'
        '<link rel="stylesheet" href="/static/app.css">'
        '<script src="/static/plotly.min.js"></script></head>\n'
        '<body><header class="tw-head"><h1><a href="/">tokenworks</a> dashboard</h1>'
        f'<p>Serving on {_e(bind)} · <a href="/docs">API docs</a> · '
        '<a href="/openapi.json">OpenAPI</a></p></header>\n'
        f'<main class="tw-app">{body}</main>\n'
        '<script src="/static/report.js"></script><script src="/static/app.js"></script>'
        "</body></html>\n")


def _field(name: str, label: str, value: Any = "", *, options: list[str] | None = None,
           hint: str = "", wide: bool = False) -> str:
    v = "" if value is None else str(value)
    if options is not None:
        opts = "".join(f'<option value="{_e(o)}"{" selected" if o == v else ""}>{_e(o or "—")}'
                       f"</option>" for o in options)
        control = f'<select name="{_e(name)}" id="f-{_e(name)}">{opts}</select>'
    elif wide:
        control = (f'<textarea name="{_e(name)}" id="f-{_e(name)}" rows="4" '
                   f'placeholder="{_e(hint)}">{_e(v)}</textarea>')
    else:
        control = (f'<input name="{_e(name)}" id="f-{_e(name)}" value="{_e(v)}" '
                   f'autocomplete="off">')
    help_ = f'<small>{_e(hint)}</small>' if hint and not wide else ""
    return (f'<div class="field" data-field="{_e(name)}"><label for="f-{_e(name)}">{_e(label)}'
            f"</label>{control}{help_}"
            f'<div class="field-error" data-error-for="{_e(name)}" role="alert"></div></div>')


def _form(kind: str, title: str, fields: str, *, note: str = "") -> str:
    n = f'<p class="form-note">{note}</p>' if note else ""
    return (f'<form class="run-form" data-kind="{kind}" id="form-{kind}" novalidate>'
            f"<h3>{_e(title)}</h3>{n}"
            f'<div class="form-error" role="alert"></div><div class="fields">{fields}</div>'
            f'<button type="submit">Run {_e(kind)}</button></form>')


def _estimate_form(models: list[str], hardware: list[str]) -> str:
    d = EstimateInputs()
    f = [_field("model", "model", d.model, options=models),
         _field("hardware", "hardware", d.hardware, options=hardware),
         _field("num_gpus", "GPUs in total", d.num_gpus, hint="multiple of tp × pp"),
         _field("tp", "tensor parallel (tp)", d.tp), _field("pp", "pipeline parallel", d.pp),
         _field("ep", "expert parallel", d.ep),
         _field("dp", "data-parallel attention", d.dp, hint="MoE: ep = tp × dp"),
         _field("weights_dtype", "weights", d.weights_dtype, options=list(DTYPES)),
         _field("kv_dtype", "KV cache", "", options=["", *DTYPES]),
         _field("input_tokens", "input tokens", d.input_tokens),
         _field("output_tokens", "output tokens", d.output_tokens),
         _field("batch", "batch per replica", d.batch, hint="integer or max"),
         _field("prefix_hit_frac", "prefix-cache hit (0–1)", d.prefix_hit_frac),
         _field("usd_per_gpu_hour", "$ per GPU-hour", "", hint="empty: catalog price"),
         _field("engine", "serving engine", d.engine, options=list(ENGINES),
                hint="its defaults, overheads and calibration"),
         _field("tpot_slo_ms", "TPOT target (ms)", "", hint="batch max: largest meeting it"),
         _field("ttft_slo_ms", "TTFT target (ms)", "", hint="batch max: largest meeting it"),
         _field("sweep", "latency–throughput curve", "", options=["", "true"]),
         _field("spec", "speculative decoding", "", options=["", "mtp", "eagle", "draft",
                                                             "ngram"]),
         _field("spec_tokens", "draft tokens per step", "", hint="default 3 (mtp, eagle)"),
         _field("spec_acceptance_length", "acceptance length", "",
                hint="mean tokens per step"),
         _field("calibration", "uploaded calibration", "", options=[""],
                hint="empty: the packaged fit")]
    return _form("estimate", "Estimate one deployment", "".join(f),
                 note="Engine settings not given take the engine's defaults on this part.")


def _simulate_form(models: list[str], hardware: list[str]) -> str:
    d = SimulateInputs()
    f = [_field("scenario_file", "uploaded scenario", "", options=[""],
                hint="empty: use the fields below"),
         _field("model", "model", d.model, options=models),
         _field("hardware", "hardware", d.hardware, options=hardware),
         _field("tp", "tensor parallel (tp)", d.tp),
         _field("num_replicas", "replicas", d.num_replicas),
         _field("weights_dtype", "weights", d.weights_dtype, options=list(DTYPES)),
         _field("trace_file", "uploaded trace", "", options=[""],
                hint="empty: Poisson arrivals below"),
         _field("rate_per_s", "arrivals per second", d.rate_per_s, hint="Poisson"),
         _field("num_requests", "requests", d.num_requests),
         _field("prompt_tokens_mean", "mean prompt tokens", d.prompt_tokens_mean),
         _field("output_tokens_mean", "mean output tokens", d.output_tokens_mean),
         _field("prefix_cache", "prefix cache", d.prefix_cache,
                options=["none", "lru_blocks", "radix"]),
         _field("engine", "serving engine", d.engine, options=list(ENGINES)),
         _field("ttft_slo_s", "TTFT SLO (s)", d.ttft_slo_s),
         _field("tpot_slo_s", "TPOT SLO (s)", d.tpot_slo_s), _field("seed", "seed", d.seed)]
    return _form("simulate", "Simulate serving", "".join(f),
                 note="Runs in the background: watch its progress, cancel it if you like.")


def _economics_form(hardware: list[str], models: list[str]) -> str:
    f = [_field("question", "question", "tco", options=list(ECONOMICS_KINDS)),
         _field("accelerator", "accelerator", "h100-sxm", options=hardware),
         _field("num_accelerators", "accelerators", "", hint="pnl, power, train"),
         _field("utilization_frac", "utilization (0–1)", ""),
         _field("model", "model", "", options=["", *models], hint="tco, fleet, train"),
         _field("more", "more inputs", "", wide=True,
                hint="one per line, as --set takes them: pue = 1.2")]
    return _form("economics", "Economics: cost, P&L, power, fleet, training", "".join(f),
                 note="Inputs not given take sourced defaults (listed in the report).")


def _plan_form() -> str:
    note = ("Run the planner on a spec (the plan file of tokenworks plan, e.g. "
            "examples/plans/chat-8b.yaml: uploaded, or pasted as YAML), or show a plan "
            "computed elsewhere (its JSON: tokenworks plan --json, or plain data with "
            "candidates, pareto, recommended, runner_up).")
    f = [_field("spec_file", "uploaded plan spec", "", options=[""]),
         _field("spec", "plan spec (YAML)", "", wide=True,
                hint="model: llama-3.1-8b\ndemand: {rate_per_s: 10, input_tokens: 800, "
                     "output_tokens: 150}\nslo: {ttft_s: 0.5, tpot_s: 0.03}"),
         _field("plan_file", "uploaded plan result", "", options=[""]),
         _field("result", "plan result (JSON)", "", wide=True,
                hint='{"candidates": [...], "pareto": [...], "recommended": "id"}')]
    return _form("plan", "Plan", "".join(f), note=_e(note))


def _upload_form() -> str:
    return ('<form id="upload-form" class="run-form" novalidate><h3>Upload</h3>'
            '<div class="form-error" role="alert"></div><div class="fields">'
            + _field("upload_kind", "kind", "scenario",
                     options=["scenario", "trace", "config", "calibration", "plan",
                              "plan_spec"])
            + '<div class="field" data-field="file"><label for="f-file">file</label>'
              '<input type="file" name="file" id="f-file"><div class="field-error" '
              'data-error-for="file" role="alert"></div></div></div>'
              '<button type="submit">Upload</button><p class="form-note" id="upload-status">'
              '</p><ul id="upload-list"></ul></form>')


def dashboard_page(*, bind: str) -> str:
    models = [r["name"] for r in model_rows()]
    hardware = [r["name"] for r in hardware_rows()]
    tabs = ("estimate", "simulate", "economics", "plan", "upload")
    nav = "".join(f'<button type="button" class="tab" data-tab="{t}">{t}</button>' for t in tabs)
    forms = (f'<div class="tab-panel" data-panel="estimate">{_estimate_form(models, hardware)}'
             f'</div><div class="tab-panel" data-panel="simulate">'
             f"{_simulate_form(models, hardware)}</div>"
             f'<div class="tab-panel" data-panel="economics">{_economics_form(hardware, models)}'
             f'</div><div class="tab-panel" data-panel="plan">{_plan_form()}</div>'
             f'<div class="tab-panel" data-panel="upload">{_upload_form()}</div>')
    body = (f'<div class="layout"><aside class="forms"><nav class="tabs">{nav}</nav>{forms}'
            '</aside><section class="current" id="current"><div id="run-head" class="tw-block">'
            "<h2>Pick a model, hardware and workload, then run.</h2><p>Results, charts and "
            "downloads appear here.</p></div><div id=\"run-body\"></div></section></div>"
            '<section class="tw-block runs"><h2>Runs</h2><div class="runs-bar">'
            '<label><input type="checkbox" id="runs-all"> everyone\'s runs</label>'
            '<button type="button" id="compare-btn">Compare selected</button></div>'
            '<div class="tw-scroll"><table class="tw-table" id="runs-table"><thead><tr><th></th>'
            "<th>created (UTC)</th><th>kind</th><th>status</th><th>inputs</th><th>summary</th>"
            "</tr></thead><tbody></tbody></table></div></section>")
    return _page("tokenworks dashboard", body, bind=bind)


def _downloads(run: RunRecord, files: list[str]) -> str:
    links = [f'<a href="/api/runs/{run.id}/files/{_e(n)}" download>{_e(n)}</a>' for n in files]
    links.append(f'<a href="/api/runs/{run.id}/report.html" download>report.html</a>')
    return '<p class="downloads">Download: ' + " · ".join(links) + "</p>"


def run_fragment(run: RunRecord, files: list[str], report: Report | None) -> str:
    """A run's status, inputs, downloads and report blocks (inserted by the dashboard)."""
    head = (f'<div class="tw-block run-meta" data-run="{run.id}" data-status="{run.status}">'
            f"<h2>{_e(run.kind)} · {_e(run.status)}</h2>"
            f'<p class="tw-caption">run {run.id} · {run.created_at:%Y-%m-%d %H:%M:%S} UTC</p>')
    if run.error:
        head += f'<p class="run-error" role="alert">{_e(run.error)}</p>'
    if run.status == "done":
        head += _downloads(run, files)
    head += ("<details><summary>inputs</summary><pre>"
             f"{_e(_json(run.inputs))}</pre></details></div>")
    body = render_fragment(report, prefix=f"r{run.id[:8]}-") if report is not None else ""
    return head + body


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, indent=1, default=str)


def run_page(run: RunRecord, files: list[str], report: Report | None, *, bind: str) -> str:
    return _page(f"tokenworks run {run.id[:8]}", '<div class="single">'
                 + run_fragment(run, files, report) + "</div>", bind=bind)


def compare_page(runs: list[tuple[RunRecord, list[str], Report | None]], *, bind: str) -> str:
    """Runs side by side: a table of their summaries, then their reports in columns."""
    keys = list(dict.fromkeys(k for r, _, _ in runs for k in (r.summary or {})))
    head = "".join(f"<th>{_e(r.kind)} {r.id[:8]}</th>" for r, _, _ in runs)
    rows = "".join("<tr><td>" + _e(k) + "</td>" + "".join(
        f"<td>{_e(_short((r.summary or {}).get(k)))}</td>" for r, _, _ in runs) + "</tr>"
        for k in keys)
    table = (f'<section class="tw-block"><h2>Summaries side by side</h2><table class="tw-table"'
             f' id="compare-table"><thead><tr><th></th>{head}</tr></thead><tbody>{rows}'
             "</tbody></table></section>")
    cols = "".join(f'<div class="compare-col">{run_fragment(r, f, rep)}</div>'
                   for r, f, rep in runs)
    return _page("tokenworks: compare runs", table + f'<div class="compare">{cols}</div>',
                 bind=bind)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    return "—" if v is None else str(v)
