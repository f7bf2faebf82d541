"""Describe one video with AffectGPT: media pipeline + model in one call (``ovmer describe``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ovmer.inference.engine import AffectGPTEngine
from ovmer.inference.media_inputs import load_video_inputs, sibling_wav
from ovmer.models.generation import DecodingSettings


def transcribe_clip(
    video: str | os.PathLike[str],
    audio: str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
    language: str | None = None,
) -> str:
    """Subtitle by speech recognition (:func:`ovmer.media.asr.transcribe`, offline Whisper tiny.en by
    default): upstream requires a typed subtitle (spec §12.6). Audio as :func:`describe_video` picks it."""
    from ovmer.media.asr import transcribe
    from ovmer.media.audio import load_audio

    source = audio if audio is not None else (sibling_wav(video) or video)
    return transcribe(load_audio(source), model=model, language=language)


def describe_video(
    engine: AffectGPTEngine,
    video: str | Path,
    *,
    subtitle: str | None = None,
    task: str = "ovlabels",
    decoding: DecodingSettings | None = None,
    audio: str | Path | None = None,
    faces: str | Path | None = None,
) -> dict[str, Any]:
    """Run AffectGPT on one video; returns the response and what was used to get it.

    The frame model reads the video's frames. The face model reads ``faces`` (an official OpenFace
    ``.npy``) when given, else detects faces in the video with MediaPipe (an approximation of
    OpenFace's aligned crops; ``face_source`` in the result says which). Audio comes from ``audio``,
    else ``<video>.wav`` beside the video (the pre-extracted track upstream reads), else the video's
    own audio stream.
    """
    decoding = decoding or DecodingSettings()
    config = engine.model.config
    audio_path = Path(audio) if audio is not None else sibling_wav(video)
    inputs = load_video_inputs(video, visual_kind=config.visual_input, audio=audio_path, faces=faces)
    response = engine.respond([inputs], [subtitle], task, decoding)[0]
    result: dict[str, Any] = {
        "video": str(video),
        "task": task,
        "response": response.text,
        "subtitle": subtitle or "",
        "model": engine.source,
        "config": config.name,
        "engine": "affectgpt",
        "decoding": decoding.describe(),
        "generated_tokens": len(response.token_ids),
        "audio_source": inputs.audio_source,
    }
    if inputs.face_source is not None:
        result["face_source"] = inputs.face_source
    if inputs.face_found is not None:
        result["faces_found"] = sum(inputs.face_found)
    return result
