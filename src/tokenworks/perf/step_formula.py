"""The step-time formula, written once: ``StepFormula.time`` for one step, ``times`` for many.

``perf.step.StepCostModel`` turns a (model, deployment, calibration) into the constants below
(bytes, FLOPs, kernel counts and fitted coefficients, per GPU summed over pipeline stages) and
this class evaluates one engine step from five numbers: prefill tokens ``P``, their causal
attention pairs, the KV tokens they touch, decode sequences ``D`` and their KV tokens (the
replica's totals). Units: seconds, tokens, bytes, FLOPs.

With data-parallel attention (``dp`` ranks) the step lasts as long as its busiest rank: a rank
holds ``max(D/dp, min(D, 1))`` of the decodes and ``max(P/dp, min(P, C))`` of the prompt
tokens (``C`` its share of the token budget: one prompt sits on one rank, many spread over
all), while the experts see every rank's tokens. With ``dp`` = 1 both are the totals.

The terms, each cited where its constants are built (step.py), are added in this order:

1. dense GEMMs over the rank's tokens: ``n_gemm·t0 + smax(t_mem, t_compute)`` with
   ``smax(a, b) = (a^k + b^k)^(1/k)`` (memory-bound at small M, compute-bound at large M);
2. routed-expert GEMMs (MoE): the experts' own curve on the expected distinct experts a rank
   holds and touches (weight streaming) and its token-expert pairs, the busiest rank carrying
   the routing imbalance, plus a fixed time per layer;
3. prefill attention: FLOPs at a rate that ramps with prompt length, or KV traffic if larger;
4. decode attention: KV reads at the attention kernel's bandwidth, per-layer and per-sequence
   time;
5. elementwise kernels (norms, activation, rope, residual): a launch each plus their traffic;
6. lm_head on the tokens that produce logits (the same GEMM curve);
7. collectives: a latency per all-reduce / all-to-all / send plus bytes over the link, on the
   cheaper of the engine's small-message kernel and NCCL's ring;
8. the engine: a fixed time per step and a time per running sequence.

Speculative decoding (``spec_k`` drafts per step, ``tokens_per_step`` accepted on average):
each decoding sequence runs ``k + 1`` tokens through the target (verification) after ``k``
draft steps (``draft``: the drafter's own formula). The simulator and the steady state count
one output token per sequence per round, so a round is charged the prompt work of the step
plus its decode work divided by ``tokens_per_step`` (``time``); ``spec_step`` is the real step.

A step with no tokens costs 0. ``terms`` returns the same total and, when given a list,
appends each term's ``(time, compute time, memory time)`` for ``StepCostModel.breakdown``.
NOTE: this module is compiled with mypyc (setup.py) because the simulator calls ``time`` once
per engine step; the GEMM-family terms depend only on the token counts, so the last ones are
kept and reused by the next step with the same counts (decode runs at a fixed batch), for
performance; the reused value is the same float the formula returns.
"""

from __future__ import annotations

import math

__all__ = ["TERM_NAMES", "StepFormula"]

TERM_NAMES = ("gemm", "moe_experts", "prefill_attention", "decode_attention", "elementwise",
              "lm_head", "communication", "overhead", "draft")


