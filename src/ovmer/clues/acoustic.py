"""Acoustic cues from openSMILE's eGeMAPS v02 functionals (the ``opensmile`` PyPI package).

eGeMAPS is the standard minimal acoustic parameter set for affect research; its functionals give
pitch (F0 in semitones from 27.5 Hz), loudness and voiced/unvoiced segment statistics over the
clip. Categories (documented rules; adult speech):

=================  ==========================================================
pitch level        mean F0 < 120 Hz low, > 240 Hz high, else medium
pitch variation    F0 coefficient of variation < 0.08 flat, > 0.22 lively
loudness           mean loudness (sone) < 0.4 soft, > 1.2 loud, else moderate
speaking rate      words per second of speech < 1.5 slow, > 3.5 fast (from the transcript;
                   without one, voiced segments per second < 1.5 slow, > 4 fast)
pauses             gaps of at least 0.5 s between words
=================  ==========================================================
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ovmer.errors import OvmerError

SAMPLE_RATE = 16000
LONG_PAUSE_S = 0.5


def _category(value: float, low: float, high: float, names: tuple[str, str, str]) -> str:
    return names[0] if value < low else names[2] if value > high else names[1]


def smile_functionals(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> dict[str, float]:
    """The 88 eGeMAPS v02 functionals of a mono signal ``(T,)``."""
    try:
        import opensmile
    except ImportError as exc:
        raise OvmerError("acoustic cues need openSMILE: pip install 'ovmer[clues]'") from exc

    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals
    )
    frame = smile.process_signal(audio, sample_rate)
    return {str(k): float(v) for k, v in frame.iloc[0].items()}


def acoustic_cues(
    audio: np.ndarray,
    words: Sequence[tuple[str, float, float]] = (),
    sample_rate: int = SAMPLE_RATE,
) -> dict[str, Any]:
    """Summarise the voice of a clip.

    Args:
        audio: mono signal, shape ``(T,)``, float in [-1, 1].
        words: ``(word, start_s, end_s)`` from the transcript, for speaking rate and pauses.

    Returns a JSON-ready dict with raw values (``pitch_hz``, ``pitch_variation``, ``loudness``,
    ``speaking_rate_wps``, ``pauses``) and their categories.
    """
    duration = len(audio) / sample_rate
    rms = float(np.sqrt(np.mean(np.square(audio)))) if len(audio) else 0.0
    if duration < 0.5 or rms < 1e-4:
        return {"duration_s": round(duration, 2), "speech": False, "active": []}
    features = smile_functionals(audio, sample_rate)
    semitones = features.get("F0semitoneFrom27.5Hz_sma3nz_amean", 0.0)
    voiced = semitones > 0
    pitch_hz = 27.5 * 2 ** (semitones / 12) if voiced else 0.0
    variation = features.get("F0semitoneFrom27.5Hz_sma3nz_stddevNorm", 0.0)
    loudness = features.get("loudness_sma3_amean", 0.0)
    cues: dict[str, Any] = {
        "duration_s": round(duration, 2),
        "speech": bool(voiced),
        "pitch_hz": round(pitch_hz, 1),
        "pitch_level": _category(pitch_hz, 120, 240, ("low", "medium", "high")) if voiced else "none",
        "pitch_variation": round(variation, 3),
        "pitch_contour": _category(variation, 0.08, 0.22, ("flat", "moderate", "lively"))
        if voiced
        else "none",
        "loudness": round(loudness, 3),
        "loudness_level": _category(loudness, 0.4, 1.2, ("soft", "moderate", "loud")),
        "loudness_variation": round(features.get("loudness_sma3_stddevNorm", 0.0), 3),
        "voiced_segments_per_s": round(features.get("VoicedSegmentsPerSec", 0.0), 3),
        "mean_unvoiced_s": round(features.get("MeanUnvoicedSegmentLength", 0.0), 3),
    }
    if len(words) >= 2:
        speech_time = max(words[-1][2] - words[0][1], 1e-3)
        rate = len(words) / speech_time
        gaps = [b[1] - a[2] for a, b in itertools.pairwise(words)]
        cues["speaking_rate_wps"] = round(rate, 2)
        cues["speaking_rate"] = _category(rate, 1.5, 3.5, ("slow", "moderate", "fast"))
        cues["pauses"] = [round(g, 2) for g in gaps if g >= LONG_PAUSE_S]
    else:
        rate = cues["voiced_segments_per_s"]
        cues["speaking_rate"] = _category(rate, 1.5, 4.0, ("slow", "moderate", "fast"))
        cues["pauses"] = []
    active = []
    for key, calm in (
        ("pitch_level", "medium"),
        ("pitch_contour", "moderate"),
        ("loudness_level", "moderate"),
        ("speaking_rate", "moderate"),
    ):
        if cues.get(key) not in (calm, "none"):
            active.append(f"{key}:{cues[key]}")
    if len(cues["pauses"]) >= 2:
        active.append("pauses")
    cues["active"] = active
    return cues
