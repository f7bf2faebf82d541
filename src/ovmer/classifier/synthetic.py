"""Synthetic utterance features with a planted signal, for tests, benchmarks and a dry run.

Why: a trained member must be shown to *learn* (beat chance on held-out clips), which random
features cannot show. Each clip gets an emotion and a valence; its ``audio`` and ``visual`` features
are Gaussian noise plus a class-specific mean (emotion) and a valence-signed direction (sentiment),
``signal`` times the noise scale. Frames (T, D) jitter around the clip's vector, as a cache's
``visual`` (8, 768) and ``audio`` (8, 1024) do. Written in the ``ovmer features extract`` layout
(``cache.json`` + ``features/<name>.safetensors``) with a label CSV ``name,emotion,valence``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ovmer.classifier.features import CACHE_FEATURES_DIR, CACHE_META, SUFFIX

EMOTIONS: tuple[str, ...] = ("angry", "happy", "neutral", "sad")


@dataclass(frozen=True)
class SyntheticClip:
    """A clip's name and the labels its features were made from."""

    name: str
    emotion: str
    valence: float  # in {-1, 0, 1}: negative, neutral, positive


def synthetic_clips(count: int, seed: int = 0, emotions: Sequence[str] = EMOTIONS) -> list[SyntheticClip]:
    """``count`` clips ``synth_00000`` … with uniformly drawn emotions and valences."""
    rng = np.random.default_rng(seed)
    return [
        SyntheticClip(f"synth_{i:05d}", str(rng.choice(list(emotions))), float(rng.integers(-1, 2)))
        for i in range(count)
    ]


def write_synthetic_features(
    folder: str | Path,
    clips: Sequence[SyntheticClip],
    dims: dict[str, int] | None = None,
    *,
    frames: int = 4,
    signal: float = 1.5,
    seed: int = 0,
    emotions: Sequence[str] = EMOTIONS,
) -> Path:
    """Write one ``features/<name>.safetensors`` per clip (float32 (frames, D) per modality) under
    ``folder`` with a ``cache.json``; returns ``folder``. ``dims`` defaults to the real sizes."""
    from safetensors.numpy import save_file

    dims = dims or {"visual": 768, "audio": 1024}
    rng = np.random.default_rng(seed)
    means = {m: rng.normal(size=(len(emotions), d)) for m, d in dims.items()}  # (E, D) per modality
    direction = {m: rng.normal(size=d) for m, d in dims.items()}  # (D,) valence direction
    folder = Path(folder)
    (folder / CACHE_FEATURES_DIR).mkdir(parents=True, exist_ok=True)
    (folder / CACHE_META).write_text(json.dumps({"fingerprint": {"synthetic": seed}, "format": 1}) + "\n")
    for clip in clips:
        arrays = {}
        for modality, size in dims.items():
            centre = signal * (
                means[modality][list(emotions).index(clip.emotion)] + clip.valence * direction[modality]
            )
            clip_vector = centre + rng.normal(size=size)  # (D,)
            arrays[modality] = (clip_vector + 0.3 * rng.normal(size=(frames, size))).astype(np.float32)
        save_file(arrays, str(folder / CACHE_FEATURES_DIR / f"{clip.name}{SUFFIX}"))
    return folder


def write_label_csv(path: str | Path, clips: Sequence[SyntheticClip]) -> Path:
    """``name,emotion,valence`` for ``clips`` (a ``csv:PATH`` dataset for ``ovmer classifier train``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["name", "emotion", "valence"])
        writer.writerows([c.name, c.emotion, c.valence] for c in clips)
    return path
