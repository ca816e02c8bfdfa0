"""Roofline step time of one engine iteration (a batch of prefill chunks and decode tokens).

``StepCostModel`` is the coupling between perf and the serving simulator: it is built once per
(model, deployment, calibration) and ``step_time_s`` is then a few float operations, called
millions of times, on floats or numpy arrays (broadcast elementwise).

Model (per GPU, after tp/pp/ep sharding; Williams et al., "Roofline", CACM 2009): each op group
takes ``max(FLOPs / (peak × compute_eff), bytes / (HBM BW × mem_eff))``; groups are

* dense linear layers: weights read once per step + activation traffic; 2 FLOPs per param per
  token (Kaplan et al. 2020, arXiv:2001.08361);
* attention: prefill on causal pairs (FLOPs) and KV read/written once; decode reads
  ``kv_bytes_per_token × context`` (windowed layers capped at the window);
* MoE routed experts: bytes of the expected distinct experts touched, FLOPs of top-k;
* lm_head on the tokens that produce logits;
* TP all-reduce (2 per layer, Megatron-LM, Shoeybi et al. 2019, arXiv:1909.08053), MoE
  all-to-all when ep > 1, pipeline point-to-point sends;
* a per-step overhead (scheduling, sampling, launches) and per-sequence overhead.

ASSUMPTION: op groups and communication do not overlap (times are summed). Engines overlap
little in decode (all-reduce sits between dependent GEMMs); this is conservative for prefill.

Pipeline parallelism: ``step_time_s`` is the *latency* of one batch through all pp stages
(sum of stage times + sends). A replica keeps pp micro-batches in flight, so in steady state
it completes one batch every ``step_time_s / pp`` (``pipeline_interval_s``). ASSUMPTION: stages
are balanced and, with continuous batching, the pipeline never drains, so the GPipe bubble
(p−1)/(m+p−1) (Huang et al. 2019, arXiv:1811.06965; Narayanan et al. 2021, arXiv:2104.04473)
tends to 0; ``pipeline_bubble_frac`` gives it for a finite number of micro-batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tokenworks.dtypes import get_dtype
from tokenworks.errors import ConfigError
from tokenworks.model.arch import ModelArch
from tokenworks.model.flops import attention_pairs
from tokenworks.perf.calibration import Calibration, default_calibration
from tokenworks.perf.deployment import Deployment
from tokenworks.perf.shape import sharded_shape
from tokenworks.perf.step_scalar import make_step_time_scalar


@dataclass(frozen=True, slots=True, kw_only=True)
class OpCost:
    """One op group's roofline on one GPU (summed over pp stages)."""

    name: str
    time_s: float
    flops: float
    bytes: float
    bound: str  # "compute" | "memory" | "interconnect" | "overhead"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepBreakdown:
    """Per-op-group costs of one step and which resource bounds it."""

    ops: tuple[OpCost, ...]
    time_s: float
    bound: str

    def op(self, name: str) -> OpCost:
        for o in self.ops:
            if o.name == name:
                return o
        raise KeyError(name)


def pipeline_bubble_frac(pp: int, num_microbatches: int) -> float:
    """GPipe bubble fraction (p−1)/(m+p−1) for m micro-batches over p stages (arXiv:1811.06965)."""
    return (pp - 1) / (num_microbatches + pp - 1)


def causal_pairs(new_tokens, context_before):
    """Query-key pairs of ``new_tokens`` appended after ``context_before`` (causal mask).

    Same as ``tokenworks.model.attention_pairs`` (no window): each new token i (1-based)
    attends to context_before + i keys, so pairs = n·c + n(n+1)/2. Floats or arrays.
    """
    return attention_pairs(new_tokens, context_before)


_SCALAR_TYPES = (int, float)


def _vec(*xs) -> bool:
    return any(isinstance(x, np.ndarray) for x in xs)


