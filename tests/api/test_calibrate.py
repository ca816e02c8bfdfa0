"""calibrate: the fit recovers known perturbed factors; bad input names the fix."""

from __future__ import annotations

import numpy as np
import pytest

from tokenworks.errors import ConfigError
from tokenworks.io.calibration import load_calibration, save_calibration
from tokenworks.model import get_model
from tokenworks.perf.calibration import Calibration
from tokenworks.perf.deployment import make_deployment
from tokenworks.perf.fit import StepTimings, fit_step_times, median_abs_err
from tokenworks.perf.step import StepCostModel, causal_pairs

BASE = Calibration()  # the unfitted defaults: GEMM 0.782 of peak / 0.819 of HBM, 0.5 ms a step
TRUE = Calibration(gemm_compute_frac=0.5, gemm_memory_frac=0.65, step_overhead_s=2e-3,
                   per_seq_overhead_s=2e-5, frontend_s=0.04)
# The engine a user's run measures: the default parameters (engine overheads and the GEMM
# rate) differ from the base, the kernel coefficients do not.
ENGINE_TRUE = Calibration(gemm_compute_frac=0.5, step_overhead_s=2e-3, per_seq_overhead_s=2e-5,
                          frontend_s=0.04)


@pytest.fixture(scope="module")
def llama8b_h100():
    model = get_model("llama-3.1-8b")
    return model, make_deployment(model, "h100-sxm", tp=1)


def _steps(model, dep, cal, rng, noise_frac=0.0):
    """A mix of prefill-only, decode-only and mixed steps timed by the roofline with ``cal``."""
    n = 120
    pre = rng.choice([0, 0, 128, 512, 2048, 4096], n).astype(float)
    dec = rng.choice([0, 1, 8, 32, 128], n).astype(float)
    dec[(pre == 0) & (dec == 0)] = 4.0
    ctx = rng.uniform(200, 3000, n)
    st = dict(num_prefill_tokens=pre, prefill_attention_pairs=causal_pairs(pre, 0.0),
              prefill_kv_tokens=pre, num_decode_seqs=dec, decode_kv_tokens=dec * ctx)
    t = np.asarray(StepCostModel(model, dep, cal).step_time_s(**st))
    t = t * np.exp(rng.normal(0.0, noise_frac, n)) if noise_frac else t
    return StepTimings(**st, time_s=t)


def test_step_fit_recovers_what_steps_identify(llama8b_h100):
    """Steps timed with GEMM 0.5 of peak / 0.65 of HBM / 2 ms per step, fitted from the defaults
    (0.782 / 0.819 / 0.5 ms) with 3% log-normal noise. A decode step streams ~15 GB of
    weights, so weight bandwidth and the per-step time trade off almost exactly (0.534 of HBM
    plus 0.54 ms times the same as 0.65 plus 2 ms): the fit must get the GEMM rate within 10%
    and every decode step within 2%, and say which parameter the data leave loose (its
    uncertainty band is wider than the others')."""
    from dataclasses import replace

    model, dep = llama8b_h100
    true = replace(TRUE, per_seq_overhead_s=0.0)  # the step fit's parameters only
    steps = _steps(model, dep, true, np.random.default_rng(1), noise_frac=0.03)
    fit = fit_step_times(model, dep, steps, base=BASE)
    got = dict(fit.fitted)
    assert got["gemm_compute_frac"] == pytest.approx(0.5, rel=0.10)
    fitted_cost, true_cost = (StepCostModel(model, dep, c) for c in (fit.calibration, true))
    for b in (1, 16, 128):
        assert fitted_cost.decode_step_time_s(b, 2000.0) == pytest.approx(
            true_cost.decode_step_time_s(b, 2000.0), rel=0.02)
    assert fit.error_before.step_frac > 0.2
    assert fit.error_after.step_frac < 0.05
    assert dict(fit.base)["gemm_compute_frac"] == pytest.approx(0.782)
    sig = dict(fit.uncertainty)
    assert set(sig) == set(got) and all(v > 1.0 for v in sig.values())
    assert sig["step_overhead_s"] > max(sig["gemm_compute_frac"], sig["gemm_memory_frac"])


