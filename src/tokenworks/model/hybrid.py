"""Config parsers of the hybrid recurrent families: layers whose mixer keeps a fixed-size state.

Jamba (Mamba-1 + attention), Nemotron-H (Mamba-2 + attention) and Qwen3-Next / Qwen3.5 (Gated
DeltaNet linear attention + gated full attention). Their recurrent layers hold no KV cache; the
state is sized by ``kv.ssm_state_bytes`` and their projections counted in
``ParamCounts.mamba``. Registered in ``tokenworks.model.config.SUPPORTED``. Counts only.
"""

from __future__ import annotations

from tokenworks.errors import ConfigError
from tokenworks.model.arch import LayerSpec, LinearAttentionSpec, MambaSpec, ModelArch, MoeSpec
from tokenworks.model.config_keys import Cfg, common, layer_count, text_cfg
from tokenworks.model.vision import qwen3_vl_vision_params


def jamba(c: Cfg, *, name: str, architecture: str) -> ModelArch:
    """Jamba: Mamba-1 layers with one attention layer per period; MoE every other layer."""
    n = layer_count(c)
    a_per, a_off = int(c.get("attn_layer_period", 8)), int(c.get("attn_layer_offset", 4))
    e_per, e_off = int(c.get("expert_layer_period", 2)), int(c.get("expert_layer_offset", 1))
    num_experts = int(c.req("num_experts"))
    # transformers JambaConfig.layers_block_type / layers_num_experts.
    layers = [LayerSpec(mixer="attention" if i % a_per == a_off else "mamba",
                        ffn="moe" if num_experts > 1 and i % e_per == e_off else "dense")
              for i in range(n)]
    hidden = int(c.req("hidden_size"))
    mamba = MambaSpec(version=1, d_state=int(c.get("mamba_d_state", 16)),
                      d_conv=int(c.get("mamba_d_conv", 4)), expand=int(c.get("mamba_expand", 2)),
                      dt_rank=int(c.get("mamba_dt_rank", -(-hidden // 16))))
    moe = MoeSpec(num_experts=num_experts, num_experts_per_tok=int(c.req("num_experts_per_tok")),
                  expert_intermediate_size=int(c.req("intermediate_size")))
    return common(c, name=name, architecture=architecture, layers=layers, mamba=mamba, moe=moe)


def nemotron_h(c: Cfg, *, name: str, architecture: str) -> ModelArch:
    """Nemotron-H: one block per pattern character: M Mamba-2, * attention, - MLP, E MoE."""
    pattern = str(c.req("hybrid_override_pattern"))
    kinds = {"M": LayerSpec(mixer="mamba", ffn="none"), "*": LayerSpec(mixer="attention", ffn="none"),
             "-": LayerSpec(mixer="none", ffn="dense"), "E": LayerSpec(mixer="none", ffn="moe")}
    bad = sorted(set(pattern) - set(kinds))
    if bad:
        raise ConfigError(f"hybrid_override_pattern has unknown block kinds {bad} in {c.source}; "
                          f"supported: M (Mamba-2), * (attention), - (MLP), E (MoE).")
    hidden = int(c.req("hidden_size"))
    nh, hd = int(c.req("mamba_num_heads")), int(c.req("mamba_head_dim"))
    mamba = MambaSpec(version=2, d_state=int(c.req("ssm_state_size")),
                      d_conv=int(c.get("conv_kernel", 4)), expand=max(1, nh * hd // hidden),
                      num_heads=nh, head_dim=hd, n_groups=int(c.get("n_groups", 1)))
    moe = None
    if "E" in pattern:
        shared = int(c.get("moe_shared_expert_intermediate_size", 0))
        moe = MoeSpec(num_experts=int(c.req("n_routed_experts")),
                      num_experts_per_tok=int(c.req("num_experts_per_tok")),
                      expert_intermediate_size=int(c.req("moe_intermediate_size")),
                      num_shared_experts=1 if shared else 0, shared_expert_intermediate_size=shared,
                      expert_gated=False, router_bias=True)
    # Nemotron-H MLP is squared-ReLU, up + down (arXiv:2504.03624 section 2.1): not gated.
    return common(c, name=name, architecture=architecture, layers=[kinds[k] for k in pattern],
                  mamba=mamba, moe=moe, ffn_gated=False, norms_per_layer=1,
                  attention_bias=bool(c.get("attention_bias", False)),
                  attention_out_bias=bool(c.get("attention_bias", False)),
                  ffn_bias=bool(c.get("mlp_bias", False)))


def qwen3_next(c: Cfg, *, name: str, architecture: str) -> ModelArch:
    """Qwen3-Next / Qwen3.5: Gated DeltaNet layers with gated full attention every
    ``full_attention_interval``-th layer (or as ``layer_types`` lists them), then MoE with a
    gated shared expert (dense MLP when ``num_experts`` is 0). Qwen3.5 nests the text model in
    ``text_config`` beside a Qwen3-VL-style vision tower, counted apart (``ignored_params``)."""
    t = text_cfg(c)
    n = layer_count(t)
    types = t.get("layer_types")
    if types is None:
        # transformers Qwen3NextConfig: full attention at (i + 1) % full_attention_interval == 0.
        every = int(t.get("full_attention_interval", 4))
        types = ["full_attention" if (i + 1) % every == 0 else "linear_attention" for i in range(n)]
    if len(types) != n:
        raise ConfigError(f"layer_types has {len(types)} entries but num_hidden_layers = {n} in "
                          f"{c.source}; they must match.")
    bad = sorted(set(types) - {"linear_attention", "full_attention"})
    if bad:
        raise ConfigError(f"layer_types has unknown kinds {bad} in {c.source}; Qwen3-Next / "
                          f"Qwen3.5 layers are 'linear_attention' or 'full_attention'.")
    num_experts = int(t.get("num_experts", 0))
    # transformers Qwen3NextDecoderLayer: MoE unless in mlp_only_layers, every sparse step.
    step, dense_only = int(t.get("decoder_sparse_step", 1)), set(t.get("mlp_only_layers", []))
    is_moe = [num_experts > 0 and i not in dense_only and (i + 1) % step == 0 for i in range(n)]
    moe = None
    if num_experts:
        shared = int(t.get("shared_expert_intermediate_size", 0))
        moe = MoeSpec(num_experts=num_experts,
                      num_experts_per_tok=int(t.req("num_experts_per_tok")),
                      expert_intermediate_size=int(t.req("moe_intermediate_size")),
                      num_shared_experts=1 if shared else 0,
                      shared_expert_intermediate_size=shared, shared_expert_gate=bool(shared))
    layers = [LayerSpec(mixer="linear_attention" if kind == "linear_attention" else "attention",
                        ffn="moe" if m else "dense") for kind, m in zip(types, is_moe, strict=True)]
    linear = LinearAttentionSpec(
        num_key_heads=int(t.req("linear_num_key_heads")),
        num_value_heads=int(t.req("linear_num_value_heads")),
        key_head_dim=int(t.req("linear_key_head_dim")),
        value_head_dim=int(t.req("linear_value_head_dim")),
        conv_kernel=int(t.get("linear_conv_kernel_dim", 4)))
    if linear.num_value_heads % linear.num_key_heads:
        raise ConfigError(f"linear_num_value_heads = {linear.num_value_heads} is not a multiple "
                          f"of linear_num_key_heads = {linear.num_key_heads} in {c.source}.")
    # A dense layer needs intermediate_size; an all-MoE Qwen3.5 config omits it (no dense FFN).
    inter = (int(t.get("intermediate_size", 0)) if all(is_moe)
             else int(t.req("intermediate_size")))
    mtp = int(t.get("mtp_num_hidden_layers", t.get("num_nextn_predict_layers", 0)))
    vision = c.raw.get("vision_config")
    notes = [("mtp", f"{mtp} MTP layer(s) not counted")]
    if vision:
        notes.append(("ignored", "vision tower counted apart (ignored_params)"))
    return common(
        t, name=name, architecture=architecture, layers=layers, moe=moe, linear_attention=linear,
        intermediate_size=inter, qk_norm=True,
        attention_output_gate=bool(t.get("attn_output_gate", True)),
        num_mtp_layers=mtp, ignored_params=qwen3_vl_vision_params(vision), extra=tuple(notes),
    )
