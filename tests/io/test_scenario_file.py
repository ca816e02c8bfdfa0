"""Scenario files: YAML and TOML, unknown keys with the valid list, one-of rules, paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tokenworks.errors import ScenarioError
from tokenworks.io.scenario_file import load_scenario, parse_scenario_dict, read_scenario_file

YAML = """
name: t
model: llama-3.1-8b
hardware: {accelerator: h100-sxm}
deployment: {tp: 1, num_replicas: 2}
workload:
  arrivals: {kind: poisson, rate_per_s: 2}
  prompt_tokens: {kind: lognormal, mean: 500, cv: 1.0}
  output_tokens: 100
  num_requests: 10
slo: {ttft_s: 1.0}
"""

TOML = """
name = "t"
model = "llama-3.1-8b"
[hardware]
accelerator = "h100-sxm"
[deployment]
tp = 1
num_replicas = 2
[workload]
output_tokens = 100
num_requests = 10
[workload.arrivals]
kind = "poisson"
rate_per_s = 2
[workload.prompt_tokens]
kind = "lognormal"
mean = 500
cv = 1.0
[slo]
ttft_s = 1.0
"""


def base() -> dict:
    return {"model": "llama-3.1-8b", "hardware": {"accelerator": "h100-sxm"},
            "workload": {"arrivals": {"kind": "poisson", "rate_per_s": 1.0},
                         "prompt_tokens": 100, "output_tokens": 10, "num_requests": 5}}


def test_yaml_and_toml_agree(tmp_path):
    (tmp_path / "a.yaml").write_text(YAML)
    (tmp_path / "a.toml").write_text(TOML)
    a, b = read_scenario_file(tmp_path / "a.yaml"), read_scenario_file(tmp_path / "a.toml")
    assert a == b
    assert a.deployment.num_replicas == 2 and a.workload.output_tokens == 100.0


@pytest.mark.parametrize(("patch", "needle"), [
    (lambda d: d.update(modle="x"), "unknown key 'modle'; valid keys here: name, description, model"),
    (lambda d: d["hardware"].update(gpu="h100"), "unknown key 'hardware.gpu'; valid keys here: accelerator, system"),
    (lambda d: d["workload"]["arrivals"].update(rate=3), "valid keys here: kind, rate_per_s, cv, num_users, think_time_s"),
    (lambda d: d["workload"].update(prompt_tokens={"kind": "lognormal", "mean": 3, "sd": 1}),
     "unknown key 'workload.prompt_tokens.sd'"),
    (lambda d: d.update(cache={"tiers": [{"name": "dram", "size_gb": 1}]}),
     "unknown key 'cache.tiers.0.size_gb'; valid keys here: name, capacity_gb"),
])
def test_unknown_keys_list_valid_ones(patch, needle):
    d = base()
    patch(d)
    with pytest.raises(ScenarioError) as e:
        parse_scenario_dict(d)
    assert needle in str(e.value)


@pytest.mark.parametrize(("patch", "needle"), [
    (lambda d: d.pop("hardware"), "exactly one of 'hardware'"),
    (lambda d: d.update(trace={"path": "x.jsonl"}), "exactly one traffic source"),
    (lambda d: d.pop("workload"), "exactly one traffic source"),
    (lambda d: d["workload"]["arrivals"].pop("rate_per_s"), "poisson arrivals need rate_per_s"),
    (lambda d: d["workload"].update(prompt_tokens={"kind": "lognormal", "mean": 3}),
     "exactly one of sigma or cv"),
    (lambda d: d["workload"].update(prompt_tokens={"kind": "empirical"}),
     "values: [...] or trace + column"),
    (lambda d: d.update(router={"kind": "random"}), "router.kind"),
    (lambda d: d.update(deployment={"tp": 0}), "deployment.tp"),
])
def test_one_of_rules_and_ranges(patch, needle):
    d = base()
    patch(d)
    with pytest.raises(ScenarioError) as e:
        parse_scenario_dict(d)
    assert needle in str(e.value)


def test_pools_exclude_deployment():
    d = base()
    d.pop("hardware")
    d["pools"] = {"prefill": {"accelerator": "h100-sxm"}, "decode": {"accelerator": "h200"}}
    assert parse_scenario_dict(d).pools.decode.accelerator == "h200"
    d["deployment"] = {"tp": 2}
    with pytest.raises(ScenarioError, match=r"inside pools\.prefill"):
        parse_scenario_dict(d)


def test_bad_files(tmp_path):
    with pytest.raises(ScenarioError, match="does not exist"):
        read_scenario_file(tmp_path / "none.yaml")
    (tmp_path / "x.txt").write_text("a: 1")
    with pytest.raises(ScenarioError, match=r"\.yaml, \.yml or \.toml"):
        read_scenario_file(tmp_path / "x.txt")
    (tmp_path / "bad.yaml").write_text("model: [unclosed")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        read_scenario_file(tmp_path / "bad.yaml")
    (tmp_path / "bad.toml").write_text("model = ")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        read_scenario_file(tmp_path / "bad.toml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="mapping"):
        read_scenario_file(tmp_path / "list.yaml")


def test_relative_paths_resolve_against_file_then_cwd(tmp_path, monkeypatch):
    sub = tmp_path / "examples"
    sub.mkdir()
    (sub / "s.yaml").write_text(YAML)
    (sub / "near.jsonl").write_text("{}")
    (tmp_path / "far.jsonl").write_text("{}")
    sc = load_scenario(sub / "s.yaml")
    assert sc.resolve_path("near.jsonl") == (sub / "near.jsonl").resolve()
    monkeypatch.chdir(tmp_path)
    assert sc.resolve_path("far.jsonl") == (tmp_path / "far.jsonl").resolve()
    assert sc.resolve_path(os.fspath(tmp_path / "far.jsonl")) == tmp_path / "far.jsonl"
    assert sc.resolve_path("missing.jsonl") == (sub / "missing.jsonl").resolve()


def test_with_overrides_revalidates():
    sc = load_scenario(base())
    sc2 = sc.with_overrides(seed=5, router={"kind": "least_kv"})
    assert sc2.spec.seed == 5 and sc2.spec.router.kind == "least_kv"
    assert sc2.spec.workload == sc.spec.workload
    with pytest.raises(ScenarioError):
        sc.with_overrides(router={"kind": "nope"})


def test_examples_parse():
    root = Path(__file__).resolve().parents[2] / "examples"
    files = sorted(root.glob("*.yaml")) + sorted(root.glob("*.toml"))
    assert len(files) >= 4
    for f in files:
        read_scenario_file(f)


def test_moe_layout_and_speculative_keys(tmp_path):
    from tokenworks.io.scenario import simulation_spec

    f = tmp_path / "moe.yaml"
    f.write_text("name: moe\nmodel: deepseek-v3\nhardware: {accelerator: h200}\n"
                 "deployment:\n  tp: 1\n  dp: 8\n  ep: 8\n  weights_dtype: fp8_block\n"
                 "  speculative: {method: mtp, num_tokens: 2, acceptance_length: 2.2}\n"
                 "workload: {arrivals: {kind: poisson, rate_per_s: 2}, prompt_tokens: 500,\n"
                 "  output_tokens: 100, num_requests: 20}\n")
    pool = simulation_spec(load_scenario(f)).pools[0]
    assert (pool.tp, pool.dp, pool.ep, pool.num_gpus) == (1, 8, 8, 8)
    assert pool.spec.method == "mtp" and pool.spec.tokens_per_step == pytest.approx(2.2)
    bad = tmp_path / "bad.yaml"
    bad.write_text(f.read_text().replace("num_tokens: 2", "num_tokens: 2, drafts: 3"))
    with pytest.raises(ScenarioError, match="drafts"):
        load_scenario(bad)


@pytest.mark.parametrize(("model", "served"), [("gpt-oss-20b", "mxfp4"),
                                                ("deepseek-v3", "fp8_block"),
                                                ("llama-3.1-8b", "bf16"),
                                                ("llama-2-7b", "fp16")])
def test_weights_default_to_the_checkpoint_format(tmp_path, model, served):
    """A deployment that names no weights dtype serves the checkpoint as shipped (what an
    engine loads), not bf16: gpt-oss in MXFP4, DeepSeek in block-scaled FP8."""
    from tokenworks.io.scenario import simulation_spec

    f = tmp_path / "s.yaml"
    f.write_text(f"name: s\nmodel: {model}\nhardware: {{accelerator: b200}}\n"
                 "deployment: {tp: 8}\n"
                 "workload: {arrivals: {kind: poisson, rate_per_s: 2}, prompt_tokens: 100,\n"
                 "  output_tokens: 10, num_requests: 4}\n")
    assert simulation_spec(load_scenario(f)).pools[0].weights_dtype == served
    f.write_text(f.read_text().replace("{tp: 8}", "{tp: 8, weights_dtype: fp8}"))
    assert simulation_spec(load_scenario(f)).pools[0].weights_dtype == "fp8"
