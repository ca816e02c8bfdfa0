"""Cost per token: the seeds' chain and the decomposition terms."""

from __future__ import annotations

import pytest

from tokenworks.economics.token_cost import (
    default_usd_per_gpu_hour,
    margin_at_list_price,
    split_gpu_hour,
    token_cost,
    usd_per_million_tokens,
)
from tokenworks.errors import ConfigError


def test_seed_batch1_floor():
    """Seed 003: 140 GB / 3.35 TB/s = 41.8 ms/token -> 23.9 tok/s; $2.50/h / 3600 / 23.9 x 1e6
    = $29.0/M output tokens."""
    tps = 3.35e12 / 140e9
    assert usd_per_million_tokens(2.50, tps) == pytest.approx(29.02, abs=0.05)


def test_linear_in_batch_when_memory_bound():
    """If a decode step costs the same at batch B (weights-bound), $/M falls as 1/B."""
    tps1 = 3.35e12 / 140e9
    assert usd_per_million_tokens(2.5, 64 * tps1) == pytest.approx(29.02 / 64, rel=1e-3)


def test_decomposition_terms():
    """$3.6/h x 2 GPUs = $0.002/s. Prefill 10 s, decode 40 s, batch 10, 1000 in / 100 out, 50%
    hit: prefill $ = 0.5 x 0.02 = 0.01, decode $ = 0.08, per request (0.01+0.08)/10 = 0.009."""
    c = token_cost(usd_per_gpu_hour=3.6, num_gpus=2, prefill_s=10, decode_s=40, batch_size=10,
                   input_tokens=1000, output_tokens=100, prefix_hit_frac=0.5)
    assert c.prefill_usd_full == pytest.approx(0.02)
    assert c.prefill_usd == pytest.approx(0.01)
    assert c.decode_usd == pytest.approx(0.08)
    assert c.usd_per_request == pytest.approx(0.009)
    # input: 0.02 $ / (10 x 1000 tokens) = 2e-6 $/token = $2/M; output: 0.08/(10x100) = $80/M
    assert c.input_usd_per_mtok == pytest.approx(2.0)
    assert c.output_usd_per_mtok == pytest.approx(80.0)
    assert c.all_in_usd_per_output_mtok == pytest.approx(90.0)
    assert c.prefill_time_frac == pytest.approx(5 / 45)


def test_split_gpu_hour_is_batch_one():
    c = split_gpu_hour(usd_per_gpu_hour=3.6, prefill_gpu_s_per_request=1.0,
                       decode_gpu_s_per_request=4.0, input_tokens=1000, output_tokens=100)
    assert c.usd_per_request == pytest.approx(0.005)


def test_margin_at_list_price():
    """Cost 0.009 $/request; 1000 in (50% cached at $0.1/M, else $1/M), 100 out at $10/M:
    revenue = (500 x 1 + 500 x 0.1 + 100 x 10) / 1e6 = 0.00155 -> negative margin."""
    c = token_cost(usd_per_gpu_hour=3.6, num_gpus=2, prefill_s=10, decode_s=40, batch_size=10,
                   input_tokens=1000, output_tokens=100, prefix_hit_frac=0.5)
    m = margin_at_list_price(c, input_tokens=1000, output_tokens=100, input_usd_per_mtok=1.0,
                             output_usd_per_mtok=10.0, cached_input_usd_per_mtok=0.1)
    assert m.revenue_usd_per_request == pytest.approx(0.00155)
    assert m.margin_frac == pytest.approx(1 - 0.009 / 0.00155)


def test_default_price_from_catalog():
    price, source = default_usd_per_gpu_hour("h100-sxm")
    assert 1.0 < price < 10.0
    assert "prices catalog" in source


def test_default_price_falls_back_to_rental_midpoint():
    from tokenworks.economics.catalog import get_gpu_price
    from tokenworks.hardware import list_accelerators

    fallback = [a for a in list_accelerators()
                if get_gpu_price(a.name) is None and a.rental_usd_per_hour_mid is not None]
    if not fallback:
        pytest.skip("every priced accelerator is in the prices catalog")
    acc = fallback[0]
    price, source = default_usd_per_gpu_hour(acc)
    assert price == pytest.approx(acc.rental_usd_per_hour_mid)
    assert "midpoint" in source


@pytest.mark.parametrize("kw,match", [
    (dict(usd_per_gpu_hour=-1.0), "usd_per_gpu_hour = -1"),
    (dict(prefix_hit_frac=1.5), "prefix_hit_frac = 1.5"),
    (dict(batch_size=0), "batch_size = 0"),
])
def test_bad_inputs(kw, match):
    base = dict(usd_per_gpu_hour=2.0, num_gpus=1, prefill_s=1.0, decode_s=1.0, batch_size=1,
                input_tokens=10, output_tokens=10)
    with pytest.raises(ConfigError, match=match):
        token_cost(**{**base, **kw})
