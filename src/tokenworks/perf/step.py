"""Step time of one engine iteration (a batch of prefill chunks and decode tokens).

``StepCostModel`` is the coupling between perf and the serving simulator: it is built once per
(model, deployment, engine, calibration) and ``step_time_s`` is then one call of the compiled
formula (``step_formula.StepFormula``), on floats or, element by element, on numpy arrays.

Every term is physical and its coefficients come from measured kernels or serving runs
(``perf.calibration``). Per GPU, after tp/pp/ep sharding, summed over pipeline stages:

* GEMMs (Williams et al., "Roofline", CACM 2009, with a smooth knee): the linear layers move
  their weights once per step plus activations and do 2 FLOPs per parameter per token (Kaplan
  et al. 2020, arXiv:2001.08361); time = n_gemm·t0 + (t_mem^k + t_compute^k)^(1/k). At small M
  a GEMM streams weights at ``gemm_memory_frac`` of HBM bandwidth, at large M it reaches
  ``gemm_compute_frac`` of peak, and the knee between them is as round as measured (k ~ 2-3 on
  H100, AIConfigurator's TensorRT-LLM GEMM database);
* routed experts (MoE): the same curve on the expected distinct experts a batch touches,
  E·(1 − (1 − k/E)^T) (uniform routing), plus a grouped-GEMM launch per layer;
* prefill attention (FlashAttention, Dao 2022/2023): causal pairs × FLOPs per pair at
  ``prefill_attention_frac`` of peak, ramping up with prompt length s as s/(s + s_half)
  (summed over a prompt this adds s_half·P/2 pairs), or the KV traffic if larger;
* decode attention (PagedAttention, Kwon et al., SOSP'23): KV bytes read at
  ``attention_memory_frac`` of bandwidth (windowed layers capped at the window; recurrent
  state read once per sequence) plus a per-layer and per-sequence time;
* elementwise kernels (norms, activation): a launch each plus their traffic at 80% of memory
  bandwidth (AIConfigurator systems/*.yaml mem_op_bw_scaling);
* lm_head on the tokens that produce logits;
* TP all-reduce: 2 per layer (Megatron-LM, Shoeybi et al. 2019, arXiv:1909.08053), each a
  latency plus the ring's 2(p−1)/p of the message over the link at ``comm_bus_frac`` (NCCL
  "bus bandwidth"); MoE all-to-all when ep > 1; pipeline sends;
* the engine: a time per step and per running sequence (scheduling, sampling, bookkeeping not
  hidden behind the GPU with CUDA graphs).

ASSUMPTION: terms do not overlap (times are summed). In decode an all-reduce sits between
dependent GEMMs, so engines overlap little; prefill overlap is absorbed by the fitted terms.

Pipeline parallelism: the constants sum all pp stages, so the formula at a batch is that batch's
latency through the pipeline. Decodes run as pp micro-batches in flight (vLLM's virtual
engines, TensorRT-LLM's micro-batches): a round in which every sequence gains one token is one
micro-batch of ``D/pp`` sequences through all stages, so ``step_time_s`` evaluates the decode
work at the micro-batch (fewer sequences than stages leave bubbles: a micro-batch holds at
least one). ASSUMPTION: stages are balanced, the pipeline never drains under continuous
batching (the GPipe bubble (p−1)/(m+p−1), Huang et al. 2019, arXiv:1811.06965; Narayanan et
al. 2021, arXiv:2104.04473, tends to 0; ``pipeline_bubble_frac`` gives it for m micro-batches),
and a prompt chunk is not pipelined: it pays its full latency through the stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from tokenworks.dtypes import get_dtype
from tokenworks.errors import ConfigError
from tokenworks.model.arch import LayerSpec, ModelArch
from tokenworks.model.catalog import get_model
from tokenworks.model.flops import attention_pairs
from tokenworks.perf.calibration import Calibration, packaged_calibration
from tokenworks.perf.deployment import Deployment, is_weight_only
from tokenworks.perf.engine import DEFAULT_ENGINE, VENDOR_STACK_KINDS, engine_defaults
from tokenworks.perf.shape import EAGLE_DRAFT_VOCAB, ShardedShape, sharded_shape
from tokenworks.perf.step_formula import TERM_NAMES, StepFormula, imbalance

# ASSUMPTION: elementwise kernels stream at 80% of memory bandwidth (AIConfigurator 0.12.0
# systems/*.yaml mem_op_bw_scaling = 0.8).
ELEMENTWISE_MEMORY_FRAC = 0.8
# The precisions whose matmuls count as "low precision" for gemm_compute_frac_lowp.
_LOWP = ("fp8", "fp6", "fp4", "int8", "int4")


@dataclass(frozen=True, slots=True, kw_only=True)
class OpCost:
    """One term of the step time on one GPU (summed over pp stages)."""

    name: str
    time_s: float
    flops: float
    bytes: float
    bound: str  # "compute" | "memory" | "interconnect" | "overhead" | "launch"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepBreakdown:
    """Per-term costs of one step and which resource bounds it."""

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
    """Step time of one replica; ``step_time_s`` is the hot path (one compiled formula)."""

    def __init__(self, model: ModelArch, deployment: Deployment,
                 calibration: Calibration | None = None, *, engine: str | None = "vllm",
                 max_num_batched_tokens: int | None = None) -> None:
        acc = deployment.accelerator
        base = packaged_calibration() if calibration is None else calibration
        if acc.kind in VENDOR_STACK_KINDS:
            engine = None  # the vendor's own stack: its calibration has its overheads
        cal = base.resolve(acc.name, acc.vendor, engine)
        self.model, self.deployment, self.calibration, self.engine = model, deployment, cal, engine
        s = self.shape = sharded_shape(model, deployment)
        self.num_stages = deployment.pp
        chunk = 0.0
        if deployment.dp > 1:
            # A data-parallel rank's share of the step's token budget (module docstring of
            # step_formula); the engine's default budget when the caller gives none.
            budget = max_num_batched_tokens or engine_defaults(engine or DEFAULT_ENGINE,
                                                               acc).max_num_batched_tokens
            chunk = max(budget / deployment.dp, 1.0)
        # One prompt is prefilled on one data-parallel rank, at most this many tokens a step.
        self.rank_chunk_tokens: int | None = int(chunk) if deployment.dp > 1 else None
        spec = deployment.spec
        self._consts = step_constants(
            s, deployment, cal, chunk_tokens=chunk, spec_k=spec.num_tokens if spec else 0,
            tokens_per_step=spec.tokens_per_step if spec else 1.0)
        self._draft: StepCostModel | None = None
        if spec is not None and spec.method != "ngram":
            # ASSUMPTION: n-gram drafting runs on the CPU alongside the GPU step (no GPU time).
            self._draft = _drafter(model, deployment, cal, engine)
            self._consts["draft_per_rank"] = 0.0 if spec.method == "mtp" else 1.0
            self._consts["draft_fixed"] = cal.spec_draft_step_s
        self._build()

    def _build(self) -> None:
        draft = None if self._draft is None else self._draft.formula
        self.formula = StepFormula(self._consts, draft)
        self.step_time_scalar_s = self.formula.time

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["formula"], state["step_time_scalar_s"]  # compiled objects: rebuilt below
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._build()

    # ----------------------------------------------------------------------------- hot path
    def step_time_s(self, *, num_prefill_tokens=0, prefill_attention_pairs=0.0,
                    prefill_kv_tokens=0, num_decode_seqs=0, decode_kv_tokens=0):
        """Latency (s) of one step; floats or numpy arrays broadcast elementwise.

        num_prefill_tokens: new prompt tokens processed this step (all prefill chunks);
        prefill_attention_pairs: their causal query-key pairs (``causal_pairs``);
        prefill_kv_tokens: sum over prefill sequences of context_before + new (KV touched);
        num_decode_seqs: sequences decoding one token; decode_kv_tokens: sum of their contexts.
        An empty step (all zero) costs 0. Arrays are evaluated element by element by the same
        formula, so each element equals the scalar call on it.
        """
        args = (num_prefill_tokens, prefill_attention_pairs, prefill_kv_tokens, num_decode_seqs,
                decode_kv_tokens)
        if not _vec(*args):
            return self.formula.time(*(float(x) for x in args))
        arrs = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in args))
        shape = arrs[0].shape
        out = self.formula.times(*(a.ravel().tolist() for a in arrs))
        return np.asarray(out, dtype=np.float64).reshape(shape)

    def pipeline_interval_s(self, **kwargs):
        """Time between micro-batch completions with pp micro-batches in flight (a round
        over pp)."""
        return self.step_time_s(**kwargs) / self.num_stages

    def breakdown(self, *, num_prefill_tokens=0, prefill_attention_pairs=0.0,
                  prefill_kv_tokens=0, num_decode_seqs=0, decode_kv_tokens=0) -> StepBreakdown:
        """Time, FLOPs, bytes and bound of each term of one (scalar) step; the times are the
        formula's own terms and add up to ``step_time_s``."""
        p, pairs, kv_pre = float(num_prefill_tokens), float(prefill_attention_pairs), \
            float(prefill_kv_tokens)
        d, kv_dec = float(num_decode_seqs), float(decode_kv_tokens)
        vals: list[float] = []
        total = self.formula.terms(p, pairs, kv_pre, d, kv_dec, vals)
        work = _term_work(self.shape, self.deployment, p, pairs, kv_pre, d, kv_dec)
        ops: list[OpCost] = []
        for i, name in enumerate(TERM_NAMES):
            t, c, m = vals[3 * i: 3 * i + 3]
            if name == "communication":
                bound = "interconnect"
            elif name == "draft":
                bound = "memory"  # ASSUMPTION: drafting runs at decode batch: weight reads
            elif name == "overhead":
                bound = "overhead"
            elif t > 0 and max(c, m) < 0.5 * t:
                bound = "launch"  # fixed kernel times dominate the term
            else:
                bound = "compute" if c > m else "memory"
            flops, nbytes = work.get(name, (0.0, 0.0))
            ops.append(OpCost(name=name, time_s=t, flops=flops if t > 0 else 0.0,
                              bytes=nbytes if t > 0 else 0.0, bound=bound))
        by: dict[str, float] = {}
        for o in ops:
            by[o.bound] = by.get(o.bound, 0.0) + o.time_s
        bound = max(by, key=lambda k: by[k]) if total > 0 else "overhead"
        return StepBreakdown(ops=tuple(ops), time_s=total, bound=bound)

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