class StepFormula:
    """Evaluates the step time from constants built by ``StepCostModel`` (see module)."""

    def __init__(self, c: dict[str, float], draft: StepFormula | None = None) -> None:
        self.consts = dict(c)
        self.draft = draft
        self.k: float = c["k"]
        self.inv_k: float = 1.0 / c["k"]
        self.g_fixed: float = c["g_fixed"]
        self.g_fpt: float = c["g_fpt"]
        self.g_wb: float = c["g_wb"]
        self.g_abpt: float = c["g_abpt"]
        self.inv_mm: float = c["inv_mm"]
        self.inv_bw_g: float = c["inv_bw_g"]
        self.moe: bool = c["moe"] > 0.0
        self.moe_fixed: float = c["moe_fixed"]
        self.moe_fpp: float = c["moe_fpp"]
        self.moe_bpp: float = c["moe_bpp"]
        self.moe_kpe: float = c["moe_kpe"]
        self.moe_el: float = c["moe_el"]
        self.moe_q: float = c["moe_q"]
        self.moe_bpe: float = c["moe_bpe"]
        self.moe_imb: float = c["moe_imb"]
        self.inv_moe_c: float = c["inv_moe_c"]
        self.inv_moe_m: float = c["inv_moe_m"]
        self.moe_sk: float = c["moe_sk"]
        self.moe_inv_sk: float = 1.0 / c["moe_sk"]
        self.h_fixed: float = c["h_fixed"]
        self.h_fpt: float = c["h_fpt"]
        self.h_wb: float = c["h_wb"]
        self.inv_h: float = c["inv_h"]
        self.w: float = c["w"]
        self.apf: float = c["apf"]
        self.aps: float = c["aps"]
        self.adf: float = c["adf"]
        self.ads: float = c["ads"]
        self.kv_full: float = c["kv_full"]
        self.kv_sl: float = c["kv_sl"]
        self.ssm: float = c["ssm"]
        self.inv_att_c: float = c["inv_att_c"]
        self.half_pairs: float = c["half_pairs"]
        self.inv_bw_att: float = c["inv_bw_att"]
        self.pre_fixed: float = c["pre_fixed"]
        self.dec_fixed: float = c["dec_fixed"]
        self.dec_per_seq: float = c["dec_per_seq"]
        self.e_fixed: float = c["e_fixed"]
        self.e_bpt: float = c["e_bpt"]
        self.inv_bw_e: float = c["inv_bw_e"]
        self.comm_fixed: float = c["comm_fixed"]
        self.comm_pt: float = c["comm_pt"]
        self.ring_fixed: float = c["ring_fixed"]
        self.ring_pt: float = c["ring_pt"]
        self.over: float = c["over"]
        self.per_seq: float = c["per_seq"]
        self.dp: float = c["dp"]
        self.pp: float = c["pp"]
        self.chunk: float = c["chunk"]
        self.spec_k: float = c["spec_k"]
        self.inv_tps: float = 1.0 / c["tokens_per_step"]
        self.draft_per_rank: bool = c["draft_per_rank"] > 0.0
        self.draft_fixed: float = c["draft_fixed"]
        # The last GEMM-family value and the token counts it was computed for.
        self._last_t: float = -1.0
        self._last_a: float = -1.0
        self._last_m: float = -1.0
        self._last_v: float = 0.0

    def __reduce__(self) -> tuple[object, tuple[dict[str, float], StepFormula | None]]:
        return (StepFormula, (self.consts, self.draft))

    def _smax(self, a: float, b: float) -> float:
        """(a^k + b^k)^(1/k): the larger of a and b, rounded up where they are close."""
        return (a ** self.k + b ** self.k) ** self.inv_k

    def _gemm_family(self, t: float, t_all: float, m: float, out: list[float] | None) -> float:
        """Dense GEMMs on the rank's t tokens, routed experts on all t_all tokens of the
        expert group, lm_head on m logit rows."""
        g_c = self.g_fpt * t * self.inv_mm
        g_m = (self.g_wb + self.g_abpt * t) * self.inv_bw_g
        total = self.g_fixed + self._smax(g_c, g_m)
        if out is not None:
            out.append(total)
            out.append(g_c)
            out.append(g_m)
        if self.moe:
            # Token-expert pairs on the busiest expert-parallel rank, and the distinct local
            # experts the step touches (uniform routing: E_l·(1 − (1 − k/E)^T)).
            pairs = self.moe_kpe * t_all * self.moe_imb
            touched = self.moe_el - self.moe_el * self.moe_q ** t_all
            e_c = self.moe_fpp * pairs * self.inv_moe_c
            e_m = (touched * self.moe_bpe + self.moe_bpp * pairs) * self.inv_moe_m
            moe = self.moe_fixed + (e_c ** self.moe_sk + e_m ** self.moe_sk) ** self.moe_inv_sk
            total += moe
            if out is not None:
                out.append(moe)
                out.append(e_c)
                out.append(e_m)
        elif out is not None:
            out.append(0.0)
            out.append(0.0)
            out.append(0.0)
        h_c = self.h_fpt * m * self.inv_h
        h_m = self.h_wb * self.inv_bw_g
        head = self.h_fixed + self._smax(h_c, h_m)
        if out is not None:
            out.append(head)
            out.append(h_c)
            out.append(h_m)
        return total + head

    def terms(self, p: float, pairs: float, kv_pre: float, d: float, kv_dec: float,
              out: list[float] | None) -> float:
        """The real step time; with ``out``, append ``(time, compute, memory)`` of each term
        of ``TERM_NAMES`` (27 numbers)."""
        if p + d <= 0.0:
            if out is not None:
                for _ in range(3 * len(TERM_NAMES)):
                    out.append(0.0)
            return 0.0
        # The busiest data-parallel attention rank (module docstring).
        dp = self.dp
        if dp > 1.0:
            d_r = d / dp
            if d_r < 1.0:
                d_r = d if d < 1.0 else 1.0
            p_r = p / dp
            if p_r < self.chunk:
                p_r = p if p < self.chunk else self.chunk
            f_p = p_r / p if p > 0.0 else 0.0
            f_d = d_r / d if d > 0.0 else 0.0
            p_all = p
            p = p_r
            pairs = pairs * f_p
            kv_pre = kv_pre * f_p
            d_all = d
            d = d_r
            kv_dec = kv_dec * f_d
        else:
            p_all = p
            d_all = d
        seqs = d  # sequences the engine schedules this round (per-sequence overhead)
        if self.pp > 1.0 and d > 0.0:
            # Pipeline parallelism: the decodes run as pp micro-batches, one per stage at a
            # time, so a round (every sequence one token) is one micro-batch's trip through all
            # stages. A sequence cannot be split: fewer sequences than stages leave bubbles.
            d_mb = d / self.pp
            if d_mb < 1.0:
                d_mb = d if d < 1.0 else 1.0
            f_mb = d_mb / d
            kv_dec = kv_dec * f_mb
            d_all = d_all * f_mb
            d = d_mb
        # Speculative verification: k + 1 tokens per decoding sequence.
        v = self.spec_k + 1.0
        t = p + d * v
        t_all = p_all + d_all * v
        m = d * v + (1.0 if p >= 1.0 else p)  # ASSUMPTION: one logit row per step for prefills
        if out is None and t == self._last_t and t_all == self._last_a and m == self._last_m:
            gemm = self._last_v
        else:
            gemm = self._gemm_family(t, t_all, m, None)
            self._last_t = t
            self._last_a = t_all
            self._last_m = m
            self._last_v = gemm
        w = self.w
        pre = 0.0
        pre_c = 0.0
        pre_m = 0.0
        if p > 0.0:
            sl_pairs = 0.0
            sl_kv = 0.0
            if w > 0.0:
                pw = p * w
                sl_pairs = pairs if pairs < pw else pw
                sl_kv = kv_pre if kv_pre < pw else pw
            pre_c = (self.apf * pairs + self.aps * sl_pairs
                     + (self.apf + self.aps) * self.half_pairs * p) * self.inv_att_c
            pre_m = (self.kv_full * kv_pre + self.kv_sl * sl_kv) * self.inv_bw_att
            pre = self.pre_fixed + (pre_c if pre_c > pre_m else pre_m)
        dec = 0.0
        dec_c = 0.0
        dec_m = 0.0
        if d > 0.0:
            sl_dec = 0.0
            if w > 0.0:
                dw = d * w
                sl_dec = kv_dec if kv_dec < dw else dw
            # Verification reads each sequence's KV once for its k + 1 queries.
            dec_c = (self.adf * kv_dec + self.ads * sl_dec) * v * self.inv_att_c
            dec_m = (self.kv_full * kv_dec + self.kv_sl * sl_dec + self.ssm * d) * self.inv_bw_att
            # A mixed step runs one attention kernel per layer: its fixed time is counted once.
            fixed = 0.0 if p > 0.0 else self.dec_fixed
            dec = fixed + self.dec_per_seq * d + (dec_c if dec_c > dec_m else dec_m)
        e_m = self.e_bpt * t * self.inv_bw_e
        elem = self.e_fixed + e_m
        comm = self.comm_fixed + self.comm_pt * t
        ring = self.ring_fixed + self.ring_pt * t
        if ring < comm:
            comm = ring
        over = self.over + self.per_seq * seqs
        draft = 0.0
        dr = self.draft
        if dr is not None and d > 0.0:
            if self.draft_per_rank:
                one = dr.terms(0.0, 0.0, 0.0, d, kv_dec, None)
            else:
                one = dr.terms(0.0, 0.0, 0.0, d_all, kv_dec * d_all / d, None)
            draft = self.spec_k * (one + self.draft_fixed)
        if out is not None:
            self._gemm_family(t, t_all, m, out)
            head = out[-3:]
            del out[-3:]
            out.append(pre)
            out.append(pre_c)
            out.append(pre_m)
            out.append(dec)
            out.append(dec_c)
            out.append(dec_m)
            out.append(elem)
            out.append(0.0)
            out.append(e_m)
            out.extend(head)
            out.append(comm)
            out.append(0.0)
            out.append(0.0)
            out.append(over)
            out.append(0.0)
            out.append(0.0)
            out.append(draft)
            out.append(0.0)
            out.append(0.0)
        return gemm + pre + dec + elem + comm + over + draft

    def time(self, p: float, pairs: float, kv_pre: float, d: float, kv_dec: float) -> float:
        """Time (s) charged for one round: one step, with speculative decoding its prompt
        work plus its decode work per accepted token (see module)."""
        full = self.terms(p, pairs, kv_pre, d, kv_dec, None)
        if self.spec_k <= 0.0 or d <= 0.0:
            return full
        if p <= 0.0:
            return full * self.inv_tps
        dec = self.terms(0.0, 0.0, 0.0, d, kv_dec, None)
        return full - dec + dec * self.inv_tps

    def times(self, p: list[float], pairs: list[float], kv_pre: list[float], d: list[float],
              kv_dec: list[float]) -> list[float]:
        """``time`` of each step of equally long argument lists."""
        out: list[float] = []
        for i in range(len(p)):
            out.append(self.time(p[i], pairs[i], kv_pre[i], d[i], kv_dec[i]))
        return out


def imbalance(ep: int, a: float, b: float) -> float:
    """Tokens on the busiest of ``ep`` expert-parallel ranks over the mean: 1 + a·ln(ep)^b
    (fitted on AIConfigurator's power-law routed MoE tables; 1 for ep = 1)."""
    return 1.0 + a * math.log(ep) ** b if ep > 1 else 1.0
