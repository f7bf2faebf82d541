"""What AffectGPT reads for one sample, built from :mod:`ovmer.media` (spec affectgpt-model §4).

A thin adapter, kept because the model needs *less* than :func:`ovmer.media.load_clip_inputs` gives and
must not pay for the rest on a whole benchmark split:

- the **frame** model needs the 8 RGB frames and the audio: no face detection (MediaPipe costs a
  graph build per process and ~16 ms per clip);
- the **face** model with an official OpenFace ``.npy`` needs only that array and the audio: upstream
  never decodes the video then, and neither do we (the video may even be absent);
- the **face** model on a raw video (no ``.npy``) uses ``load_clip_inputs``' MediaPipe crops, which
  approximate OpenFace's aligned crops (same layout, BGR order; see ``docs/media.md``).

All decoding, sampling (§4.1 index rule), face resizing (§4.2) and audio clip cutting (§4.3) are
``ovmer.media``'s; this module only chooses which of them to run and records where inputs came from.
Shapes: ``visual`` uint8 ``(8, 224, 224, 3)`` (RGB frames or BGR faces), ``audio`` float32 ``(8, 32000)``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ovmer.errors import MediaError
from ovmer.media import audio as media_audio
from ovmer.media.audio import SAMPLE_RATE, load_audio
from ovmer.media.clip import clip_waveform, load_clip_inputs
from ovmer.media.decode import DEFAULT_NUM_FRAMES, read_clip
from ovmer.media.faces import FaceDetector, faces_for_model

VISUAL_KINDS = ("frame", "face")


@dataclass
class VideoInputs:
    """Model inputs of one sample and their provenance.

    Attributes:
        visual: uint8 ``(8, 224, 224, 3)``: RGB frames (frame model) or BGR faces (face model, §4.2).
        audio: float32 ``(8, 32000)``: eight 2-s clips at 16 kHz (§4.3).
        visual_kind: ``"frame"`` or ``"face"``.
        num_source_frames: ``vlen`` of the index rule: video frames, or crops ``N`` of the face array.
        audio_seconds: length of the 16-kHz audio the clips were cut from.
        face_source: ``"openface"`` (official array), ``"detected"`` (MediaPipe) or None (frame model).
        face_found: per detected crop, whether a face was found (None unless detected).
        audio_source: the file the audio was read from.
    """

    visual: np.ndarray
    audio: np.ndarray
    visual_kind: str
    num_source_frames: int
    audio_seconds: float
    face_source: str | None = None
    face_found: list[bool] | None = None
    audio_source: str | None = None


class FaceDetectors:
    """One MediaPipe :class:`FaceDetector` per thread, created on first use and closed together.

    Why: ``infer`` decodes the next batch in worker threads, and a MediaPipe graph must not be used by
    two threads at once; building one per clip would cost ~50 ms each.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[FaceDetector] = []
        self._lock = threading.Lock()

    def get(self) -> FaceDetector:
        detector: FaceDetector | None = getattr(self._local, "detector", None)
        if detector is None:
            detector = FaceDetector()
            self._local.detector = detector
            with self._lock:
                self._all.append(detector)
        return detector

    def close(self) -> None:
        with self._lock:
            for detector in self._all:
                detector.close()
            self._all.clear()
        self._local = threading.local()

    def __enter__(self) -> FaceDetectors:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def existing_audio(audio: str | os.PathLike[str] | None) -> Path | None:
    """``audio`` when that file exists, else None (then the video's own track is used)."""
    return Path(audio) if audio is not None and Path(audio).is_file() else None


def sibling_wav(video: str | os.PathLike[str]) -> Path | None:
    """``<video stem>.wav`` beside the video when it exists: the pre-extracted track upstream reads (§4.3)."""
    candidate = Path(video).with_suffix(".wav")
    return candidate if candidate.is_file() else None


def load_video_inputs(
    video: str | os.PathLike[str] | None,
    *,
    visual_kind: str = "frame",
    audio: str | os.PathLike[str] | None = None,
    faces: str | os.PathLike[str] | None = None,
    detector: FaceDetector | None = None,
) -> VideoInputs:
    """Everything AffectGPT reads for one sample.

    Args:
        video: the clip; needed by the frame model, and by the face model without ``faces``.
        visual_kind: the model's visual input, ``"frame"`` or ``"face"``.
        audio: a wav (or any audio/video file) to take the audio from; default: the video's track.
            Callers choose the wav (see :func:`existing_audio`, :func:`sibling_wav`).
        faces: an official OpenFace ``openface_face`` ``.npy`` (face model); without it the face
            model detects faces in the video with MediaPipe.
        detector: a reusable face detector (one is created and closed when needed and not given).

    Raises:
        MediaError: naming the file (unreadable video, face array or audio; no audio anywhere).
    """
    if visual_kind not in VISUAL_KINDS:
        raise MediaError(f"unknown visual input {visual_kind!r}; expected one of {VISUAL_KINDS}")
    if visual_kind == "face" and faces is not None:
        return _official_faces(video, Path(faces), audio)
    if video is None:
        raise MediaError(
            f"the {visual_kind} model needs a video file"
            + (" or an OpenFace face array (--faces FILE.npy)" if visual_kind == "face" else "")
        )
    if visual_kind == "face":
        own = detector is None
        active = detector if detector is not None else FaceDetector()
        try:
            clip = load_clip_inputs(video, n_frames=DEFAULT_NUM_FRAMES, audio=audio, detector=active)
        finally:
            if own:
                active.close()
        return VideoInputs(
            visual=clip.faces,
            audio=clip.audio_clips,
            visual_kind="face",
            num_source_frames=int(clip.face_crops.shape[0]),
            audio_seconds=clip.audio.shape[0] / SAMPLE_RATE,
            face_source=clip.face_source,
            face_found=[bool(x) for x in clip.face_found],
            audio_source=os.fspath(audio if audio is not None else video),
        )
    decoded = read_clip(video, DEFAULT_NUM_FRAMES, with_audio=audio is None)
    waveform = clip_waveform(decoded, audio)
    return VideoInputs(
        visual=decoded.model_frames,
        audio=media_audio.audio_clips(waveform),
        visual_kind="frame",
        num_source_frames=decoded.info.num_frames,
        audio_seconds=waveform.shape[0] / SAMPLE_RATE,
        audio_source=os.fspath(audio if audio is not None else video),
    )


def _read_face_array(face_file: Path) -> np.ndarray:
    """An OpenFace ``openface_face`` array ``[N, h, w, 3]`` (validated by ``faces_for_model``)."""
    if not face_file.is_file():
        raise MediaError(
            f"{face_file}: face array not found; extract faces with OpenFace, or leave it out to detect "
            "faces in the video with MediaPipe"
        )
    try:
        return np.load(face_file, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MediaError(f"{face_file}: cannot read face array ({exc})") from exc


def _official_faces(
    video: str | os.PathLike[str] | None, face_file: Path, audio: str | os.PathLike[str] | None
) -> VideoInputs:
    crops = _read_face_array(face_file)
    visual = faces_for_model(crops, DEFAULT_NUM_FRAMES, source=os.fspath(face_file))
    source = audio if audio is not None else video
    if source is None:
        raise MediaError(f"{face_file}: no audio for this sample; give a wav or the video")
    waveform = load_audio(source)
    return VideoInputs(
        visual=visual,
        audio=media_audio.audio_clips(waveform),
        visual_kind="face",
        num_source_frames=int(crops.shape[0]),
        audio_seconds=waveform.shape[0] / SAMPLE_RATE,
        face_source="openface",
        audio_source=os.fspath(source),
    )