class StepCostModel:
    """Step time of one replica; ``step_time_s`` is the hot path (precomputed constants)."""

    def __init__(self, model: ModelArch, deployment: Deployment,
                 calibration: Calibration | None = None) -> None:
        acc = deployment.accelerator
        if calibration is None:
            cal = default_calibration(acc.name)
        else:
            cal = calibration.for_accelerator(acc.name, acc.vendor)
        self.model, self.deployment, self.calibration = model, deployment, cal
        s = self.shape = sharded_shape(model, deployment)
        tp, pp, ep = deployment.tp, deployment.pp, deployment.ep
        peak_mm = acc.matmul_flops_per_s(deployment.matmul_dtype)
        # ASSUMPTION: attention (FlashAttention) and lm_head run in bf16 tensor cores.
        peak_bf16 = acc.matmul_flops_per_s("bf16")
        self._bw = acc.memory_bytes_per_s * cal.memory_efficiency_frac
        self._c_dec = peak_mm * cal.compute_efficiency_frac
        self._c_pre = peak_mm * cal.prefill_efficiency_frac
        self._c_att_dec = peak_bf16 * cal.compute_efficiency_frac
        self._c_att_pre = peak_bf16 * cal.prefill_efficiency_frac
        wb = s.weight_bytes_per_param
        hb = s.act_bytes
        # Dense linear: 2 FLOPs per parameter per token (per GPU, all stages).
        self._lin_flops_per_tok = 2.0 * s.dense_params_per_gpu
        self._lin_bytes_fixed = s.dense_params_per_gpu * wb
        self._lin_bytes_per_tok = s.act_bytes_per_token_per_gpu
        # MoE: per layer, expected distinct experts of E touched by T tokens with top-k routing
        # (uniform routing): E·(1 − (1 − k/E)^T) (tokenworks.model.expected_distinct_experts).
        self._moe = s.num_moe_layers > 0
        if self._moe:
            e, k = s.num_experts, s.num_experts_per_tok
            self._moe_e, self._moe_q = float(e), 1.0 - k / e
            self._moe_flops_per_tok = 2.0 * k * s.routed_expert_params_one * s.num_moe_layers / tp
            self._moe_bytes_per_expert = s.routed_expert_params_one * wb * s.num_moe_layers / tp
        # Attention (FLOPs per pair over all layers, per GPU).
        n_full, n_sl = s.num_full_attention_layers, s.num_sliding_attention_layers
        self._att_pre_flops_full = s.attention_flops_per_pair_per_layer * n_full / tp
        self._att_pre_flops_sl = s.attention_flops_per_pair_per_layer * n_sl / tp
        self._att_dec_flops_full = s.decode_attention_flops_per_pair_per_layer * n_full / tp
        self._att_dec_flops_sl = s.decode_attention_flops_per_pair_per_layer * n_sl / tp
        self._kv_full = s.kv_bytes_per_token_full_per_gpu
        self._kv_sl = s.kv_bytes_per_token_sliding_per_gpu
        self._window = float(s.sliding_window_tokens) if s.sliding_window_tokens else 0.0
        self._ssm_bytes = s.ssm_state_bytes_per_seq_per_gpu
        # lm_head in bf16 (see shape.ACT_DTYPE), vocabulary-parallel over tp.
        self._head_flops_per_tok = 2.0 * s.lm_head_params_per_gpu
        self._head_bytes = s.lm_head_params_per_gpu * get_dtype("bf16").bytes
        # Communication. Ring all-reduce moves 2(p−1)/p of the message through each GPU's link
        # (Patarasuk & Yuan 2009; NCCL docs "Performance: bus bandwidth" busBw = algBw·2(p−1)/p).
        # ASSUMPTION: a fixed latency per collective (comm_latency_s) independent of tp within
        # a node, as for one-shot/two-shot custom all-reduce kernels (vLLM, TensorRT-LLM) and
        # as vidur's NCCL measurements show for small messages (~7–40 µs at 2–8 GPUs).
        link = deployment.tp_link_bytes_per_s * cal.comm_efficiency_frac
        msg_per_tok = s.hidden_size * hb
        n_ar = 2.0 * s.num_layers
        if ep > 1 and self._moe:
            n_ar -= s.num_moe_layers  # the MoE block's all-reduce becomes an all-to-all
        if tp > 1:
            self._ar_per_tok = n_ar * 2.0 * (tp - 1) / tp * msg_per_tok / link
            self._ar_fixed = n_ar * cal.comm_latency_s
        else:
            self._ar_per_tok = self._ar_fixed = 0.0
        if ep > 1 and self._moe:
            # ASSUMPTION: tokens are spread evenly over the ep ranks (data-parallel attention,
            # DeepEP-style dispatch); each rank sends its tokens' top-k copies that live on
            # other ranks, and receives them back after the experts (dispatch + combine).
            k = s.num_experts_per_tok
            a2a_link = (deployment.accelerator.scaleup_bytes_per_s
                        if ep <= acc.scaleup_domain_size and acc.scaleup_bytes_per_s
                        else deployment.tp_link_bytes_per_s) * cal.comm_efficiency_frac
            self._a2a_per_tok = (s.num_moe_layers * 2.0 * k * msg_per_tok * (ep - 1) / ep / ep
                                 / a2a_link)
            self._a2a_fixed = s.num_moe_layers * 2.0 * cal.comm_latency_s
        else:
            self._a2a_per_tok = self._a2a_fixed = 0.0
        if pp > 1:
            pl = deployment.pp_link_bytes_per_s * cal.comm_efficiency_frac
            self._p2p_per_tok = (pp - 1) * msg_per_tok / pl
            self._p2p_fixed = (pp - 1) * cal.comm_latency_s
        else:
            self._p2p_per_tok = self._p2p_fixed = 0.0
        self._comm_fixed = self._ar_fixed + self._a2a_fixed + self._p2p_fixed
        self._comm_per_tok = self._ar_per_tok + self._a2a_per_tok + self._p2p_per_tok
        self._overhead = cal.step_overhead_s
        self._per_seq = cal.per_seq_overhead_s
        self.num_stages = pp
        self.step_time_scalar_s = make_step_time_scalar(self)

    # ----------------------------------------------------------------------------- hot path
    def step_time_s(self, *, num_prefill_tokens=0, prefill_attention_pairs=0.0,
                    prefill_kv_tokens=0, num_decode_seqs=0, decode_kv_tokens=0):
        """Latency (s) of one step; floats or numpy arrays broadcast elementwise.

        num_prefill_tokens: new prompt tokens processed this step (all prefill chunks);
        prefill_attention_pairs: their causal query-key pairs (``causal_pairs``);
        prefill_kv_tokens: sum over prefill sequences of context_before + new (KV touched);
        num_decode_seqs: sequences decoding one token; decode_kv_tokens: sum of their contexts.
        An empty step (all zero) costs 0.
        """
        # NOTE: plain ints/floats (the simulator's per-step calls) skip the array dispatch, for
        # performance; ``step_time_scalar_s`` is the same arithmetic
        # (test_vectorised_equals_scalar).
        if (type(decode_kv_tokens) in _SCALAR_TYPES and type(num_decode_seqs) in _SCALAR_TYPES
                and type(num_prefill_tokens) in _SCALAR_TYPES
                and type(prefill_attention_pairs) in _SCALAR_TYPES
                and type(prefill_kv_tokens) in _SCALAR_TYPES):
            return self.step_time_scalar_s(
                float(num_prefill_tokens), float(prefill_attention_pairs),
                float(prefill_kv_tokens), float(num_decode_seqs), float(decode_kv_tokens))
        args = (num_prefill_tokens, prefill_attention_pairs, prefill_kv_tokens, num_decode_seqs,
                decode_kv_tokens)
        if _vec(*args):
            return self._op_times(*(np.asarray(x, dtype=float) for x in args))[5]
        return self.step_time_scalar_s(
            float(num_prefill_tokens), float(prefill_attention_pairs),
            float(prefill_kv_tokens), float(num_decode_seqs), float(decode_kv_tokens))

    def _op_times(self, tp_, pairs, kv_pre, nd, kv_dec):
        """(linear, MoE, prefill attention, decode attention, lm_head, total) times on numpy
        arrays (0-d for one step), each term the roofline max of compute and memory time.

        The total adds the terms, communication and overhead in the order of
        ``step_time_scalar_s`` (step_scalar.py), operation for operation, so every element
        equals the scalar call on it bit for bit (the simulator mixes both: decode jumps read
        step times from arrays, single steps call the scalar entry). A term the scalar entry
        skips (no prefill, no decode, no window, no SSM, no MoE) is left out or zero here.
        """
        mx = np.maximum
        t = tp_ + nd
        lin = mx(self._lin_flops_per_tok * tp_ / self._c_pre
                 + self._lin_flops_per_tok * nd / self._c_dec,
                 (self._lin_bytes_fixed + self._lin_bytes_per_tok * t) / self._bw)
        total = lin
        moe = 0.0 * t
        if self._moe:
            # MoE, per layer: expected distinct experts of E touched by T tokens with top-k
            # routing, E·(1 − (1 − k/E)^T). NOTE: q**t element by element with Python's float
            # power (libm pow, as the scalar entry): numpy's vectorised power differs from it
            # in the last bit now and then.
            q = float(self._moe_q)
            q_t = np.fromiter((q ** x for x in t.ravel().tolist()), float, t.size).reshape(t.shape)
            moe = mx(self._moe_flops_per_tok * (tp_ / self._c_pre + nd / self._c_dec),
                     (self._moe_e - self._moe_e * q_t) * self._moe_bytes_per_expert / self._bw)
            total = total + moe
        # ASSUMPTION: windowed layers see at most window keys per query/sequence.
        w = self._window
        a_c = self._att_pre_flops_full * pairs
        a_m = self._kv_full * kv_pre
        if w:
            a_c = a_c + self._att_pre_flops_sl * np.minimum(pairs, tp_ * w)
            a_m = a_m + self._kv_sl * np.minimum(kv_pre, tp_ * w)
        att_pre = np.where(tp_ > 0.0, mx(a_c / self._c_att_pre, a_m / self._bw), 0.0)
        total = np.where(tp_ > 0.0, total + att_pre, total)
        d_c = self._att_dec_flops_full * kv_dec
        d_m = self._kv_full * kv_dec
        if w:
            sl_dec = np.minimum(kv_dec, nd * w)
            d_c = d_c + self._att_dec_flops_sl * sl_dec
            d_m = d_m + self._kv_sl * sl_dec
        if self._ssm_bytes:
            d_m = d_m + self._ssm_bytes * nd
        att_dec = np.where(nd > 0.0, mx(d_c / self._c_att_dec, d_m / self._bw), 0.0)
        total = np.where(nd > 0.0, total + att_dec, total)
        # Logits for every decode token plus (ASSUMPTION) one per step for finishing prefills.
        head = mx(self._head_flops_per_tok * (nd + np.minimum(tp_, 1.0)) / self._c_dec,
                  self._head_bytes / self._bw)
        total = total + head + self._comm_fixed + self._comm_per_tok * t + self._overhead \
            + self._per_seq * nd
        return lin, moe, att_pre, att_dec, head, np.where(t > 0.0, total, 0.0)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["step_time_scalar_s"]  # a closure: rebuilt by __setstate__
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.step_time_scalar_s = make_step_time_scalar(self)

    def pipeline_interval_s(self, **kwargs):
        """Steady-state time between batch completions with pp micro-batches in flight."""
        return self.step_time_s(**kwargs) / self.num_stages

    def breakdown(self, *, num_prefill_tokens=0, prefill_attention_pairs=0.0,
                  prefill_kv_tokens=0, num_decode_seqs=0, decode_kv_tokens=0) -> StepBreakdown:
        """Per-op-group time, FLOPs, bytes and bound for one (scalar) step."""
        tp_, pairs, kv_pre = float(num_prefill_tokens), float(prefill_attention_pairs), \
            float(prefill_kv_tokens)
        nd, kv_dec = float(num_decode_seqs), float(decode_kv_tokens)
        t = tp_ + nd
        lin, moe, att_pre, att_dec, head, _ = (float(x) for x in self._op_times(
            *(np.asarray(x) for x in (tp_, pairs, kv_pre, nd, kv_dec))))
        att = att_pre + att_dec
        comm = self._comm_fixed + self._comm_per_tok * t
        over = self._overhead + self._per_seq * nd
        ops: list[OpCost] = []

        def add(name: str, time_s: float, flops: float, nbytes: float, c_time: float) -> None:
            bound = "compute" if c_time >= time_s - 1e-18 and flops > 0 else "memory"
            ops.append(OpCost(name=name, time_s=time_s, flops=flops, bytes=nbytes, bound=bound))

        f = self._lin_flops_per_tok * t
        add("linear", lin, f, self._lin_bytes_fixed + self._lin_bytes_per_tok * t,
            self._lin_flops_per_tok * (tp_ / self._c_pre + nd / self._c_dec))
        if self._moe:
            touched = self._moe_e - self._moe_e * self._moe_q ** t
            add("moe_experts", moe, self._moe_flops_per_tok * t,
                touched * self._moe_bytes_per_expert,
                self._moe_flops_per_tok * (tp_ / self._c_pre + nd / self._c_dec))
        win = self._window
        sl_pairs = min(pairs, tp_ * win) if win else 0.0
        sl_dec = min(kv_dec, nd * win) if win else 0.0
        att_f = (self._att_pre_flops_full * pairs + self._att_pre_flops_sl * sl_pairs
                 + self._att_dec_flops_full * kv_dec + self._att_dec_flops_sl * sl_dec)
        att_b = (self._kv_full * (kv_pre + kv_dec) + self._kv_sl * (sl_dec + min(
            kv_pre, tp_ * win) if win else 0.0) + self._ssm_bytes * nd)
        att_c = ((self._att_pre_flops_full * pairs + self._att_pre_flops_sl * sl_pairs)
                 / self._c_att_pre + (self._att_dec_flops_full * kv_dec
                                      + self._att_dec_flops_sl * sl_dec) / self._c_att_dec)
        add("attention", att, att_f, att_b, att_c)
        logit_toks = nd + min(tp_, 1.0)
        add("lm_head", head, self._head_flops_per_tok * logit_toks, self._head_bytes,
            self._head_flops_per_tok * logit_toks / self._c_dec)
        ops.append(OpCost(name="communication", time_s=comm if t > 0 else 0.0, flops=0.0,
                          bytes=self._comm_bytes(t), bound="interconnect"))
        ops.append(OpCost(name="overhead", time_s=over if t > 0 else 0.0, flops=0.0, bytes=0.0,
                          bound="overhead"))
        if t <= 0:
            ops = [OpCost(name=o.name, time_s=0.0, flops=0.0, bytes=0.0, bound=o.bound)
                   for o in ops]
        total = sum(o.time_s for o in ops)
        by: dict[str, float] = {}
        for o in ops:
            by[o.bound] = by.get(o.bound, 0.0) + o.time_s
        bound = max(by, key=lambda k: by[k]) if total > 0 else "overhead"
        return StepBreakdown(ops=tuple(ops), time_s=total, bound=bound)

    def _comm_bytes(self, t: float) -> float:
        tp = self.deployment.tp
        if tp <= 1:
            return 0.0
        return 2.0 * self.shape.num_layers * 2.0 * (tp - 1) / tp * self.shape.hidden_size \
            * self.shape.act_bytes * t

    # ------------------------------------------------------------------------- conveniences
    def time_for_sequences(self, new_tokens: Sequence[int], context_before: Sequence[int]) -> float:
        """Step time for a batch given each sequence's new tokens and prior context.

        A sequence with exactly one new token and some context is a decode; anything else
        (including a one-token prompt) is a prefill chunk.
        """
        if len(new_tokens) != len(context_before):
            raise ConfigError(f"new_tokens has {len(new_tokens)} entries but context_before "
                              f"has {len(context_before)}; give one of each per sequence.")
        n_pre = pairs = kv_pre = n_dec = kv_dec = 0.0
        for n, c in zip(new_tokens, context_before, strict=True):
            if n == 1 and c > 0:
                n_dec += 1
                kv_dec += c + 1
            elif n > 0:
                n_pre += n
                pairs += causal_pairs(n, c)
                kv_pre += c + n
        return self.step_time_s(num_prefill_tokens=n_pre, prefill_attention_pairs=pairs,
                                prefill_kv_tokens=kv_pre, num_decode_seqs=n_dec,
                                decode_kv_tokens=kv_dec)

    def prefill_time_s(self, prompt_tokens: int, *, cached_tokens: int = 0,
                       chunk_tokens: int | None = None) -> float:
        """Time to prefill one prompt alone (cached prefix skipped; optional chunking)."""
        new = max(int(prompt_tokens) - int(cached_tokens), 0)
        if new == 0:
            return 0.0
        chunk = new if chunk_tokens is None else max(int(chunk_tokens), 1)
        total, done = 0.0, int(cached_tokens)
        while done < prompt_tokens:
            n = min(chunk, prompt_tokens - done)
            total += self.step_time_s(num_prefill_tokens=n,
                                      prefill_attention_pairs=causal_pairs(n, done),
                                      prefill_kv_tokens=done + n)
            done += n
        return total

    def decode_step_time_s(self, batch, context_tokens):
        """One decode step for ``batch`` sequences of mean context ``context_tokens`` each."""
        return self.step_time_s(num_decode_seqs=batch,
                                decode_kv_tokens=np.multiply(batch, context_tokens)
                                if _vec(batch, context_tokens) else batch * context_tokens)
