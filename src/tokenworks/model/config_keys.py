"""config.json key access and the fields every transformer config spells the same way.

Shared by the parsers in ``tokenworks.model.config`` (transformer families) and
``tokenworks.model.hybrid`` (recurrent hybrids). Counts only: no units here.
"""

from __future__ import annotations

from typing import Any

from tokenworks.errors import ConfigError
from tokenworks.model.arch import LayerSpec, ModelArch

TORCH_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32", "half": "fp16"}


class Cfg:
    """Key access that names the missing key and the file it was read from."""

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.raw, self.source = raw, source or "<config dict>"

    def req(self, *keys: str) -> Any:
        for k in keys:
            if self.raw.get(k) is not None:
                return self.raw[k]
        raise ConfigError(
            f"config.json key '{keys[0]}' is missing in {self.source}; it is required for "
            f"'{self.raw.get('model_type', '?')}' models. Add it or use the model's original config."
        )

    def get(self, key: str, default: Any = None) -> Any:
        v = self.raw.get(key)
        return default if v is None else v


def common(c: Cfg, *, name: str, architecture: str, layers: list[LayerSpec],
           **overrides: Any) -> ModelArch:
    """Fields every transformer config spells the same way; ``overrides`` win (a key they
    supply is not required from the config)."""
    heads = int(c.req("num_attention_heads"))
    hidden = int(c.req("hidden_size"))
    if c.get("head_dim", c.get("attention_head_dim")) is None and heads > 0 and hidden % heads:
        raise ConfigError(f"hidden_size = {hidden} does not split into {heads} attention heads "
                          f"in {c.source} (no head_dim is given, so head_dim = hidden_size / "
                          f"num_attention_heads must be whole). Fix the config or add head_dim.")
    dtype = TORCH_DTYPES.get(str(c.get("torch_dtype", c.get("dtype", "bfloat16"))), "bf16")
    fields: dict[str, Any] = dict(
        name=name, architecture=architecture, vocab_size=int(c.req("vocab_size")),
        hidden_size=hidden, num_attention_heads=heads,
        num_kv_heads=int(c.get("num_key_value_heads", heads)),
        head_dim=int(c.get("head_dim", c.get("attention_head_dim", hidden // heads))),
        intermediate_size=(overrides["intermediate_size"] if "intermediate_size" in overrides
                           else int(c.req("intermediate_size"))),
        ffn_gated=True, layers=tuple(layers),
        tie_word_embeddings=bool(c.get("tie_word_embeddings", False)),
        max_context_tokens=int(c.req("max_position_embeddings")), native_dtype=dtype,
        attention_bias=bool(c.get("attention_bias", False)),
    )
    fields.update(overrides)
    return ModelArch(**fields)


def layer_count(c: Cfg) -> int:
    n = int(c.req("num_hidden_layers"))
    if n < 1:
        raise ConfigError(f"num_hidden_layers = {n} in {c.source}; it must be >= 1.")
    return n


def attention_mixers(c: Cfg, n: int) -> tuple[list[str], int | None]:
    """Per-layer attention kind from ``layer_types`` or a model-wide ``sliding_window``."""
    window = c.get("sliding_window")
    types = c.get("layer_types")
    if types:
        if len(types) != n:
            raise ConfigError(f"layer_types has {len(types)} entries but num_hidden_layers = {n} "
                              f"in {c.source}; they must match.")
        mix = ["sliding_attention" if t == "sliding_attention" else "attention" for t in types]
        return mix, (int(window) if window and "sliding_attention" in mix else None)
    if window and c.get("use_sliding_window", True):
        # Qwen2 config: sliding only for layers >= max_window_layers (transformers Qwen2Config).
        first = int(c.get("max_window_layers", 0)) if "use_sliding_window" in c.raw else 0
        mix = ["sliding_attention" if i >= first else "attention" for i in range(n)]
        return mix, (int(window) if "sliding_attention" in mix else None)
    return ["attention"] * n, None


def text_cfg(c: Cfg) -> Cfg:
    """The language model's keys: a multimodal config's ``text_config``, else the config itself.

    Wrappers keep ``tie_word_embeddings`` (and some ``torch_dtype``) at the top level; the
    top-level value is used when ``text_config`` does not repeat it.
    """
    if "text_config" not in c.raw:
        return c
    raw = dict(c.raw["text_config"])
    for key in ("tie_word_embeddings", "torch_dtype"):
        if key not in raw and key in c.raw:
            raw[key] = c.raw[key]
    return Cfg(raw, c.source)
