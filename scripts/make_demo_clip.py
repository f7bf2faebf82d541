"""Regenerate ``src/ovmer/clues/demo/demo_clip.mp4``, the clip ``make demo`` describes.

How the clip is made (see docs/demo.md):

* face: ``astronaut.png`` from the scikit-image wheel — NASA photograph of Eileen Collins,
  public domain ("No known copyright restrictions, released into the public domain", skimage docs);
* expression: the still photo is animated here — MediaPipe face-mesh landmarks locate the mouth
  corners, and a smooth displacement field lifts and widens them during the second half of the
  clip (a smile), with a slight head sway;
* speech: espeak-ng (Debian package ``espeak-ng``, GPL-3 program; its output is not covered),
  a cheerful English sentence at 16 kHz;
* encoding: PyAV, H.264 + AAC.

Run (needs ``apt-get install espeak-ng`` and the scikit-image wheel, nothing else):

    pip download --no-deps scikit-image -d /tmp/skimage
    .venv/bin/python scripts/make_demo_clip.py --face-wheel /tmp/skimage/scikit_image-*.whl
"""

from __future__ import annotations

import argparse
import glob
import io
import subprocess
import tempfile
import wave
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "ovmer" / "clues" / "demo" / "demo_clip.mp4"
TEXT = "Oh, I am so happy to see you again! This is wonderful news. Thank you so much."
FPS = 25
SIZE = 384  # output frame side, pixels


def load_face(wheel: str | None) -> np.ndarray:
    import cv2

    if wheel:
        path = sorted(glob.glob(wheel))[-1]
        with zipfile.ZipFile(path) as archive:
            data = archive.read("skimage/data/astronaut.png")
    else:
        from importlib import resources

        data = resources.files("skimage.data").joinpath("astronaut.png").read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]  # RGB (512, 512, 3)
    crop = image[10:330, 60:380]  # the face and shoulders
    return cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def speech(text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en-us+f3", "-s", "150", "-w", str(wav), text], check=True)
        with wave.open(str(wav)) as handle:
            rate = handle.getframerate()
            samples = (
                np.frombuffer(handle.readframes(handle.getnframes()), np.int16).astype(np.float32) / 32768
            )
    # resample to 16 kHz by linear interpolation (espeak-ng writes 22.05 kHz)
    target = int(len(samples) * 16000 / rate)
    return np.interp(np.linspace(0, len(samples) - 1, target), np.arange(len(samples)), samples).astype(
        np.float32
    )


def landmarks(image: np.ndarray) -> np.ndarray:
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
        found = mesh.process(image)
    if not found.multi_face_landmarks:
        raise SystemExit("no face found in the demo image")
    return np.array([(p.x * SIZE, p.y * SIZE) for p in found.multi_face_landmarks[0].landmark])


def smile_field(points: np.ndarray, amount: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse sampling maps lifting and widening the mouth corners by ``amount`` in [0, 1]."""
    scale = float(np.hypot(*(points[33] - points[263])))
    grid_y, grid_x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    map_x, map_y = grid_x.copy(), grid_y.copy()
    centre = (points[61] + points[291]) / 2
    for corner in (61, 291):
        cx, cy = points[corner]
        outward = np.sign(cx - centre[0])
        dx, dy = outward * 0.09 * scale * amount, -0.07 * scale * amount
        weight = np.exp(-((grid_x - cx) ** 2 + (grid_y - cy) ** 2) / (2 * (0.16 * scale) ** 2))
        map_x -= dx * weight
        map_y -= dy * weight
    return map_x, map_y


def main() -> None:
    import av
    import cv2

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--face-wheel", help="path (glob) of a scikit-image wheel holding astronaut.png")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    face = load_face(args.face_wheel)
    points = landmarks(face)
    audio = speech(TEXT)
    lead = int(0.3 * 16000)
    audio = np.concatenate([np.zeros(lead, np.float32), audio, np.zeros(lead, np.float32)])
    duration = len(audio) / 16000
    frames = int(duration * FPS)

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width = video.height = SIZE
        video.pix_fmt = "yuv420p"
        video.options = {"crf": "28", "preset": "veryslow"}
        sound = container.add_stream("aac", rate=16000)
        sound.layout = "mono"
        sound.bit_rate = 32000
        for index in range(frames):
            t = index / frames
            amount = float(np.clip((t - 0.3) / 0.15, 0, 1))  # neutral, then a smile from 30 % to 45 %
            map_x, map_y = smile_field(points, amount)
            shift = 2.5 * np.sin(2 * np.pi * index / (2.5 * FPS))  # gentle sway, a few pixels
            map_x = map_x + np.float32(shift)
            frame = cv2.remap(face, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        block = 1024
        for start in range(0, len(audio), block):
            chunk = audio[start : start + block].reshape(1, -1)
            audio_frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            audio_frame.sample_rate = 16000
            audio_frame.pts = start
            audio_frame.time_base = Fraction(1, 16000)
            for packet in sound.encode(audio_frame):
                container.mux(packet)
        for packet in sound.encode():
            container.mux(packet)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(buffer.getvalue())
    print(f"wrote {args.out} ({len(buffer.getvalue()) / 1024:.0f} KiB, {duration:.2f} s)")


if __name__ == "__main__":
    main()