def test_a_parameter_on_its_bound_is_reported(llama8b_h100):
    """Steps timed with a GEMM at 100% of peak fitted from 0.3: the fit ends on the bound and
    says so, naming what usually causes it."""
    from dataclasses import replace

    model, dep = llama8b_h100
    steps = _steps(model, dep, replace(TRUE, gemm_compute_frac=1.0), np.random.default_rng(9))
    fit = fit_step_times(model, dep, steps, base=replace(TRUE, gemm_compute_frac=0.3),
                         params=["gemm_compute_frac"])
    assert dict(fit.fitted)["gemm_compute_frac"] >= 0.99
    assert any("gemm_compute_frac" in n and "upper bound" in n and "prefix-cache" in n
               for n in fit.notes)


def test_fitted_calibration_round_trips_through_toml(llama8b_h100, tmp_path):
    """The file written with save_calibration loads back to the same step times (the form
    ``estimate --calibration`` and the scenario key ``calibration`` read)."""
    model, dep = llama8b_h100
    steps = _steps(model, dep, TRUE, np.random.default_rng(2))
    fit = fit_step_times(model, dep, steps, base=BASE)
    path = save_calibration(fit.calibration, tmp_path / "cal.toml")
    loaded = load_calibration(path)
    assert loaded.fit_error.startswith("before:") and "after:" in loaded.fit_error
    a = steps.predict(StepCostModel(model, dep, fit.calibration))
    b = steps.predict(StepCostModel(model, dep, loaded))
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_step_fit_rejects_bad_params(llama8b_h100):
    model, dep = llama8b_h100
    steps = _steps(model, dep, TRUE, np.random.default_rng(3))
    with pytest.raises(ConfigError, match=r"'hbm_frac' cannot be fitted\. Valid: gemm_compute"):
        fit_step_times(model, dep, steps, base=BASE, params=["hbm_frac"])
    with pytest.raises(ConfigError, match="time_s has 2"):
        StepTimings(num_prefill_tokens=np.ones(3), prefill_attention_pairs=np.ones(3),
                    prefill_kv_tokens=np.ones(3), num_decode_seqs=np.zeros(3),
                    decode_kv_tokens=np.zeros(3), time_s=np.ones(2))


def test_median_abs_err():
    """|1.1/1 − 1| = 0.1, |0.5/1 − 1| = 0.5, |2/2 − 1| = 0 → median 0.1; NaN pairs skipped."""
    assert median_abs_err(np.array([1.1, 0.5, 2.0, np.nan]),
                          np.array([1.0, 1.0, 2.0, 1.0])) == pytest.approx(0.1)
    assert median_abs_err(np.array([np.nan]), np.array([1.0])) is None


# ---------------------------------------------------------------------------------------------
# Per-request replay through the simulator


