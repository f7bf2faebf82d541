"""Describe one video with AffectGPT: media pipeline + model in one call (``ovmer describe``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ovmer.errors import OvmerError
from ovmer.inference.engine import AffectGPTEngine
from ovmer.inference.media_inputs import load_video_inputs
from ovmer.models.generation import DecodingSettings


def transcribe(audio_path: str | Path, model_size: str = "large-v3", device: str = "auto") -> str:
    """Subtitle by ASR with faster-whisper (extra ``ovmer[asr]``); upstream required a typed subtitle."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise OvmerError("--asr needs faster-whisper: pip install 'ovmer[asr]'") from exc
    try:
        model = WhisperModel(model_size, device=device)
        segments, _info = model.transcribe(str(audio_path))
        return " ".join(segment.text.strip() for segment in segments).strip()
    except Exception as exc:  # model download / decoding failures from a third-party library
        raise OvmerError(f"ASR failed on {audio_path}: {exc}") from exc


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

    The frame model reads the video itself; the face model needs ``faces`` (OpenFace ``.npy``).
    Audio comes from ``audio``, else ``<video>.wav`` beside the video, else the video's audio stream.
    """
    decoding = decoding or DecodingSettings()
    config = engine.model.config
    inputs = load_video_inputs(video, visual_kind=config.visual_input, audio=audio, faces=faces)
    response = engine.respond([inputs], [subtitle], task, decoding)[0]
    return {
        "video": str(video),
        "task": task,
        "response": response.text,
        "subtitle": subtitle or "",
        "model": engine.source,
        "config": config.name,
        "engine": "affectgpt",
        "decoding": decoding.describe(),
        "generated_tokens": len(response.token_ids),
    }
