"""Cross-check model math against published figures in shared/validation (skips if absent)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tokenworks.model import get_model, kv_bytes_per_token

PAPERS = Path(__file__).resolve().parents[3] / "shared" / "validation" / "measured" / "papers.csv"


def test_mooncake_kv_bytes_per_token():
    """Mooncake (FAST'25) Table 1: LLaMA3-70B KV = 327,680 B/token at BF16."""
    if not PAPERS.exists():
        pytest.skip(f"{PAPERS} not present")
    with PAPERS.open() as f:
        rows = [r for r in csv.DictReader(f) if r["metric"] == "kv_cache_bytes_per_token"
                and "LLaMA3-70B" in r["scenario"]]
    if not rows:
        pytest.skip("no LLaMA3-70B KV row in papers.csv")
    for r in rows:
        assert kv_bytes_per_token(get_model("llama-3-70b"), "bf16") == float(r["value"])
