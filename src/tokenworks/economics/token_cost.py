"""Cost per token: from a $/GPU-hour (rental or TCO) and the time a batch spends in each phase.

The seeds' decomposition (seed 003, "The full inference cost formula"):

    cost/token = [(1 - hit_rate) x prefill_cost + decode_cost] / batch_size

``token_cost`` computes every term of it for one batch and splits the GPU-hour between input
(prefill), cached input and output (decode) tokens, so a list price per token class can be
compared with its cost. Units: $ and seconds inside; $/M tokens only in names ``_usd_per_mtok``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenworks.errors import ConfigError, check_range
from tokenworks.hardware import Accelerator, get_accelerator
from tokenworks.units import HOUR, MILLION


def usd_per_million_tokens(usd_per_hour: float, tokens_per_s: float) -> float:
    """$ per million tokens for a resource costing ``usd_per_hour`` producing ``tokens_per_s``.

    $/Mtok = ($/h / 3600 s/h) / (tok/s) x 1e6. Example: $2.50/h at 24 tok/s -> $28.9/Mtok
    (seed 003: batch-1 decode of a 70B fp16 model on an H100 costs ~$29/M).
    """
    check_range("usd_per_hour", usd_per_hour, low=0, unit="$/h")
    check_range("tokens_per_s", tokens_per_s, low=0, low_inclusive=False, unit="tok/s",
                fix="A zero throughput has no cost per token.")
    return usd_per_hour / HOUR / tokens_per_s * MILLION


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenCost:
    """Every term of the seeds' cost-per-token formula for one batch, plus per-class prices."""

    usd_per_hour: float  # for the whole replica (num_gpus x $/GPU-hour)
    batch_size: int
    prefix_hit_frac: float
    prefill_usd_full: float  # prefill of the whole batch with no cache hits
    prefill_usd: float  # (1 - hit) x prefill_usd_full
    decode_usd: float  # decoding every output token of the batch
    usd_per_request: float  # (prefill_usd + decode_usd) / batch
    prefill_time_frac: float  # share of replica time spent in (uncached) prefill
    input_usd_per_mtok: float  # cost of one uncached input token
    cached_input_usd_per_mtok: float  # cost of one cache-hit input token
    output_usd_per_mtok: float  # decode cost of one output token
    all_in_usd_per_output_mtok: float  # everything charged to output tokens
    blended_usd_per_mtok: float  # everything over input + output tokens


