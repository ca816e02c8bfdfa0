"""``plan(spec)``: the cheapest deployment that meets the SLO, with its reasons.

Edge (``io.plan``: file and overrides → ``PlanSpec``, prices resolved) → ``planner.plan`` on
a backend → every simulation stored as it finishes (``io.store``, when a database is given)
→ ``PlanResult``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokenworks.io.plan import PlanFile, merge, parse_plan, plan_spec, read_plan_file
from tokenworks.io.store import ResultStore
from tokenworks.planner import PlanResult, PlanSpec, code_fingerprint, make_backend
from tokenworks.planner import plan as run_plan

__all__ = ["default_db_path", "load_plan", "plan", "run_id"]


def load_plan(spec: PlanSpec | PlanFile | dict | str | Path | None = None, *,
              overrides: dict[str, Any] | None = None) -> PlanSpec:
    """A ``PlanSpec`` from a file path, a dict, a parsed file or a spec (returned as is),
    with ``overrides`` (flag values; None means not given) laid over the file."""
    if isinstance(spec, PlanSpec):
        return spec
    base = Path.cwd()
    if isinstance(spec, PlanFile):
        raw = spec.model_dump(exclude_unset=True)
        origin = spec.name
    elif isinstance(spec, dict):
        raw, origin = spec, "(dict)"
    elif spec is None:
        raw, origin = {}, "(flags)"
    else:
        p = Path(spec)
        raw, origin, base = read_plan_file(p), str(p), p.resolve().parent
    return plan_spec(parse_plan(merge(raw, overrides or {}), origin=origin), base_dir=base)


def run_id(spec: PlanSpec) -> str:
    """Digest of the plan and of the modelling code: one run per (question, code)."""
    h = hashlib.sha256(code_fingerprint().encode())
    h.update(repr(spec).encode())
    return h.hexdigest()[:16]


def default_db_path(spec_path: str | Path) -> Path:
    """The results database beside a plan file: ``NAME.plans.duckdb``."""
    p = Path(spec_path)
    return p.with_name(p.stem + ".plans.duckdb")


def plan(spec: PlanSpec | PlanFile | dict | str | Path | None = None, *,
         overrides: dict[str, Any] | None = None, backend: str = "local",
         workers: int | None = None, address: str | None = None,
         db: str | Path | None = None,
         progress: Callable[[int, int], None] | None = None) -> PlanResult:
    """Plan ``spec`` (a plan file, dict or ``PlanSpec``) on ``backend`` ("local", "ray" or
    "serial"); with ``db``, every simulation is stored as it finishes and a re-run skips the
    ones already stored."""
    ps = load_plan(spec, overrides=overrides)
    be = make_backend(backend, workers=workers, address=address)
    if db is None:
        return run_plan(ps, backend=be, progress=progress)
    rid = run_id(ps)
    with ResultStore(db) as store:
        from tokenworks.planner.explain import question

        store.start_run(rid, kind="plan", name=ps.name, question=question(ps))

        class Done:
            """Stored results, linked to this run when reused."""

            def get(self, key: str):
                found = store.get(key)
                if found is not None:
                    store.link(rid, key)
                return found

        try:
            result = run_plan(ps, backend=be, done=Done(),  # type: ignore[arg-type]
                              on_result=lambda t, c: store.add(rid, t, c), progress=progress)
        except BaseException:
            store.finish_run(rid, {}, status="interrupted")
            raise
        result.run_id = rid
        store.finish_run(rid, result.to_dict())
    result.run_id = rid
    return result
