"""Clips synthesized with PyAV for tests: every edge case the media pipeline must survive.

Frame ``i`` of a synthesized video is a flat grey of value ``grey(i)`` so tests can tell which frames
were sampled after lossy encoding.
"""

from __future__ import annotations

import fractions
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av", reason="synthesizing media needs the [media] extra (PyAV)")


def grey(i: int) -> int:
    """Pixel value of frame ``i`` (distinct for the first 100 frames, steps of 2)."""
    return (20 + 2 * i) % 230


def write_clip(
    path: Path,
    *,
    seconds: float = 1.0,
    fps: int = 25,
    width: int = 64,
    height: int = 48,
    video: bool = True,
    audio: bool = True,
    audio_rate: int = 44_100,
    channels: int = 2,
    vfr: bool = False,
    codec: str = "libx264",
    tone_hz: float = 440.0,
) -> Path:
    """Write a clip; ``vfr`` gives irregular frame durations (1 or 3 ticks of 1/``fps`` s)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n_frames = round(seconds * fps)
    with av.open(str(path), "w") as container:
        vstream = None
        if video:
            vstream = container.add_stream(codec, rate=fps)
            vstream.width, vstream.height, vstream.pix_fmt = width, height, "yuv420p"
            if vfr:
                vstream.codec_context.time_base = fractions.Fraction(1, fps * 2)
        astream = None
        if audio:
            astream = container.add_stream("aac", rate=audio_rate)
            astream.layout = "stereo" if channels == 2 else "mono"
        if vstream is not None:
            pts = 0
            for i in range(n_frames):
                image = np.full((height, width, 3), grey(i), dtype=np.uint8)
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                if vfr:
                    frame.pts = pts
                    frame.time_base = fractions.Fraction(1, fps * 2)
                    pts += 1 if i % 2 == 0 else 3
                for packet in vstream.encode(frame):
                    container.mux(packet)
            for packet in vstream.encode():
                container.mux(packet)
        if astream is not None:
            total = int(seconds * audio_rate)
            t = np.arange(total) / audio_rate
            wave = (0.3 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
            data = np.tile(wave, (channels, 1))
            step = 1024
            for start in range(0, total, step):
                chunk = np.ascontiguousarray(data[:, start : start + step])
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=astream.layout.name)
                frame.sample_rate = audio_rate
                frame.pts = start
                for packet in astream.encode(frame):
                    container.mux(packet)
            for packet in astream.encode():
                container.mux(packet)
    return path


def write_wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> Path:
    """Write float samples ``[channels, n]`` in [-1, 1] as 16-bit PCM wav."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype(np.int16)
    channels = pcm.shape[0]
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=rate)
        stream.layout = "stereo" if channels == 2 else "mono"
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm.T.reshape(1, -1)), format="s16", layout=stream.layout.name
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_zero_frame_video(path: Path) -> Path:
    """An MP4 with a video stream header and no frames."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    return path
