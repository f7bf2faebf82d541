"""Synthetic training clips for tests, benchmarks and a first dry run (no downloads needed).

Each sample gets a small uint8 face array (N, 32, 32, 3) (the loader resizes crops to 224×224 as
upstream), a short 16 kHz mono wav, optionally a tiny video, a subtitle, OV labels and a description,
all listed in ``manifest.csv`` (see :func:`ovmer.train.data.read_manifest`).
"""

from __future__ import annotations

import csv
import wave
from pathlib import Path

import numpy as np

_LABELS = [["happy", "excited"], ["sad"], ["angry", "annoyed"], ["worried", "nervous"], []]
_SUBTITLES = ["That is great news!", "I lost it again.", "Stop doing that.", "What if it fails?", "Okay."]
_REASONS = [
    "In the text, the character smiles and speaks loudly, so the character is happy.",
    "The voice is low and slow; the character seems sad.",
    "The character frowns and raises the voice, which suggests anger.",
    "The character hesitates and looks away, which suggests worry.",
    "The face and voice are calm; the character is neutral.",
]


def _write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> None:
    data = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(data.tobytes())


def write_synthetic_dataset(folder: str | Path, num_samples: int = 6, seed: int = 0) -> Path:
    """Write ``num_samples`` clips and ``manifest.csv`` into ``folder``; return the manifest path."""
    folder = Path(folder)
    (folder / "faces").mkdir(parents=True, exist_ok=True)
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(num_samples):
        name = f"sample_{i:08d}"
        faces = rng.integers(0, 256, size=(int(rng.integers(3, 12)), 32, 32, 3), dtype=np.uint8)
        np.save(folder / "faces" / f"{name}.npy", faces)
        seconds = float(rng.uniform(1.0, 4.0))
        t = np.arange(int(16000 * seconds)) / 16000
        tone = 0.3 * np.sin(2 * np.pi * (200 + 60 * i) * t) + 0.05 * rng.standard_normal(t.shape[0])
        _write_wav(folder / "audio" / f"{name}.wav", tone)
        k = i % len(_LABELS)
        rows.append(
            {
                "name": name,
                "subtitle": _SUBTITLES[k],
                "openset": "[" + ", ".join(_LABELS[k]) + "]",
                "reason": _REASONS[k],
                "faces": f"faces/{name}.npy",
                "audio": f"audio/{name}.wav",
            }
        )
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest
