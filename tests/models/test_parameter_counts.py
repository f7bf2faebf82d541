"""Full-size fidelity without weights: counts and the 412 official keys, on the meta device.

The counts and keys are those of docs/model.md, 'Checkpoint files' and 'Fidelity (what is reproduced, …)'.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.models.checkpoint import expected_official_shapes
from ovmer.models.configuration_affectgpt import AffectGPTConfig
from ovmer.models.loading import meta_model
from ovmer.models.modeling_affectgpt import AffectGPTModel

HEADS = {
    "image_llama_proj": 2_756_096,
    "affectgpt_proj": 2_756_096,
    "video_attention_mlp": 769,
    "audio_attention_mlp": 1_025,
    "audio_llama_proj": 3_673_600,
    "multi_video_embs": 787_456,
    "multi_audio_embs": 1_049_600,
    "attention_mlp": 2_098_176,
    "fc_att": 2_050,
    "multi_llama_proj": 3_673_600,
}


@pytest.fixture(scope="module")
def full_face() -> AffectGPTModel:
    return meta_model(AffectGPTConfig.from_pretrained("affectgpt-face"))


def test_full_size_counts(full_face: AffectGPTModel) -> None:
    summary = full_face.parameter_summary()
    by = summary["by_module"]
    assert summary["trainable"] == 57_168_644
    assert by["lora"] == {"total": 40_370_176, "trainable": 40_370_176}
    assert summary["heads"] == 16_798_468
    assert {k[len("heads.") :]: v["total"] for k, v in by.items() if k.startswith("heads.")} == HEADS
    assert by["llm"] == {"total": 7_615_616_512, "trainable": 0}
    assert by["vision"] == {"total": 303_966_208, "trainable": 0}  # vision tower + projection (docs/model.md)
    assert by["audio"]["trainable"] == 0 and abs(by["audio"]["total"] - 315_400_000) < 100_000
    assert summary["total"] == 7_615_616_512 + 57_168_644 + 303_966_208 + by["audio"]["total"]
    assert round(summary["total"] / 1e9, 3) == 8.292  # ≈ 8.292 B with CLIP's vision part only


def test_412_official_keys(full_face: AffectGPTModel) -> None:
    shapes = expected_official_shapes(full_face)
    assert len(shapes) == 412
    lora = [k for k in shapes if k.startswith("llama_model.")]
    assert len(lora) == 392
    p = "llama_model.base_model.model.model.layers.{i}."
    for i in (0, 27):
        assert shapes[p.format(i=i) + "self_attn.q_proj.lora_A.default.weight"] == (16, 3584)
        assert shapes[p.format(i=i) + "self_attn.q_proj.lora_B.default.weight"] == (3584, 16)
        assert shapes[p.format(i=i) + "self_attn.k_proj.lora_B.default.weight"] == (512, 16)
        assert shapes[p.format(i=i) + "self_attn.v_proj.lora_B.default.weight"] == (512, 16)
        assert shapes[p.format(i=i) + "mlp.gate_proj.lora_B.default.weight"] == (18944, 16)
        assert shapes[p.format(i=i) + "mlp.down_proj.lora_A.default.weight"] == (16, 18944)
    assert shapes["image_llama_proj.weight"] == (3584, 768)
    assert shapes["video_attention_mlp.weight"] == (1, 768)
    assert shapes["attention_mlp.weight"] == (1024, 2048)
    assert shapes["fc_att.bias"] == (2,)
    assert shapes["multi_llama_proj.weight"] == (3584, 1024)


def test_cli_summary_meta(tmp_path: Path) -> None:
    out = tmp_path / "counts.json"
    result = CliRunner().invoke(app, ["model", "summary", "affectgpt-frame", "--meta", "--json", str(out)])
    assert result.exit_code == 0, result.output
    counts = json.loads(out.read_text())
    assert counts["trainable"] == 57_168_644
    assert counts["by_module"]["lora"]["trainable"] == 40_370_176
    assert counts["total"] > 8_290_000_000


def test_cli_summary_of_a_config_file_with_weights(tmp_path: Path) -> None:
    from ovmer.models.tiny import tiny_config

    config = tiny_config("face")
    config.save_pretrained(tmp_path)
    result = CliRunner().invoke(app, ["model", "summary", str(tmp_path / "config.json")])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    expected = AffectGPTModel(config).parameter_summary()
    assert (counts["trainable"], counts["total"]) == (expected["trainable"], expected["total"])
    # LoRA r=16, 2 layers: q,o (48+48), k,v (48+24), gate,up,down (48+64); each (in + out) × 16
    per_layer = 16 * (2 * 96 + 2 * 72 + 3 * 112)
    assert counts["by_module"]["lora"]["trainable"] == 2 * per_layer == 21_504


@pytest.mark.slow
def test_full_size_official_layout_converts(full_face: AffectGPTModel, tmp_path: Path) -> None:
    """A file with the 412 full-size tensors (docs/model.md) passes strict conversion for affectgpt-face."""
    import torch
    from safetensors import safe_open

    from ovmer.models.loading import convert_checkpoint

    shapes = expected_official_shapes(full_face)
    state = {key: torch.zeros(shape) for key, shape in shapes.items()}
    pth = tmp_path / "checkpoint_000050_loss_0.527.pth"
    torch.save({"model": state, "epoch": 50}, pth)
    del state
    convert_checkpoint(pth, "affectgpt-face", tmp_path / "out")
    with safe_open(str(tmp_path / "out" / "trainable.safetensors"), "pt") as handle:
        keys = list(handle.keys())
        assert len(keys) == 412
        sizes = [math.prod(handle.get_slice(k).get_shape()) for k in keys]
    assert sum(sizes) == 57_168_644
