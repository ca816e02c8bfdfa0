"""The JSON API (``/api``): catalogs, runs (submit, poll, cancel, list, compare), reports,
downloads and uploads. OpenAPI at ``/openapi.json``; reference in docs/web.md.

Who is asking: the ``X-Tokenworks-Client`` header, else the ``tw_client`` cookie the dashboard
sets, else a new id (returned in the ``X-Tokenworks-Client`` response header). Lists show the
caller's runs unless ``all=true``; a run is read by its (random) id.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from tokenworks import __version__
from tokenworks.api.catalog import hardware_rows, model_rows, system_rows
from tokenworks.errors import TokenworksError
from tokenworks.report.figures import plain
from tokenworks.report.html import render_html
from tokenworks.web.forms import FieldError
from tokenworks.web.jobs import QueueFull
from tokenworks.web.service import RUN_KINDS, InputError, Service
from tokenworks.web.upload_checks import check_upload

__all__ = ["ClientId", "client_id", "router", "too_big_message"]

router = APIRouter(prefix="/api", tags=["api"])
_CLIENT = re.compile(r"^[a-f0-9]{16,64}$")
RunKind = Literal["estimate", "simulate", "simulation", "claims", "plan", "tco", "pnl", "power",
                  "fleet", "train", "capital", "sensitivity"]


def client_id(request: Request, response: Response) -> str:
    """The caller's id (see module docstring); a new one is set as a cookie."""
    for cand in (request.headers.get("x-tokenworks-client"), request.cookies.get("tw_client")):
        if cand and _CLIENT.match(cand):
            return cand
    new = secrets.token_hex(16)
    response.set_cookie("tw_client", new, httponly=True, samesite="strict")
    response.headers["X-Tokenworks-Client"] = new
    return new


ClientId = Depends(client_id)


def service(request: Request) -> Service:
    return request.app.state.service


class RunRequest(BaseModel):
    kind: RunKind = Field(description="What to run; 'simulation' is an alias of 'simulate'.")
    inputs: dict[str, Any] = Field(default_factory=dict, description=(
        "The run's inputs: estimate takes api.estimate's arguments; simulate a quick form, a "
        "'scenario' dict or an uploaded 'scenario_file'; economics kinds the question's keys; "
        "plan {'result': plan data} (see docs/web.md)."))
    label: str | None = Field(default=None, max_length=200)


class ErrorOut(BaseModel):
    detail: str
    errors: list[FieldError] = []


def _error(status: int, detail: str, errors: list[FieldError] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail, "errors": [
        e.model_dump() for e in errors or []]})


def _not_found(run_id: str) -> JSONResponse:
    return _error(404, f"no run '{run_id}' in this store.")


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut}, 422: {"model": ErrorOut}, 501: {"model": ErrorOut},
    503: {"model": ErrorOut}}


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    s = service(request)
    return {"status": "ok", "version": __version__, "queued": s.jobs.queued(),
            "max_queued": s.jobs.max_queued}


@router.get("/catalog/{name}")
def catalog(name: Literal["models", "hardware", "systems"]) -> list[dict[str, Any]]:
    rows = {"models": model_rows, "hardware": hardware_rows, "systems": system_rows}[name]()
    return plain(rows)


@router.get("/kinds")
def kinds() -> dict[str, Any]:
    """Run kinds and the input names each accepts."""
    from tokenworks.web.service import form_fields

    return {k: {"inputs": list(form_fields(k))} for k in RUN_KINDS}


@router.post("/runs", status_code=201, responses=_ERRORS)
def submit_run(body: RunRequest, request: Request, client: str = ClientId) -> Any:
    """Check and start a run. Fast kinds come back ``done``; long ones ``queued``."""
    s = service(request)
    try:
        rec = s.submit(body.kind, body.inputs, client=client, label=body.label)
    except InputError as e:
        return _error(e.status, str(e), e.errors)
    except QueueFull as e:
        return _error(503, f"the run queue is full ({e}; the limit is {s.jobs.max_queued}); "
                           f"wait for a run to finish or cancel one, then try again.")
    return s.status(rec.id)