def _synthetic_measurements(tmp_path, cal, n=150, seed=5, rate_per_s=8.0):
    """Measurements generated by the simulator itself with calibration ``cal``: Poisson
    arrivals at 8 req/s, prompts 200–6000 tokens, outputs 50–300 (llama-3.1-8b, 1× H100), so
    batches and contexts vary enough to tell the memory term from the per-step overhead."""
    from tokenworks.api.calibrate import ServingSetup, replay_run
    from tokenworks.io.measurements import MeasuredRun

    rng = np.random.default_rng(seed)
    arr = np.cumsum(rng.exponential(1 / rate_per_s, n))
    arr -= arr[0]
    run = MeasuredRun(label="synthetic", arrival_s=arr,
                      input_tokens=rng.integers(200, 6000, n), output_tokens=rng.integers(50, 300, n),
                      ttft_s=np.zeros(n), e2e_s=np.zeros(n))
    setup = ServingSetup(model="llama-3.1-8b", hardware="h100-sxm")
    got = replay_run(setup, run, cal)
    path = tmp_path / "measured.csv"
    lines = ["arrival_s,input_tokens,output_tokens,ttft_s,e2e_s"]
    lines += [f"{float(a)!r},{i},{o},{float(t)!r},{float(e)!r}" for a, i, o, t, e in zip(
        arr, run.input_tokens, run.output_tokens, got["ttft_s"], got["e2e_s"], strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path, setup


def test_request_fit_recovers_engine_overheads(tmp_path, llama8b_h100):
    """Requests simulated with GEMM 0.5 / 2 ms a step / 20 µs a sequence / 40 ms front end
    (kernel coefficients as the base), replayed from the defaults: the front end (TTFT at light load is mostly it) within 15%,
    the GEMM rate within 10%, the decode step at batch 16 within 5%, and the TTFT/TPOT errors
    cut from > 30% and > 15% to < 6%."""
    from tokenworks.api.calibrate import calibrate

    path, setup = _synthetic_measurements(tmp_path, ENGINE_TRUE, rate_per_s=2.0)
    fit = calibrate(path, setup, base=BASE, max_evaluations=80)
    got = dict(fit.fitted)
    assert got["frontend_s"] == pytest.approx(0.04, rel=0.15)
    assert got["gemm_compute_frac"] == pytest.approx(0.5, rel=0.10)
    model, dep = llama8b_h100
    step = StepCostModel(model, dep, fit.calibration).decode_step_time_s(16, 2000.0)
    assert step == pytest.approx(
        StepCostModel(model, dep, ENGINE_TRUE).decode_step_time_s(16, 2000.0), rel=0.05)
    assert fit.error_before.ttft_frac > 0.3 and fit.error_before.tpot_frac > 0.15
    assert fit.error_after.ttft_frac < 0.06 and fit.error_after.tpot_frac < 0.06
    assert set(dict(fit.uncertainty)) == set(got)
    assert any("per-request medians" in n for n in fit.notes)


def test_zero_output_rows_are_skipped_and_counted(tmp_path):
    from tokenworks.io.measurements import read_measurements

    p = tmp_path / "m.csv"
    p.write_text("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s\n0,100,10,0.1,0.5\n"
                 "0.5,100,0,0.1,0.1\n1.0,200,20,0.2,0.9\n")
    m = read_measurements(p)
    assert m.runs[0].num_requests == 2 and m.runs[0].num_skipped == 1
    assert any("1 request(s) with 0 output tokens skipped" in n for n in m.notes)


def test_millisecond_columns_are_converted_and_ms_in_seconds_refused(tmp_path):
    from tokenworks.io.measurements import read_measurements

    p = tmp_path / "ms.csv"
    p.write_text("arrival_ms,input_tokens,output_tokens,ttft_ms,e2e_ms\n0,100,10,120,900\n"
                 "500,100,12,130,950\n")
    r = read_measurements(p).runs[0]
    assert r.ttft_s[0] == pytest.approx(0.12) and r.arrival_s[1] == pytest.approx(0.5)
    bad = tmp_path / "bad.csv"
    bad.write_text("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s\n0,100,10,120,900\n"
                   "500,100,12,130,950\n")
    with pytest.raises(ConfigError, match=r"look like milliseconds.*ttft_ms"):
        read_measurements(bad)


def test_shared_prefixes_become_shared_block_hashes(tmp_path):
    """Requests with the same prefix_id share their first prefix_tokens // 16 block hashes in
    the replay's trace, so its prefix cache can hit as the real server's did."""
    from tokenworks.api.calibrate import prefix_hashes
    from tokenworks.io.measurements import read_measurements

    p = tmp_path / "pre.csv"
    p.write_text("arrival_s,input_tokens,output_tokens,ttft_s,e2e_s,prefix_id,prefix_tokens\n"
                 "0,1000,10,0.1,0.5,sys,800\n0.5,1200,10,0.1,0.5,sys,800\n"
                 "1.0,500,10,0.1,0.5,,0\n")
    r = read_measurements(p).runs[0]
    h, off = prefix_hashes(r.input_tokens, r.prefix_id, r.prefix_tokens, 16)
    a, b, c = (h[off[i]:off[i + 1]] for i in range(3))
    assert len(a) == 63 and len(b) == 75 and len(c) == 32
    np.testing.assert_array_equal(a[:50], b[:50])  # 800 tokens = 50 shared blocks
    assert not set(a[50:]) & set(b[50:]) and not set(c) & (set(a) | set(b))
