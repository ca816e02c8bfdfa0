"""The dashboard's engine room: runs are checked, stored, executed (at once or on the worker),
and read back with their reports. The HTTP routes (``routes_api``, ``routes_pages``) are thin
over this.

A run's life: ``submit`` prepares it (the CLI's validation: a bad field raises ``InputError``
with messages placed by field, and nothing is stored), records it (``queued``), then runs it
in the request (estimates, economics) or on the worker (simulations, the ledger, plans), and
stores its outcome: ``done`` with summary, report data and files, ``failed`` with the
user-facing message, or ``cancelled``. Runs are keyed by random ids and each run's result is
written under its own id only, so concurrent users never get each other's results.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tokenworks.errors import TokenworksError
from tokenworks.report.blocks import Report
from tokenworks.report.registry import build_report
from tokenworks.store import RunRecord, RunStore
from tokenworks.web.forms import ESTIMATE_FIELDS, SIMULATE_FIELDS, FieldError, field_errors
from tokenworks.web.jobs import Cancelled, Job, JobQueue
from tokenworks.web.outputs import Prepared
from tokenworks.web.runs_model import (
    prepare_claims,
    prepare_estimate,
    prepare_plan,
    prepare_simulate,
)
from tokenworks.web.runs_money import ECONOMICS_KINDS, SENSITIVITY_KEYS, prepare_economics
from tokenworks.web.uploads import Uploads

__all__ = ["RUN_KINDS", "InputError", "Service"]

log = logging.getLogger("tokenworks.web")

Preparer = Callable[[dict[str, Any], Uploads], Prepared]


def _economics(kind: str) -> Preparer:
    return lambda inputs, uploads: prepare_economics(kind, inputs, uploads)


# Run kinds the API accepts, each with its preparer (``simulation`` is an alias).
RUN_KINDS: dict[str, Preparer] = {
    "estimate": prepare_estimate, "simulate": prepare_simulate, "claims": prepare_claims,
    "plan": prepare_plan, **{k: _economics(k) for k in ECONOMICS_KINDS},
}
_ALIASES = {"simulation": "simulate"}


def form_fields(kind: str) -> tuple[str, ...]:
    """The input names of ``kind`` (where an error message may point)."""
    if kind == "estimate":
        return ESTIMATE_FIELDS
    if kind == "simulate":
        return SIMULATE_FIELDS
    if kind in ECONOMICS_KINDS:
        from tokenworks.web.forms import economics_fields

        base = economics_fields("pnl" if kind == "sensitivity" else kind)
        return (*base, *(SENSITIVITY_KEYS if kind == "sensitivity" else ()), "more")
    return ("result", "plan_file", "spec", "spec_file", "ids")


class InputError(Exception):
    """The inputs of a run are invalid; ``errors`` say which field and why."""

    def __init__(self, errors: list[FieldError], status: int = 422) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors, self.status = errors, status


class Service:
    """Runs over a store and a worker queue (see module docstring)."""

    def __init__(self, store: RunStore, jobs: JobQueue, uploads_root: Path, *,
                 max_upload_bytes: int) -> None:
        self.store, self.jobs, self.uploads_root = store, jobs, uploads_root
        self.max_upload_bytes = max_upload_bytes
        self._reports: OrderedDict[str, Report] = OrderedDict()
        self._reports_lock = threading.Lock()

    def uploads(self, client: str) -> Uploads:
        return Uploads(self.uploads_root, client)

    # ------------------------------------------------------------------------------ runs
    def submit(self, kind: str, inputs: dict[str, Any], *, client: str,
               label: str | None = None) -> RunRecord:
        kind = _ALIASES.get(kind, kind)
        prep = RUN_KINDS.get(kind)
        if prep is None:
            raise InputError([FieldError(field="kind", message=(
                f"kind '{kind}' is not a run kind; use one of {', '.join(RUN_KINDS)}."))])
        if not isinstance(inputs, dict):
            raise InputError([FieldError(field=None, message="inputs must be a JSON object.")])
        try:
            prepared = prep(inputs, self.uploads(client))
        except (TokenworksError, ValidationError) as e:
            raise InputError(field_errors(e, form_fields(kind)), 422) from None
        rec = self.store.create_run(prepared.kind, prepared.inputs, owner=client, label=label,
                                    status="queued" if prepared.long else "running")
        if not prepared.long:
            self._execute(rec.id, prepared, None)
            return self.store.get(rec.id) or rec
        job = Job(run_id=rec.id, work=lambda j: self._execute(rec.id, prepared, j),
                  on_cancelled=lambda j: self.store.set_status(rec.id, "cancelled"))
        try:
            self.jobs.submit(job)
        except Exception:
            self.store.delete(rec.id)
            raise
        return rec

    def _execute(self, run_id: str, prepared: Prepared, job: Job | None) -> None:
        """Run ``prepared`` and store its outcome (never raises: the outcome is the record)."""
        if job is not None:
            self.store.set_status(run_id, "running")
        try:
            out = prepared.execute(job.progress if job is not None else _no_progress)
            if job is not None:
                job.check_cancelled()
            files = out.all_files()
            # The run's own request, ready to send again (POST /api/runs).
            files["inputs.json"] = (json.dumps({"kind": prepared.kind, "inputs": prepared.inputs},
                                               indent=1).encode("utf-8"), "application/json")
            for name, (data, media) in files.items():
                self.store.put_artifact(run_id, name, data, media)
            self.store.set_status(run_id, "done", summary=out.summary)
        except Cancelled:
            self.store.set_status(run_id, "cancelled", error="cancelled by the user")
        except TokenworksError as e:
            self.store.set_status(run_id, "failed", error=str(e))
        except Exception as e:  # a bug: keep the traceback in the log, tell the user
            log.exception("run %s failed", run_id)
            self.store.set_status(run_id, "failed", error=(
                f"internal error ({type(e).__name__}: {e}); this is a bug in tokenworks, "
                f"please report it with the run's inputs."))

    def status(self, run_id: str) -> dict[str, Any] | None:
        rec = self.store.get(run_id)
        if rec is None:
            return None
        d = rec.to_dict()
        job = self.jobs.get(run_id)
        d["progress"] = None if job is None else {"done": job.done, "expected": job.expected}
        d["files"] = [n for n in self.store.artifact_names(run_id) if n != "report_data.json"]
        return d

    def cancel(self, run_id: str) -> bool:
        """Cancel a waiting run at once, a running one at its next progress report."""
        rec = self.store.get(run_id)
        if rec is None or rec.status not in ("queued", "running"):
            return False
        flagged = self.jobs.cancel(run_id)
        if flagged and rec.status == "queued":
            self.store.set_status(run_id, "cancelled", error="cancelled by the user")
        return flagged

    # ------------------------------------------------------------------------------ reports
    def report_data(self, run_id: str) -> tuple[str, dict[str, Any]] | None:
        art = self.store.get_artifact(run_id, "report_data.json")
        if art is None:
            return None
        doc = json.loads(art[1])
        return doc["kind"], doc["data"]

    def report(self, run_id: str) -> Report | None:
        """The run's report, built once and kept for the last 32 runs asked."""
        with self._reports_lock:
            if run_id in self._reports:
                self._reports.move_to_end(run_id)
                return self._reports[run_id]
        rd = self.report_data(run_id)
        if rd is None:
            return None
        from tokenworks.report.build import GENERATOR

        rep = build_report(*rd, generated_by=GENERATOR)
        with self._reports_lock:
            self._reports[run_id] = rep
            while len(self._reports) > 32:
                self._reports.popitem(last=False)
        return rep


def _no_progress(done: int, expected: int) -> None:
    return None
