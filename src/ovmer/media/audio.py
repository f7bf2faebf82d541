"""Audio: read a wav or a video's audio track, resample to 16 kHz, mono rule, 8 clips of 2 s.

Rules and fixture in docs/media.md, 'Audio' (upstream ``my_affectgpt/models/ImageBind/data.py``): the demo wav
has 55,357 samples and clip starts 0, 3336, 6673, 10010, 13346, 16683, 20020, 23356.
"""

from __future__ import annotations

import functools
import math
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from ovmer.errors import MediaError

#: Sample rate of the audio encoder (chinese-hubert-large): docs/media.md, 'Audio'.
SAMPLE_RATE = 16_000
#: 8 clips of 2 s: docs/media.md, 'Audio' (pytorchvideo ConstantClipsPerVideoSampler upstream).
NUM_CLIPS = 8
CLIP_SECONDS = 2


def read_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of a wav or video file with PyAV.

    Returns ``(waveform, rate)`` with ``waveform`` float32 ``[channels, samples]`` in [-1, 1]
    (integer PCM scaled by 1/32768 for 16-bit, as ``torchaudio.load`` does) at the file's own rate.

    Raises:
        MediaError: missing/empty/corrupt file, or no audio stream (for example a silent video).
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: file is empty (0 bytes)")
    try:
        container = av.open(os.fspath(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{path}: not a readable media file ({exc})") from exc
    chunks: list[np.ndarray] = []
    with container:
        if not container.streams.audio:
            raise MediaError(
                f"{path}: no audio stream; give the sample a separate wav (manifest column 'audio')"
            )
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        # Convert to planar float without changing rate or layout; resampling follows upstream below.
        converter = av.AudioResampler(format="fltp")
        try:
            for frame in container.decode(stream):
                for converted in converter.resample(frame):
                    chunks.append(converted.to_ndarray())
            for converted in converter.resample(None):
                chunks.append(converted.to_ndarray())
        except av.error.FFmpegError as exc:
            if not chunks:
                raise MediaError(f"{path}: cannot decode audio ({exc})") from exc
    if not chunks or rate <= 0:
        raise MediaError(f"{path}: the audio stream has no samples")
    waveform = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if waveform.shape[1] == 0:
        raise MediaError(f"{path}: the audio stream has no samples")
    return waveform, rate


@functools.lru_cache(maxsize=8)
def _sinc_kernel(orig: int, new: int, width_zeros: int = 6, rolloff: float = 0.99) -> tuple[np.ndarray, int]:
    # torchaudio's default "sinc_interp_hann" kernel (lowpass_filter_width 6, rolloff 0.99), computed
    # in float64. Rows: the `new` output phases; columns: input taps.
    base = min(orig, new) * rolloff
    width = math.ceil(width_zeros * orig / base)
    idx = np.arange(-width, width + orig, dtype=np.float64) / orig
    t = (np.arange(0, -new, -1, dtype=np.float64)[:, None] / new + idx[None, :]) * base
    t = np.clip(t, -width_zeros, width_zeros)
    window = np.cos(t * math.pi / width_zeros / 2) ** 2
    t = t * math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        kernel = np.where(t == 0, 1.0, np.sin(t) / np.where(t == 0, 1.0, t))
    return kernel * window * (base / orig), width


def resample(waveform: np.ndarray, orig_rate: int, new_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited sinc resampling with torchaudio's default kernel (upstream: ``torchaudio.functional.resample``).

    ``waveform`` is ``[channels, samples]`` float; returns float32 ``[channels, ceil(samples · new / orig)]``.
    Identity when the rates are equal.
    """
    if orig_rate == new_rate:
        return waveform.astype(np.float32, copy=False)
    gcd = math.gcd(orig_rate, new_rate)
    orig, new = orig_rate // gcd, new_rate // gcd
    kernel, width = _sinc_kernel(orig, new)
    # torchaudio builds the kernel in float64 and convolves in the waveform's dtype (float32 here).
    kernel32 = kernel.astype(np.float32)
    length = waveform.shape[-1]
    padded = np.pad(waveform.astype(np.float32, copy=False), ((0, 0), (width, width + orig)))
    taps = kernel.shape[1]
    # Strided conv as one BLAS matmul; the copy makes the window view contiguous (BLAS needs it).
    windows = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(padded, taps, axis=1)[:, ::orig])
    out = np.matmul(windows, kernel32.T).reshape(waveform.shape[0], -1)  # [C, F·new]
    target = math.ceil(new * length / orig)
    return np.ascontiguousarray(out[:, :target], dtype=np.float32)


def to_model_channels(waveform: np.ndarray) -> np.ndarray:
    """Upstream's channel rule: exactly two channels are averaged to mono; others are kept.

    See docs/media.md, 'Audio'.
    """
    if waveform.shape[0] == 2:
        return waveform.mean(axis=0, keepdims=True, dtype=np.float32)
    return waveform


def load_audio(path: str | os.PathLike[str], rate: int = SAMPLE_RATE) -> np.ndarray:
    """Audio as the encoder reads it: float32 ``[samples]`` at ``rate`` Hz (default 16 kHz).

    Resampled with the upstream kernel, two channels averaged; for other channel counts channel 0 is
    returned, because the audio encoder reads channel 0 only (docs/model.md, 'Backbones and encoders').
    """
    waveform, orig = read_audio(path)
    return model_audio(waveform, orig, rate)


def model_audio(waveform: np.ndarray, orig_rate: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """``[channels, samples]`` at ``orig_rate`` → mono float32 ``[samples]`` at ``rate`` (see :func:`load_audio`)."""
    if waveform.shape[0] == 2:
        # Resampling is linear, so averaging first gives the same result (to float rounding) as
        # upstream's resample-then-average, at half the cost.
        waveform = to_model_channels(waveform)
    mono = to_model_channels(resample(waveform, orig_rate, rate))
    return np.ascontiguousarray(mono[0])


def clip_starts(num_samples: int, rate: int = SAMPLE_RATE, n_clips: int = NUM_CLIPS) -> list[int]:
    """Start sample of each 2-s clip (docs/media.md, 'Audio'): ``int(i · max(D − 2, 0) / (n − 1) · rate)``.

    ``D − 2`` is computed in floating point and then made an exact fraction, as pytorchvideo does;
    the rest is exact rational arithmetic with truncation toward zero.
    """
    duration = num_samples / rate
    span = Fraction(max(duration - CLIP_SECONDS, 0.0))
    if n_clips == 1:
        return [0]
    return [int(i * span / (n_clips - 1) * rate) for i in range(n_clips)]


def audio_clips(
    audio: np.ndarray, rate: int = SAMPLE_RATE, n_clips: int = NUM_CLIPS, clip_seconds: int = CLIP_SECONDS
) -> np.ndarray:
    """Cut mono ``[samples]`` audio into ``[n_clips, clip_seconds · rate]`` float32 clips.

    The rule is upstream's (docs/media.md, 'Audio').

    Audio shorter than one clip is zero-padded at the end first; then the clips overlap (all equal when
    the audio lasts ≤ 2 s) or leave gaps for long audio.
    """
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio [samples], got shape {audio.shape}")
    clip_len = clip_seconds * rate
    if audio.shape[0] < clip_len:
        audio = np.pad(audio, (0, clip_len - audio.shape[0]))
    starts = clip_starts(audio.shape[0], rate, n_clips)
    return np.stack([audio[s : s + clip_len] for s in starts]).astype(np.float32, copy=False)
