"""Decoding and the upstream frame-sampling rule on real and synthesized clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ovmer.errors import MediaError
from ovmer.media.decode import (
    probe_video,
    read_clip,
    read_sampled_frames,
    resize_frames,
    sample_frame_indices,
)
from tests.synth import grey, write_clip

av = pytest.importorskip("av", reason="media tests need the [media] extra (PyAV)")


def _greys(frames: np.ndarray) -> list[float]:
    return frames.mean(axis=(1, 2, 3)).tolist()


@pytest.mark.parametrize(
    ("vlen", "expected"),
    [
        (88, [0, 11, 22, 33, 44, 55, 66, 77]),  # the demo clip (docs/media.md, 'Frames')
        (100, [0, 12, 25, 37, 50, 62, 75, 87]),
        (8, list(range(8))),
        (5, [0, 1, 2, 3, 4, 4, 4, 4]),  # n < 8: the last index repeats
        (1, [0] * 8),
    ],
)
def test_sample_indices_follow_upstream_rule(vlen: int, expected: list[int]) -> None:
    assert sample_frame_indices(vlen) == expected


def test_sample_indices_zero_frames_is_an_error() -> None:
    with pytest.raises(MediaError, match="0 frames"):
        sample_frame_indices(0)


def test_real_clip_frames(real_clip: Path) -> None:
    frames, indices, info = read_sampled_frames(real_clip)
    assert (info.num_frames, info.width, info.height) == (88, 720, 404)
    assert info.fps == pytest.approx(25.0)
    assert indices == [0, 11, 22, 33, 44, 55, 66, 77]
    assert frames.shape == (8, 404, 720, 3) and frames.dtype == np.uint8
    small = resize_frames(frames)
    assert small.shape == (8, 224, 224, 3) and small.dtype == np.uint8
    # A real picture, not a blank: plenty of contrast in every frame.
    assert all(f.std() > 20 for f in small)


def test_synthesized_clip_samples_the_right_frames(grey_clip: Path) -> None:
    frames, indices, info = read_sampled_frames(grey_clip)
    assert info.num_frames == 25 and info.has_audio
    assert indices == [0, 3, 6, 9, 12, 15, 18, 21]
    assert _greys(frames) == pytest.approx([grey(i) for i in indices], abs=3)


def test_variable_frame_rate(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "vfr.mp4", seconds=2, vfr=True)
    frames, indices, info = read_sampled_frames(clip)
    assert info.num_frames == 50  # rule applies to frame count, not timestamps (decord's vlen)
    assert indices == [0, 6, 12, 18, 25, 31, 37, 43]
    assert _greys(frames) == pytest.approx([grey(i) for i in indices], abs=3)


def test_portrait_clip_with_non_ascii_name(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "séance_日本語 clip.mp4", width=48, height=96)
    frames, _, info = read_sampled_frames(clip)
    assert (info.width, info.height) == (48, 96)
    assert frames.shape == (8, 96, 48, 3)
    assert resize_frames(frames).shape == (8, 224, 224, 3)  # aspect not kept (docs/media.md, 'Frames')


def test_short_clip_repeats_last_frame(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "five.mp4", seconds=0.2)  # 5 frames
    frames, indices, _ = read_sampled_frames(clip)
    assert indices == [0, 1, 2, 3, 4, 4, 4, 4]
    assert np.array_equal(frames[4], frames[7])


@pytest.mark.slow
def test_sixty_second_clip(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "long.mp4", seconds=60, width=32, height=32, audio=False)
    frames, indices, info = read_sampled_frames(clip)
    assert info.num_frames == 1500
    assert indices == [0, 187, 375, 562, 750, 937, 1125, 1312]
    assert _greys(frames) == pytest.approx([grey(i) for i in indices], abs=3)


def test_audio_only_file_has_no_video(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "voice.m4a", video=False)
    with pytest.raises(MediaError, match=r"voice\.m4a: no video stream"):
        probe_video(clip)


def test_zero_frame_video(tmp_path: Path) -> None:
    path = tmp_path / "zero.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    with pytest.raises(MediaError, match=r"zero\.mp4"):
        read_sampled_frames(path)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty\.mp4: file is empty"):
        read_sampled_frames(empty)
    with pytest.raises(MediaError, match=r"nope\.mp4: file not found"):
        read_sampled_frames(tmp_path / "nope.mp4")


def test_corrupt_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).bytes(20_000))
    with pytest.raises(MediaError, match=r"noise\.mp4: not a readable media file"):
        read_sampled_frames(path)


def test_truncated_real_clip_is_a_clear_error(real_clip: Path, tmp_path: Path) -> None:
    # The demo clip keeps its index (moov) at the end, so half a file has no index at all.
    path = tmp_path / "half.mp4"
    data = real_clip.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=r"half\.mp4"):
        read_sampled_frames(path)


def test_truncated_streamable_clip_samples_what_decodes(tmp_path: Path) -> None:
    # Index first (faststart): the header promises 100 frames but only about half are present.
    path = tmp_path / "fast.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        rng = np.random.default_rng(1)
        for _ in range(100):
            image = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    truncated = tmp_path / "fast_cut.mp4"
    data = path.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    frames, indices, info = read_sampled_frames(truncated)
    assert 0 < info.num_frames < 100
    assert indices == sample_frame_indices(info.num_frames)
    assert frames.shape == (8, 48, 64, 3)


def test_rotated_phone_video_comes_out_upright(tmp_path: Path) -> None:
    # Coded landscape 64×32 with the left half white, displayed rotated 90° clockwise (phone portrait).
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(-90)  # counter-clockwise degrees: -90 = 90° clockwise
        image = np.zeros((32, 64, 3), dtype=np.uint8)
        image[:, :32] = 255
        for _ in range(10):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    clip = read_clip(path, with_audio=False)
    assert clip.frames.shape == (8, 64, 32, 3)  # portrait after rotation
    assert clip.frames[0, :8].mean() > 240 and clip.frames[0, -8:].mean() < 15  # left half → top
    assert clip.model_frames.shape == (8, 224, 224, 3)
    assert clip.model_frames[0, :100].mean() > 240 and clip.model_frames[0, -100:].mean() < 15


def test_model_frames_are_scaled_from_the_decoder_output(real_clip: Path) -> None:
    clip = read_clip(real_clip)
    assert clip.model_frames.shape == (8, 224, 224, 3) and clip.model_frames.dtype == np.uint8
    # swscale bilinear from YUV (decord's path) vs OpenCV bilinear from RGB: close, not identical.
    difference = np.abs(clip.model_frames.astype(int) - resize_frames(clip.frames).astype(int))
    assert difference.mean() < 5
    assert clip.audio is not None and clip.audio.shape[0] == 2 and clip.audio_rate == 44_100
    frames, indices, _ = read_sampled_frames(real_clip)
    assert indices == clip.indices and np.array_equal(frames, clip.frames)


def test_damaged_audio_packets_do_not_cut_the_video(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "ok.mp4", seconds=2, width=64, height=48)
    data = bytearray(clip.read_bytes())
    with av.open(str(clip)) as container:
        audio_packets = [(p.pos, p.size) for p in container.demux(container.streams.audio[0]) if p.size > 0]
    rng = np.random.default_rng(0)
    for position, size in audio_packets[5:40]:
        data[position : position + size] = rng.bytes(size)
    damaged = tmp_path / "damaged_audio.mp4"
    damaged.write_bytes(bytes(data))
    decoded = read_clip(damaged)
    assert decoded.info.num_frames == 50 and decoded.indices == sample_frame_indices(50)
    assert decoded.audio is not None and decoded.audio.shape[0] == 2
