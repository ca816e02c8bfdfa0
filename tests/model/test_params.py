"""Parameter counts against published figures, and weight bytes."""

from __future__ import annotations

import pytest

from tokenworks.model import (
    get_model,
    model_entries,
    native_weight_bytes,
    param_counts,
    weight_bytes,
)
from tokenworks.units import BILLION, GIB

ENTRIES = model_entries()


def _tolerance(published_b: float, resolution_b: float) -> float:
    """1%, or one unit of the printed resolution when the figure is coarser ("37B" → 1/37)."""
    return max(0.01, resolution_b / published_b)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_total_params_match_published(entry):
    """Computed total within 1% (or the figure's resolution) of the model card / paper."""
    arch = get_model(entry.name)
    total = param_counts(arch).total
    if entry.published_total_includes_vision:
        total += arch.ignored_params
    published = entry.published_params_total_b * BILLION
    tol = _tolerance(entry.published_params_total_b, entry.published_params_resolution_b)
    assert total == pytest.approx(published, rel=tol), (total / BILLION, entry.published_params_total_b)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_active_params_match_published(entry):
    """Active (top-k experts) within 1% (or the figure's resolution) of the published figure."""
    pc = param_counts(get_model(entry.name))
    active = pc.active if entry.published_active_includes_embedding else pc.active_non_embedding
    tol = _tolerance(entry.published_params_active_b, entry.published_params_resolution_b)
    assert active == pytest.approx(entry.published_params_active_b * BILLION, rel=tol)


def test_llama2_7b_exact_count():
    """Llama-2-7B: 32 × (4·4096² + 3·4096·11008 + 2·4096) + 2·32000·4096 + 4096 = 6,738,415,616."""
    assert param_counts(get_model("llama-2-7b")).total == 6_738_415_616


def test_components_sum_to_total():
    for arch in (get_model(n) for n in ("deepseek-v3", "jamba-v0.1", "gpt-oss-120b", "llama-4-maverick")):
        pc = param_counts(arch)
        parts = (pc.embedding + pc.lm_head + pc.attention + pc.dense_ffn + pc.routed_experts
                 + pc.shared_experts + pc.router + pc.mamba + pc.norms)
        assert parts == pytest.approx(pc.total, rel=1e-12)
        assert pc.active <= pc.total


def test_deepseek_v3_expert_shapes():
    """DeepSeek-V3: 58 MoE layers × 256 experts × 3·7168·2048 (= 44,040,192 per expert)."""
    pc = param_counts(get_model("deepseek-v3"))
    assert pc.expert_layers == 58
    assert pc.per_expert == 3 * 7168 * 2048
    assert pc.routed_experts == 58 * 256 * 3 * 7168 * 2048
    assert pc.active_routed_experts == 58 * 8 * 3 * 7168 * 2048


def test_dense_model_has_no_experts():
    pc = param_counts(get_model("llama-3.1-8b"))
    assert pc.per_expert == 0 and pc.expert_layers == 0 and pc.total == pc.active


def test_weight_bytes_bf16_and_fp8():
    """Llama-3.1-70B at bf16 = 2 B × total; at fp8 the embeddings and lm_head stay bf16."""
    arch = get_model("llama-3.1-70b")
    pc = param_counts(arch)
    assert weight_bytes(arch, "bf16") == pytest.approx(2 * pc.total)
    tables = pc.embedding + pc.lm_head + pc.norms
    assert weight_bytes(arch, "fp8") == pytest.approx((pc.total - tables) * 1 + tables * 2)
    assert weight_bytes(arch, "fp8", embedding_dtype="fp8") == pytest.approx(pc.total)


def test_gpt_oss_native_checkpoint_size():
    """gpt-oss-120b ships MXFP4 experts + bf16 rest: model card Table 1 says 60.8 GiB."""
    assert native_weight_bytes(get_model("gpt-oss-120b")) / GIB == pytest.approx(60.8, rel=0.01)


def test_gpt3_tied_embeddings_and_positions():
    """GPT-3: tied lm_head (0 extra), learned positions 2048 × 12288 in the embedding."""
    pc = param_counts(get_model("gpt-3-175b"))
    assert pc.lm_head == 0
    assert pc.embedding == 50257 * 12288 + 2048 * 12288


def test_qwen3_coder_480b_exact_count():
    """Qwen3-Coder-480B-A35B, per layer (d = 6144): attention 6144·12288 (q) + 2·6144·1024
    (k, v) + 12288·6144 (o) + 2·128 (q/k norm) = 163,578,112; 160 experts × 3·6144·2560
    = 7,549,747,200; router 6144·160 = 983,040. × 62 layers = 478,287,117,824; + untied
    embeddings 2·151,936·6144 = 1,866,989,568 + norms 125·6144 = 768,000
    = 480,154,875,392 (published 480B). Active swaps 160 experts for 8: 35,474,765,312."""
    pc = param_counts(get_model("qwen3-coder-480b-a35b"))
    assert pc.total == 480_154_875_392
    assert pc.active == 480_154_875_392 - 62 * 152 * 3 * 6144 * 2560 == 35_474_765_312


def test_qwen2_5_72b_exact_count():
    """Qwen2.5-72B (d = 8192), per layer: q/o 2·8192² + k/v 2·8192·1024 + q/k/v biases
    8192 + 2·1024 = 151,005,184; FFN 3·8192·29568 = 726,663,168; norms 2·8192. × 80 layers
    = 70,214,778,880; + untied embeddings 2·152,064·8192 = 2,491,416,576 + final norm 8192
    = 72,706,203,648 (published 72.7B)."""
    pc = param_counts(get_model("qwen2.5-72b"))
    assert pc.attention == 80 * 151_005_184
    assert pc.total == 72_706_203_648


def test_kimi_k2_exact_count():
    """Kimi K2 (d = 7168): MLA per layer q 7168·1536 + 1536·64·192, kv 7168·576 + 512·64·256,
    o 64·128·7168, norms 1536 + 512 = 101,124,096, × 61 = 6,168,569,856; 60 MoE layers ×
    (384 + 1 shared) × 3·7168·2048 = 1,017,328,435,200; routers 60 × (7168·384 + 384)
    = 165,173,760; 1 dense FFN 3·7168·18432 = 396,361,728; embeddings 2·163,840·7168
    = 2,348,810,240; norms 123·7168 = 881,664. Total 1,026,408,232,448: the card's '1T'."""
    pc = param_counts(get_model("kimi-k2-instruct"))
    assert pc.attention == 61 * 101_124_096
    assert pc.total == 1_026_408_232_448


def test_nemotron_ultra_ffn_widths_sum():
    """DeciLM params use each block's FFN width: dense FFN params = 3·16384·sum(widths)."""
    arch = get_model("llama-3.1-nemotron-ultra-253b")
    widths = [layer.intermediate_size for layer in arch.layers if layer.ffn == "dense"]
    assert len(widths) == 81 and arch.intermediate_size == round(sum(widths) / 81)
    assert param_counts(arch).dense_ffn == 3 * 16384 * sum(widths)


def test_components_sum_to_total_new_families():
    for arch in (get_model(n) for n in ("qwen3.5-397b-a17b", "glm-4.5-air",
                                        "llama-3.1-nemotron-ultra-253b", "kimi-k2-instruct")):
        pc = param_counts(arch)
        parts = (pc.embedding + pc.lm_head + pc.attention + pc.dense_ffn + pc.routed_experts
                 + pc.shared_experts + pc.router + pc.mamba + pc.norms)
        assert parts == pytest.approx(pc.total, rel=1e-12)