def _drafter(model: ModelArch, dep: Deployment, cal: Calibration, engine: str | None
             ) -> StepCostModel:
    """The step-time model of one draft step (its engine overheads are the target's own).

    MTP: the model's MTP modules, each one decoder layer like its last (DeepSeek-V3 report
    section 2.2) on the same layout; EAGLE-3: one dense decoder layer of the target's width
    with a 32k-token head (arXiv:2503.01840), on tp GPUs per rank; a draft model: itself, on
    tp GPUs per rank.
    """
    spec = dep.spec
    assert spec is not None
    if spec.method == "draft":
        arch = get_model(str(spec.draft_model))
        ddep = replace(dep, ep=1, dp=1, pp=1, spec=None)
        if arch.num_attention_heads % ddep.tp or (
                arch.mla is None and arch.num_kv_heads % ddep.tp and ddep.tp % arch.num_kv_heads):
            ddep = replace(ddep, tp=1)  # ASSUMPTION: a drafter that cannot split runs on one GPU
    elif spec.method == "mtp":
        last = model.layers[-1]
        arch = replace(model, name=f"{model.name}-mtp", layers=(last,) * model.num_mtp_layers,
                       tie_word_embeddings=True)
        ddep = replace(dep, pp=1, spec=None)
    else:
        h = model.hidden_size
        arch = replace(model, name=f"{model.name}-eagle", vocab_size=EAGLE_DRAFT_VOCAB,
                       layers=(LayerSpec(mixer="attention", ffn="dense"),),
                       intermediate_size=model.intermediate_size or 4 * h, moe=None,
                       tie_word_embeddings=True, sliding_window_tokens=None)
        ddep = replace(dep, ep=1, dp=1, pp=1, spec=None)
    dcal = replace(cal, step_overhead_s=0.0, per_seq_overhead_s=0.0)
    return StepCostModel(arch, ddep, dcal, engine=None)


