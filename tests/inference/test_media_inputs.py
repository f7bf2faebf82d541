"""Media decoding for AffectGPT (spec affectgpt-model §4) on synthesized clips and the real demo clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ovmer.errors import MediaError
from ovmer.inference.media_inputs import (
    audio_clips,
    clip_ranges,
    load_video_inputs,
    read_audio,
    read_face_crops,
    read_video_frames,
    sample_indices,
)
from tests.models.helpers import write_clip, write_wav


def test_sample_indices() -> None:
    assert sample_indices(88) == [0, 11, 22, 33, 44, 55, 66, 77]  # spec §13 demo clip
    assert sample_indices(3) == [0, 1, 2, 2, 2, 2, 2, 2]
    assert sample_indices(8) == list(range(8))
    assert sample_indices(100) == [0, 12, 25, 37, 50, 62, 75, 87]
    with pytest.raises(ValueError):
        sample_indices(0)


def test_clip_ranges_match_spec_fixture() -> None:
    assert clip_ranges(55_357) == [
        (0, 32000),
        (3336, 35336),
        (6673, 38673),
        (10010, 42010),
        (13346, 45346),
        (16683, 48683),
        (20020, 52020),
        (23356, 55356),
    ]
    assert clip_ranges(20_000) == [(0, 32000)] * 8  # short audio: identical, zero-padded clips


def test_audio_clips_slices_and_pads() -> None:
    wave = np.arange(55_357, dtype=np.float32)[None] / 1e5
    clips = audio_clips(wave)
    assert clips.shape == (8, 32000) and clips.dtype == np.float32
    np.testing.assert_array_equal(clips[1], wave[0, 3336:35336])
    short = audio_clips(np.ones((1, 1000), np.float32))
    assert short.shape == (8, 32000) and short[0, :1000].sum() == 1000 and short[0, 1000:].sum() == 0


def test_frames_are_rgb_and_uniformly_sampled(tmp_path: Path) -> None:
    colors = [(200, 0, 0)] * 4 + [(0, 200, 0)] * 4 + [(0, 0, 200)] * 8  # 16 frames
    clip = write_clip(tmp_path / "c.mp4", colors)
    frames = read_video_frames(clip)
    assert frames.shape == (8, 224, 224, 3) and frames.dtype == np.uint8
    # indices 0, 2, …, 14 -> red, red, green, green, blue × 4; channel 0 is red (RGB order)
    dominant = [int(np.argmax(f[100, 100])) for f in frames]
    assert dominant == [0, 0, 1, 1, 2, 2, 2, 2]


def test_audio_from_video_stream_and_stereo_rule(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", [(10, 10, 10)] * 8, audio_seconds=1.5)
    wave = read_audio(clip)
    assert wave.shape[0] == 1 and abs(wave.shape[1] - 24000) < 2048  # AAC adds priming samples
    left = np.full(16000, 0.5)
    right = np.full(16000, -0.25)
    stereo = write_wav(tmp_path / "s.wav", np.stack([left, right], axis=1))
    mono = read_audio(stereo)
    assert mono.shape == (1, 16000)
    np.testing.assert_allclose(mono[0, 100], 0.125, atol=1e-3)  # average of exactly two channels
    resampled = read_audio(write_wav(tmp_path / "r.wav", np.zeros(8000), rate=8000))
    assert abs(resampled.shape[1] - 16000) < 64


def test_faces_keep_bgr_and_errors(tmp_path: Path) -> None:
    faces = np.zeros((3, 112, 112, 3), np.uint8)
    faces[:, :, :, 0] = np.arange(3)[:, None, None] * 50 + 10  # channel 0 (blue) tags the crop
    np.save(tmp_path / "f.npy", faces)
    crops = read_face_crops(tmp_path / "f.npy")
    assert crops.shape == (8, 224, 224, 3)
    assert [int(c[5, 5, 0]) for c in crops] == [10, 60, 110, 110, 110, 110, 110, 110]
    assert int(crops[..., 2].max()) == 0  # no BGR->RGB swap
    np.save(tmp_path / "empty.npy", np.zeros((0, 112, 112, 3), np.uint8))
    with pytest.raises(MediaError, match=r"empty\.npy.*N = 0"):
        read_face_crops(tmp_path / "empty.npy")
    with pytest.raises(MediaError, match=r"missing\.npy"):
        read_face_crops(tmp_path / "missing.npy")
    with pytest.raises(MediaError, match="--faces"):
        load_video_inputs(tmp_path / "x.mp4", visual_kind="face")


def test_broken_video_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(MediaError, match=r"bad\.mp4"):
        read_video_frames(bad)


def test_real_demo_clip(reference: Path) -> None:
    video = reference / "media" / "sample_00000000.mp4"
    inputs = load_video_inputs(video)  # picks the sibling .wav, as upstream reads pre-extracted audio
    assert inputs.visual.shape == (8, 224, 224, 3)
    assert inputs.audio.shape == (8, 32000)
    assert inputs.audio_seconds == pytest.approx(55_357 / 16000)
    wave = read_audio(reference / "media" / "sample_00000000.wav")
    np.testing.assert_array_equal(inputs.audio[7], wave[0, 23356:55356])


def test_frames_match_decord_within_tolerance(reference: Path) -> None:
    """Spec §4.1: upstream decodes with decord at 224×224; PyAV's scaler may differ slightly."""
    decord = pytest.importorskip("decord")
    video = reference / "media" / "sample_00000000.mp4"
    reader = decord.VideoReader(str(video), height=224, width=224)
    assert len(reader) == 88
    expected = reader.get_batch(sample_indices(len(reader))).asnumpy()
    diff = np.abs(read_video_frames(video).astype(int) - expected.astype(int))
    assert diff.mean() < 0.5 and np.percentile(diff, 99) <= 4 and diff.max() <= 16
