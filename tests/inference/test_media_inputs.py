"""AffectGPT's inputs from ``ovmer.media`` (spec affectgpt-model §4): synthesized clips and the demo clip.

The decoding primitives are tested in ``tests/media``; these tests check what the *model* is fed:
which primitive each variant uses, frame order and colour order, audio clips, faces (official array
or detected), and frames against decord, upstream's decoder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ovmer.errors import MediaError
from ovmer.inference.media_inputs import FaceDetectors, load_video_inputs, sibling_wav
from ovmer.media import load_audio, sample_frame_indices
from tests.models.helpers import write_clip, write_wav

pytest.importorskip("av", reason="inference inputs need the [media] extra (PyAV)")


def test_frames_are_rgb_and_uniformly_sampled(tmp_path: Path) -> None:
    colors = [(200, 0, 0)] * 4 + [(0, 200, 0)] * 4 + [(0, 0, 200)] * 8  # 16 frames
    inputs = load_video_inputs(write_clip(tmp_path / "c.mp4", colors))
    assert inputs.visual.shape == (8, 224, 224, 3) and inputs.visual.dtype == np.uint8
    # indices 0, 2, …, 14 -> red, red, green, green, blue × 4; channel 0 is red (RGB order)
    assert [int(np.argmax(f[100, 100])) for f in inputs.visual] == [0, 0, 1, 1, 2, 2, 2, 2]
    assert inputs.num_source_frames == 16 and inputs.face_source is None
    assert inputs.audio.shape == (8, 32000) and inputs.audio.dtype == np.float32
    assert inputs.audio_seconds == pytest.approx(1.5, abs=0.15)  # the video's AAC track (priming samples)


def test_official_face_array_keeps_bgr_and_needs_no_video(tmp_path: Path) -> None:
    faces = np.zeros((3, 112, 112, 3), np.uint8)
    faces[:, :, :, 0] = np.arange(3)[:, None, None] * 50 + 10  # channel 0 (blue) tags the crop
    np.save(tmp_path / "f.npy", faces)
    wav = write_wav(tmp_path / "a.wav", 0.1 * np.ones(40000))
    inputs = load_video_inputs(None, visual_kind="face", faces=tmp_path / "f.npy", audio=wav)
    assert inputs.visual.shape == (8, 224, 224, 3) and inputs.face_source == "openface"
    assert [int(c[5, 5, 0]) for c in inputs.visual] == [10, 60, 110, 110, 110, 110, 110, 110]
    assert int(inputs.visual[..., 2].max()) == 0  # no BGR->RGB swap (spec §4.2)
    assert inputs.num_source_frames == 3 and inputs.audio_seconds == pytest.approx(2.5)


def test_face_and_audio_errors_name_the_file(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "a.wav", np.zeros(16000))
    np.save(tmp_path / "empty.npy", np.zeros((0, 112, 112, 3), np.uint8))
    with pytest.raises(MediaError, match=r"empty\.npy.*N = 0"):
        load_video_inputs(None, visual_kind="face", faces=tmp_path / "empty.npy", audio=wav)
    with pytest.raises(MediaError, match=r"missing\.npy.*MediaPipe"):
        load_video_inputs(None, visual_kind="face", faces=tmp_path / "missing.npy", audio=wav)
    with pytest.raises(MediaError, match="needs a video file"):
        load_video_inputs(None, visual_kind="face")
    silent = write_clip(tmp_path / "silent.mp4", [(1, 2, 3)] * 4, audio_seconds=None)
    with pytest.raises(MediaError, match=r"silent\.mp4.*no audio track"):
        load_video_inputs(silent)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(MediaError, match=r"bad\.mp4"):
        load_video_inputs(bad)


def test_real_demo_clip_frames_and_audio(reference: Path) -> None:
    video = reference / "media" / "sample_00000000.mp4"
    wav = sibling_wav(video)  # describe's default: the pre-extracted wav beside the video
    assert wav is not None and wav.name == "sample_00000000.wav"
    inputs = load_video_inputs(video, audio=wav)
    assert inputs.visual.shape == (8, 224, 224, 3) and inputs.num_source_frames == 88
    assert inputs.audio.shape == (8, 32000)
    assert inputs.audio_seconds == pytest.approx(55_357 / 16000)
    np.testing.assert_array_equal(inputs.audio[7], load_audio(wav)[23356:55356])  # spec §13 clip 8


def test_face_model_on_a_raw_video_detects_faces(reference: Path) -> None:
    """No OpenFace file: MediaPipe crops (approximating OpenFace), BGR, sampled like upstream."""
    pytest.importorskip("mediapipe")
    video = reference / "media" / "sample_00000000.mp4"
    with FaceDetectors() as detectors:
        inputs = load_video_inputs(video, visual_kind="face", detector=detectors.get())
    assert inputs.face_source == "detected" and inputs.face_found is not None
    assert sum(inputs.face_found) >= 7
    assert inputs.visual.shape == (8, 224, 224, 3) and inputs.visual.dtype == np.uint8
    # BGR: skin is redder than it is blue, so channel 2 (red) outweighs channel 0 (blue) in the centre.
    centre = inputs.visual[:, 80:144, 80:144].reshape(-1, 3).astype(float).mean(axis=0)
    assert centre[2] > centre[0]
    frames = load_video_inputs(video)
    assert not np.array_equal(inputs.visual, frames.visual)  # crops, not the whole frame


def test_frames_match_decord_within_tolerance(reference: Path) -> None:
    """Spec §4.1: upstream decodes with decord at 224×224; PyAV's scaler may differ slightly."""
    decord = pytest.importorskip("decord")
    video = reference / "media" / "sample_00000000.mp4"
    reader = decord.VideoReader(str(video), height=224, width=224)
    assert len(reader) == 88
    expected = reader.get_batch(sample_frame_indices(len(reader))).asnumpy()
    diff = np.abs(load_video_inputs(video).visual.astype(int) - expected.astype(int))
    assert diff.mean() < 0.5 and np.percentile(diff, 99) <= 4 and diff.max() <= 16
