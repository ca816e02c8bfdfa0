"""``calibrate``: fit the step-time calibration to a user's serving measurements by replaying
each measured run through the simulator, and report the error before and after.

Edge (``io.measurements``: vLLM / GuideLLM / CSV files → ``MeasuredRun``) → one in-memory
``SimulationSpec`` per run (the measured arrivals and lengths as a trace) → ``serving.simulate``
per candidate calibration → ``perf.fit.fit_residuals``. Nothing is written to disk.

Units: seconds, fractions 0–1. Errors are "median absolute percent error": the median over
requests of |predicted / measured − 1|.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tokenworks.errors import ConfigError, SimulationError, check_range
from tokenworks.hardware import get_accelerator
from tokenworks.io.measurements import MeasuredRun, Measurements, read_measurements
from tokenworks.model.catalog import get_model
from tokenworks.perf.calibration import Calibration, default_calibration
from tokenworks.perf.deployment import make_deployment
from tokenworks.perf.engine import (
    DEFAULT_ENGINE,
    check_engine,
    check_engine_limits,
    engine_defaults,
)
from tokenworks.perf.fit import (
    BOUNDS,
    DEFAULT_PARAMS,
    CalibrationFit,
    FitError,
    check_evaluations,
    check_params,
    finish_fit,
    fit_residuals,
    median_abs_err,
    uncertainty,
)
from tokenworks.serving.kv_tiers import TierRequest, replica_tiers
from tokenworks.serving.prefix_cache import PREFIX_CACHES
from tokenworks.serving.scheduler import POLICIES
from tokenworks.serving.simulator import simulate
from tokenworks.serving.spec import (
    PoolSpec,
    RouterSpec,
    SchedulerSpec,
    SimulationSpec,
)
from tokenworks.serving.traces import Trace, TraceTraffic
from tokenworks.units import GB

__all__ = ["ServingSetup", "calibrate", "replay_run"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServingSetup:
    """The deployment the measurements were taken on (what the replay simulates)."""

    model: str
    hardware: str
    engine: str = DEFAULT_ENGINE
    tp: int = 1
    pp: int = 1
    num_replicas: int = 1
    weights_dtype: str = "bf16"
    kv_dtype: str | None = None
    # None: the engine's default on this accelerator (perf.engine.engine_defaults)
    max_num_batched_tokens: int | None = None
    max_num_seqs: int | None = None
    gpu_memory_utilization_frac: float | None = None
    chunked_prefill: bool = True
    policy: str | None = None  # None: the engine's (perf.engine.default_policy)
    # None: "lru_blocks" when the measurements name shared prefixes, else "none"
    prefix_cache: str | None = None
    kv_offload_gb: float = 0.0  # host-memory KV tier (vLLM --kv-offloading-size, LMCache)

    def check(self) -> None:
        """Raise the error a replay would, before any replay: the model, the part, the split,
        the dtypes, the engine and its limits, the scheduler policy, the cache."""
        model, acc = get_model(self.model), get_accelerator(self.hardware)
        check_engine(self.engine)
        make_deployment(model, acc, tp=self.tp, pp=self.pp, weights_dtype=self.weights_dtype,
                        kv_dtype=self.kv_dtype or "bf16")
        check_range("num_replicas", self.num_replicas, low=1, high=100_000)
        if self.gpu_memory_utilization_frac is not None:
            check_range("gpu_memory_utilization_frac", self.gpu_memory_utilization_frac,
                        low=0.05, high=1.0)
        check_range("kv_offload_gb", self.kv_offload_gb, low=0.0, high=1e6, unit="GB",
                    fix="Give the host memory the engine offloads KV to, e.g. 200 (0: none).")
        ed = engine_defaults(self.engine, acc)
        check_engine_limits(max_num_seqs=self.max_num_seqs or ed.max_num_seqs,
                            max_num_batched_tokens=self.max_num_batched_tokens
                            or ed.max_num_batched_tokens)
        if self.policy is not None and self.policy not in POLICIES:
            raise ConfigError(f"policy = {self.policy!r} is unknown; use one of "
                              f"{', '.join(POLICIES)}.")
        if self.prefix_cache is not None and self.prefix_cache not in PREFIX_CACHES:
            raise ConfigError(f"prefix_cache = {self.prefix_cache!r} is unknown; use one of "
                              f"{', '.join(PREFIX_CACHES)}.")

    def cache_for(self, run: MeasuredRun) -> str:
        if self.prefix_cache is not None:
            return self.prefix_cache
        return "lru_blocks" if run.prefix_id is not None else "none"

    def spec(self, run: MeasuredRun, cal: Calibration, seed: int) -> SimulationSpec:
        """The run's arrivals and lengths replayed on this deployment with ``cal``."""
        order = np.argsort(run.arrival_s, kind="stable")
        at = run.arrival_s[order]
        hashes = offsets = None
        if run.prefix_id is not None and run.prefix_tokens is not None:
            hashes, offsets = prefix_hashes(run.input_tokens[order], run.prefix_id[order],
                                            run.prefix_tokens[order], PREFIX_BLOCK_TOKENS)
        trace = Trace(path=f"measured run '{run.label}'", arrived_at_s=at - at[0],
                      prompt_tokens=run.input_tokens[order],
                      output_tokens=run.output_tokens[order], hashes=hashes,
                      hash_offsets=offsets,
                      hash_block_tokens=PREFIX_BLOCK_TOKENS if hashes is not None else None)
        acc = get_accelerator(self.hardware)
        n = self.tp * self.pp
        # ASSUMPTION: offloaded KV moves over each GPU's PCIe link at ~25 GB/s per direction
        # (PCIe Gen5 x16 in practice), the path vLLM's CPU offload and LMCache use.
        tiers = replica_tiers((TierRequest(name="dram", capacity_bytes=self.kv_offload_gb * GB,
                                           read_bytes_per_s=25e9 * n, write_bytes_per_s=25e9 * n),),
                              None, n) if self.kv_offload_gb > 0 else ()
        pool = PoolSpec(accelerator=acc, tp=self.tp, pp=self.pp,
                        num_replicas=self.num_replicas, weights_dtype=self.weights_dtype,
                        kv_dtype=self.kv_dtype or "bf16",
                        gpu_memory_utilization_frac=self.gpu_memory_utilization_frac,
                        kv_tiers=tiers)
        return SimulationSpec(
            name="calibration-replay", model=get_model(self.model), pools=(pool,),
            engine=self.engine,
            scheduler=SchedulerSpec(max_num_batched_tokens=self.max_num_batched_tokens,
                                    max_num_seqs=self.max_num_seqs,
                                    chunked_prefill=self.chunked_prefill, policy=self.policy),
            prefix_cache=self.cache_for(run), router=RouterSpec(kind="least_outstanding"),
            traffic=TraceTraffic(trace=trace), seed=seed, calibration=cal)


