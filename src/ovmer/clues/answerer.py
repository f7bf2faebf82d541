"""The offline clue engine as an :class:`~ovmer.inference.protocol.AnswerModel` and as an answer
record: what ``ovmer bench --model clues`` and ``ovmer describe --engine clues --json`` give."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ovmer.clues.engine import ClueResult, describe_with_clues
from ovmer.data.registry import Sample
from ovmer.errors import MediaError
from ovmer.results.record import AnswerRecord

CLUE_ENGINE_IDENTITY = "clues:v1"

#: speech source of the clue engine → subtitle source of the answer record.
_SUBTITLE_SOURCES = {"subtitle": "dataset", "none": None}


def clue_record(result: ClueResult, name: str, video: str | os.PathLike[str]) -> AnswerRecord:
    """The engine's answer as the one answer record: description as ``text``, its own labels as
    ``ov_labels``, the clues in ``details``."""
    source = str(result.clues.get("speech", {}).get("source", "none"))
    return AnswerRecord(
        name=name,
        text=result.description,
        ov_labels=list(result.ov_labels),
        model=CLUE_ENGINE_IDENTITY,
        inputs={
            "video": os.fspath(video),
            "audio_source": "video",
            "subtitle_source": _SUBTITLE_SOURCES.get(source, "asr"),
        },
        details={"clues": result.clues},
        timings=dict(result.timings_s),
    )


class ClueAnswerer:
    """The clue engine (CPU only, no download); uses the dataset's subtitle as the transcript when
    there is one (Whisper tiny.en otherwise). One sample per call: the engine is not batched."""

    identity = CLUE_ENGINE_IDENTITY
    batch_size = 1

    def __init__(self, fps: float = 5.0) -> None:
        self.fps = fps

    def load(self, sample: Sample) -> Sample:
        if sample.video is None or not Path(sample.video).is_file():
            raise MediaError(f"{sample.name}: video not found ({sample.video or 'no video path'})")
        return sample

    def answer_batch(self, items: Sequence[Sample]) -> list[AnswerRecord | Exception]:
        """Describe each clip (a failure is raised; with one sample per batch, the runner records it)."""
        answers: list[AnswerRecord | Exception] = []
        for sample in items:
            assert sample.video is not None  # checked by load
            subtitle = sample.subtitle or None
            result = describe_with_clues(
                sample.video, subtitle=subtitle, fps=self.fps, transcribe_speech=subtitle is None
            )
            answers.append(clue_record(result, sample.name, sample.video))
        return answers

    def close(self) -> None:
        """Nothing to free: the engine's models are cached per process."""
