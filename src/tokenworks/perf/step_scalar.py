"""``StepCostModel.step_time_scalar_s``: the step-time formula on plain floats.

Units: seconds, tokens, FLOP/s, bytes/s. The formula and its sources are in step.py
(``StepCostModel._op_times``, the roofline per term: max of compute time and memory time, plus
communication and overhead); this module writes the same arithmetic out for one step at a
time. NOTE: for performance. The simulator calls it once per engine step, so it is a closure
over the model's constants (no attribute look-ups, builtin comparisons instead of numpy
dispatch), in its own module so that setup.py can compile it with mypyc (the float
parameters are then C doubles, the same IEEE-754 operations as CPython's floats).
``test_vectorised_equals_scalar`` pins it to the array path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["make_step_time_scalar"]


def make_step_time_scalar(m: Any) -> Callable[[float, float, float, float, float], float]:
    """The scalar step time of a ``StepCostModel`` ``m``.

    Positional ``(prefill tokens, prefill attention pairs, prefill KV tokens, decode sequences,
    decode KV tokens)``; ints mix into the float arithmetic exactly (below 2**53), so it
    returns the same number as ``step_time_s`` on the same values.
    """
    bw: float = float(m._bw)
    c_pre: float = float(m._c_pre)
    c_dec: float = float(m._c_dec)
    c_att_pre: float = float(m._c_att_pre)
    c_att_dec: float = float(m._c_att_dec)
    lin_fpt: float = float(m._lin_flops_per_tok)
    lin_bf: float = float(m._lin_bytes_fixed)
    lin_bpt: float = float(m._lin_bytes_per_tok)
    moe: bool = bool(m._moe)
    moe_fpt: float = float(m._moe_flops_per_tok) if moe else 0.0
    moe_e: float = float(m._moe_e) if moe else 0.0
    moe_q: float = float(m._moe_q) if moe else 0.0
    moe_bpe: float = float(m._moe_bytes_per_expert) if moe else 0.0
    w: float = float(m._window)
    apf: float = float(m._att_pre_flops_full)
    aps: float = float(m._att_pre_flops_sl)
    adf: float = float(m._att_dec_flops_full)
    ads: float = float(m._att_dec_flops_sl)
    kv_full: float = float(m._kv_full)
    kv_sl: float = float(m._kv_sl)
    ssm: float = float(m._ssm_bytes)
    head_fpt: float = float(m._head_flops_per_tok)
    head_b: float = float(m._head_bytes)
    comm_fixed: float = float(m._comm_fixed)
    comm_pt: float = float(m._comm_per_tok)
    over: float = float(m._overhead)
    per_seq: float = float(m._per_seq)

    def step_time_scalar_s(tp_: float, pairs: float, kv_pre: float, nd: float,
                           kv_dec: float) -> float:
        t = tp_ + nd
        if t <= 0.0:
            return 0.0
        lin_c = lin_fpt * tp_ / c_pre + lin_fpt * nd / c_dec
        lin_m = (lin_bf + lin_bpt * t) / bw
        total = lin_c if lin_c > lin_m else lin_m
        if moe:
            moe_c = moe_fpt * (tp_ / c_pre + nd / c_dec)
            moe_m = (moe_e - moe_e * moe_q ** t) * moe_bpe / bw
            total += moe_c if moe_c > moe_m else moe_m
        # The windowed and SSM terms are added only where they exist: elsewhere ``_op_times``
        # adds exact zeros to non-negative sums, so skipping them gives the same number.
        if tp_ > 0.0:
            a_c = apf * pairs
            a_m = kv_full * kv_pre
            if w:
                a_c += aps * min(pairs, tp_ * w)
                a_m += kv_sl * min(kv_pre, tp_ * w)
            a_c /= c_att_pre
            a_m /= bw
            total += a_c if a_c > a_m else a_m
        if nd > 0.0:
            d_c = adf * kv_dec
            d_m = kv_full * kv_dec
            if w:
                sl_dec = min(kv_dec, nd * w)
                d_c += ads * sl_dec
                d_m += kv_sl * sl_dec
            if ssm:
                d_m += ssm * nd
            d_c /= c_att_dec
            d_m /= bw
            total += d_c if d_c > d_m else d_m
        h_c = head_fpt * (nd + (1.0 if tp_ >= 1.0 else tp_)) / c_dec
        h_m = head_b / bw
        total += h_c if h_c > h_m else h_m
        return total + comm_fixed + comm_pt * t + over + per_seq * nd

    return step_time_scalar_s
