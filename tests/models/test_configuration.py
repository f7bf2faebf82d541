from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ovmer.errors import ModelError
from ovmer.models.configuration_affectgpt import AffectGPTConfig, list_named_configs


def test_named_configs_pin_revisions() -> None:
    assert {"affectgpt-face", "affectgpt-frame"} <= set(list_named_configs())
    face = AffectGPTConfig.from_pretrained("affectgpt-face")
    frame = AffectGPTConfig.from_pretrained("affectgpt-frame")
    assert (face.visual_input, face.prompt_mode) == ("face", "multiface_audio_face_text")
    assert (frame.visual_input, frame.prompt_mode) == ("frame", "multiframe_audio_frame_text")
    assert face.face_channel_order == "bgr"
    for cfg in (face, frame):
        assert cfg.llm_id == "Qwen/Qwen2.5-7B-Instruct"
        for rev in (cfg.llm_revision, cfg.vision_revision, cfg.audio_revision):
            assert rev is not None and re.fullmatch(r"[0-9a-f]{40}", rev)
        assert cfg.placeholder_token_ids == [151665, 151666, 151667, 151668, 151669]
        assert (cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout, cfg.lora.scaling) == (16, 32, 0.05, 2.0)
        assert cfg.fusion_dim == 1024 and cfg.vision_embed_dim == 768 and cfg.llm_hidden_size == 3584


def test_round_trip_and_unknown_keys(tmp_path: Path) -> None:
    cfg = AffectGPTConfig.from_pretrained("affectgpt-frame")
    cfg.save_pretrained(tmp_path)
    again = AffectGPTConfig.from_pretrained(tmp_path)
    assert again == cfg
    data = json.loads((tmp_path / "config.json").read_text())
    data["lora_rank"] = 8
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="lora_rank"):
        AffectGPTConfig.from_pretrained(tmp_path / "bad.json")


def test_inconsistent_mode_and_unknown_name() -> None:
    data = AffectGPTConfig.from_pretrained("affectgpt-face").to_dict()
    data["visual_input"] = "frame"
    with pytest.raises(ModelError, match="prompt_mode"):
        AffectGPTConfig.from_dict(data)
    with pytest.raises(ModelError, match="affectgpt-face"):
        AffectGPTConfig.from_pretrained("affectgpt-nonexistent")
