"""Model catalog: lookups, did-you-mean, sources on every entry."""

from __future__ import annotations

import pytest

from tokenworks.catalog import data_path
from tokenworks.errors import UnknownNameError
from tokenworks.model import get_model, list_models, model_entries
from tokenworks.units import BILLION

REQUIRED = {
    "llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "llama-3-70b", "llama-3.1-8b",
    "llama-3.1-70b", "llama-3.1-405b", "llama-3.3-70b", "llama-4-scout", "llama-4-maverick",
    "mistral-7b", "mixtral-8x7b", "mixtral-8x22b", "qwen3-8b", "qwen3-32b", "qwen3-30b-a3b",
    "qwen3-235b-a22b", "deepseek-v3", "deepseek-r1", "gpt-oss-20b", "gpt-oss-120b",
    "gpt-3-175b", "jamba-v0.1", "qwen3-coder-480b-a35b", "qwen3-vl-8b", "qwen3.5-397b-a17b",
    "kimi-k2-instruct", "glm-4.5-air", "llama-3.1-nemotron-ultra-253b", "qwen2.5-7b",
    "qwen2.5-14b", "qwen2.5-32b", "qwen2.5-72b", "qwen3-14b",
}


def test_catalog_has_required_models():
    assert {m.name for m in list_models()} >= REQUIRED


def test_lookup_case_insensitive_and_by_repo():
    assert get_model("Llama-3.1-70B").name == "llama-3.1-70b"
    assert get_model("meta-llama/Llama-3.1-70B").name == "llama-3.1-70b"


def test_unknown_model_did_you_mean():
    with pytest.raises(UnknownNameError, match=r"Did you mean: .*llama-3\.1-70b"):
        get_model("llama-3.1-70")


def test_published_counts_attached():
    arch = get_model("deepseek-v3")
    assert arch.published_params_total == 671 * BILLION
    assert arch.published_params_active == 37 * BILLION


def test_every_entry_sourced_and_config_present():
    for e in model_entries():
        assert e.source_url.startswith("https://")
        assert e.as_of and e.source_title
        assert data_path(f"models/{e.config}").exists()
        if e.hf_repo:
            assert e.source_url == f"https://huggingface.co/{e.hf_repo}/blob/main/config.json"


def test_every_config_file_is_indexed():
    files = {p.name for p in data_path("models").glob("*.json")}
    assert files == {e.config for e in model_entries()}
