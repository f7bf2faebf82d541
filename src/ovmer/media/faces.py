"""Face detection and aligned crops: ovmer's replacement for the OpenFace binary.

Why: the official face model was trained on OpenFace crops stored as ``openface_face/<name>.npy``
(``[N, h, w, 3]`` uint8, **BGR**; docs/media.md, 'Faces', and docs/datasets.md, 'Upstream file facts').
OpenFace is a Windows/C++ tool; ovmer produces arrays with the same layout and colour order on any machine.

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

import contextlib
import logging
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ovmer.errors import MediaError

#: OpenFace FeatureExtraction's aligned-face size (``-simsize`` default 112).
DEFAULT_CROP_SIZE = 112
#: Face box side × margin = crop side; tuned by eye so crops look like OpenFace's (face fills ~80 %).
DEFAULT_MARGIN = 1.25
#: Model input size of faces after resizing (docs/media.md, 'Faces').
MODEL_FACE_SIZE = 224
#: Stacking frames for one detector call may shrink faces in the model input by at most this much.
MAX_STACK_SHRINK = 0.15


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
        stack_frames: bool = True,
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
        self.stack_frames = stack_frames  # several wide frames per detector call (detect_many)
        solution = mp.solutions.face_detection
        with quiet_native_stderr():
            self._short = solution.FaceDetection(model_selection=0, min_detection_confidence=min_confidence)
            self._full = solution.FaceDetection(model_selection=1, min_detection_confidence=min_confidence)
            # The TFLite delegate and absl lines are written when a graph first runs, not when it is
            # built: run each once on a blank frame while stderr is quiet.
            blank = np.zeros((64, 64, 3), dtype=np.uint8)
            self._short.process(blank)
            self._full.process(blank)

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
            found = _main_faces(graph.process(np.ascontiguousarray(rgb)).detections, rgb.shape, 1)[0]
            if found is not None:
                return found, name
        return None, "none"

    def detect_many(self, rgb_frames: np.ndarray) -> list[tuple[Detection | None, str]]:
        """:meth:`detect` for each of ``[T, H, W, 3]`` frames, several frames per detector call.

        Why: MediaPipe's cost is per call (a 128×128 model input plus graph overhead, ~2 ms), not per
        pixel. Frames much wider than tall are stacked vertically, ``k`` per call, when the stack
        shrinks faces in the model input by at most :data:`MAX_STACK_SHRINK` (16:9 frames: 2 per call,
        11 % smaller; 4:3 and portrait frames: 1). Frames where the stack finds no face are retried
        alone with the short- then full-range model, so stacking never loses a face ``detect`` finds.
        """
        if len(rgb_frames) == 0:
            return []
        height, width = rgb_frames.shape[1:3]
        per_call = stack_size(height, width)
        if per_call == 1:
            return [self.detect(frame) for frame in rgb_frames]
        results: list[tuple[Detection | None, str]] = []
        for start in range(0, len(rgb_frames), per_call):
            group = rgb_frames[start : start + per_call]
            stacked = np.ascontiguousarray(np.concatenate(list(group), axis=0))
            found = _main_faces(self._short.process(stacked).detections, stacked.shape, len(group))
            for frame, detection in zip(group, found, strict=True):
                results.append((detection, "short") if detection is not None else self.detect(frame))
        return results

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
        pairs = self.detect_many(rgb_frames) if self.stack_frames else [self.detect(f) for f in rgb_frames]
        detections = [d for d, _ in pairs]
        sources = [source for _, source in pairs]
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


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what MediaPipe/TFLite write straight to file descriptor 2 while the block runs.

    Their native absl/glog lines (``INFO: Created TensorFlow Lite XNNPACK delegate``, ``W0000 …
    inference_feedback_manager …``) ignore Python logging and ``GLOG_minloglevel``; they would clutter
    ``ovmer prepare`` and ``describe``. ``--verbose`` (ovmer logging at DEBUG) keeps them. Python
    exceptions still propagate; only fd 2 is redirected, so keep the block short.
    """
    if logging.getLogger("ovmer").isEnabledFor(logging.DEBUG):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (some embedded runners)
        yield
        return
    try:
        sys.stderr.flush()
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def stack_size(height: int, width: int, limit: int = 4) -> int:
    """How many ``height × width`` frames :meth:`FaceDetector.detect_many` stacks per call.

    The largest ``k ≤ limit`` whose vertical stack (``k·height × width``) is letterboxed into the
    square model input at no less than ``1 − MAX_STACK_SHRINK`` of a single frame's scale.
    """
    single = max(height, width)
    k = 1
    while k < limit and max((k + 1) * height, width) * (1.0 - MAX_STACK_SHRINK) <= single:
        k += 1
    return k


def _main_faces(detections: list[Any] | None, shape: tuple[int, ...], bands: int) -> list[Detection | None]:
    """The main face (largest ``area × score``) of each of ``bands`` equal horizontal bands.

    ``shape`` is the (stacked) image's; a detection belongs to the band of its box centre and is
    returned in the pixel coordinates of that band's own frame.
    """
    height, width = shape[0], shape[1]
    band = height / bands
    best: list[tuple[float, Any] | None] = [None] * bands
    for d in detections or []:
        box = d.location_data.relative_bounding_box
        index = min(bands - 1, max(0, int((box.ymin + box.height / 2) * height // band)))
        key = box.width * box.height * d.score[0]
        current = best[index]
        if current is None or key > current[0]:
            best[index] = (key, d)
    out: list[Detection | None] = []
    for index, chosen in enumerate(best):
        if chosen is None:
            out.append(None)
            continue
        d = chosen[1]
        box = d.location_data.relative_bounding_box
        points = d.location_data.relative_keypoints
        offset = index * band
        eyes = (
            [(p.x * width, p.y * height - offset) for p in points[:2]] if len(points) >= 2 else [None, None]
        )
        out.append(
            Detection(
                x=box.xmin * width,
                y=box.ymin * height - offset,
                w=box.width * width,
                h=box.height * height,
                score=float(d.score[0]),
                right_eye=eyes[0],  # the subject's right eye (left in the image)
                left_eye=eyes[1],
            )
        )
    return out


def check_face_array(faces: np.ndarray, source: str = "face array") -> None:
    """Raise a :class:`MediaError` naming ``source`` unless ``faces`` is a uint8 ``[N, h, w, 3]``, N > 0."""
    if faces.ndim != 4 or faces.shape[-1] != 3:
        raise MediaError(f"{source}: expected a face array [N, h, w, 3], got shape {faces.shape}")
    if faces.shape[0] == 0:
        raise MediaError(f"{source}: face array has N = 0 crops (no face was extracted for this sample)")
    if faces.dtype != np.uint8:
        raise MediaError(f"{source}: face array must be uint8, got {faces.dtype}")


def faces_for_model(
    faces: np.ndarray, n: int = 8, size: int = MODEL_FACE_SIZE, *, source: str = "face array"
) -> np.ndarray:
    """Turn an ``openface_face`` array ``[N, h, w, 3]`` into the model's ``[n, size, size, 3]`` input.

    As upstream (docs/media.md, 'Faces'): every crop resized with ``cv2.resize`` (bilinear default) to
    224×224, then the frame index rule with ``vlen = N``. Channel order is kept (BGR in, BGR out: fidelity
    mode).

    Raises:
        MediaError: ``N = 0`` or a wrong shape/dtype, naming ``source``.
    """
    import cv2

    from ovmer.media.decode import sample_frame_indices

    check_face_array(faces, source)
    indices = sample_frame_indices(faces.shape[0], n)
    return np.stack([cv2.resize(faces[i], (size, size)) for i in indices])
