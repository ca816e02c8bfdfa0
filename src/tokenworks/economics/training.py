"""Training runs: FLOPs, wall time, accelerator-hours, cost, energy; Chinchilla-optimal sizing.

Units: FLOPs, s, J, $. Training compute uses the standard 6·N·D approximation (forward 2ND,
backward 4ND) with N the *active* parameters per token (MoE experts not routed to do no work).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tokenworks.errors import ConfigError, check_range
from tokenworks.hardware import Accelerator, get_accelerator
from tokenworks.units import DAY, HOUR, MWH


def training_flops(active_params: float, tokens: float) -> float:
    """Total training FLOPs = 6 N D.

    Kaplan et al. 2020 (arXiv:2001.08361) section 2.1: C ~ 6 N D (2 forward + 4 backward).
    """
    check_range("active_params", active_params, low=0, low_inclusive=False)
    check_range("tokens", tokens, low=0, low_inclusive=False)
    return 6.0 * active_params * tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class ChinchillaPoint:
    compute_flops: float
    params: float
    tokens: float
    tokens_per_param: float


def chinchilla_optimal(compute_flops: float, *, tokens_per_param: float = 20.0) -> ChinchillaPoint:
    """Compute-optimal N and D for a budget C with D = k N and C = 6 N D.

    Hoffmann et al. 2022 (arXiv:2203.15556): ~20 tokens per parameter; then
    N = sqrt(C / (6 k)), D = k N.
    """
    check_range("compute_flops", compute_flops, low=0, low_inclusive=False)
    check_range("tokens_per_param", tokens_per_param, low=0, low_inclusive=False)
    n = math.sqrt(compute_flops / (6.0 * tokens_per_param))
    return ChinchillaPoint(compute_flops=compute_flops, params=n, tokens=tokens_per_param * n,
                           tokens_per_param=tokens_per_param)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingRun:
    accelerator: str
    num_accelerators: int
    precision: str
    active_params: float
    tokens: float
    flops: float
    mfu_frac: float
    peak_flops_per_s: float  # per accelerator, dense
    wall_s: float
    accelerator_hours: float
    usd_per_accelerator_hour: float
    cost_usd: float
    power_w_per_accelerator: float  # facility power per accelerator (incl. host, x PUE)
    energy_j: float
    chinchilla_tokens: float  # compute-optimal tokens for these active params

    @property
    def days(self) -> float:
        return self.wall_s / DAY

    @property
    def energy_mwh(self) -> float:
        return self.energy_j / MWH


def training_run(
    accelerator: Accelerator | str,
    *,
    active_params: float,
    tokens: float,
    num_accelerators: int,
    mfu_frac: float,
    usd_per_accelerator_hour: float,
    facility_power_w_per_accelerator: float,
    precision: str = "bf16",
    tokens_per_param: float = 20.0,
) -> TrainingRun:
    """Days, accelerator-hours, cost and energy of training ``active_params`` on ``tokens``.

    wall = 6ND / (num x peak x MFU). ``facility_power_w_per_accelerator`` is the average draw
    at the meter (accelerator + host overhead, x PUE); the caller derives it from ``power``.
    """
    acc = get_accelerator(accelerator) if isinstance(accelerator, str) else accelerator
    if num_accelerators < 1:
        raise ConfigError(f"num_accelerators = {num_accelerators} is out of range: >= 1.")
    check_range("mfu_frac", mfu_frac, low=0, high=1, low_inclusive=False)
    check_range("usd_per_accelerator_hour", usd_per_accelerator_hour, low=0, unit="$/h")
    check_range("facility_power_w_per_accelerator", facility_power_w_per_accelerator, low=0,
                unit="W")
    flops = training_flops(active_params, tokens)
    peak = acc.matmul_flops_per_s(precision)
    wall = flops / (num_accelerators * peak * mfu_frac)
    acc_h = wall * num_accelerators / HOUR
    return TrainingRun(
        accelerator=acc.name, num_accelerators=num_accelerators, precision=precision,
        active_params=active_params, tokens=tokens, flops=flops, mfu_frac=mfu_frac,
        peak_flops_per_s=peak, wall_s=wall, accelerator_hours=acc_h,
        usd_per_accelerator_hour=usd_per_accelerator_hour,
        cost_usd=acc_h * usd_per_accelerator_hour,
        power_w_per_accelerator=facility_power_w_per_accelerator,
        energy_j=facility_power_w_per_accelerator * num_accelerators * wall,
        chinchilla_tokens=tokens_per_param * active_params)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainSpec:
    """A training question, resolved: the cluster, the run and the grid it draws from."""

    accelerator: Accelerator
    active_params: float
    tokens: float
    num_accelerators: int
    mfu_frac: float
    usd_per_accelerator_hour: float
    facility_power_w_per_accelerator: float
    precision: str
    tokens_per_param: float
    grid: str
    carbon_g_per_kwh: float
    compute_flops: float | None = None  # budget for the Chinchilla point (None: the run's)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainReport:
    run: TrainingRun
    chinchilla: ChinchillaPoint
    carbon_g: float
    grid: str
    defaults_used: list[str] = field(default_factory=list)


def train(spec: TrainSpec, defaults_used: list[str]) -> TrainReport:
    """The run, the compute-optimal size for its budget, and its carbon."""
    run = training_run(spec.accelerator, active_params=spec.active_params, tokens=spec.tokens,
                       num_accelerators=spec.num_accelerators, mfu_frac=spec.mfu_frac,
                       usd_per_accelerator_hour=spec.usd_per_accelerator_hour,
                       facility_power_w_per_accelerator=spec.facility_power_w_per_accelerator,
                       precision=spec.precision, tokens_per_param=spec.tokens_per_param)
    budget = spec.compute_flops if spec.compute_flops is not None else run.flops
    return TrainReport(run=run, chinchilla=chinchilla_optimal(
        budget, tokens_per_param=spec.tokens_per_param),
        carbon_g=run.energy_mwh * 1000 * spec.carbon_g_per_kwh, grid=spec.grid,
        defaults_used=defaults_used)
