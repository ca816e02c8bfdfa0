"""Catalog views for the interfaces: plain dict rows the CLI and web render."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tokenworks.economics.token_cost import default_usd_per_gpu_hour
from tokenworks.errors import ConfigError
from tokenworks.hardware import PRECISIONS, list_accelerators, list_systems
from tokenworks.model import (
    decode_flops_per_token,
    get_model,
    kv_bytes_per_token,
    list_models,
    model_entries,
    param_counts,
    prefill_flops,
    weight_bytes,
)


def model_rows() -> list[dict[str, Any]]:
    rows = []
    for arch in list_models():
        pc = param_counts(arch)
        rows.append({
            "name": arch.name, "architecture": arch.architecture, "params_total": pc.total,
            "params_active": pc.active, "published_params_total": arch.published_params_total,
            "published_params_active": arch.published_params_active, "num_layers": arch.num_layers,
            "hidden_size": arch.hidden_size, "attention_kind": arch.attention_kind,
            "num_attention_heads": arch.num_attention_heads, "num_kv_heads": arch.num_kv_heads,
            "kv_bytes_per_token_bf16": kv_bytes_per_token(arch, "bf16"),
            "max_context_tokens": arch.max_context_tokens, "is_moe": arch.is_moe,
        })
    return rows


def hardware_rows(*, kind: str | None = None) -> list[dict[str, Any]]:
    accs = list_accelerators()
    kinds = sorted({a.kind for a in accs})
    if kind is not None and kind not in kinds:
        raise ConfigError(f"--kind {kind!r} is not a catalog kind. Valid: {', '.join(kinds)}.")
    rows = []
    for a in accs:
        if kind is not None and a.kind != kind:
            continue
        row: dict[str, Any] = {
            "name": a.name, "display_name": a.display_name, "vendor": a.vendor, "kind": a.kind,
            "launch_date": a.launch_date,
        }
        for p in PRECISIONS:
            row[f"dense_{p}_flops_per_s"] = dict(a.peak_flops_per_s).get(p)
        row.update({
            "memory_type": a.memory_type, "memory_bytes": a.memory_bytes,
            "memory_bytes_per_s": a.memory_bytes_per_s, "sram_bytes": a.sram_bytes,
            "scaleup_tech": a.scaleup_tech, "scaleup_bytes_per_s": a.scaleup_bytes_per_s,
            "scaleup_domain_size": a.scaleup_domain_size,
            "scaleout_bytes_per_s": a.scaleout_bytes_per_s, "tdp_w": a.tdp_w,
            "purchase_usd_low": a.purchase_usd_low, "purchase_usd_high": a.purchase_usd_high,
            "rental_usd_per_hour_low": a.rental_usd_per_hour_low,
            "rental_usd_per_hour_high": a.rental_usd_per_hour_high,
            **_price(a),
            "source_url": a.source_url, "source_title": a.source_title, "as_of": a.as_of,
        })
        rows.append(row)
    return rows


def _price(acc: Any) -> dict[str, Any]:
    """The one $/GPU-hour every command uses for this part (``default_usd_per_gpu_hour``:
    the prices catalog, else the midpoint of the accelerator catalog's rental range)."""
    try:
        usd, src = default_usd_per_gpu_hour(acc)
    except ConfigError:
        return {"usd_per_gpu_hour": None, "price_source": "no public rental price"}
    return {"usd_per_gpu_hour": usd, "price_source": src}


def system_rows() -> list[dict[str, Any]]:
    return [asdict(s) for s in list_systems()]


def model_info(name_or_path: str) -> dict[str, Any]:
    arch = get_model(name_or_path)
    pc = param_counts(arch)
    entry = next((e for e in model_entries() if e.name == arch.name), None)
    info: dict[str, Any] = {
        "name": arch.name, "architecture": arch.architecture,
        "source_url": entry.source_url if entry else str(name_or_path),
        "num_layers": arch.num_layers, "hidden_size": arch.hidden_size,
        "num_attention_heads": arch.num_attention_heads, "num_kv_heads": arch.num_kv_heads,
        "head_dim": arch.head_dim, "attention_kind": arch.attention_kind,
        "intermediate_size": arch.intermediate_size, "vocab_size": arch.vocab_size,
        "max_context_tokens": arch.max_context_tokens,
        "sliding_window_tokens": arch.sliding_window_tokens,
        "layer_kinds": {f"{m}+{f}": n for (m, f), n in arch.count_layers().items()},
        "moe": asdict(arch.moe) if arch.moe else None,
        "mla": asdict(arch.mla) if arch.mla else None,
        "mamba": asdict(arch.mamba) if arch.mamba else None,
        "params": asdict(pc),
        "published_params_total": arch.published_params_total,
        "published_params_active": arch.published_params_active,
        "weight_bytes": {d: weight_bytes(arch, d) for d in ("bf16", "fp8", "int4")},
        "kv_bytes_per_token": {d: kv_bytes_per_token(arch, d) for d in ("bf16", "fp8")},
        "prefill_flops_2048": prefill_flops(arch, 2048),
        "decode_flops_per_token_at_2048": decode_flops_per_token(arch, 2048),
    }

    def gb(x: float) -> str:
        return f"{x / 1e9:,.1f} GB"

    def b(x: float | None) -> str:
        return "—" if x is None else f"{x / 1e9:,.2f}B"

    info["display"] = [
        ("parameters (total)", b(pc.total), f"published {b(arch.published_params_total)}"),
        ("parameters (active)", b(pc.active), f"published {b(arch.published_params_active)}"),
        ("layers", str(arch.num_layers), ", ".join(f"{n}× {k}" for k, n in info["layer_kinds"].items())),
        ("hidden size", f"{arch.hidden_size:,}", ""),
        ("attention", arch.attention_kind,
         f"{arch.num_attention_heads} heads, {arch.num_kv_heads} KV heads, head dim {arch.head_dim}"),
        ("context window", f"{arch.max_context_tokens:,}", "tokens"),
        ("sliding window", "—" if arch.sliding_window_tokens is None
         else f"{arch.sliding_window_tokens:,}", "tokens"),
        ("experts", "—" if arch.moe is None else
         f"{arch.moe.num_experts} routed, top-{arch.moe.num_experts_per_tok}",
         "" if arch.moe is None else f"{arch.moe.num_shared_experts} shared"),
        ("weights bf16 / fp8 / int4", " / ".join(gb(v) for v in info["weight_bytes"].values()), ""),
        ("KV per token bf16 / fp8", " / ".join(f"{v / 1e3:,.1f} KB"
                                              for v in info["kv_bytes_per_token"].values()), ""),
        ("prefill FLOPs, 2,048 tokens", f"{info['prefill_flops_2048']:.3e}", "incl. quadratic attention"),
        ("decode FLOPs per token at 2,048 ctx", f"{info['decode_flops_per_token_at_2048']:.3e}", ""),
    ]
    return info
