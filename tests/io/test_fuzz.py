"""Fuzzing the edge: scenario files, traces and measurement files with random keys, types,
bytes and huge numbers raise a ``TokenworksError`` (one line that names the problem) or
work; nothing else ever escapes (issue #9)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenworks.api import simulate
from tokenworks.errors import TokenworksError
from tokenworks.io.measurements import read_measurements
from tokenworks.io.scenario import simulation_spec
from tokenworks.io.scenario_file import read_scenario_file
from tokenworks.io.traces import read_trace

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

NUMBERS = st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -1, 1, 1e308, 2**63, 0.5]))
SCALARS = st.one_of(NUMBERS, st.text(max_size=12), st.booleans(), st.none())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)

BASE = {"model": "llama-3.1-8b", "hardware": {"accelerator": "h100-sxm"},
        "workload": {"arrivals": {"kind": "poisson", "rate_per_s": 5.0}, "prompt_tokens": 100,
                     "output_tokens": 20, "num_requests": 4}}
# Keys a scenario really has, so mutations land on real fields as well as on unknown ones.
PATHS = [("model",), ("hardware", "accelerator"), ("deployment", "tp"), ("deployment", "pp"),
         ("deployment", "num_replicas"), ("deployment", "weights_dtype"),
         ("deployment", "gpu_memory_utilization_frac"), ("deployment", "kv_block_size_tokens"),
         ("scheduler", "max_num_batched_tokens"), ("scheduler", "max_num_seqs"),
         ("scheduler", "policy"), ("cache", "prefix_cache"), ("router", "kind"),
         ("workload", "arrivals", "rate_per_s"), ("workload", "arrivals", "kind"),
         ("workload", "prompt_tokens"), ("workload", "output_tokens"),
         ("workload", "num_requests"), ("workload", "duration_s"), ("seed",), ("slo", "ttft_s"),
         ("simulation", "drain_limit_s"), ("nonsense",), ("workload", "extra_key")]


def _mutate(paths_values: list) -> dict:
    doc = json.loads(json.dumps(BASE))
    for path, value in paths_values:
        d = doc
        for key in path[:-1]:
            if not isinstance(d.get(key), dict):
                d[key] = {}
            d = d[key]
        d[path[-1]] = value
    return doc


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3))
def test_mutated_scenarios_fail_cleanly_or_run(tmp_path, mutations):
    doc = _mutate(mutations)
    path = tmp_path / "s.json.yaml"
    try:
        path.write_text(json.dumps(doc, allow_nan=True))  # YAML is a superset of JSON
    except ValueError:
        return
    try:
        spec = simulation_spec(read_scenario_file(path), max_requests=3)
        simulate(spec)
    except TokenworksError as e:
        assert "\n" not in str(e).strip(), str(e)


@SETTINGS
@given(st.binary(max_size=300), st.sampled_from([".yaml", ".toml", ".yml"]))
def test_random_bytes_as_a_scenario_file(tmp_path, data, suffix):
    path = tmp_path / f"s{suffix}"
    path.write_bytes(data)
    with pytest.raises(TokenworksError):
        read_scenario_file(path)


@SETTINGS
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
       st.sampled_from(["t.csv", "t.jsonl", "t.json"]),
       st.sampled_from(["auto", "azure", "mooncake", "vidur", "lengths"]))
def test_random_trace_files_fail_cleanly(tmp_path, data, name, fmt):
    path = tmp_path / name
    path.write_bytes(data)
    with contextlib.suppress(TokenworksError):
        read_trace(path, format=fmt)


LINE = st.fixed_dictionaries({"timestamp": NUMBERS, "input_length": NUMBERS,
                              "output_length": NUMBERS,
                              "hash_ids": st.lists(st.one_of(st.integers(), SCALARS), max_size=3)})


@SETTINGS
@given(st.lists(LINE, min_size=1, max_size=5))
def test_mooncake_lines_with_wrong_values(tmp_path, rows):
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    try:
        tr = read_trace(path)
        assert tr.num_requests == len(rows)
    except TokenworksError as e:
        assert "line" in str(e)


@SETTINGS
@given(st.lists(st.tuples(NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS), min_size=1, max_size=5))
def test_measurement_csv_with_wrong_values(tmp_path, rows):
    path = tmp_path / "m.csv"
    lines = ["arrival_s,input_tokens,output_tokens,ttft_s,e2e_s"]
    lines += [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    with contextlib.suppress(TokenworksError):
        read_measurements(path)
