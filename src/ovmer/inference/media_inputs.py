"""Decode what AffectGPT needs from one sample's media (spec affectgpt-model §4).

A small stand-in for the shared ``ovmer.media`` package (frames with PyAV, 16 kHz audio clips, face
crops) behind one function, :func:`load_video_inputs`, so it can be swapped later. Outputs:

- visual: uint8 (8, 224, 224, 3): RGB frames (frame model) or BGR OpenFace crops (face model);
- audio: float32 (8, 32000): eight 2-s clips at 16 kHz, channel 0 after the two-channel mono rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ovmer.errors import MediaError

NUM_FRAMES = 8  # spec §4.1
FRAME_SIZE = 224
SAMPLE_RATE = 16000  # spec §4.3
CLIP_SECONDS = 2
NUM_CLIPS = 8
CLIP_SAMPLES = SAMPLE_RATE * CLIP_SECONDS


@dataclass
class VideoInputs:
    """Decoded inputs of one sample: visual (8, 224, 224, 3) uint8, audio (8, 32000) float32."""

    visual: np.ndarray
    audio: np.ndarray
    visual_kind: str  # "frame" (RGB) or "face" (BGR)
    num_source_frames: int
    audio_seconds: float


def sample_indices(length: int, count: int = NUM_FRAMES) -> list[int]:
    """Upstream's uniform index rule: floor(arange(0, vlen, vlen / n)), last index repeated to ``count``."""
    if length <= 0:
        raise ValueError("cannot sample from an empty sequence")
    n = min(count, length)
    indices = [int(np.floor(x)) for x in np.arange(0, length, length / n)][:n]
    return indices + [indices[-1]] * (count - len(indices))


def read_video_frames(path: str | Path) -> np.ndarray:
    """8 RGB frames (8, 224, 224, 3) uint8, every frame resized to 224×224 directly (no aspect ratio).

    Upstream decodes with decord at 224×224; PyAV's scaler differs slightly (spec §4.1 allows this).
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"video not found: {path}")
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path} has no video stream; AffectGPT needs frames (or use a face array)")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(width=FRAME_SIZE, height=FRAME_SIZE, format="rgb24"))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot decode video {path}: {exc}") from exc
    if not frames:
        raise MediaError(f"{path} has no decodable video frames")
    return np.stack([frames[i] for i in sample_indices(len(frames))])


def read_face_crops(path: str | Path) -> np.ndarray:
    """8 face crops (8, 224, 224, 3) uint8 from an OpenFace ``.npy`` (N, h, w, 3), kept in BGR (spec §4.2)."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise MediaError(
            f"face array not found: {path} (extract faces with OpenFace first, or use the frame model)"
        )
    try:
        faces = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MediaError(f"cannot read face array {path}: {exc}") from exc
    if faces.ndim != 4 or faces.shape[-1] != 3 or faces.dtype != np.uint8:
        raise MediaError(f"{path} must hold uint8 face crops (N, h, w, 3); got {faces.dtype} {faces.shape}")
    if faces.shape[0] == 0:
        raise MediaError(
            f"{path} holds no faces (N = 0); re-run face extraction for this clip or use the frame model"
        )
    chosen = sample_indices(faces.shape[0])
    # Upstream resizes every crop with cv2 bilinear before sampling; resizing only the chosen ones is identical.
    return np.stack([cv2.resize(faces[i], (FRAME_SIZE, FRAME_SIZE)) for i in chosen])


def read_audio(path: str | Path) -> np.ndarray:
    """Waveform (C, N) float32 at 16 kHz from any audio/video file; two channels averaged to mono."""
    import av

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"audio not found: {path}")
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{path} has no audio stream; give a .wav with --audio")
            stream = container.streams.audio[0]
            channels = stream.codec_context.channels
            layout = stream.codec_context.layout.name
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot decode audio of {path}: {exc}") from exc
    if not chunks:
        raise MediaError(f"{path} has no decodable audio")
    wave = np.concatenate(chunks, axis=1).astype(np.float32)  # (C, N)
    if channels == 2:  # only exactly two channels are averaged upstream (spec §4.3)
        wave = wave.mean(axis=0, keepdims=True)
    return wave


def audio_clips(wave: np.ndarray) -> np.ndarray:
    """Eight 2-s clips (8, 32000) from channel 0 of a 16 kHz waveform (C, N) (spec §4.3).

    Clip i starts at i·max(D − 2, 0)/7 s with exact rational arithmetic and truncation, like
    pytorchvideo's ConstantClipsPerVideoSampler; short audio is zero-padded to 2 s first.
    """
    channel = np.asarray(wave, dtype=np.float32)[0]
    if channel.shape[0] < CLIP_SAMPLES:
        channel = np.pad(channel, (0, CLIP_SAMPLES - channel.shape[0]))
    duration = channel.shape[0] / SAMPLE_RATE
    span = Fraction(max(duration - CLIP_SECONDS, 0.0))
    clips = []
    for i in range(NUM_CLIPS):
        start = int(i * span / (NUM_CLIPS - 1) * SAMPLE_RATE)
        clips.append(channel[start : start + CLIP_SAMPLES])
    return np.stack(clips)


def clip_ranges(num_samples: int) -> list[tuple[int, int]]:
    """(start, end) sample ranges of the eight clips for audio of ``num_samples`` samples."""
    padded = max(num_samples, CLIP_SAMPLES)
    span = Fraction(max(padded / SAMPLE_RATE - CLIP_SECONDS, 0.0))
    starts = [int(i * span / (NUM_CLIPS - 1) * SAMPLE_RATE) for i in range(NUM_CLIPS)]
    return [(s, s + CLIP_SAMPLES) for s in starts]


def load_video_inputs(
    video: str | Path | None,
    *,
    visual_kind: str = "frame",
    audio: str | Path | None = None,
    faces: str | Path | None = None,
) -> VideoInputs:
    """Everything AffectGPT reads for one sample.

    ``audio`` defaults to ``<video stem>.wav`` beside the video when it exists (the pre-extracted
    track upstream reads), else the video's own audio stream. ``faces`` is the OpenFace ``.npy``
    required by the face model.
    """
    if visual_kind == "face":
        if faces is None:
            raise MediaError(
                f"the face model needs OpenFace face crops (.npy) for {video}; pass --faces FILE or use "
                "the frame model (affectgpt-frame) for raw videos"
            )
        visual = read_face_crops(faces)
        num_frames = int(np.load(faces, mmap_mode="r").shape[0])
    elif visual_kind == "frame":
        if video is None:
            raise MediaError("the frame model needs a video file")
        visual = read_video_frames(video)
        num_frames = -1
    else:
        raise MediaError(f"unknown visual input {visual_kind!r}")
    audio_path: Path | None = Path(audio) if audio is not None else None
    if audio_path is None and video is not None:
        sibling = Path(video).with_suffix(".wav")
        audio_path = sibling if sibling.is_file() else Path(video)
    if audio_path is None:
        raise MediaError("no audio source: pass a video with an audio stream or --audio FILE.wav")
    wave = read_audio(audio_path)
    return VideoInputs(
        visual=visual,
        audio=audio_clips(wave),
        visual_kind=visual_kind,
        num_source_frames=num_frames,
        audio_seconds=wave.shape[1] / SAMPLE_RATE,
    )
