"""Face detection and aligned crops: ovmer's replacement for the OpenFace binary.

Why: the official face model was trained on OpenFace crops stored as ``openface_face/<name>.npy``
(``[N, h, w, 3]`` uint8, **BGR**; spec ``affectgpt-model.md`` §4.2, ``datasets.md`` §2.1). OpenFace is a
Windows/C++ tool; ovmer produces arrays with the same layout and colour order on any machine.

Detector choice (measured, see ``docs/media.md``): MediaPipe 0.10.21 BlazeFace short-range finds the
face in 8/8 sampled frames of the reference clip at ~2 ms per 720×404 frame on one CPU core; the
full-range model (~6 ms) is a fallback for frames where the short-range model finds nothing; OpenCV's
Haar cascade also finds 8/8 but needs ~100 ms per frame and gives no eye landmarks for alignment.

Crops are *similarity-aligned* like OpenFace's output: rotated so the eyes are level, scaled so the
detected face box fills ``1 / margin`` of the crop, ``crop_size × crop_size`` (default 112, the size of
OpenFace's aligned output). This approximates OpenFace; it is not bit-identical to it.

No face in a frame: the box of the nearest frame with a face is reused ("neighbour"); no face in any
frame: a centred square crop of the frame ("centre"). Each frame's source is recorded.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from ovmer.errors import MediaError

#: OpenFace FeatureExtraction's aligned-face size (``-simsize`` default 112).
DEFAULT_CROP_SIZE = 112
#: Face box side × margin = crop side; tuned by eye so crops look like OpenFace's (face fills ~80 %).
DEFAULT_MARGIN = 1.25
#: Model input size of faces after resizing (spec affectgpt-model §4.2).
MODEL_FACE_SIZE = 224


@dataclass(frozen=True)
class Detection:
    """One face in pixel coordinates of the frame it came from."""

    x: float
    y: float
    w: float
    h: float
    score: float
    right_eye: tuple[float, float] | None  # the subject's right eye (left in the image)
    left_eye: tuple[float, float] | None


@dataclass
class FaceTrack:
    """Aligned crops of the main face in each sampled frame.

    ``crops``: uint8 ``[T, s, s, 3]`` in **BGR** (the layout of upstream ``openface_face`` arrays).
    ``found``: bool ``[T]``, True where a detector found a face in that frame.
    ``sources``: per frame ``"short"``, ``"full"`` (the detector model that found it), ``"neighbour"``
    or ``"centre"`` (fallbacks, see the module docstring).
    """

    crops: np.ndarray
    found: np.ndarray
    sources: list[str] = field(default_factory=list)
    boxes: list[Detection | None] = field(default_factory=list)

    @property
    def num_found(self) -> int:
        return int(self.found.sum())


class FaceDetector:
    """MediaPipe BlazeFace (short range, full-range fallback) with OpenFace-like aligned crops.

    One instance per process (MediaPipe graphs are not shareable across processes); use it as a
    context manager or call :meth:`close`.
    """

    def __init__(
        self,
        crop_size: int = DEFAULT_CROP_SIZE,
        margin: float = DEFAULT_MARGIN,
        min_confidence: float = 0.5,
    ) -> None:
        # MediaPipe/TFLite log through glog; keep stderr readable under rich progress bars.
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            import mediapipe as mp
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise MediaError("face detection needs MediaPipe: pip install 'ovmer[media]'") from exc
        self.crop_size = crop_size
        self.margin = margin
        solution = mp.solutions.face_detection
        self._short = solution.FaceDetection(model_selection=0, min_detection_confidence=min_confidence)
        self._full = solution.FaceDetection(model_selection=1, min_detection_confidence=min_confidence)

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the MediaPipe graphs."""
        self._short.close()
        self._full.close()

    def detect(self, rgb: np.ndarray) -> tuple[Detection | None, str]:
        """The main face of an RGB uint8 ``[H, W, 3]`` frame and the model that found it.

        Main face = the detection with the largest ``area × score`` (the speaker is usually the
        largest, most confident face in MER clips).
        """
        for name, graph in (("short", self._short), ("full", self._full)):
            result = graph.process(np.ascontiguousarray(rgb))
            detections = result.detections or []
            if detections:
                height, width = rgb.shape[:2]
                best = max(
                    detections,
                    key=lambda d: (
                        d.location_data.relative_bounding_box.width
                        * d.location_data.relative_bounding_box.height
                        * d.score[0]
                    ),
                )
                box = best.location_data.relative_bounding_box
                points = best.location_data.relative_keypoints
                eyes = (
                    ((points[0].x * width, points[0].y * height), (points[1].x * width, points[1].y * height))
                    if len(points) >= 2
                    else (None, None)
                )
                return (
                    Detection(
                        x=box.xmin * width,
                        y=box.ymin * height,
                        w=box.width * width,
                        h=box.height * height,
                        score=float(best.score[0]),
                        right_eye=eyes[0],
                        left_eye=eyes[1],
                    ),
                    name,
                )
        return None, "none"

    def crop(self, rgb: np.ndarray, detection: Detection | None) -> np.ndarray:
        """Aligned ``crop_size²`` BGR crop around ``detection`` (centred square crop when None)."""
        import cv2

        height, width = rgb.shape[:2]
        size = self.crop_size
        if detection is None:
            side = float(min(height, width))
            centre = (width / 2.0, height / 2.0)
            angle = 0.0
        else:
            side = max(detection.w, detection.h) * self.margin
            centre = (detection.x + detection.w / 2.0, detection.y + detection.h / 2.0)
            angle = 0.0
            if detection.right_eye is not None and detection.left_eye is not None:
                dx = detection.left_eye[0] - detection.right_eye[0]
                dy = detection.left_eye[1] - detection.right_eye[1]
                angle = math.degrees(math.atan2(dy, dx))
        scale = size / max(side, 1.0)
        matrix = cv2.getRotationMatrix2D(centre, angle, scale)
        matrix[0, 2] += size / 2.0 - centre[0]
        matrix[1, 2] += size / 2.0 - centre[1]
        crop = cv2.warpAffine(
            rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        # Swap channels on the small crop, not the full frame: same pixels, a fraction of the cost.
        return cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)

    def track(self, rgb_frames: np.ndarray) -> FaceTrack:
        """Detect and crop the main face in each of ``[T, H, W, 3]`` RGB frames → :class:`FaceTrack`."""
        detections: list[Detection | None] = []
        sources: list[str] = []
        for frame in rgb_frames:
            detection, source = self.detect(frame)
            detections.append(detection)
            sources.append(source)
        found = np.array([d is not None for d in detections], dtype=bool)
        filled = list(detections)
        if found.any():
            hits = np.flatnonzero(found)
            for t in np.flatnonzero(~found):
                nearest = int(hits[np.argmin(np.abs(hits - t))])
                filled[t] = detections[nearest]
                sources[t] = "neighbour"
        else:
            sources = ["centre"] * len(detections)
        crops = np.stack([self.crop(f, d) for f, d in zip(rgb_frames, filled, strict=True)])
        return FaceTrack(crops=crops, found=found, sources=sources, boxes=detections)


def faces_for_model(
    faces: np.ndarray, n: int = 8, size: int = MODEL_FACE_SIZE, *, source: str = "face array"
) -> np.ndarray:
    """Turn an ``openface_face`` array ``[N, h, w, 3]`` into the model's ``[n, size, size, 3]`` input.

    Spec §4.2: every crop resized with ``cv2.resize`` (bilinear default) to 224×224, then the §4.1
    index rule with ``vlen = N``. Channel order is kept (BGR in, BGR out: fidelity mode).

    Raises:
        MediaError: ``N = 0`` or a wrong shape/dtype, naming ``source``.
    """
    import cv2

    from ovmer.media.decode import sample_frame_indices

    if faces.ndim != 4 or faces.shape[-1] != 3:
        raise MediaError(f"{source}: expected a face array [N, h, w, 3], got shape {faces.shape}")
    if faces.shape[0] == 0:
        raise MediaError(f"{source}: face array has N = 0 crops (no face was extracted for this sample)")
    if faces.dtype != np.uint8:
        raise MediaError(f"{source}: face array must be uint8, got {faces.dtype}")
    indices = sample_frame_indices(faces.shape[0], n)
    return np.stack([cv2.resize(faces[i], (size, size)) for i in indices])
