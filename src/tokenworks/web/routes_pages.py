"""The dashboard's pages and static files (HTML for people; the JSON API is ``routes_api``).

``/`` the dashboard; ``/runs/{id}`` a run's page; ``/runs/{id}/fragment`` the part the
dashboard inserts when a run finishes; ``/compare?ids=a,b`` runs side by side; ``/static/*``
the script, the stylesheets (shared with the HTML reports) and plotly.js from the plotly
package, so nothing is fetched from the network.
"""

from __future__ import annotations

import html
from importlib import resources

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from tokenworks.report.html import asset_text
from tokenworks.web.pages import compare_page, dashboard_page, run_fragment, run_page
from tokenworks.web.routes_api import ClientId

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_STATIC = {"app.js": "application/javascript", "app.css": "text/css"}
_REPORT_ASSETS = {"report.js": "application/javascript", "report.css": "text/css"}
_CACHE = {"Cache-Control": "public, max-age=3600"}


def _bind(request: Request) -> str:
    return request.app.state.settings.bind


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, client: str = ClientId) -> HTMLResponse:
    return HTMLResponse(dashboard_page(bind=_bind(request)))


def _run_parts(request: Request, run_id: str):  # -> (record, files, report) | None
    s = request.app.state.service
    rec = s.store.get(run_id)
    if rec is None:
        return None
    files = [n for n in s.store.artifact_names(run_id) if n != "report_data.json"]
    return rec, files, s.report(run_id) if rec.status == "done" else None


def _missing(run_id: str) -> HTMLResponse:
    return HTMLResponse(f"<p>No run '{html.escape(run_id[:64])}' in this store.</p>",
                        status_code=404)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_view(run_id: str, request: Request) -> HTMLResponse:
    parts = _run_parts(request, run_id)
    if parts is None:
        return _missing(run_id)
    return HTMLResponse(run_page(*parts, bind=_bind(request)))


@router.get("/runs/{run_id}/fragment", response_class=HTMLResponse)
def run_view_fragment(run_id: str, request: Request) -> HTMLResponse:
    parts = _run_parts(request, run_id)
    if parts is None:
        return _missing(run_id)
    return HTMLResponse(run_fragment(*parts))


@router.get("/compare", response_class=HTMLResponse)
def compare(request: Request, ids: str = Query(...)) -> HTMLResponse:
    runs = []
    for rid in [x for x in ids.split(",") if x][:4]:
        parts = _run_parts(request, rid)
        if parts is None:
            return _missing(rid)
        runs.append(parts)
    return HTMLResponse(compare_page(runs, bind=_bind(request)))


@router.get("/static/plotly.min.js")
def plotly_js() -> Response:
    data = resources.files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
    return Response(data, media_type="application/javascript", headers=_CACHE)


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name in _REPORT_ASSETS:
        return Response(asset_text(name), media_type=_REPORT_ASSETS[name])
    if name in _STATIC:
        text = resources.files("tokenworks.web").joinpath("static", name).read_text("utf-8")
        return Response(text, media_type=_STATIC[name])
    return Response("not found", status_code=404)
