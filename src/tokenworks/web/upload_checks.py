"""Check an upload before keeping it: a scenario must validate, a trace must read, a config.json
must parse as a supported model, a plan must have candidates. The same readers as the CLI, so
an upload is refused with the message the CLI would print.
"""

from __future__ import annotations

import json
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import yaml

from tokenworks.errors import ConfigError, ScenarioError
from tokenworks.io.calibration import read_calibration
from tokenworks.io.plan import parse_plan, read_plan_file
from tokenworks.io.scenario_file import parse_scenario_dict
from tokenworks.io.traces import read_trace
from tokenworks.model import get_model
from tokenworks.report.plan import plan_data
from tokenworks.web.uploads import UPLOAD_PREFIX, Uploads

__all__ = ["check_upload"]


def _scenario(name: str, data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    try:
        raw = tomllib.loads(text) if name.lower().endswith(".toml") else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise ScenarioError(f"{name} is not valid YAML/TOML: {str(e).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{name} must be a mapping of sections (a scenario file).")
    # Structure only: the files it names are checked when it runs (they may come later).
    spec = parse_scenario_dict(raw, origin=name)
    return f"scenario '{spec.name}'"


def _with_temp(name: str, data: bytes, read: Any) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / name
        p.write_bytes(data)
        return read(p)


def check_upload(uploads: Uploads, kind: str, filename: str, data: bytes) -> dict[str, Any]:
    """Validate ``data`` as a ``kind`` upload, save it, and describe it."""
    name = uploads.check_name(Path(filename).name, kind)
    if kind == "scenario":
        what = _scenario(name, data)
    elif kind == "trace":
        tr = _with_temp(name, data, lambda p: read_trace(p))
        what = f"trace of {len(tr.arrived_at_s):,} requests"
    elif kind == "config":
        arch = _with_temp(name, data, lambda p: get_model(str(p)))
        what = f"model {arch.name} ({arch.architecture}, {arch.num_layers} layers)"
    elif kind == "calibration":
        cal = _with_temp(name, data, read_calibration)
        what = f"calibration ({cal.source})"
    elif kind == "plan":
        try:
            doc = json.loads(data)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{name} is not valid JSON: {e.msg} at line {e.lineno}.") from None
        what = f"plan of {len(plan_data(doc)['candidates'])} candidates"
    elif kind == "plan_spec":
        # Structure only: the files it names are checked when it runs (they may come later).
        raw = _with_temp(name, data, read_plan_file)
        what = f"plan spec for {parse_plan(raw, origin=name).model}"
    else:
        raise ConfigError(f"upload kind '{kind}' is not known.")
    uploads.save(name, data, kind)
    ref = f"{UPLOAD_PREFIX}{name}" if kind == "config" else name
    return {"name": name, "kind": kind, "bytes": len(data), "describes": what, "use_as": ref}
