"""Measurement readers: vLLM bench serve JSON, GuideLLM report JSON, plain CSV, bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tokenworks.errors import ConfigError
from tokenworks.io.measurements import read_measurements


def _vllm_doc(**over):
    # Layout of `vllm bench serve --save-result --save-detailed` (vllm/benchmarks/serve.py):
    # ttfts and itls in seconds, start_times from time.perf_counter().
    doc = {
        "date": "20251120-101500", "backend": "vllm", "label": None, "request_rate": 2.0,
        "burstiness": 1.0, "max_concurrency": None, "duration": 3.0, "completed": 3,
        "input_lens": [100, 200, 300], "output_lens": [3, 2, 1],
        "ttfts": [0.10, 0.20, 0.30], "itls": [[0.05, 0.05], [0.04], []],
        "latencies": [0.20, 0.24, 0.30], "start_times": [1000.5, 1000.0, 1001.0],
        "errors": ["", "", ""], "generated_texts": ["a", "b", "c"],
        "median_ttft_ms": 200.0,
    }
    doc.update(over)
    return doc


def test_vllm_detailed_result(tmp_path):
    """Arrivals are start_times sorted and shifted to 0; E2E = latencies; TPOT = (E2E-TTFT)/(n-1):
    request at 1000.5 s: (0.20 - 0.10) / 2 = 0.05 s."""
    f = tmp_path / "r.json"
    f.write_text(json.dumps(_vllm_doc()))
    m = read_measurements(f)
    assert m.format == "vllm" and m.date == "20251120-101500"
    (run,) = m.runs
    np.testing.assert_allclose(run.arrival_s, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(run.input_tokens, [200, 100, 300])
    np.testing.assert_allclose(run.e2e_s, [0.24, 0.20, 0.30])
    assert run.tpot_s[1] == pytest.approx(0.05)
    assert np.isnan(run.tpot_s[2])
    assert run.arrivals_measured and run.request_rate_per_s == 2.0


def test_vllm_older_without_start_times_uses_itls_and_redraws_arrivals(tmp_path):
    """Older vLLM: no latencies, no start_times. E2E = ttft + sum(itls) = 0.10 + 0.10 = 0.20;
    arrivals redrawn as Poisson at request_rate (mean gap 0.5 s), first at 0; failed dropped."""
    doc = _vllm_doc(errors=["", "boom", ""])
    for k in ("latencies", "start_times"):
        del doc[k]
    f = tmp_path / "r.json"
    f.write_text(json.dumps(doc))
    (run,) = read_measurements(f, rng=np.random.default_rng(3)).runs
    assert run.num_requests == 2 and not run.arrivals_measured
    assert run.arrival_s[0] == 0.0 and run.arrival_s[1] > 0.0
    assert sorted(run.e2e_s.tolist()) == pytest.approx([0.20, 0.30])


def test_vllm_append_result_is_one_run_per_line(tmp_path):
    f = tmp_path / "r.jsonl"
    f.write_text(json.dumps(_vllm_doc()) + "\n" + json.dumps(_vllm_doc(request_rate=4.0)) + "\n")
    m = read_measurements(f)
    assert len(m.runs) == 2 and m.runs[1].request_rate_per_s == 4.0


def test_vllm_without_save_detailed_says_the_fix(tmp_path):
    doc = {k: v for k, v in _vllm_doc().items() if k not in ("ttfts", "input_lens")}
    f = tmp_path / "agg.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=r"agg\.json.*ttfts.*--save-detailed"):
        read_measurements(f)


def test_vllm_bad_field_named_with_index(tmp_path):
    f = tmp_path / "r.json"
    f.write_text(json.dumps(_vllm_doc(ttfts=[0.1, "x", 0.3])))
    with pytest.raises(ConfigError, match=r"r\.json: field ttfts\[1\]"):
        read_measurements(f)
    f.write_text(json.dumps(_vllm_doc(output_lens=[3, 2])))
    with pytest.raises(ConfigError, match="output_lens' has 2 entries"):
        read_measurements(f)


def test_json_syntax_error_names_line(tmp_path):
    f = tmp_path / "r.json"
    f.write_text('{\n  "ttfts": [0.1,\n  oops]\n}\n')
    with pytest.raises(ConfigError, match=r"r\.json: line 3"):
        read_measurements(f)


def _guidellm_request(start, ttft_ms, latency, prompt, out, version):
    if version == "v0.4":
        return {"request_id": "x", "info": {"timings": {"request_start": start}},
                "request_start_time": start, "prompt_tokens": prompt, "output_tokens": out,
                "time_to_first_token_ms": ttft_ms, "request_latency": latency}
    if version == "v0.3":
        return {"scheduler_info": {"request_timings": {"request_start": start}},
                "prompt_tokens": prompt, "output_tokens": out,
                "time_to_first_token_ms": ttft_ms, "request_latency": latency}
    return {"start_time": start, "end_time": start + latency,
            "first_token_time": start + ttft_ms / 1000, "prompt_tokens": prompt,
            "output_tokens": out}


@pytest.mark.parametrize("version", ["v0.4", "v0.3", "v0.2"])
def test_guidellm_report_versions(tmp_path, version):
    """Two benchmarks (a sweep) -> two runs; TTFT from ms; start times shifted to 0."""
    bench = {"requests": {"successful": [
        _guidellm_request(50.0, 120.0, 1.0, 512, 64, version),
        _guidellm_request(50.25, 80.0, 0.5, 256, 32, version)], "errored": [], "incomplete": []}}
    f = tmp_path / "benchmarks.json"
    f.write_text(json.dumps({"benchmarks": [bench, bench]}))
    m = read_measurements(f)
    assert m.format == "guidellm" and len(m.runs) == 2
    run = m.runs[0]
    np.testing.assert_allclose(run.arrival_s, [0.0, 0.25])
    np.testing.assert_allclose(run.ttft_s, [0.120, 0.080])
    np.testing.assert_allclose(run.e2e_s, [1.0, 0.5])
    np.testing.assert_array_equal(run.output_tokens, [64, 32])


def test_guidellm_missing_field(tmp_path):
    r = _guidellm_request(0.0, 10.0, 1.0, 10, 5, "v0.4")
    del r["prompt_tokens"]
    f = tmp_path / "benchmarks.json"
    f.write_text(json.dumps({"benchmarks": [{"requests": {"successful": [r]}}]}))
    with pytest.raises(ConfigError, match=r"benchmarks\[0\]\.requests\.successful\[0\]\.prompt_tokens"):
        read_measurements(f)


def test_csv_roundtrip_and_runs(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s,run,note\n"
                 "0.0,100,10,0.05,0.50,a,x\n1.0,200,20,0.07,0.90,a,y\n0.5,300,5,0.1,0.3,b,z\n")
    m = read_measurements(f)
    assert m.format == "csv" and [r.label for r in m.runs] == ["a", "b"]
    assert m.runs[0].tpot_s[0] == pytest.approx((0.50 - 0.05) / 9)
    assert m.runs[1].arrival_s[0] == 0.0


@pytest.mark.parametrize(("body", "match"), [
    ("arrival_s,input_tokens,ttft_s,e2e_s\n0,1,0.1,0.2\n", r"line 1: header lacks column\(s\) output_tokens"),
    ("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s\n0,10,5,0.1,0.5\n1,10,abc,0.1,0.5\n",
     r"line 3, field output_tokens: 'abc' is not a number"),
    ("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s\n0,10.5,5,0.1,0.5\n",
     r"line 2, field input_tokens: 10.5 must be a whole number"),
    ("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s\n0,10,5,-0.1,0.5\n",
     r"line 2, field ttft_s: -0.1 must be a finite number >= 0"),
    ("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s\n0,10,5\n", r"line 2: 3 fields"),
    ("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s\n0,10,5,0.9,0.5\n", r"e2e 0.5 s < ttft 0.9 s"),
    ("", "empty"),
])
def test_csv_malformed_names_file_line_field(tmp_path, body, match):
    f = tmp_path / "bad.csv"
    f.write_text(body)
    with pytest.raises(ConfigError, match=r"bad\.csv.*" + match):
        read_measurements(f)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_measurements(tmp_path / "nope.json")
    f = tmp_path / "m.csv"
    f.write_text("x\n")
    with pytest.raises(ConfigError, match="Valid formats: auto, vllm, guidellm, csv"):
        read_measurements(f, format="parquet")
