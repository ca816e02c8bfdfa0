"""Economics orchestration (api/economics.py): consistency with the estimator and defaults."""

from __future__ import annotations

import pytest

from tokenworks.api import estimate
from tokenworks.api.economics import (
    pnl_report,
    power_report,
    tco_report,
    train_report,
)
from tokenworks.economics.estimate_cost import token_cost_from_estimate
from tokenworks.errors import ConfigError

KW = dict(tp=4, weights_dtype="fp8", input_tokens=2048, output_tokens=256, usd_per_gpu_hour=2.0)


def test_decomposition_matches_estimator_cost_without_hits():
    """With no cache hits, [(prefill + decode) / batch] must equal the estimator's own cost per
    request (its $/M input x I + $/M output x O): the same steady state, split two ways."""
    e = estimate("llama-3.1-70b", "h100-sxm", **KW)
    c = token_cost_from_estimate(e, e)
    est_usd = (e.usd_per_million_input_tokens * e.input_tokens
               + e.usd_per_million_output_tokens * e.output_tokens) / 1e6
    assert c.usd_per_request == pytest.approx(est_usd, rel=1e-9)
    assert c.output_usd_per_mtok == pytest.approx(e.usd_per_million_output_tokens, rel=1e-9)


def test_decomposition_with_hits_close_to_estimator():
    """The seeds' formula scales prefill linearly by (1 - hit); the estimator recomputes the
    prefill with cached context. They agree within a few percent."""
    e = estimate("llama-3.1-70b", "h100-sxm", prefix_hit_frac=0.5, **KW)
    e0 = estimate("llama-3.1-70b", "h100-sxm", prefix_hit_frac=0.0, batch=e.batch_size, **KW)
    c = token_cost_from_estimate(e0, e)
    est_usd = (e.usd_per_million_input_tokens * e.input_tokens
               + e.usd_per_million_output_tokens * e.output_tokens) / 1e6
    assert c.usd_per_request == pytest.approx(est_usd, rel=0.05)
    assert c.prefill_usd == pytest.approx(0.5 * c.prefill_usd_full)


def test_mismatched_estimates_rejected():
    a = estimate("llama-3.1-70b", "h100-sxm", batch=8, **KW)
    b = estimate("llama-3.1-70b", "h100-sxm", batch=16, **KW)
    with pytest.raises(ConfigError, match="same batch"):
        token_cost_from_estimate(a, b)


def test_reports_say_which_defaults_were_used():
    r = tco_report(**{"pue": 1.1})
    text = " ".join(r.defaults_used)
    assert not any(d.startswith("pue =") for d in r.defaults_used)
    assert "electricity_usd_per_kwh = 0.08" in text
    p = pnl_report(**{"num_accelerators": 8})
    assert any(d.startswith("on_demand_usd_per_hour") for d in p.defaults_used)
    rep, defaults = power_report(**{"grid": "france", "num_accelerators": 8})
    assert rep.carbon_g_per_kwh == 56 and not any(d.startswith("grid") for d in defaults)
    t = train_report(**{"active_params": 7e9, "tokens": 1e12, "num_accelerators": 64})
    assert t.run.flops == pytest.approx(6 * 7e9 * 1e12)
