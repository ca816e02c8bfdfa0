"""Per-GPU shape of a deployed model: parameter and KV bytes after tp/pp/ep sharding.

The one place the perf layer reads ``tokenworks.model`` counts; ``memory`` and ``step`` both
build on ``ShardedShape``. Units: parameters (elements), bytes, FLOPs per token or per pair.
Every quantity is *per GPU summed over all pipeline stages* unless named ``_stage``: with
balanced stages a GPU in one stage holds 1/pp of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tokenworks.dtypes import get_dtype
from tokenworks.model.arch import ModelArch
from tokenworks.model.catalog import get_model
from tokenworks.model.flops import attention_flops_per_pair
from tokenworks.model.kv import (
    kv_bytes_per_token,
    kv_bytes_per_token_by_layer_kind,
    kv_elements_per_token_per_layer,
    ssm_state_bytes,
)
from tokenworks.model.params import param_counts
from tokenworks.perf.deployment import Deployment

# ASSUMPTION: activations, collectives and the lm_head/embedding run in bf16 even when the
# linear weights are quantised (ModelOpt/llm-compressor FP8 and FP4 checkpoints leave lm_head
# unquantised by default).
ACT_DTYPE = "bf16"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardedShape:
    """Parameter, byte and FLOP constants of one deployment, per GPU (all stages summed)."""

    # Linear weights read every step (attention projections, dense FFN, shared experts,
    # router, Mamba projections), per GPU.
    dense_params_per_gpu: float
    routed_expert_params_one: float  # one routed expert of one layer, unsharded
    num_moe_layers: int
    num_experts: int
    num_experts_per_tok: int
    expert_intermediate_size: int  # one routed expert's FFN width
    mla: bool  # multi-head latent attention (DeepSeek-V2/V3, Kimi-K2)
    lm_head_params_per_gpu: float
    embedding_params_per_gpu: float
    weight_bytes_per_param: float
    act_bytes: float  # activation element width
    hidden_size: int
    vocab_size: int
    num_layers: int
    num_full_attention_layers: int
    num_sliding_attention_layers: int
    sliding_window_tokens: int | None
    attention_flops_per_pair_per_layer: float  # prefill form, whole model width (before /tp)
    decode_attention_flops_per_pair_per_layer: float  # decode form (absorbed MLA)
    kv_bytes_per_token_full_per_gpu: float  # all full-attention layers, per GPU
    kv_bytes_per_token_sliding_per_gpu: float  # all sliding-window layers, per GPU
    ssm_state_bytes_per_seq_per_gpu: float
    act_bytes_per_token_per_gpu: float  # activation traffic of the linear layers, all layers
    weight_bytes_per_gpu: float  # all weights resident on the busiest GPU (drafter included)
    draft_weight_bytes_per_gpu: float  # of which a speculative drafter's (MTP, EAGLE, draft)
    draft_kv_bytes_per_token_per_gpu: float  # the drafter's own KV cache per context token
    num_attention_layers: int  # full + sliding attention layers (all stages)
    gemm_calls: int  # dense GEMM kernels per step on one GPU (all stages)
    elementwise_calls: int  # elementwise kernels per step on one GPU (all stages)
    elementwise_bytes_per_token_per_gpu: float  # their memory traffic per token


def _kv_shard(model: ModelArch, tp: int) -> int:
    """How many ways the KV cache is split by tensor parallelism."""
    if model.mla is not None:
        # ASSUMPTION: the MLA latent (c_KV + rope key) has no head dimension, so TP ranks each
        # hold the full latent (vLLM without data-parallel attention replicates it).
        return 1
    # Replicated KV heads when tp > num_kv_heads: each rank still holds one head.
    return min(tp, max(model.num_kv_heads, 1))


# NOTE: memoised for performance (the calibration fit builds thousands of StepCostModels);
# both arguments are frozen, hashable specs.
@lru_cache(maxsize=1024)
def sharded_shape(model: ModelArch, dep: Deployment) -> ShardedShape:
    """Compute ``ShardedShape`` for ``model`` on ``dep``."""
    tp, pp = dep.tp, dep.pp
    wb = get_dtype(dep.weights_dtype).bytes
    ab = get_dtype(ACT_DTYPE).bytes
    pc = param_counts(model)
    # Router and norms stay bf16 in quantised checkpoints (tokenworks.model.weight_bytes).
    dense = pc.attention + pc.dense_ffn + pc.shared_experts + pc.mamba
    tables_params = pc.router + pc.norms
    moe = model.moe if pc.num_expert_layers else None
    n_moe = pc.num_expert_layers
    expert_one = pc.routed_experts / (n_moe * pc.num_experts) if moe is not None else 0.0
    lm_head = pc.lm_head if pc.lm_head else pc.embedding  # tied: the embedding is the head
    emb = pc.embedding
    # Routed experts are split evenly over the tp × dp GPUs of a stage, whether by slicing
    # each expert (ep = 1), placing whole experts (ep = tp × dp), or both; attention, dense
    # layers, shared experts and the vocabulary tables are held by each of the dp ranks,
    # split over tp.
    hb = get_dtype(ACT_DTYPE).bytes
    per_gpu_layers = (dense * wb + tables_params * hb) / tp \
        + pc.routed_experts * wb / (tp * dep.dp)
    # Embedding on the first stage, lm_head on the last (Megatron-LM, Shoeybi et al. 2019);
    # vocabulary-parallel over tp. The busiest GPU holds its layers plus the larger table.
    tables = (emb + pc.lm_head) if pp == 1 else max(emb, lm_head)
    draft = _draft_weight_bytes(model, dep, pc.routed_experts / n_moe if n_moe else 0.0)
    weight_bytes_per_gpu = per_gpu_layers / pp + tables * hb / tp + draft
    kv = kv_bytes_per_token_by_layer_kind(model, dep.kv_dtype)
    shard = _kv_shard(model, tp)
    h, inter = model.hidden_size, model.intermediate_size
    qkv = (model.num_attention_heads + 2 * model.num_kv_heads) * model.head_dim
    n_attn = model.num_attention_layers
    n_dense_ffn = sum(1 for layer in model.layers if layer.ffn == "dense")
    moe_inter = (moe.num_experts_per_tok * moe.expert_intermediate_size
                 + moe.num_shared_experts * moe.shared_expert_intermediate_size) if moe else 0
    # ASSUMPTION: activation traffic of the linear layers per token per layer: read/write the
    # residual stream ~4·H, write q/k/v, and gate+up write plus down read ~3·I (fused kernels
    # keep the rest on chip); split over tp like the weights.
    act_elems = (4.0 * h * model.num_layers + qkv * n_attn + 3.0 * inter * n_dense_ffn
                 + 3.0 * moe_inter * n_moe)
    gemm_calls, elem_elems = _kernel_counts(model, tp)
    window = model.sliding_window_tokens
    n_sliding = sum(1 for layer in model.layers if layer.mixer == "sliding_attention")
    return ShardedShape(
        dense_params_per_gpu=dense / tp,
        routed_expert_params_one=expert_one,
        num_moe_layers=n_moe,
        num_experts=moe.num_experts if moe else 0,
        num_experts_per_tok=moe.num_experts_per_tok if moe else 0,
        expert_intermediate_size=moe.expert_intermediate_size if moe else 0,
        mla=model.mla is not None,
        lm_head_params_per_gpu=lm_head / tp,
        embedding_params_per_gpu=emb / tp,
        weight_bytes_per_param=wb,
        act_bytes=ab,
        hidden_size=h,
        vocab_size=model.vocab_size,
        num_layers=model.num_layers,
        num_full_attention_layers=n_attn - n_sliding,
        num_sliding_attention_layers=n_sliding,
        sliding_window_tokens=window,
        attention_flops_per_pair_per_layer=attention_flops_per_pair(model, absorbed=False),
        decode_attention_flops_per_pair_per_layer=attention_flops_per_pair(model, absorbed=True),
        kv_bytes_per_token_full_per_gpu=float(kv.get("attention", 0.0)) / shard,
        kv_bytes_per_token_sliding_per_gpu=float(kv.get("sliding_attention", 0.0)) / shard,
        # ASSUMPTION: Mamba state is split over tp like the heads it belongs to.
        ssm_state_bytes_per_seq_per_gpu=float(ssm_state_bytes(model, ACT_DTYPE)) / tp,
        act_bytes_per_token_per_gpu=act_elems * ab / tp,
        weight_bytes_per_gpu=weight_bytes_per_gpu,
        draft_weight_bytes_per_gpu=draft,
        draft_kv_bytes_per_token_per_gpu=_draft_kv_bytes(model, dep) / shard,
        num_attention_layers=n_attn,
        gemm_calls=gemm_calls,
        elementwise_calls=ELEMENTWISE_CALLS_PER_LAYER * model.num_layers,
        elementwise_bytes_per_token_per_gpu=elem_elems * ab,
    )


def _draft_weight_bytes(model: ModelArch, dep: Deployment, routed_per_layer: float) -> float:
    """Weights a speculative drafter adds per GPU (on the last stage; counted once).

    MTP: ``num_mtp_layers`` modules, each one decoder layer like the model's last plus the
    projection of [embedding; hidden] (2H × H) (DeepSeek-V3 report section 2.2; the head and
    embedding are shared). EAGLE-3: one dense decoder layer of the target's width, the fusion
    of three hidden states (3H × H) and a draft vocabulary head (arXiv:2503.01840). A draft
    model: its own weights, split over tp like the target's. N-gram drafting: none.
    """
    spec = dep.spec
    if spec is None or spec.method == "ngram":
        return 0.0
    wb = get_dtype(dep.weights_dtype).bytes
    hb = get_dtype(ACT_DTYPE).bytes
    h = model.hidden_size
    if spec.method == "draft":
        d = param_counts(get_model(str(spec.draft_model)))
        layers = d.attention + d.dense_ffn + d.shared_experts + d.mamba + d.routed_experts
        return (layers * wb + (d.embedding + d.lm_head + d.router + d.norms) * hb) / dep.tp
    if spec.method == "mtp":
        pc = param_counts(model)
        per_layer = (pc.attention + pc.shared_experts) / max(model.num_attention_layers, 1)
        per_layer_dense = per_layer + routed_per_layer / dep.dp
        proj = 2.0 * h * h
        return model.num_mtp_layers * (per_layer_dense + proj) * wb / dep.tp
    # EAGLE-3: attention as the target's layer, a SwiGLU FFN of the target's dense width
    # (ASSUMPTION: 4·H for MoE targets with no dense width), fusion and a 32k-token head.
    inter = model.intermediate_size or 4 * h
    qkv = (model.num_attention_heads + 2 * model.num_kv_heads) * model.head_dim
    layer = 2.0 * h * qkv + h * model.num_attention_heads * model.head_dim + 3.0 * h * inter
    return (layer * wb + (3.0 * h * h + EAGLE_DRAFT_VOCAB * h) * hb) / dep.tp


def _draft_kv_bytes(model: ModelArch, dep: Deployment) -> float:
    """KV bytes per context token of the drafter's attention layers (before the tp split):
    MTP modules and the EAGLE layer are one attention layer each like the target's; a draft
    model has its own cache."""
    spec = dep.spec
    if spec is None or spec.method == "ngram":
        return 0.0
    if spec.method == "draft":
        return kv_bytes_per_token(get_model(str(spec.draft_model)), dep.kv_dtype)
    per_layer = kv_elements_per_token_per_layer(model) * get_dtype(dep.kv_dtype).bytes
    return per_layer * (model.num_mtp_layers if spec.method == "mtp" else 1)


# EAGLE-3 heads predict over a reduced vocabulary (draft_vocab_size = 32000 in the published
# EAGLE-3 checkpoints, e.g. yuhuili/EAGLE3-LLaMA3.1-Instruct-8B config.json).
EAGLE_DRAFT_VOCAB = 32000


# ASSUMPTION: three elementwise kernels per layer that are not fused into a GEMM or the
# attention kernel (the two residual-add + RMSNorm kernels and the gated activation; rope is
# fused into attention), as AIConfigurator's llama model counts them (aiconfigurator 0.12.0
# sdk/models/llama.py; benchmarks/aiconfigurator/coefficients.toml [framework.all_engines]).
ELEMENTWISE_CALLS_PER_LAYER = 3


def _kernel_counts(model: ModelArch, tp: int) -> tuple[int, float]:
    """(GEMM kernels per step, elementwise elements moved per token) over all layers.

    ASSUMPTION: fused projections as vLLM/TensorRT-LLM run them: attention = qkv + o (MLA:
    q_a/kv_a fused, q_b, the absorbed k/v up-projections and o: 4, or 3 without q_lora);
    Gated DeltaNet = in_proj_qkvz + in_proj_ba + out_proj; Mamba = in_proj + out_proj
    (Mamba-1 adds x_proj and dt_proj); dense FFN = gate_up + down; MoE = router (+ gate_up +
    down of the shared experts). Elementwise traffic per token and layer: two fused
    residual-add + RMSNorm kernels read and write the hidden state and residual (8·H), the
    gated activation reads gate and up and writes their product (3·I/tp) for dense FFNs and
    shared experts (routed experts fuse it in the grouped GEMM).
    """
    gemms = 0
    elems = 0.0
    moe = model.moe
    h = model.hidden_size
    for layer in model.layers:
        if layer.mixer in ("attention", "sliding_attention"):
            if model.mla is not None:
                gemms += 4 if model.mla.q_lora_rank else 3
            else:
                gemms += 2
        elif layer.mixer == "linear_attention":
            gemms += 3
        elif layer.mixer == "mamba":
            gemms += 2 if model.mamba is None or model.mamba.version == 2 else 4
        if layer.mixer != "none" or layer.ffn != "none":
            elems += 8.0 * h
        if layer.ffn == "dense":
            gemms += 2
            inter = layer.intermediate_size or model.intermediate_size
            elems += 3.0 * inter / tp
        elif layer.ffn == "moe" and moe is not None:
            gemms += 1
            if moe.num_shared_experts:
                gemms += 2
                elems += 3.0 * moe.num_shared_experts * moe.shared_expert_intermediate_size / tp
    return gemms, elems
