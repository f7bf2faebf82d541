"""Face crops replacing OpenFace: layout [N, h, w, 3] uint8 BGR, found on the real clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ovmer.errors import MediaError
from ovmer.media import FaceDetector, ModelInputs, SampleMedia, build_model_inputs, faces_for_model
from ovmer.media.decode import read_sampled_frames
from ovmer.media.faces import stack_size

pytest.importorskip("mediapipe", reason="face detection needs the [media] extra (MediaPipe)")


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    with FaceDetector() as face_detector:
        yield face_detector  # type: ignore[misc]


def test_real_clip_faces_found_and_bgr(real_clip: Path, detector: FaceDetector) -> None:
    frames, _, _ = read_sampled_frames(real_clip)
    track = detector.track(frames)
    assert track.num_found >= 7, f"face found in only {track.num_found} of 8 frames"
    assert track.crops.shape == (8, 112, 112, 3) and track.crops.dtype == np.uint8
    # BGR like upstream openface_face arrays: skin is red-dominant, so channel 2 (R) > channel 0 (B).
    centre = track.crops[:, 30:80, 30:80].astype(float)
    assert centre[..., 2].mean() > centre[..., 0].mean() + 15
    for box, frame in zip(track.boxes, frames, strict=True):
        if box is not None:  # the face is where the speaker is (right half of the demo frame)
            assert 0.4 * frame.shape[1] < box.x + box.w / 2 < 0.9 * frame.shape[1]
    assert set(track.sources) <= {"short", "full", "neighbour"}


@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [(404, 720, 2), (720, 1280, 2), (480, 640, 1), (720, 404, 1), (200, 1000, 4)],
)
def test_stack_size_keeps_faces_nearly_as_large(height: int, width: int, expected: int) -> None:
    assert stack_size(height, width) == expected


def test_stacked_detection_matches_one_frame_at_a_time(real_clip: Path, detector: FaceDetector) -> None:
    """Two 720×404 frames per call find the same faces, in the right frame, as one call per frame."""
    frames, _, _ = read_sampled_frames(real_clip)
    frames = frames.copy()
    frames[3] = 0  # a frame without a face, stacked with one that has a face
    stacked = detector.detect_many(frames)
    single = [detector.detect(frame) for frame in frames]
    assert [d is None for d, _ in stacked] == [d is None for d, _ in single]
    assert stacked[3] == (None, "none") and stacked[2][0] is not None
    for (a, _), (b, _) in zip(stacked, single, strict=True):
        if a is None or b is None:
            continue
        assert abs(a.w - b.w) < 0.1 * b.w and abs(a.h - b.h) < 0.1 * b.h
        assert abs((a.x + a.w / 2) - (b.x + b.w / 2)) < 0.1 * b.w
        assert abs((a.y + a.h / 2) - (b.y + b.h / 2)) < 0.1 * b.h  # offset back into its own frame
        assert a.right_eye is not None and b.right_eye is not None
        assert np.hypot(a.right_eye[0] - b.right_eye[0], a.right_eye[1] - b.right_eye[1]) < 0.1 * b.w
    plain = FaceDetector(stack_frames=False)
    try:
        assert plain.track(frames).num_found == detector.track(frames).num_found == 7
    finally:
        plain.close()


def test_no_face_falls_back_to_centre_crop(grey_clip: Path, detector: FaceDetector) -> None:
    frames, _, _ = read_sampled_frames(grey_clip)
    track = detector.track(frames)
    assert track.num_found == 0 and track.sources == ["centre"] * 8
    assert track.crops.shape == (8, 112, 112, 3)
    # A centred crop of a flat grey frame is that grey (BGR of grey is grey).
    assert abs(float(track.crops[0].mean()) - float(frames[0].mean())) < 3


def test_faces_for_model_follows_spec_rule() -> None:
    crops = np.stack([np.full((112, 112, 3), 10 * i, dtype=np.uint8) for i in range(3)])
    faces = faces_for_model(crops)
    assert faces.shape == (8, 224, 224, 3) and faces.dtype == np.uint8
    assert [int(f[0, 0, 0]) for f in faces] == [0, 10, 20, 20, 20, 20, 20, 20]


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((0, 112, 112, 3), dtype=np.uint8), "N = 0"),
        (np.zeros((4, 112, 112), dtype=np.uint8), "expected a face array"),
        (np.zeros((4, 112, 112, 3), dtype=np.float32), "uint8"),
    ],
)
def test_faces_for_model_rejects_bad_arrays(array: np.ndarray, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        faces_for_model(array, source="openface_face/x.npy")


def test_builder_on_real_clip(real_clip: Path, real_wav: Path, detector: FaceDetector) -> None:
    media = SampleMedia(video=real_clip, wav=real_wav, subtitle="hello")
    inputs = build_model_inputs(media, "both", detector=detector)
    assert isinstance(inputs, ModelInputs)
    assert inputs.frames is not None and inputs.faces is not None and inputs.face_crops is not None
    assert inputs.frames.shape == (8, 224, 224, 3) and inputs.frames.dtype == np.uint8
    assert inputs.faces.shape == (8, 224, 224, 3) and inputs.faces.dtype == np.uint8
    provenance = inputs.provenance
    assert inputs.face_crops.shape == (8, 112, 112, 3) and provenance.face_source == "mediapipe"
    assert provenance.face_found is not None and sum(provenance.face_found) >= 7
    assert provenance.audio_seconds * 16_000 == pytest.approx(55_357)
    assert (provenance.audio_source, provenance.audio_file) == ("wav", str(real_wav))
    assert inputs.audio.shape == (8, 32_000)
    assert provenance.frame_indices == [0, 11, 22, 33, 44, 55, 66, 77] and provenance.num_source_frames == 88
    assert inputs.subtitle == "hello" and provenance.subtitle_source == "dataset"
    # Frames are RGB, faces BGR: the same skin is red-dominant in channel 0 of frames only.
    assert inputs.faces[:, 80:150, 80:150, 2].mean() > inputs.faces[:, 80:150, 80:150, 0].mean()


def test_builder_uses_official_face_file(grey_clip: Path, tmp_path: Path) -> None:
    official = np.random.default_rng(0).integers(0, 255, (20, 112, 112, 3), dtype=np.uint8)
    face_file = tmp_path / "openface_face" / "grey.npy"
    face_file.parent.mkdir()
    np.save(face_file, official)
    inputs = build_model_inputs(SampleMedia(video=grey_clip, face_array=face_file), "both")
    assert inputs.provenance.face_source == "openface" and inputs.face_crops is not None
    assert inputs.face_crops.shape == (20, 112, 112, 3)
    assert inputs.faces is not None and inputs.faces.shape == (8, 224, 224, 3)
    assert inputs.subtitle is None and inputs.provenance.subtitle_source is None


def test_builder_needs_audio(tmp_path: Path) -> None:
    from tests.synth import write_clip

    clip = write_clip(tmp_path / "mute.mp4", audio=False)
    with pytest.raises(MediaError, match="no audio track") as caught:
        build_model_inputs(SampleMedia(video=clip))
    assert caught.value.stage == "audio"  # type: ignore[attr-defined]


def test_tilted_face_is_levelled_like_openface(real_clip: Path, detector: FaceDetector) -> None:
    import cv2

    frame = read_sampled_frames(real_clip)[0][0]
    height, width = frame.shape[:2]
    tilted = cv2.warpAffine(
        frame, cv2.getRotationMatrix2D((width * 0.64, height * 0.4), 25, 1.0), (width, height)
    )
    detection, _ = detector.detect(tilted)
    assert detection is not None and detection.right_eye is not None and detection.left_eye is not None
    before = np.degrees(
        np.arctan2(
            detection.left_eye[1] - detection.right_eye[1], detection.left_eye[0] - detection.right_eye[0]
        )
    )
    crop_rgb = cv2.cvtColor(cv2.resize(detector.crop(tilted, detection), (448, 448)), cv2.COLOR_BGR2RGB)
    again, _ = detector.detect(crop_rgb)
    assert again is not None and again.right_eye is not None and again.left_eye is not None
    after = np.degrees(
        np.arctan2(again.left_eye[1] - again.right_eye[1], again.left_eye[0] - again.right_eye[0])
    )
    assert abs(before) > 15 and abs(after) < 6  # eyes level after alignment
