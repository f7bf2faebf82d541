"""Face detectors available offline on CPU, compared on every frame of the real demo clip.

Prints ms per frame (best of 3, process pinned to one CPU) and how many frames have a face, for
MediaPipe BlazeFace short/full range and OpenCV's Haar cascade. This is the measurement behind the
detector choice in docs/media.md.

Run: ``.venv/bin/python benchmarks/face_detectors.py [--reference ../shared/reference]``
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def bench(name: str, frames: list[np.ndarray], found: Callable[[np.ndarray], bool]) -> None:
    found(frames[0])  # warm-up (graph/cascade initialisation)
    best, hits = float("inf"), 0
    for _ in range(3):
        start = time.perf_counter()
        hits = sum(1 for frame in frames if found(frame))
        best = min(best, (time.perf_counter() - start) / len(frames))
    print(f"{name:<40}{best * 1000:8.1f} ms/frame   face in {hits}/{len(frames)} frames")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    args = parser.parse_args()
    clip = args.reference / "media" / "sample_00000000.mp4"
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import mediapipe as mp

    with av.open(str(clip)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    print("command: python benchmarks/face_detectors.py")
    print(f"{clip.name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}; one CPU")
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    for selection, name in ((0, "MediaPipe BlazeFace short-range"), (1, "MediaPipe BlazeFace full-range")):
        detector = mp.solutions.face_detection.FaceDetection(
            model_selection=selection, min_detection_confidence=0.5
        )
        bench(name, frames, lambda f, d=detector: bool(d.process(f).detections))
        detector.close()
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    bench(
        "OpenCV Haar (scale 1.1, full res)",
        frames,
        lambda f: (
            len(cascade.detectMultiScale(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), 1.1, 5, minSize=(40, 40))) > 0
        ),
    )
    bench(
        "OpenCV Haar (scale 1.2, half res)",
        frames,
        lambda f: (
            len(
                cascade.detectMultiScale(
                    cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), None, fx=0.5, fy=0.5),
                    1.2,
                    5,
                    minSize=(24, 24),
                )
            )
            > 0
        ),
    )


if __name__ == "__main__":
    main()