def step_constants(s: ShardedShape, dep: Deployment, cal: Calibration, *,
                   chunk_tokens: float = 0.0, spec_k: int = 0,
                   tokens_per_step: float = 1.0) -> dict[str, float]:
    """The constants of ``StepFormula`` for one sharded model, deployment and flat calibration.

    ``chunk_tokens``: a data-parallel rank's share of the step's token budget (dp > 1 only);
    ``spec_k``/``tokens_per_step``: drafts per step and mean tokens gained per step.
    Units: seconds, bytes, FLOPs, tokens; ``inv_*`` are reciprocal rates (s per FLOP or byte).
    """
    acc = dep.accelerator
    tp, pp, ep, dp = dep.tp, dep.pp, dep.ep, dep.dp
    mm = dep.matmul_dtype
    mm_compute = get_dtype(mm).compute
    block = get_dtype(dep.weights_dtype).name == "fp8_block" and mm_compute == "fp8"
    fp4 = mm_compute == "fp4"
    eff = (cal.gemm_compute_frac_fp4 if mm_compute == "fp4" else
           cal.gemm_compute_frac_block if block else
           cal.gemm_compute_frac_lowp if mm_compute in _LOWP else cal.gemm_compute_frac)
    # Weights narrower than their 16-bit matmuls (AWQ/GPTQ INT4, FP4/FP8 on parts without
    # those tensor cores): dequantised inside the GEMM.
    weight_only = is_weight_only(dep)
    mem_frac = (cal.weight_only_memory_frac if weight_only else
                cal.gemm_memory_frac_fp4 if mm_compute == "fp4" else
                cal.gemm_memory_frac_block if block else cal.gemm_memory_frac)
    peak_mm = acc.matmul_flops_per_s(mm)
    # ASSUMPTION: attention (FlashAttention) and lm_head run on 16-bit tensor cores.
    peak16 = acc.matmul_flops_per_s("bf16")
    bw = acc.memory_bytes_per_s
    wb = s.weight_bytes_per_param
    hb = s.act_bytes
    c: dict[str, float] = {"k": cal.gemm_sharpness}
    # 1. dense GEMMs: 2 FLOPs per parameter per token; weights once per step.
    c["g_fixed"] = s.gemm_calls * cal.gemm_launch_s
    c["g_fpt"] = 2.0 * s.dense_params_per_gpu
    c["g_wb"] = s.dense_params_per_gpu * wb
    c["g_abpt"] = s.act_bytes_per_token_per_gpu
    c["inv_mm"] = 1.0 / (peak_mm * eff)
    c["inv_bw_g"] = 1.0 / (bw * mem_frac)
    # 2. routed experts (grouped GEMMs; AIConfigurator's MoE tables, benchmarks/aiconfigurator):
    # a rank holds E/ep experts, each sliced moe_tp ways; the busiest rank carries the
    # token-expert pairs of ep's share times the routing imbalance (Lepikhin et al., GShard,
    # arXiv:2006.16668, on expert load; fitted on AIConfigurator's power-law routed tables).
    moe = s.num_moe_layers > 0
    c["moe"] = 1.0 if moe else 0.0
    c["moe_fixed"] = s.num_moe_layers * cal.moe_launch_s if moe else 0.0
    c["moe_sk"] = cal.moe_sharpness
    if moe:
        e, k, mt, n_moe = s.num_experts, s.num_experts_per_tok, dep.moe_tp, s.num_moe_layers
        c["moe_kpe"] = k / ep  # mean token-expert pairs per rank per token
        c["moe_imb"] = imbalance(ep, cal.moe_imbalance_a, cal.moe_imbalance_b)
        c["moe_fpp"] = 2.0 * s.routed_expert_params_one / mt * n_moe
        # ASSUMPTION: per token-expert pair the kernel reads the token's hidden state, writes
        # the expert's output and round-trips its gated intermediate (2·H + 2·I/moe_tp).
        c["moe_bpp"] = (2.0 * s.hidden_size + 2.0 * s.expert_intermediate_size / mt) * hb \
            * n_moe
        c["moe_el"], c["moe_q"] = e / ep, 1.0 - k / e
        c["moe_bpe"] = s.routed_expert_params_one * wb / mt * n_moe
        m_eff = (cal.moe_compute_frac_fp4 if fp4 else cal.moe_weight_only_compute_frac
                 if weight_only else cal.moe_compute_frac_block if block else
                 cal.moe_compute_frac_lowp if mm_compute in _LOWP else cal.moe_compute_frac)
        m_mem = (cal.moe_memory_frac_fp4 if fp4 else cal.moe_weight_only_memory_frac
                 if weight_only else cal.moe_memory_frac_block if block else
                 cal.moe_memory_frac_lowp if mm_compute in _LOWP else cal.moe_memory_frac)
        c["inv_moe_c"] = 1.0 / (peak_mm * m_eff)
        c["inv_moe_m"] = 1.0 / (bw * m_mem)
    else:
        for key in ("moe_kpe", "moe_fpp", "moe_bpp", "moe_el", "moe_q", "moe_bpe", "inv_moe_c",
                    "inv_moe_m"):
            c[key] = 0.0
        c["moe_imb"] = 1.0
    # 6. lm_head in 16-bit (shape.ACT_DTYPE), vocabulary-parallel over tp: one GEMM.
    c["h_fixed"] = cal.gemm_launch_s
    c["h_fpt"] = 2.0 * s.lm_head_params_per_gpu
    c["h_wb"] = s.lm_head_params_per_gpu * get_dtype("bf16").bytes
    c["inv_h"] = 1.0 / (peak16 * cal.gemm_compute_frac)
    # 3-4. attention: FLOPs per pair over all layers per GPU; KV bytes per token per GPU.
    n_full, n_sl = s.num_full_attention_layers, s.num_sliding_attention_layers
    c["w"] = float(s.sliding_window_tokens) if s.sliding_window_tokens else 0.0
    c["apf"] = s.attention_flops_per_pair_per_layer * n_full / tp
    c["aps"] = s.attention_flops_per_pair_per_layer * n_sl / tp
    c["adf"] = s.decode_attention_flops_per_pair_per_layer * n_full / tp
    c["ads"] = s.decode_attention_flops_per_pair_per_layer * n_sl / tp
    c["kv_full"] = s.kv_bytes_per_token_full_per_gpu
    c["kv_sl"] = s.kv_bytes_per_token_sliding_per_gpu
    c["ssm"] = s.ssm_state_bytes_per_seq_per_gpu
    c["inv_att_c"] = 1.0 / (peak16 * cal.prefill_attention_frac)
    # A prompt of s tokens runs at s/(s + s_half) of the rate: its s²/2 pairs cost as many as
    # s²/2 + s_half·s/2 pairs at full rate (summed over prompts: s_half·P/2).
    c["half_pairs"] = 0.5 * cal.prefill_attention_half_tokens
    n_attn = s.num_attention_layers
    c["pre_fixed"] = n_attn * cal.prefill_attention_launch_s
    if s.mla:
        # MLA decode (DeepSeek-V2 section 2.1.4, absorbed): the latent-attention kernel with
        # its batched matmuls, from AIConfigurator's MLA generation-module tables.
        c["inv_bw_att"] = 1.0 / (bw * cal.mla_attention_memory_frac)
        c["dec_fixed"] = n_attn * cal.mla_attention_launch_s
        c["dec_per_seq"] = n_attn * cal.mla_attention_per_seq_s
    else:
        c["inv_bw_att"] = 1.0 / (bw * cal.attention_memory_frac)
        c["dec_fixed"] = n_attn * cal.attention_launch_s
        c["dec_per_seq"] = n_attn * cal.attention_per_seq_s
    # 5. elementwise kernels.
    c["e_fixed"] = s.elementwise_calls * cal.elementwise_launch_s
    c["e_bpt"] = s.elementwise_bytes_per_token_per_gpu
    c["inv_bw_e"] = 1.0 / (bw * ELEMENTWISE_MEMORY_FRAC)
    # 7. collectives. An all-reduce moves 2(p−1)/p of the message through each GPU's link (the
    # NCCL "bus bandwidth" convention; Patarasuk & Yuan 2009). Engines run small messages on
    # a low-latency custom kernel (one-/two-shot: vLLM, SGLang, TensorRT-LLM) and large ones on
    # NCCL's ring, whichever is faster: the step takes the cheaper of the two lines.
    msg_per_tok = s.hidden_size * hb
    small_fixed = small_pt = ring_fixed = ring_pt = 0.0
    if tp > 1:
        n_ar = 2.0 * s.num_layers
        if dp > 1 and moe:
            n_ar -= s.num_moe_layers  # the MoE block's outputs return by all-to-all instead
        link = dep.tp_link_bytes_per_s
        bytes_pt = n_ar * 2.0 * (tp - 1) / tp * msg_per_tok
        if dep.tp_uses_scaleup:
            small_fixed, small_pt = n_ar * cal.comm_latency_s, bytes_pt / (link * cal.comm_bus_frac)
            ring_fixed = n_ar * cal.comm_ring_latency_s
            ring_pt = bytes_pt / (link * cal.comm_ring_bus_frac)
        else:
            # Custom all-reduce kernels need a scale-up link; over PCIe or across nodes the
            # engines fall back to NCCL alone.
            small_fixed = ring_fixed = n_ar * cal.internode_latency_s
            small_pt = ring_pt = bytes_pt / (link * cal.comm_bus_frac)
    other_fixed = other_pt = 0.0
    if dp > 1 and moe:
        # Data-parallel attention: each rank dispatches its tokens' top-k copies to the ranks
        # holding those experts and combines the results back (DeepEP, DeepSeek-V3 report
        # section 3.2.2). ASSUMPTION: dispatch in FP8 when the experts run in 8 bits or fewer
        # (DeepEP's FP8 dispatch), in bf16 otherwise; combine in bf16.
        k = s.num_experts_per_tok
        disp_b = 1.0 if (mm_compute in _LOWP or fp4) else hb
        per_tok = s.num_moe_layers * k * s.hidden_size * (disp_b + hb) * (ep - 1) / ep
        if dep.moe_group_crosses_scaleup_domain or not acc.scaleup_bytes_per_s:
            link = (acc.scaleout_bytes_per_s or 64e9) * cal.a2a_internode_bus_frac
            lat = cal.internode_latency_s
        else:
            link = acc.scaleup_bytes_per_s * cal.a2a_bus_frac
            lat = cal.a2a_latency_s
        other_pt += per_tok / link
        other_fixed += s.num_moe_layers * 2.0 * lat
    if pp > 1:
        pl = dep.pp_link_bytes_per_s * cal.comm_bus_frac
        other_pt += (pp - 1) * msg_per_tok / pl
        other_fixed += (pp - 1) * cal.p2p_latency_s
    c["comm_fixed"], c["comm_pt"] = small_fixed + other_fixed, small_pt + other_pt
    c["ring_fixed"], c["ring_pt"] = ring_fixed + other_fixed, ring_pt + other_pt
    # 8. the engine.
    c["over"] = cal.step_overhead_s
    c["per_seq"] = cal.per_seq_overhead_s
    # Data-parallel attention and speculative decoding (step_formula module docstring).
    c["dp"] = float(dp)
    c["pp"] = float(pp)
    c["chunk"] = float(chunk_tokens) if dp > 1 else 0.0
    c["spec_k"] = float(spec_k)
    c["tokens_per_step"] = float(tokens_per_step)
    c["draft_per_rank"] = 0.0
    c["draft_fixed"] = 0.0  # per draft step, set with a drafter (StepCostModel)
    return c


