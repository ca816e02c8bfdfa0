"""Plotly figures as plain JSON dicts, with one look for every chart.

``figure(traces, ...)`` validates the traces and layout with ``plotly.graph_objects`` (a typo
in a property raises here, not silently in the browser), then returns the figure as a dict of
lists: no numpy, no base64 arrays, no per-figure template (the look is set in the layout), so
the HTML stays small and the tests can read the data points back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

__all__ = ["COLORS", "SEQUENCE", "figure", "plain"]

# Okabe–Ito colour-blind-safe palette (Okabe & Ito 2008, "Color Universal Design").
COLORS = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "red": "#D55E00",
          "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442", "grey": "#7F7F7F",
          "black": "#000000"}
SEQUENCE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
            "#7F7F7F")

_BASE_LAYOUT: dict[str, Any] = {
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13,
             "color": "#222"},
    "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
    # The legend sits at the very bottom of the figure (container coordinates), under the
    # x-axis title, whatever the plot's height.
    "margin": {"l": 70, "r": 20, "t": 50, "b": 110},
    "colorway": list(SEQUENCE),
    "hovermode": "closest",
    "legend": {"orientation": "h", "yref": "container", "y": 0.0, "yanchor": "bottom",
               "x": 0.0, "xanchor": "left"},
}
_AXIS: dict[str, Any] = {"gridcolor": "#e5e5e5", "zerolinecolor": "#bbbbbb", "linecolor": "#888",
                         "showline": True, "automargin": True}


def plain(x: Any) -> Any:
    """Numbers, sequences and dicts as JSON values: numpy → Python, NaN/inf → None, floats
    rounded to 7 significant digits (display precision; the files stay small)."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, str | bytes):
        return x
    if hasattr(x, "tolist") and not isinstance(x, int | float):
        return plain(x.tolist())
    if isinstance(x, Sequence):
        return [plain(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, int):
        return x
    if isinstance(x, float):
        if not math.isfinite(x):
            return None
        return float(f"{x:.7g}")
    if hasattr(x, "item"):
        return plain(x.item())
    return x


def figure(traces: Sequence[dict[str, Any]], *, title: str = "", x_title: str = "",
           y_title: str = "", x_type: str | None = None, y_type: str | None = None,
           height: int = 420, **layout: Any) -> dict[str, Any]:
    """A validated plotly figure as ``{"data": [...], "layout": {...}}`` (plain JSON)."""
    xaxis = {**_AXIS, "title": {"text": x_title}, **layout.pop("xaxis", {})}
    yaxis = {**_AXIS, "title": {"text": y_title}, **layout.pop("yaxis", {})}
    if x_type:
        xaxis["type"] = x_type
    if y_type:
        yaxis["type"] = y_type
    lay = {**_BASE_LAYOUT, "title": {"text": title, "x": 0.01, "xanchor": "left"},
           "xaxis": xaxis, "yaxis": yaxis, "height": height, **layout}
    fig = go.Figure(data=[plain(t) for t in traces], layout=plain(lay))
    out = fig.to_plotly_json()
    out["layout"].pop("template", None)
    return {"data": plain(out["data"]), "layout": plain(out["layout"])}
