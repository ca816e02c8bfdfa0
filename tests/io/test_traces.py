"""Trace readers: formats, scaling, truncation, and errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tokenworks.errors import ScenarioError
from tokenworks.io.traces import read_trace
from tokenworks.serving.traces import (
    MOONCAKE_BLOCK_TOKENS,
    scale_trace,
    take,
    trace_sessions,
)

TRACES = Path(__file__).resolve().parents[3] / "shared" / "validation" / "traces"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_azure_csv(tmp_path):
    p = write(tmp_path, "azure.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
              "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n")
    tr = read_trace(p)
    assert tr.num_requests == 2
    assert tr.arrived_at_s[1] == pytest.approx(50.9951690 - 46.6805900, abs=1e-6)
    assert list(tr.prompt_tokens) == [374, 396] and list(tr.output_tokens) == [44, 109]
    assert tr.hashes is None


def test_mooncake_jsonl_units_and_hashes(tmp_path):
    p = write(tmp_path, "m.jsonl",
              '{"timestamp": 0, "input_length": 1100, "output_length": 5, "hash_ids": [0, 1, 2]}\n'
              '{"timestamp": 1500, "input_length": 600, "output_length": 7, "hash_ids": [0, 9]}\n')
    tr = read_trace(p)
    assert tr.hash_block_tokens == MOONCAKE_BLOCK_TOKENS == 512
    assert list(tr.arrived_at_s) == [0.0, 1.5]  # ms -> s
    assert list(tr.hash_offsets) == [0, 3, 5] and list(tr.hashes) == [0, 1, 2, 0, 9]
    table = trace_sessions(tr)
    assert table.num_calls == 2 and list(table.new_tokens) == [1100, 600]


def test_vidur_csv_and_sorting(tmp_path):
    p = write(tmp_path, "v.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n"
              "2.0,10,1\n1.0,20,2\n3.5,30,3\n")
    tr = read_trace(p)
    # ASSUMPTION in the reader: rows are replayed in time order.
    assert list(tr.arrived_at_s) == [0.0, 1.0, 2.5]
    assert list(tr.prompt_tokens) == [20, 10, 30]


@pytest.mark.parametrize(("name", "text", "needle"), [
    ("a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,374,44\n"
              "2023-11-16 18:15:47,abc,44\n", "line 3, field 'ContextTokens'"),
    ("b.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\nnot-a-date,3,4\n", "line 2, field 'TIMESTAMP'"),
    ("c.csv", "arrived_at,num_prefill_tokens\n0,1\n", "num_decode_tokens"),
    ("d.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 1}\n{"timestamp": 1,\n',
     "line 2"),
    ("e.jsonl", '{"timestamp": 0, "input_length": 5}\n', "field 'output_length'"),
    ("f.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 1, "hash_ids": "x"}\n',
     "field 'hash_ids'"),
    ("g.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n-1,4,4\n", "field 'arrived_at'"),
    ("h.csv", "foo,bar\n1,2\n", "cannot tell the format"),
])
def test_malformed_traces_name_file_line_field(tmp_path, name, text, needle):
    p = write(tmp_path, name, text)
    with pytest.raises(ScenarioError) as e:
        read_trace(p)
    assert needle in str(e.value) and str(p) in str(e.value)


def test_missing_and_empty(tmp_path):
    with pytest.raises(ScenarioError, match="does not exist"):
        read_trace(tmp_path / "nope.csv")
    p = write(tmp_path, "empty.jsonl", "\n")
    with pytest.raises(ScenarioError, match="no requests"):
        read_trace(p)


def test_scaling_and_take(tmp_path):
    p = write(tmp_path, "v.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n"
              + "".join(f"{i * 0.5},{10 + i},{i + 1}\n" for i in range(11)))
    tr = read_trace(p)
    assert tr.duration_s == 5.0
    # 11 arrivals over 5 s: (11-1)/5 = 2 req/s; to get 4 req/s halve the times.
    fast = scale_trace(tr, target_rate_per_s=4.0)
    assert fast.duration_s == pytest.approx(2.5)
    slow = scale_trace(tr, time_scale=3.0)
    assert slow.duration_s == pytest.approx(15.0)
    with pytest.raises(ScenarioError):
        scale_trace(tr, time_scale=2.0, target_rate_per_s=1.0)
    assert take(tr, 3).num_requests == 3
    assert read_trace(p, max_requests=4).num_requests == 4


@pytest.mark.parametrize(("rel", "n", "mean_in"), [
    ("azure_llm_2023/AzureLLMInferenceTrace_conv.csv", 19366, 1154.7),
    ("mooncake_fast25/conversation_trace.jsonl", 12031, 12035.1),
    ("vidur_processed/splitwise_code.csv", 8819, 2047.8),
])
def test_real_traces(rel, n, mean_in):
    """Counts and mean input lengths as in traces.csv / the Mooncake README (12,031; 12,035)."""
    path = TRACES / rel
    if not path.exists():
        pytest.skip(f"{path} absent")
    tr = read_trace(path)
    assert tr.num_requests == n
    assert tr.prompt_tokens.mean() == pytest.approx(mean_in, rel=1e-3)
    assert np.all(np.diff(tr.arrived_at_s) >= 0)