def _term_work(s: ShardedShape, dep: Deployment, p: float, pairs: float, kv_pre: float,
               d: float, kv_dec: float) -> dict[str, tuple[float, float]]:
    """(FLOPs, bytes) per GPU of each term of one step, for the breakdown's description."""
    t = p + d
    m = d + min(p, 1.0)
    wb = s.weight_bytes_per_param
    w = float(s.sliding_window_tokens or 0)
    tp = dep.tp
    out = {"gemm": (2.0 * s.dense_params_per_gpu * t,
                    s.dense_params_per_gpu * wb + s.act_bytes_per_token_per_gpu * t),
           "lm_head": (2.0 * s.lm_head_params_per_gpu * m, s.lm_head_params_per_gpu * 2.0),
           "elementwise": (0.0, s.elementwise_bytes_per_token_per_gpu * t)}
    if s.num_moe_layers:
        e, k, ep, mt = s.num_experts, s.num_experts_per_tok, dep.ep, dep.moe_tp
        touched = (e / ep) * (1.0 - (1.0 - k / e) ** t)
        per = s.routed_expert_params_one * s.num_moe_layers / mt
        out["moe_experts"] = (2.0 * k / ep * per * t, touched * per * wb)
    n_full, n_sl = s.num_full_attention_layers, s.num_sliding_attention_layers
    sl_pairs = min(pairs, p * w) if w else 0.0
    sl_kv = min(kv_pre, p * w) if w else 0.0
    f_pair = s.attention_flops_per_pair_per_layer / tp
    out["prefill_attention"] = (f_pair * (n_full * pairs + n_sl * sl_pairs),
                                s.kv_bytes_per_token_full_per_gpu * kv_pre
                                + s.kv_bytes_per_token_sliding_per_gpu * sl_kv)
    sl_dec = min(kv_dec, d * w) if w else 0.0
    f_dec = s.decode_attention_flops_per_pair_per_layer / tp
    out["decode_attention"] = (f_dec * (n_full * kv_dec + n_sl * sl_dec),
                               s.kv_bytes_per_token_full_per_gpu * kv_dec
                               + s.kv_bytes_per_token_sliding_per_gpu * sl_dec
                               + s.ssm_state_bytes_per_seq_per_gpu * d)
    if tp > 1:
        out["communication"] = (0.0, 2.0 * s.num_layers * 2.0 * (tp - 1) / tp * s.hidden_size
                                * s.act_bytes * t)
    return out
