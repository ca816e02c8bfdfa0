"""The dashboard's inputs: the fields of each form, and errors put next to the field they name.

Validation is the CLI's: the same ``api`` functions check the same values and raise the same
messages (value, rule or valid range, fix). This module only (1) checks types at the edge with
pydantic (``extra="forbid"``: an unknown field is named with the valid ones) and (2) finds the
field an error is about — the field named earliest in its message — so the page shows it next
to that field. An error that names no field is shown at the top of the form.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from tokenworks.io.economics import QUESTIONS
from tokenworks.perf.engine import DEFAULT_ENGINE

__all__ = [
    "ESTIMATE_FIELDS",
    "SIMULATE_FIELDS",
    "EstimateInputs",
    "FieldError",
    "SimulateInputs",
    "field_errors",
    "validation_errors",
]


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EstimateInputs(_Form):
    """``api.estimate``'s arguments (same names, same defaults as ``tokenworks estimate``)."""

    model: str = "llama-3.1-70b"
    hardware: str = "h200"
    num_gpus: int | None = 8
    tp: int | None = 8  # None: the smallest that fits
    pp: int = 1
    ep: int = 1
    dp: int = 1  # data-parallel attention ranks (MoE)
    weights_dtype: str = "fp8"
    kv_dtype: str | None = None
    input_tokens: int = 2048
    output_tokens: int = 256
    batch: int | Literal["max"] = "max"
    prefix_hit_frac: float = 0.0
    usd_per_gpu_hour: float | None = None
    engine: str = DEFAULT_ENGINE
    # None: the engine's default on this accelerator (as the CLI)
    gpu_memory_utilization_frac: float | None = None
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None
    tpot_slo_ms: float | None = None
    ttft_slo_ms: float | None = None
    sweep: bool = False
    # speculative decoding (the CLI's --spec, --spec-tokens, --spec-acceptance-length)
    spec: Literal["mtp", "eagle", "draft", "ngram"] | None = None
    spec_tokens: int | None = None
    spec_acceptance_length: float | None = None
    draft_model: str | None = None
    calibration: str | None = None  # an uploaded calibration (from tokenworks calibrate)


class SimulateInputs(_Form):
    """A simulation from a few fields (a Poisson chat workload, or an uploaded ``trace_file``
    replayed), or a whole scenario: a ``scenario`` dict (the YAML file's content) or an
    uploaded ``scenario_file``."""

    scenario: dict[str, Any] | None = None
    scenario_file: str | None = None
    trace_file: str | None = None
    model: str = "llama-3.1-8b"
    hardware: str = "h100-sxm"
    tp: int = 1
    num_replicas: int = 1
    weights_dtype: str = "bf16"
    rate_per_s: float = 4.0
    num_requests: int = 400
    prompt_tokens_mean: int = 1000
    output_tokens_mean: int = 200
    prefix_cache: Literal["none", "lru_blocks", "radix"] = "lru_blocks"
    engine: str = DEFAULT_ENGINE
    ttft_slo_s: float | None = 2.0
    tpot_slo_s: float | None = 0.1
    seed: int = 0
    max_requests: int | None = None

    def scenario_dict(self) -> dict[str, Any]:
        """The quick form as a scenario (same keys as a scenario file)."""
        sc: dict[str, Any] = {
            "name": f"web-{self.model}-{self.hardware}",
            "description": "dashboard quick form: " + (
                f"replay of {self.trace_file}" if self.trace_file else "Poisson chat workload"),
            "model": self.model, "hardware": {"accelerator": self.hardware},
            "engine": self.engine,
            "deployment": {"tp": self.tp, "num_replicas": self.num_replicas,
                           "weights_dtype": self.weights_dtype},
            "cache": {"prefix_cache": self.prefix_cache},
            "slo": {"ttft_s": self.ttft_slo_s, "tpot_s": self.tpot_slo_s},
            "seed": self.seed,
        }
        if self.trace_file:
            sc["trace"] = {"path": self.trace_file}
        else:
            sc["workload"] = {
                "arrivals": {"kind": "poisson", "rate_per_s": self.rate_per_s},
                "prompt_tokens": {"kind": "lognormal", "mean": self.prompt_tokens_mean,
                                  "cv": 1.0},
                "output_tokens": {"kind": "lognormal", "mean": self.output_tokens_mean,
                                  "cv": 0.8},
                "num_requests": self.num_requests}
        return sc


ESTIMATE_FIELDS = tuple(EstimateInputs.model_fields)
# "scenario" starts every scenario error ("scenario X is invalid: ..."): not a place to point.
SIMULATE_FIELDS = tuple(f for f in SimulateInputs.model_fields if f != "scenario")


class FieldError(BaseModel):
    """One message for the page: ``field`` is the input it belongs next to (None: the form)."""

    field: str | None
    message: str


# Words in a message that point at a field other than by its own name.
_ALIASES: dict[str, tuple[str, ...]] = {
    "hardware": (r"\baccelerator '",),
    "model": (r"^model '", r"\bconfig\.json\b"),
    "rate_per_s": (r"\brate_per_s\b",),
    "prompt_tokens_mean": (r"\bprompt_tokens\b",),
    "output_tokens_mean": (r"\boutput_tokens\.",),
    "accelerator": (r"\baccelerator '",),
    "more": (r"unknown key",),  # the economics form's free key = value lines
    "plan_file": (r"\bresult_file\b",),
    "result": (r"^(a |the )?plan\b",),
}


def field_for_message(message: str, fields: tuple[str, ...]) -> str | None:
    """The field named earliest in ``message`` (by name or alias), or None."""
    best: tuple[int, str] | None = None
    for f in fields:
        for pat in (rf"(?<![\w.-]){re.escape(f)}(?![\w-])", *_ALIASES.get(f, ())):
            m = re.search(pat, message)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), f)
    return None if best is None else best[1]


def validation_errors(e: ValidationError) -> list[FieldError]:
    """Pydantic's errors as field messages that repeat the value given."""
    out = []
    for err in e.errors():
        loc = [str(x) for x in err.get("loc", ())]
        name = loc[0] if loc else None
        given = err.get("input")
        if err.get("type") == "extra_forbidden":
            msg = f"'{name}' is not an input of this form."
            name = None
        else:
            shown = "" if isinstance(given, dict | list) else f" = {given!r}"
            msg = f"{'.'.join(loc)}{shown}: {err.get('msg', 'invalid')}."
        out.append(FieldError(field=name, message=msg))
    return out


def field_errors(e: Exception, fields: tuple[str, ...]) -> list[FieldError]:
    """An input error as messages placed by field (see module docstring)."""
    if isinstance(e, ValidationError):
        return validation_errors(e)
    msg = str(e)
    return [FieldError(field=field_for_message(msg, fields), message=msg)]


def economics_fields(kind: str) -> tuple[str, ...]:
    """The inputs an economics question accepts (what ``--set`` accepts on the CLI)."""
    return tuple(QUESTIONS[kind].model_fields)
