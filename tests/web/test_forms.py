"""web.forms: an error message is placed next to the field it names first."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tokenworks.web.forms import (
    ESTIMATE_FIELDS,
    SIMULATE_FIELDS,
    EstimateInputs,
    SimulateInputs,
    field_errors,
    field_for_message,
)

SIM = SIMULATE_FIELDS


@pytest.mark.parametrize("message,fields,field", [
    ("tp = 0 is invalid: it must be a whole number >= 1.", ESTIMATE_FIELDS, "tp"),
    ("num_gpus = 12 is not a multiple of tp × pp = 8 × 1 = 8.", ESTIMATE_FIELDS, "num_gpus"),
    ("accelerator 'h100' is not in the catalog. Did you mean: h100-sxm?", ESTIMATE_FIELDS,
     "hardware"),
    ("model 'x' is not in the catalog.", ESTIMATE_FIELDS, "model"),
    ("input_tokens + output_tokens = 200256 exceeds the context window", ESTIMATE_FIELDS,
     "input_tokens"),
    ("weights need 811.7 GB at bf16 ... at tp=1, pp=1. Try tp=8", ESTIMATE_FIELDS, "tp"),
    ("scenario quick form is invalid: workload.arrivals.rate_per_s: Input should be greater "
     "than 0.", SIM, "rate_per_s"),
    ("max_num_seqs = 0 is out of range", ESTIMATE_FIELDS, "max_num_seqs"),
    ("something unrelated went wrong", ESTIMATE_FIELDS, None),
])
def test_field_for_message(message, fields, field):
    assert field_for_message(message, fields) == field


def test_pydantic_errors_repeat_the_value():
    with pytest.raises(ValidationError) as e:
        EstimateInputs.model_validate({"tp": "eight", "extra": 1})
    errs = field_errors(e.value, ESTIMATE_FIELDS)
    assert {(x.field, x.message.split(":")[0]) for x in errs} == {
        ("tp", "tp = 'eight'"), (None, "'extra' is not an input of this form.")}


def test_the_quick_form_is_a_scenario():
    sc = SimulateInputs(model="llama-3.1-8b", rate_per_s=2.0, num_requests=10).scenario_dict()
    from tokenworks.io.scenario_file import parse_scenario_dict

    spec = parse_scenario_dict(sc)
    assert spec.workload.arrivals.rate_per_s == 2.0 and spec.workload.num_requests == 10
