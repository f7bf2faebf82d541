"""Describe one video with AffectGPT (``ovmer describe``): the one inputs builder + the engine,
answered as the one answer record (what ``--json`` prints)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ovmer.inference.engine import AffectGPTEngine
from ovmer.media.inputs import SampleMedia, build_model_inputs, sibling_wav
from ovmer.models.generation import DecodingSettings
from ovmer.results.record import AnswerRecord


def describe_video(
    engine: AffectGPTEngine,
    video: str | Path,
    *,
    subtitle: str | None = None,
    task: str = "ovlabels",
    decoding: DecodingSettings | None = None,
    audio: str | Path | None = None,
    faces: str | Path | None = None,
    asr: Callable[[np.ndarray], str] | None = None,
    strict_inputs: bool = False,
) -> AnswerRecord:
    """Run AffectGPT on one video; returns the answer and where its inputs came from.

    The frame model reads the video's frames. The face model reads ``faces`` (an official OpenFace
    ``.npy``) when given, else detects faces in the video with MediaPipe (an approximation of
    OpenFace's aligned crops; ``inputs.face_source`` says which). Audio comes from ``audio``, else
    ``<video>.wav`` beside the video (the pre-extracted track upstream reads), else the video's own
    audio stream. Without a subtitle, ``asr`` transcribes one (see :func:`ovmer.media.asr.transcriber`).
    ``strict_inputs`` (paper fidelity) refuses substitutes for a missing face array or wav.
    """
    decoding = engine.decoding_settings(decoding)  # budget and EOS rule from the model and its fidelity
    config = engine.model.config
    media = SampleMedia(
        name=Path(video).stem,
        video=Path(video),
        wav=Path(audio) if audio is not None else sibling_wav(video),
        face_array=None if faces is None else Path(faces),
        subtitle=subtitle,
    )
    inputs = build_model_inputs(
        media,
        config.visual_input,
        faces="official" if faces is not None else "auto",
        strict=strict_inputs,
        asr=asr,
    )
    response = engine.respond([inputs], [inputs.subtitle], task, decoding)[0]
    return AnswerRecord(
        name=media.name,
        text=response.text,
        model=engine.source,
        task=task,
        inputs={"video": str(video), **inputs.provenance.to_json()},
        details={
            "engine": "affectgpt",
            "config": config.name,
            "decoding": decoding.describe(),
            "fidelity": engine.fidelity.name,
            "generated_tokens": len(response.token_ids),
            "subtitle": inputs.subtitle or "",
        },
        timings=inputs.timings,
    )
