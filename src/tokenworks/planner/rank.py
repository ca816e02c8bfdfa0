"""From a unit's capacity to a priced deployment, and the order candidates are ranked in.

A candidate's *unit* (one replica, or a prefill+decode group) serves ``rate_per_s`` requests
within the SLO. With a demand rate the deployment is ``ceil(demand / rate)`` units; without
one it is as many units as the GPU budget holds (or one). Each row is then priced from the
plan's per-accelerator prices (rental or TCO $/GPU-hour, capex, facility power per GPU) and
scored by the objective (lower is better). The same vectorised code prices the analytic
screen (100,000s of rows) and the simulated survivors (a handful), so the two rank alike.
Units: requests/s, USD/h, W, USD.
"""

from __future__ import annotations

import numpy as np

from tokenworks.planner.spec import Candidate, PlanSpec
from tokenworks.units import HOUR, MILLION

__all__ = ["size_and_price", "unit_economics"]


def unit_economics(spec: PlanSpec, cand: Candidate) -> tuple[int, float, float, float]:
    """(GPUs, $/h, facility W, capex $ or NaN) of one unit of ``cand``."""
    parts = [(cand.decode, cand.num_decode)]
    if cand.prefill is not None:
        parts.append((cand.prefill, cand.num_prefill))
    gpus = usd = power = capex = 0.0
    for pool, n in parts:
        price = spec.price(pool.accelerator)
        g = pool.num_gpus * n
        gpus += g
        usd += g * price.usd_per_gpu_hour
        power += g * price.power_w
        capex += g * (price.capex_usd if price.capex_usd is not None else float("nan"))
    return int(gpus), usd, power, capex


def size_and_price(spec: PlanSpec, *, rate_per_s: np.ndarray, unit_gpus: np.ndarray,
                   unit_usd_per_hour: np.ndarray, unit_power_w: np.ndarray,
                   unit_capex_usd: np.ndarray, tpot_s: np.ndarray) -> dict[str, np.ndarray]:
    """Deployment size, totals, $/M output tokens, per-GPU and per-user speed, budget check
    and objective score (lower is better; ``inf`` for a row that cannot serve)."""
    d, b = spec.demand, spec.budget
    out_tokens = d.mean_output_tokens
    serves = rate_per_s > 0
    safe = np.where(serves, rate_per_s, 1.0)
    if d.rate_per_s is not None:
        # ASSUMPTION: units share the demand evenly (the router spreads requests), so a
        # deployment of N units meets the SLO at N times one unit's capacity.
        units = np.where(serves, np.ceil(d.rate_per_s / safe - 1e-9), 0.0)
        served = np.where(serves, d.rate_per_s, 0.0)
    elif b.max_gpus is not None:
        units = np.floor(b.max_gpus / unit_gpus)
        served = units * rate_per_s
    else:
        units = np.ones_like(rate_per_s)
        served = rate_per_s
    gpus = units * unit_gpus
    usd_h = units * unit_usd_per_hour
    power = units * unit_power_w
    capex = units * unit_capex_usd
    within = units >= 1
    if b.max_gpus is not None:
        within &= gpus <= b.max_gpus
    if b.max_power_w is not None:
        within &= power <= b.max_power_w
    if b.max_usd_per_hour is not None:
        within &= usd_h <= b.max_usd_per_hour
    if b.max_capex_usd is not None:
        within &= np.nan_to_num(capex, nan=np.inf) <= b.max_capex_usd
    out_tps = served * out_tokens
    with np.errstate(divide="ignore", invalid="ignore"):
        usd_per_mtok = np.where(out_tps > 0, usd_h / (out_tps * HOUR) * MILLION, np.inf)
        per_gpu = np.where(gpus > 0, out_tps / gpus, 0.0)
        per_user = np.where(tpot_s > 0, 1.0 / tpot_s, 0.0)
        goodput_per_usd = np.where(unit_usd_per_hour > 0,
                                   rate_per_s * out_tokens / unit_usd_per_hour, 0.0)
    ok = serves & within
    score = {"cost": usd_per_mtok, "gpus": gpus + usd_per_mtok * 1e-9,
             "power": power + usd_per_mtok * 1e-9, "goodput_per_usd": -goodput_per_usd}
    return {"units": units, "num_gpus": gpus, "usd_per_hour": usd_h, "power_w": power,
            "capex_usd": capex, "served_rate_per_s": served,
            "usd_per_million_output_tokens": usd_per_mtok,
            "output_tokens_per_s_per_gpu": per_gpu, "output_tokens_per_s_per_user": per_user,
            "within_budget": within, "feasible": ok,
            "score": np.where(ok, score[spec.objective], np.inf)}
