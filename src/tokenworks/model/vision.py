"""Vision towers of multimodal configs: parameter counts only.

tokenworks models the text decoder; a vision encoder (and its projector into the text model)
is counted here so a published total that includes it can be compared (``ModelArch.
ignored_params``). Counts follow the module shapes of the transformers / mlx-vlm
implementations named on each function. Units: parameters.
"""

from __future__ import annotations

from typing import Any


def llama4_vision_params(vc: dict[str, Any] | None, text_hidden: int) -> float:
    """Llama-4 vision encoder + adapter + projector parameters (module shapes of transformers
    Llama4VisionModel / Llama4MultiModalProjector); only compared with published totals."""
    if not vc:
        return 0.0
    d, inter = int(vc["hidden_size"]), int(vc["intermediate_size"])
    patch, image = int(vc["patch_size"]), int(vc["image_size"])
    n_pos = (image // patch) ** 2 + 1
    layer = 4 * (d * d + d) + (d * inter + inter) + (inter * d + d) + 4 * d  # attn, MLP, 2 LN
    stem = int(vc.get("num_channels", 3)) * patch * patch * d + d + n_pos * d + 4 * d
    adapter = inter * int(vc["projector_input_dim"]) + int(vc["projector_input_dim"]) * int(
        vc["projector_output_dim"])
    projector = int(vc["vision_output_dim"]) * text_hidden
    return float(int(vc["num_hidden_layers"]) * layer + stem + adapter + projector)


def qwen3_vl_vision_params(vc: dict[str, Any] | None) -> float:
    """Qwen3-VL / Qwen3.5 vision tower: Conv3d patch embedding (with bias), learned position
    table, ``depth`` ViT blocks (fused qkv and proj with biases, 2-matrix GELU MLP, two
    LayerNorms), the patch merger (LayerNorm, d·m² -> d·m² -> out_hidden_size) and one
    DeepStack merger per ``deepstack_visual_indexes`` entry (post-shuffle LayerNorm over d·m²).
    Module shapes of mlx-vlm ``qwen3_vl/vision.py`` (= transformers Qwen3VLVisionModel)."""
    if not vc:
        return 0.0
    d, inter, depth = int(vc["hidden_size"]), int(vc["intermediate_size"]), int(vc["depth"])
    merged = d * int(vc["spatial_merge_size"]) ** 2
    out = int(vc["out_hidden_size"])
    patch = int(vc["patch_size"])
    stem = (int(vc.get("in_channels", 3)) * int(vc.get("temporal_patch_size", 2)) * patch * patch
            * d + d + int(vc["num_position_embeddings"]) * d)
    block = (d * 3 * d + 3 * d) + (d * d + d) + (d * inter + inter) + (inter * d + d) + 2 * 2 * d
    mlp = merged * merged + merged + merged * out + out  # linear_fc1, linear_fc2 with biases
    merger = 2 * d + mlp
    deepstack = len(vc.get("deepstack_visual_indexes") or []) * (2 * merged + mlp)
    return float(stem + depth * block + merger + deepstack)
