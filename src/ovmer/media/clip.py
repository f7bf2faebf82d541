"""One video → everything AffectGPT needs: the public entry point of :mod:`ovmer.media`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ovmer.errors import MediaError
from ovmer.media.audio import SAMPLE_RATE, audio_clips, load_audio, model_audio
from ovmer.media.decode import DEFAULT_NUM_FRAMES, DecodedClip, read_clip
from ovmer.media.faces import DEFAULT_CROP_SIZE, FaceDetector, faces_for_model


@dataclass
class ClipInputs:
    """Model-ready inputs of one clip. Shapes use T = ``n_frames`` (8 by default).

    Attributes:
        frames: uint8 ``[T, 224, 224, 3]`` **RGB**, the frame model's input (spec affectgpt-model §4.1;
            the model wants ``(C, T, H, W)`` float 0–255: ``frames.transpose(3, 0, 1, 2)``).
        faces: uint8 ``[T, 224, 224, 3]`` **BGR**, the face model's input (spec §4.2: fidelity mode
            feeds BGR to CLIP; do not convert).
        face_crops: uint8 ``[N, h, w, 3]`` BGR, the ``openface_face`` array the faces came from (the
            official file when one was given, else ovmer's detected crops with N = T, h = w = 112).
        face_found: bool ``[N]``: a detector found a face in that frame (all True for official files).
        face_source: ``"openface"`` (official file) or ``"detected"``.
        audio: float32 ``[samples]`` mono at 16 kHz (spec §4.3 channel rule; channel 0 otherwise).
        audio_clips: float32 ``[8, 32000]``, eight 2-s clips (spec §4.3); add a channel axis for
            upstream's ``[8, 1, 32000]``.
        frame_indices: the sampled frame numbers (spec §4.1 rule).
        num_video_frames: ``vlen``, the frame count the rule used.
        subtitle: the subtitle given or transcribed (None when neither).
    """

    frames: np.ndarray
    faces: np.ndarray
    face_crops: np.ndarray
    face_found: np.ndarray
    face_source: str
    audio: np.ndarray
    audio_clips: np.ndarray
    frame_indices: list[int] = field(default_factory=list)
    num_video_frames: int = 0
    subtitle: str | None = None
    sample_rate: int = SAMPLE_RATE


def clip_waveform(clip: DecodedClip, audio: str | os.PathLike[str] | None = None) -> np.ndarray:
    """Mono float32 16-kHz audio ``[samples]`` of a clip decoded by :func:`read_clip` (spec §4.3).

    ``audio`` (a separate wav) wins when given; otherwise the track decoded with the frames is used
    (read the clip with ``with_audio=audio is None`` so the track is decoded only when needed).

    Raises:
        MediaError: no separate file and no (non-empty) audio track, naming the video.
    """
    if audio is not None:
        return load_audio(audio)
    if clip.audio is not None:
        return model_audio(clip.audio, clip.audio_rate)
    if not clip.info.has_audio:
        raise MediaError(
            f"{clip.info.path}: the video has no audio track and no separate audio file was given"
        )
    raise MediaError(f"{clip.info.path}: the audio track has no samples")


def load_clip_inputs(
    video: str | os.PathLike[str],
    *,
    n_frames: int = DEFAULT_NUM_FRAMES,
    audio: str | os.PathLike[str] | None = None,
    face_file: str | os.PathLike[str] | None = None,
    subtitle: str | None = None,
    asr: bool = False,
    asr_model: str | None = None,
    language: str | None = None,
    detector: FaceDetector | None = None,
    crop_size: int = DEFAULT_CROP_SIZE,
    threads: int = 0,
) -> ClipInputs:
    """Decode, sample, detect faces, load audio and (optionally) transcribe one clip.

    Args:
        video: the clip (any container/codec FFmpeg reads; non-ASCII paths are fine).
        n_frames: frames to sample (8 for the released models).
        audio: a separate wav (the datasets' pre-extracted audio); default: the video's audio track.
        face_file: an official ``openface_face`` ``.npy``; when given, faces come from it (what the
            checkpoints were trained on) instead of the detector.
        subtitle: the subtitle text; when None and ``asr`` is True it is transcribed.
        asr_model, language: see :func:`ovmer.media.asr.transcribe`.
        detector: a reusable :class:`FaceDetector` (creating one costs ~50 ms).
        crop_size: side of detected face crops (OpenFace's 112 by default).
        threads: FFmpeg decoding threads (0 = automatic; 1 inside worker processes).

    Raises:
        MediaError: unreadable video, no audio anywhere, empty face file… (naming the file).
    """
    video = Path(video)
    clip = read_clip(video, n_frames, with_audio=audio is None, threads=threads)
    sampled, indices, info = clip.frames, clip.indices, clip.info
    frames = clip.model_frames
    if face_file is not None:
        face_path = Path(face_file)
        try:
            face_crops = np.load(face_path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise MediaError(f"{face_path}: cannot read face array ({exc})") from exc
        faces = faces_for_model(face_crops, n_frames, source=str(face_path))
        face_found = np.ones(face_crops.shape[0], dtype=bool)
        face_source = "openface"
    else:
        own = detector is None
        active = detector if detector is not None else FaceDetector(crop_size=crop_size)
        try:
            track = active.track(sampled)
        finally:
            if own:
                active.close()
        face_crops, face_found, face_source = track.crops, track.found, "detected"
        faces = faces_for_model(face_crops, n_frames, source=str(video))
    waveform = clip_waveform(clip, audio)
    if subtitle is None and asr:
        from ovmer.media.asr import transcribe

        subtitle = transcribe(waveform, model=asr_model, language=language)
    return ClipInputs(
        frames=frames,
        faces=faces,
        face_crops=face_crops,
        face_found=face_found,
        face_source=face_source,
        audio=waveform,
        audio_clips=audio_clips(waveform),
        frame_indices=indices,
        num_video_frames=info.num_frames,
        subtitle=subtitle,
    )
