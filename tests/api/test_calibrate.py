"""calibrate: the fit recovers known perturbed factors; bad input names the fix."""

from __future__ import annotations

import numpy as np
import pytest

from tokenworks.api.calibrate import StepTimings, fit_step_times, median_abs_err
from tokenworks.errors import ConfigError
from tokenworks.model import get_model
from tokenworks.perf.calibration import Calibration, load_calibration, save_calibration
from tokenworks.perf.deployment import make_deployment
from tokenworks.perf.step import StepCostModel, causal_pairs

BASE = Calibration()  # the unfitted defaults: 0.7 compute, 0.8 memory, 3 ms per step
TRUE = Calibration(compute_efficiency_frac=0.45, memory_efficiency_frac=0.6, step_overhead_s=8e-3)


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


def test_step_fit_recovers_perturbed_factors(llama8b_h100):
    """Steps timed with compute 0.45 / memory 0.6 / 8 ms overhead, fitted from the defaults
    (0.7 / 0.8 / 3 ms) with 3% log-normal noise: each factor within 10%, error < 5% after."""
    model, dep = llama8b_h100
    steps = _steps(model, dep, TRUE, np.random.default_rng(1), noise_frac=0.03)
    fit = fit_step_times(model, dep, steps, base=BASE)
    got = dict(fit.fitted)
    assert got["compute_efficiency_frac"] == pytest.approx(0.45, rel=0.10)
    assert got["memory_efficiency_frac"] == pytest.approx(0.6, rel=0.10)
    assert got["step_overhead_s"] == pytest.approx(8e-3, rel=0.10)
    assert fit.error_before.step_frac > 0.2
    assert fit.error_after.step_frac < 0.05
    assert dict(fit.base)["compute_efficiency_frac"] == pytest.approx(0.7)


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
    with pytest.raises(ConfigError, match=r"'hbm_frac' cannot be fitted\. Valid: compute_eff"):
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
