"""Facial cues over time from MediaPipe face-mesh landmarks (the model ships inside ``mediapipe``).

Per frame, geometric measures normalised by the distance between the outer eye corners
(landmarks 33 and 263), so they do not depend on image size or distance to the camera:

* ``mouth_width`` (61–291) and ``lip_corner_lift`` (mouth centre y − mean corner y): a smile widens
  the mouth and lifts the corners;
* ``mouth_opening`` (13–14, inner lips);
* ``brow_height`` (brow 105/334 to upper eyelid 159/386) and ``brow_gap`` (inner brows 55–285):
  raised brows lift, a frown lowers and draws them together;
* ``eye_opening``: eyelid gap over eye width (159–145 / 33–133, and the right eye), averaged;
* ``nose`` position, for head movement.

Cue rules (thresholds chosen on frontal faces; a frame counts when the measure crosses them):

=============== ==========================================================================
smiling         mouth_width > 0.58 and lip_corner_lift > -0.005
frowning        brow_gap < 0.22 or brow_height < 0.16
raised brows    brow_height > 0.34
eyes wide       eye_opening > 0.38;  eyes narrowed: eye_opening < 0.15
mouth open      mouth_opening > 0.2
head movement   std of the nose position over the clip > 0.12 (× eye-corner distance)
=============== ==========================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ovmer.errors import OvmerError
from ovmer.media.faces import quiet_native_stderr

THRESHOLDS = {
    "smile_mouth_width": 0.58,
    "smile_corner_lift": -0.005,
    "frown_brow_gap": 0.22,
    "frown_brow_height": 0.16,
    "raised_brow_height": 0.34,
    "eyes_wide": 0.38,
    "eyes_narrow": 0.15,
    "mouth_open": 0.2,
    "head_movement": 0.12,
}
#: A cue is reported when it is active in at least this fraction of the frames with a face.
ACTIVE_FRACTION = 0.2


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.hypot(*(a - b)))


def frame_measures(points: np.ndarray) -> dict[str, float]:
    """Measures of one face; ``points`` is ``(478, 2)`` pixel coordinates of the face mesh."""
    scale = _distance(points[33], points[263]) or 1.0
    mouth_centre_y = (points[13][1] + points[14][1]) / 2
    corners_y = (points[61][1] + points[291][1]) / 2
    left_eye = _distance(points[159], points[145]) / (_distance(points[33], points[133]) or 1.0)
    right_eye = _distance(points[386], points[374]) / (_distance(points[362], points[263]) or 1.0)
    return {
        "mouth_width": _distance(points[61], points[291]) / scale,
        "lip_corner_lift": (mouth_centre_y - corners_y) / scale,
        "mouth_opening": _distance(points[13], points[14]) / scale,
        "brow_height": (_distance(points[105], points[159]) + _distance(points[334], points[386]))
        / 2
        / scale,
        "brow_gap": _distance(points[55], points[285]) / scale,
        "eye_opening": (left_eye + right_eye) / 2,
        "nose_x": float(points[1][0]) / scale,
        "nose_y": float(points[1][1]) / scale,
    }


def detect_landmarks(frames: Sequence[np.ndarray]) -> list[np.ndarray | None]:
    """Face-mesh landmarks per frame: ``(478, 2)`` pixel coordinates, or ``None`` without a face."""
    with quiet_native_stderr():
        return _detect_landmarks(frames)


def _detect_landmarks(frames: Sequence[np.ndarray]) -> list[np.ndarray | None]:
    try:
        import mediapipe as mp
    except ImportError as exc:
        raise OvmerError("facial cues need MediaPipe: pip install 'ovmer[clues]'") from exc

    results: list[np.ndarray | None] = []
    with mp.solutions.face_mesh.FaceMesh(
        static_image_mode=False, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.5
    ) as mesh:
        for frame in frames:
            height, width = frame.shape[:2]
            found = mesh.process(np.ascontiguousarray(frame))
            if not found.multi_face_landmarks:
                results.append(None)
                continue
            landmarks = found.multi_face_landmarks[0].landmark
            results.append(np.array([(p.x * width, p.y * height) for p in landmarks], dtype=np.float64))
    return results


def _segments(active: list[bool], times: list[float]) -> list[list[float]]:
    """Runs of active frames as ``[start_s, end_s]``."""
    spans: list[list[float]] = []
    start = None
    for flag, time in zip([*active, False], [*times, times[-1] if times else 0.0], strict=True):
        if flag and start is None:
            start = time
        elif not flag and start is not None:
            spans.append([round(start, 2), round(time, 2)])
            start = None
    return spans


def facial_cues(frames: Sequence[np.ndarray], times: Sequence[float]) -> dict[str, Any]:
    """Summarise facial cues over a clip.

    Returns a JSON-ready dict: ``frames``, ``face_frames``, per-cue ``{"fraction", "segments"}`` for
    ``smiling``, ``frowning``, ``raised_brows``, ``eyes_wide``, ``eyes_narrowed``, ``mouth_open``,
    ``head_movement`` (``{"amount", "active"}``), the mean of every measure, and ``active``: the
    cues present in at least ``ACTIVE_FRACTION`` of the face frames.
    """
    landmarks = detect_landmarks(frames)
    measured = [(t, frame_measures(p)) for t, p in zip(times, landmarks, strict=True) if p is not None]
    summary: dict[str, Any] = {"frames": len(frames), "face_frames": len(measured)}
    if not measured:
        summary["active"] = []
        return summary
    face_times = [t for t, _ in measured]
    m = [x for _, x in measured]
    t = THRESHOLDS
    flags = {
        "smiling": [
            x["mouth_width"] > t["smile_mouth_width"] and x["lip_corner_lift"] > t["smile_corner_lift"]
            for x in m
        ],
        "frowning": [
            x["brow_gap"] < t["frown_brow_gap"] or x["brow_height"] < t["frown_brow_height"] for x in m
        ],
        "raised_brows": [x["brow_height"] > t["raised_brow_height"] for x in m],
        "eyes_wide": [x["eye_opening"] > t["eyes_wide"] for x in m],
        "eyes_narrowed": [x["eye_opening"] < t["eyes_narrow"] for x in m],
        "mouth_open": [x["mouth_opening"] > t["mouth_open"] for x in m],
    }
    active = []
    for cue, values in flags.items():
        fraction = float(np.mean(values))
        summary[cue] = {"fraction": round(fraction, 3), "segments": _segments(values, face_times)}
        if fraction >= ACTIVE_FRACTION:
            active.append(cue)
    nose = np.array([[x["nose_x"], x["nose_y"]] for x in m])
    movement = float(np.sqrt(nose.var(axis=0).sum())) if len(nose) > 1 else 0.0
    summary["head_movement"] = {"amount": round(movement, 3), "active": movement > t["head_movement"]}
    if movement > t["head_movement"]:
        active.append("head_movement")
    summary["means"] = {
        k: round(float(np.mean([x[k] for x in m])), 4) for k in m[0] if not k.startswith("nose")
    }
    summary["active"] = active
    return summary