def token_cost(
    *,
    usd_per_gpu_hour: float,
    num_gpus: int,
    prefill_s: float,
    decode_s: float,
    batch_size: int,
    input_tokens: int,
    output_tokens: int,
    prefix_hit_frac: float = 0.0,
    cached_token_cost_frac: float = 0.0,
) -> TokenCost:
    """Cost of one batch on a replica of ``num_gpus`` and its split into token classes.

    ``prefill_s`` is the replica wall time to prefill all ``batch_size x input_tokens`` tokens
    with no cache hits; ``decode_s`` the time to generate ``output_tokens`` for every request
    of the batch. ``cached_token_cost_frac`` prices a cache-hit token as a fraction of an
    uncached one (0 = free compute; the KV read is small next to the prefill it replaces).
    """
    check_range("usd_per_gpu_hour", usd_per_gpu_hour, low=0, unit="$/h")
    check_range("prefix_hit_frac", prefix_hit_frac, low=0, high=1)
    check_range("cached_token_cost_frac", cached_token_cost_frac, low=0, high=1)
    check_range("prefill_s", prefill_s, low=0, unit="s")
    check_range("decode_s", decode_s, low=0, unit="s")
    for name, v in (("num_gpus", num_gpus), ("batch_size", batch_size),
                    ("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        if v < 1:
            raise ConfigError(f"{name} = {v} is out of range: it must be >= 1.")
    usd_per_s = usd_per_gpu_hour * num_gpus / HOUR
    # Seed 003: cost/token = [(1 - hit) x prefill_cost + decode_cost] / batch.
    # ASSUMPTION: prefill time scales linearly with the uncached share of input tokens.
    prefill_usd_full = usd_per_s * prefill_s
    prefill_usd = (1.0 - prefix_hit_frac) * prefill_usd_full
    decode_usd = usd_per_s * decode_s
    usd_per_request = (prefill_usd + decode_usd) / batch_size
    busy_s = (1.0 - prefix_hit_frac) * prefill_s + decode_s
    input_usd_per_tok = prefill_usd_full / (batch_size * input_tokens)
    return TokenCost(
        usd_per_hour=usd_per_gpu_hour * num_gpus,
        batch_size=batch_size,
        prefix_hit_frac=prefix_hit_frac,
        prefill_usd_full=prefill_usd_full,
        prefill_usd=prefill_usd,
        decode_usd=decode_usd,
        usd_per_request=usd_per_request,
        prefill_time_frac=((1.0 - prefix_hit_frac) * prefill_s / busy_s) if busy_s > 0 else 0.0,
        input_usd_per_mtok=input_usd_per_tok * MILLION,
        cached_input_usd_per_mtok=cached_token_cost_frac * input_usd_per_tok * MILLION,
        output_usd_per_mtok=decode_usd / (batch_size * output_tokens) * MILLION,
        all_in_usd_per_output_mtok=usd_per_request / output_tokens * MILLION,
        blended_usd_per_mtok=usd_per_request / (input_tokens + output_tokens) * MILLION,
    )


def split_gpu_hour(
    *,
    usd_per_gpu_hour: float,
    prefill_gpu_s_per_request: float,
    decode_gpu_s_per_request: float,
    input_tokens: int,
    output_tokens: int,
    prefix_hit_frac: float = 0.0,
) -> TokenCost:
    """Split GPU-hours between prefill and decode for input vs output prices.

    Takes GPU-seconds already amortised per request (e.g. from a simulator: busy GPU-seconds
    in each phase divided by requests served); ``prefill_gpu_s_per_request`` is for an
    uncached prompt. Equivalent to ``token_cost`` with one GPU and a batch of one.
    """
    return token_cost(
        usd_per_gpu_hour=usd_per_gpu_hour, num_gpus=1, prefill_s=prefill_gpu_s_per_request,
        decode_s=decode_gpu_s_per_request, batch_size=1, input_tokens=input_tokens,
        output_tokens=output_tokens, prefix_hit_frac=prefix_hit_frac)


@dataclass(frozen=True, slots=True, kw_only=True)
class Margin:
    """Revenue and margin of one request at list prices."""

    revenue_usd_per_request: float
    cost_usd_per_request: float
    margin_frac: float  # 1 - cost / revenue (negative when selling below cost)
    markup: float  # revenue / cost


def margin_at_list_price(
    cost: TokenCost,
    *,
    input_tokens: int,
    output_tokens: int,
    input_usd_per_mtok: float,
    output_usd_per_mtok: float,
    cached_input_usd_per_mtok: float | None = None,
) -> Margin:
    """Margin of one request when input, cached input and output are sold at list prices."""
    for n, v in (("input_usd_per_mtok", input_usd_per_mtok),
                 ("output_usd_per_mtok", output_usd_per_mtok)):
        check_range(n, v, low=0, unit="$/Mtok")
    cached = input_usd_per_mtok if cached_input_usd_per_mtok is None else cached_input_usd_per_mtok
    check_range("cached_input_usd_per_mtok", cached, low=0, unit="$/Mtok")
    hit = cost.prefix_hit_frac
    revenue = (input_tokens * ((1 - hit) * input_usd_per_mtok + hit * cached)
               + output_tokens * output_usd_per_mtok) / MILLION
    c = cost.usd_per_request
    return Margin(revenue_usd_per_request=revenue, cost_usd_per_request=c,
                  margin_frac=(1 - c / revenue) if revenue > 0 else float("-inf"),
                  markup=(revenue / c) if c > 0 else float("inf"))


def default_usd_per_gpu_hour(accelerator: Accelerator | str) -> tuple[float, str]:
    """(price $/GPU-hour, source) from the prices catalog, else the accelerator's rental midpoint.

    Raises ConfigError naming the fix when neither catalog has a price.
    """
    from tokenworks.economics.catalog import get_gpu_price

    acc = get_accelerator(accelerator) if isinstance(accelerator, str) else accelerator
    entry = get_gpu_price(acc.name)
    if entry is not None and entry.rental_usd_per_hour is not None:
        return entry.rental_usd_per_hour, (
            f"prices catalog: {entry.source_title} ({entry.as_of})")
    mid = acc.rental_usd_per_hour_mid
    if mid is not None:
        return mid, (f"midpoint of the accelerator catalog rental range "
                     f"{acc.rental_usd_per_hour_low}-{acc.rental_usd_per_hour_high} $/h "
                     f"({acc.source_title}, {acc.as_of})")
    raise ConfigError(f"no rental price for accelerator '{acc.name}' in the prices or "
                      f"accelerator catalogs. Pass usd_per_gpu_hour (--usd-per-gpu-hour).")
