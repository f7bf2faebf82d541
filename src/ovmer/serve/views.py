"""The sampled frames and face crops as the model sees them, for the page (``views=true``).

They come from the one inputs builder (:func:`ovmer.media.inputs.build_model_inputs`, frames and
MediaPipe faces), so the page shows exactly what a frame or face model reads: T = 8 frames of
224×224 and the 8 face inputs of 224×224, sent inline as JPEG ``data:`` URLs (about 10 KB each), so
there is nothing to fetch later and nothing kept on the server after the answer.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np

#: JPEG quality of the views: small enough to send inline, clear enough to judge a crop.
JPEG_QUALITY = 80


def jpeg_data_url(image: np.ndarray, *, bgr: bool) -> str:
    """One uint8 ``(H, W, 3)`` image (RGB, or BGR when ``bgr``) as a ``data:image/jpeg;base64,`` URL."""
    import cv2

    ok, encoded = cv2.imencode(
        ".jpg", image if bgr else image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:  # cv2 refuses only malformed arrays, which the inputs builder never makes
        raise ValueError(f"cannot encode an image of shape {image.shape}")
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def model_input_views(video: Path, audio: Path | None) -> dict[str, Any]:
    """``{"frames": [8 data URLs], "faces": [8 data URLs], "face_found": [8 bools],
    "frame_indices": [8 ints]}`` for one clip (frames RGB, faces BGR as the face model reads them)."""
    from ovmer.media.inputs import SampleMedia, build_model_inputs

    inputs = build_model_inputs(
        SampleMedia(name=video.stem, video=video, wav=audio), "both", faces="detect", threads=1
    )
    frames = inputs.frames if inputs.frames is not None else np.zeros((0, 1, 1, 3), np.uint8)
    faces = inputs.faces if inputs.faces is not None else np.zeros((0, 1, 1, 3), np.uint8)
    return {
        "frames": [jpeg_data_url(frame, bgr=False) for frame in frames],
        "faces": [jpeg_data_url(face, bgr=True) for face in faces],
        "face_found": inputs.provenance.face_found or [],
        "frame_indices": inputs.provenance.frame_indices,
    }
