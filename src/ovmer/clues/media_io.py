"""Decoding video frames and audio with PyAV (a small stand-in for the shared ``ovmer.media``).

Why here: the clue engine must run on any container ffmpeg reads, on CPU, with no external tools.
Shapes: frames are ``(H, W, 3)`` uint8 RGB; audio is ``(T,)`` float32 mono in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ovmer.errors import InputFormatError


@dataclass
class VideoFrames:
    """Frames sampled at about ``fps`` per second, with their times in seconds."""

    frames: list[np.ndarray]  # each (H, W, 3) uint8 RGB
    times: list[float]
    duration_s: float


def _av():  # type: ignore[no-untyped-def]
    try:
        import av
    except ImportError as exc:
        raise InputFormatError(
            "decoding media needs PyAV: pip install 'ovmer[media]' (or 'ovmer[clues]')"
        ) from exc
    return av


def _open(path: Path):  # type: ignore[no-untyped-def]
    av = _av()

    if not Path(path).is_file():
        raise InputFormatError(f"{path}: media file not found")
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputFormatError(f"{path}: cannot open as audio/video ({exc})") from exc


def read_frames(path: Path, fps: float = 5.0, max_frames: int = 600) -> VideoFrames:
    """Decode the first video stream, keeping about ``fps`` frames per second (at most ``max_frames``).

    5 frames/s is enough for expressions that last a few hundred milliseconds and keeps a 10 s clip
    under a second of face-mesh time on one CPU core. An audio-only file gives no frames.
    """
    container = _open(path)
    with container:
        if not container.streams.video:
            duration = float(container.duration or 0) / 1e6
            return VideoFrames([], [], duration)
        stream = container.streams.video[0]
        frames: list[np.ndarray] = []
        times: list[float] = []
        next_time = 0.0
        last = 0.0
        for frame in container.decode(stream):
            if frame.pts is None or frame.time_base is None:
                continue
            time = float(frame.pts * frame.time_base)
            last = max(last, time)
            if time + 1e-6 < next_time:
                continue
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(time)
            next_time = time + 1.0 / fps
            if len(frames) >= max_frames:
                break
        rate = float(stream.average_rate or 25)
        duration = (
            float(stream.duration * stream.time_base)
            if stream.duration and stream.time_base
            else last + 1 / rate
        )
    return VideoFrames(frames, times, duration)


def read_audio(path: Path, sample_rate: int = 16000) -> np.ndarray:
    """The first audio stream, downmixed to mono and resampled: shape ``(T,)`` float32.

    Returns an empty array when the file has no audio.
    """
    av = _av()
    container = _open(path)
    with container:
        if not container.streams.audio:
            return np.zeros(0, dtype=np.float32)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks: list[np.ndarray] = []
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32)
