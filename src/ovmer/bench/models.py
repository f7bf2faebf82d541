"""Models ``ovmer bench`` can run: each turns one clip (+ its subtitle) into a free-text answer.

The table :data:`MODEL_FACTORIES` maps a spec prefix to the function that builds the model, so a
reader sees at once where every model comes from; later issues add zero-shot MLLMs to it.

* ``clues`` — the offline clue engine (:mod:`ovmer.clues`); uses the dataset's subtitle as the
  transcript when there is one (Whisper tiny.en otherwise);
* ``affectgpt:<checkpoint>`` — AffectGPT inference (:mod:`ovmer.inference`, built on the model
  branch); a clear error until it is installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ovmer.errors import OvmerError


class BenchModel(Protocol):
    """A model under test."""

    identity: str  # recorded in results; also the run folder's guard against mixing models

    def answer(self, video: Path | None, subtitle: str) -> str:
        """The free-text answer for one sample (what upstream stores in ``name2reason``)."""
        ...


class ClueModel:
    """The offline clue engine as a benchmark model (CPU only, no download)."""

    def __init__(self, fps: float = 5.0) -> None:
        self.fps = fps
        self.identity = "clues:v1"

    def answer(self, video: Path | None, subtitle: str) -> str:
        from ovmer.clues import describe_with_clues

        if video is None:
            raise OvmerError("no video file for this sample")
        result = describe_with_clues(
            video, subtitle=subtitle or None, fps=self.fps, transcribe_speech=not subtitle
        )
        return result.description


def _clues(argument: str) -> BenchModel:
    if argument:
        raise OvmerError(f"model spec 'clues' takes no argument, got 'clues:{argument}'")
    return ClueModel()


def _affectgpt(argument: str) -> BenchModel:
    if importlib.util.find_spec("ovmer.inference") is None:
        raise OvmerError(
            "model spec 'affectgpt:<checkpoint>' needs AffectGPT inference (ovmer.inference), which is not "
            "part of this install yet; use --model clues, or install an ovmer version with AffectGPT inference"
        )
    raise OvmerError(
        "AffectGPT inference is installed but not yet wired into `ovmer bench`; run `ovmer describe` and "
        "score its outputs with `ovmer extract` + `ovmer score`"
    )


#: spec prefix → factory(argument after the colon).
MODEL_FACTORIES: dict[str, Callable[[str], BenchModel]] = {"clues": _clues, "affectgpt": _affectgpt}


def load_model(spec: str) -> BenchModel:
    """Build a model from ``PREFIX`` or ``PREFIX:ARGUMENT`` (see :data:`MODEL_FACTORIES`)."""
    prefix, _, argument = spec.partition(":")
    factory = MODEL_FACTORIES.get(prefix)
    if factory is None:
        raise OvmerError(f"unknown model spec {spec!r}; known: {', '.join(sorted(MODEL_FACTORIES))}")
    return factory(argument)