@router.get("/runs")
def list_runs(request: Request, client: str = ClientId, all_clients: bool = Query(
        False, alias="all", description="List every client's runs, not only yours."),
        kind: str | None = None, limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    recs = service(request).store.list_runs(owner=None if all_clients else client, kind=kind,
                                            limit=limit)
    return [r.to_dict() for r in recs]


@router.get("/runs/{run_id}", responses=_ERRORS)
def get_run(run_id: str, request: Request) -> Any:
    st = service(request).status(run_id)
    return _not_found(run_id) if st is None else st


@router.post("/runs/{run_id}/cancel", responses=_ERRORS)
def cancel_run(run_id: str, request: Request) -> Any:
    s = service(request)
    if s.store.get(run_id) is None:
        return _not_found(run_id)
    s.cancel(run_id)
    return s.status(run_id)


@router.delete("/runs/{run_id}", status_code=204, response_class=Response,
               responses={**_ERRORS, 403: {"model": ErrorOut}})
def delete_run(run_id: str, request: Request, client: str = ClientId) -> Response:
    s = service(request)
    rec = s.store.get(run_id)
    if rec is None:
        return _not_found(run_id)
    if rec.owner != client:
        return _error(403, "only the client that made a run can delete it.")
    s.cancel(run_id)
    s.store.delete(run_id)
    return Response(status_code=204)


@router.get("/runs/{run_id}/report.json", responses=_ERRORS)
def report_json(run_id: str, request: Request) -> Any:
    """The run's report: blocks with plotly figures (JSON) and tables."""
    rep = service(request).report(run_id)
    return _not_found(run_id) if rep is None else rep.to_dict()


@router.get("/runs/{run_id}/report.html", response_class=HTMLResponse, responses=_ERRORS)
def report_html(run_id: str, request: Request) -> Any:
    """The run's self-contained HTML report (a download: works offline)."""
    rep = service(request).report(run_id)
    if rep is None:
        return _not_found(run_id)
    return HTMLResponse(render_html(rep), headers={
        "Content-Disposition": f'attachment; filename="tokenworks-{rep.kind}-{run_id[:8]}.html"'})


@router.get("/runs/{run_id}/files/{name}", responses=_ERRORS)
def run_file(run_id: str, name: str, request: Request) -> Any:
    """A run's file: result.json, result.csv, requests.parquet, scenario.yaml, ..."""
    art = service(request).store.get_artifact(run_id, name)
    if art is None:
        return _error(404, f"run '{run_id}' has no file '{name}'.")
    media, data = art
    return Response(data, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{run_id[:8]}-{name}"'})


@router.get("/compare", responses=_ERRORS)
def compare(request: Request, ids: str = Query(..., description="Run ids, comma-separated.")
            ) -> Any:
    """Several runs' kinds, inputs and summaries side by side."""
    s = service(request)
    out = []
    for rid in [x for x in ids.split(",") if x]:
        rec = s.store.get(rid)
        if rec is None:
            return _not_found(rid)
        out.append(rec.to_dict())
    return {"runs": out}


@router.post("/uploads", status_code=201, responses={**_ERRORS, 413: {"model": ErrorOut}})
async def upload(request: Request, kind: Literal["scenario", "trace", "config", "calibration",
                                                  "plan", "plan_spec"] = Query(...),
                 file: UploadFile = File(...), client: str = ClientId) -> Any:
    """Upload a scenario, trace, HF config.json, calibration, plan result or plan spec
    (size-limited)."""
    s = service(request)
    limit = s.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        return _too_big(len(data), limit)
    try:
        info = check_upload(s.uploads(client), kind, file.filename or "upload", data)
    except TokenworksError as e:
        return _error(422, str(e), [FieldError(field="file", message=str(e))])
    return info


def too_big_message(n: int, limit: int) -> str:
    return (f"upload of {n / 1e6:,.1f} MB is over the limit of {limit / 1e6:,.1f} MB "
            f"(tokenworks serve --max-upload-mb).")


def _too_big(n: int, limit: int) -> JSONResponse:
    return _error(413, too_big_message(n, limit))


@router.get("/uploads")
def list_uploads(request: Request, client: str = ClientId) -> list[str]:
    return service(request).uploads(client).names()
