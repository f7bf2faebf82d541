"""Talking-face clips for the active-speaker check, synthesised from the project's demo clip.

Used by the tests and by ``benchmarks/speaker_threshold.py``, which measures the check's threshold
(docs/annotate.md, 'Active speaker'), like :mod:`ovmer.train.synthetic` for training.

The demo clip (``src/ovmer/clues/demo/demo_clip.mp4``, docs/demo.md) is a public-domain face with
synthetic speech whose lips do not move. From a stretch of it this module writes three kinds of clip:

* ``speech`` — the lower lip and jaw are pulled down by a displacement field in time with the
  speech's loudness envelope: the visible person says the words;
* ``still`` — the same frames and sound, lips untouched: someone off screen speaks;
* ``offbeat`` — the lips move with the envelope of another stretch of the speech: the visible person
  talks, but not the words we hear (a dubbed or mismatched clip).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DEMO = Path(__file__).resolve().parents[1] / "clues" / "demo" / "demo_clip.mp4"
FPS = 25
RATE = 16_000
SIZE = 192


def _source() -> tuple[list[np.ndarray], np.ndarray]:
    import cv2

    from ovmer.media.audio import load_audio
    from ovmer.media.decode import read_frames_at_rate

    frames = read_frames_at_rate(DEMO, fps=FPS).frames
    return [cv2.resize(f, (SIZE, SIZE), interpolation=cv2.INTER_AREA) for f in frames], load_audio(DEMO)


def envelope(audio: np.ndarray, n_frames: int, start: float) -> np.ndarray:
    """Loudness per video frame in [0, 1]: RMS over 80 ms around each frame time, over its maximum."""
    half = int(0.04 * RATE)
    times = start + np.arange(n_frames) / FPS
    rms = np.array(
        [
            np.sqrt(np.mean(audio[max(0, int(t * RATE) - half) : int(t * RATE) + half] ** 2) + 1e-12)
            for t in times
        ]
    )
    return np.clip(rms / (rms.max() or 1.0), 0.0, 1.0)


def _jaw_field(points: np.ndarray, amount: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse sampling maps opening the mouth by ``amount`` in [0, 1]: the lower lip and chin move down."""
    scale = float(np.hypot(*(points[33] - points[263])))
    grid_y, grid_x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    lip_x, lip_y = points[17]
    mouth_y = (points[13][1] + points[14][1]) / 2
    below = 1.0 / (1.0 + np.exp(-(grid_y - mouth_y) / 1.5))
    weight = np.exp(
        -((grid_x - lip_x) ** 2) / (2 * (0.35 * scale) ** 2)
        - ((grid_y - lip_y) ** 2) / (2 * (0.5 * scale) ** 2)
    )
    return grid_x, grid_y - 0.18 * scale * amount * weight * below


def write_talking_clip(path: Path, kind: str, *, start: float = 0.5, seconds: float = 3.0) -> Path:
    """Write a ``kind`` clip (``speech``, ``still`` or ``offbeat``) of the demo's stretch from ``start``."""
    import cv2

    from ovmer.clues.face import detect_landmarks

    frames, audio = _source()
    first = int(start * FPS)
    n = int(seconds * FPS)
    clip = frames[first : first + n]
    sound = audio[int(start * RATE) : int(start * RATE) + int(seconds * RATE)]
    if kind == "speech":
        amounts = envelope(audio, n, start)
    elif kind == "offbeat":
        other = (start + 2.3) % max(0.1, len(audio) / RATE - seconds)
        amounts = envelope(audio, n, other)
    else:
        amounts = np.zeros(n)
    points = detect_landmarks(clip)
    out = []
    for frame, mesh, amount in zip(clip, points, amounts, strict=True):
        if mesh is None or amount <= 0.05:
            out.append(frame)
            continue
        map_x, map_y = _jaw_field(mesh, float(amount))
        out.append(
            cv2.remap(frame, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        )
    return _write(path, out, sound)


def _write(path: Path, frames: list[np.ndarray], sound: np.ndarray) -> Path:
    """H.264 video at 25 fps and mono AAC at 16 kHz, by PyAV."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("libx264", rate=FPS)
        vstream.width, vstream.height, vstream.pix_fmt = SIZE, SIZE, "yuv420p"
        astream = container.add_stream("aac", rate=RATE)
        astream.layout = "mono"
        for image in frames:
            for packet in vstream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in vstream.encode():
            container.mux(packet)
        data = sound.astype(np.float32)[None, :]
        for begin in range(0, data.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(data[:, begin : begin + 1024]), format="fltp", layout="mono"
            )
            frame.sample_rate = RATE
            frame.pts = begin
            for packet in astream.encode(frame):
                container.mux(packet)
        for packet in astream.encode():
            container.mux(packet)
    return path
