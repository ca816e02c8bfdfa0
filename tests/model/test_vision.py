"""Vision towers (model/vision.py): counted apart from the text model, golden counts."""

from __future__ import annotations

import json

from tokenworks.catalog import data_path
from tokenworks.model import get_model, param_counts
from tokenworks.model.vision import qwen3_vl_vision_params


def _vision_config(name: str) -> dict:
    return json.loads(data_path(f"models/{name}.json").read_text())["vision_config"]


def test_qwen3_vl_8b_vision_tower():
    """Qwen3-VL-8B vision tower (d = 1152, MLP 4304, 27 blocks, merge 2x2 -> 4608, out 4096):
    patch Conv3d 3·2·16·16·1152 + 1152 = 1,770,624; positions 2304·1152 = 2,654,208;
    block = qkv 1152·3456 + 3456 + proj 1152² + 1152 + fc1 1152·4304 + 4304
    + fc2 4304·1152 + 1152 + 2 LayerNorms 4·1152 = 15,239,504, × 27 = 411,466,608;
    merger MLP 4608² + 4608 + 4608·4096 + 4096 = 40,116,736, + LayerNorm(1152) 2,304;
    3 DeepStack mergers × (LayerNorm(4608) 9,216 + 40,116,736) = 120,377,856.
    Total 576,388,336 (the HF safetensors 8.77B = 8.19B decoder + 0.58B tower)."""
    expected = (1_770_624 + 2_654_208 + 27 * 15_239_504 + (40_116_736 + 2_304)
                + 3 * (9_216 + 40_116_736))
    assert expected == 576_388_336
    assert qwen3_vl_vision_params(_vision_config("qwen3-vl-8b")) == expected


def test_vision_tower_only_in_published_comparison():
    """The VL model's text params equal Qwen3-8B's decoder; the tower lives in ignored_params."""
    vl, text = get_model("qwen3-vl-8b"), get_model("qwen3-8b")
    assert param_counts(vl).total == param_counts(text).total
    assert vl.ignored_params == 576_388_336
    assert vl.architecture == "Qwen3VLForConditionalGeneration" and vl.qk_norm


def test_qwen35_tower_has_no_deepstack():
    """Qwen3.5's tower is Qwen3-VL-8B's (same depth, widths, out 4096) without the DeepStack
    mergers: 576,388,336 - 120,377,856 = 456,010,480."""
    tower = qwen3_vl_vision_params(_vision_config("qwen3.5-397b-a17b"))
    assert tower == 576_388_336 - 120_377_856 == 456_010_480
    assert get_model("qwen3.5-397b-a17b").ignored_params == tower