# The block size the replay hashes shared prefixes in (vLLM's KV block).
PREFIX_BLOCK_TOKENS = 16


def prefix_hashes(prompt_tokens: np.ndarray, prefix_id: np.ndarray, prefix_tokens: np.ndarray,
                  block: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-request block hashes: the first ``prefix_tokens // block`` blocks of requests with
    the same ``prefix_id`` share ids; every other block is unique (``-1``: no shared prefix)."""
    out: list[int] = []
    offsets = [0]
    unique = 1 << 40
    for n, g, k in zip(prompt_tokens.tolist(), prefix_id.tolist(), prefix_tokens.tolist(),
                       strict=True):
        blocks = -(-int(n) // block)
        shared = int(k) // block if g >= 0 else 0
        out.extend((int(g) << 20) + j for j in range(shared))
        for _ in range(blocks - shared):
            out.append(unique)
            unique += 1
        offsets.append(len(out))
    return np.asarray(out, np.int64), np.asarray(offsets, np.int64)


def replay_run(setup: ServingSetup, run: MeasuredRun, cal: Calibration, *,
               seed: int = 0) -> dict[str, np.ndarray]:
    """Simulate one measured run with ``cal``; per-request ``ttft_s``, ``tpot_s``, ``e2e_s``
    aligned with the run's rows (NaN where the simulated request did not finish)."""
    t = simulate(setup.spec(run, cal, seed)).requests
    if t.num_rows != run.num_requests:
        raise SimulationError(f"replay of run '{run.label}' returned {t.num_rows} requests for "
                              f"{run.num_requests} measured; the trace replay lost rows.")
    # Request ids follow the arrival order; map them back to the file's row order.
    rid = np.asarray(t.column("request_id").to_numpy(zero_copy_only=False), np.int64)
    rows = np.argsort(run.arrival_s, kind="stable")[rid]
    out: dict[str, np.ndarray] = {}
    for k in ("ttft_s", "tpot_s", "e2e_s"):
        col = np.full(run.num_requests, np.nan)
        col[rows] = np.asarray(t.column(k).to_numpy(zero_copy_only=False), np.float64)
        out[k] = col
    return out


def _take(run: MeasuredRun, n: int | None) -> MeasuredRun:
    if n is None or n >= run.num_requests:
        return run
    return replace(run, arrival_s=run.arrival_s[:n], input_tokens=run.input_tokens[:n],
                   output_tokens=run.output_tokens[:n], ttft_s=run.ttft_s[:n],
                   e2e_s=run.e2e_s[:n])


def calibrate(measurements: Measurements | str | Path, setup: ServingSetup, *,
              base: Calibration | None = None, params: Sequence[str] = DEFAULT_PARAMS,
              max_requests: int | None = None, max_evaluations: int = 60,
              seed: int = 0) -> CalibrationFit:
    """Replay the measured runs through the simulator and fit ``params`` to their TTFT and
    TPOT. ``max_requests`` keeps the first N requests of each run (by arrival)."""
    t0 = time.perf_counter()
    params = check_params(params)
    check_evaluations(max_evaluations)
    setup.check()  # the deployment is valid before any file is read or replay run
    if not isinstance(measurements, Measurements):
        measurements = read_measurements(measurements)
    if max_requests is not None and max_requests < 1:
        raise ConfigError(f"max_requests = {max_requests}; it must be >= 1 (or omitted for all).")
    runs = [_take(r, max_requests) for r in measurements.runs]
    acc = get_accelerator(setup.hardware)
    b = default_calibration(acc.name, setup.engine) if base is None else base.resolve(
        acc.name, acc.vendor, setup.engine)
    meas_ttft = np.concatenate([r.ttft_s for r in runs])
    meas_tpot = np.concatenate([r.tpot_s for r in runs])
    meas_e2e = np.concatenate([r.e2e_s for r in runs])
    has_tpot = np.isfinite(meas_tpot) & (meas_tpot > 0)
    notes = [f"{sum(r.num_requests for r in runs)} requests in {len(runs)} run(s) from "
             f"{Path(measurements.path).name} ({measurements.format})", *measurements.notes]
    caches = {setup.cache_for(r) for r in runs}
    notes.append("errors are per-request medians of |replayed / measured − 1| on a replay of "
                 f"the measured arrivals and lengths with prefix cache "
                 f"{', '.join(sorted(caches))} and the {setup.engine} profile")
    if setup.prefix_cache in (None, "none") and all(r.prefix_id is None for r in runs):
        notes.append("no prefix_id/prefix_tokens columns: the replay prefills every prompt in "
                     "full; if the real server reused prefixes, the fit absorbs that as a "
                     "faster prefill")
    notes += [f"run '{r.label}': arrivals redrawn from request_rate (file has no send times)"
              for r in runs if not r.arrivals_measured]

    def predict(cal: Calibration) -> dict[str, np.ndarray]:
        parts = [replay_run(setup, r, cal, seed=seed) for r in runs]
        return {k: np.concatenate([p[k] for p in parts]) for k in ("ttft_s", "tpot_s", "e2e_s")}

    def residuals(cal: Calibration) -> np.ndarray:
        p = predict(cal)
        with np.errstate(divide="ignore", invalid="ignore"):
            r_ttft = np.log(p["ttft_s"] / meas_ttft)
            r_tpot = np.log(p["tpot_s"][has_tpot] / meas_tpot[has_tpot])
        return np.concatenate([r_ttft, r_tpot])

    def err(cal: Calibration) -> FitError:
        p = predict(cal)
        return FitError(ttft_frac=median_abs_err(p["ttft_s"], meas_ttft),
                        tpot_frac=median_abs_err(p["tpot_s"], meas_tpot),
                        e2e_frac=median_abs_err(p["e2e_s"], meas_e2e),
                        num_samples=int(meas_ttft.size))

    first = predict(b)
    before = FitError(ttft_frac=median_abs_err(first["ttft_s"], meas_ttft),
                      tpot_frac=median_abs_err(first["tpot_s"], meas_tpot),
                      e2e_frac=median_abs_err(first["e2e_s"], meas_e2e),
                      num_samples=int(meas_ttft.size))
    start = b
    if "frontend_s" in params:
        # The front end adds the same time to every TTFT: start the fit from the median gap
        # between measured and replayed TTFT (the rest of the TTFT is the engine's).
        gap = meas_ttft - first["ttft_s"]
        gap = gap[np.isfinite(gap)]
        if gap.size:
            lo, hi = BOUNDS["frontend_s"]
            start = replace(b, frontend_s=float(min(max(b.frontend_s + np.median(gap), lo), hi)))
    fitted, evals = fit_residuals(residuals, start, params, max_evaluations=max_evaluations)
    sigma, more = uncertainty(residuals, fitted, params)
    after = err(fitted)
    return finish_fit(b, fitted, params, before, after, evals + more + 2, t0,
                      f"tokenworks calibrate: {Path(measurements.path).name} on {setup.model}, "
                      f"{setup.hardware} tp={setup.tp} ({setup.engine})", notes, sigma)
