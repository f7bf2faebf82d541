"""Audio: 16 kHz mono, upstream resampling and channel rule, 8 clips of 2 s (docs/media.md, 'Audio')."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from ovmer.errors import MediaError
from ovmer.media.audio import (
    SAMPLE_RATE,
    audio_clips,
    clip_starts,
    load_audio,
    read_audio,
    resample,
)
from tests.synth import write_clip, write_wav

#: Clip start samples of the 55,357-sample demo wav (docs/media.md, 'Audio').
DEMO_STARTS = [0, 3336, 6673, 10010, 13346, 16683, 20020, 23356]


def test_real_wav_length_rate_and_clips(real_wav: Path) -> None:
    waveform, rate = read_audio(real_wav)
    assert rate == SAMPLE_RATE and waveform.shape == (1, 55_357)
    audio = load_audio(real_wav)
    assert audio.dtype == np.float32 and audio.shape == (55_357,)
    assert np.abs(audio).max() <= 1.0 and audio.std() > 0.01
    assert clip_starts(audio.shape[0]) == DEMO_STARTS
    clips = audio_clips(audio)
    assert clips.shape == (8, 32_000) and clips.dtype == np.float32
    for clip, start in zip(clips, DEMO_STARTS, strict=True):
        assert np.array_equal(clip, audio[start : start + 32_000])


def test_video_track_matches_the_released_wav(real_clip: Path, real_wav: Path) -> None:
    # 44.1 kHz stereo AAC in the mp4 → 16 kHz mono with the upstream kernel gives the same length as
    # the dataset's pre-extracted wav and nearly the same samples.
    from_video = load_audio(real_clip)
    released = load_audio(real_wav)
    assert from_video.shape == released.shape
    assert np.corrcoef(from_video, released)[0, 1] > 0.999


def test_resample_keeps_frequency_and_length() -> None:
    rate = 44_100
    t = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 1000 * t)[None, :]
    out = resample(tone, rate, SAMPLE_RATE)
    assert out.shape == (1, 16_000) and out.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(out[0]))
    assert np.argmax(spectrum) == 1000  # 1 Hz bins for a 1 s signal
    assert np.abs(out[0, 100:-100]).max() == pytest.approx(1.0, abs=0.02)
    assert resample(tone, rate, rate) is not None and resample(tone, rate, rate).shape == tone.shape


def test_resample_removes_content_above_new_nyquist() -> None:
    rate = 48_000
    t = np.arange(rate) / rate
    out = resample(np.sin(2 * np.pi * 12_000 * t)[None, :], rate, SAMPLE_RATE)
    assert np.abs(out[0, 200:-200]).max() < 0.01  # 12 kHz is above 8 kHz: filtered out


def test_two_channels_are_averaged(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "stereo.wav", np.stack([np.full(8000, 0.5), np.zeros(8000)]), rate=8000)
    waveform, rate = read_audio(wav)
    assert waveform.shape == (2, 8000) and rate == 8000
    mono = load_audio(wav)
    assert mono.shape == (16_000,)
    assert mono[2000:14000] == pytest.approx(0.25, abs=1e-3)


def test_short_audio_is_padded_and_clips_identical() -> None:
    audio = np.linspace(-0.5, 0.5, 16_000, dtype=np.float32)  # 1 s
    clips = audio_clips(audio)
    assert clips.shape == (8, 32_000)
    assert all(np.array_equal(clips[0], c) for c in clips)
    assert np.array_equal(clips[0, :16_000], audio) and not clips[0, 16_000:].any()


def test_long_audio_leaves_gaps() -> None:
    starts = clip_starts(60 * SAMPLE_RATE)
    assert starts[0] == 0 and starts[-1] == 58 * SAMPLE_RATE
    assert all(b - a > 32_000 for a, b in itertools.pairwise(starts))


def test_audio_from_synthesized_video(grey_clip: Path) -> None:
    audio = load_audio(grey_clip)
    # 1 s of AAC: encoder priming/padding may add up to a few hundred samples at 16 kHz.
    assert 16_000 <= audio.shape[0] <= 16_800
    assert np.argmax(np.abs(np.fft.rfft(audio[:16_000]))) == 440


def test_video_without_audio_track(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "silent.mp4", audio=False)
    with pytest.raises(MediaError, match=r"silent\.mp4: no audio stream"):
        load_audio(clip)


def test_corrupt_audio(tmp_path: Path) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(b"RIFF" + np.random.default_rng(0).bytes(500))
    with pytest.raises(MediaError, match=r"bad\.wav"):
        load_audio(path)
