"""Synthetic training clips for tests, benchmarks and a first dry run (no downloads needed).

Each sample gets a small uint8 face array (N, 32, 32, 3) (the loader resizes crops to 224×224 as
upstream), a short 16 kHz mono wav, a subtitle, OV labels and a description. Two layouts:

* ``manifest``: ``manifest.csv`` in the registry's manifest format (``name, face, audio, subtitle,
  labels, description``), for ``data.dataset=csv:PATH``;
* ``mer2025``: the official MER2025 release layout of MER-Caption+ (``track2_train_mercaptionplus.csv``,
  ``track3_train_mercaptionplus.csv``, ``subtitle_chieng.csv``, ``openface_face/<name>/<name>.npy``,
  ``audio/<name>.wav``), for ``data.dataset=mercaptionplus data.root=FOLDER``.
"""

from __future__ import annotations

import csv
import wave
from pathlib import Path
from typing import Literal

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


def _description(k: int, words: int | None) -> str:
    if words is None:
        return _REASONS[k]
    if words < 1:
        raise ValueError(f"description_words must be at least 1, not {words}")
    pool: list[str] = []
    while len(pool) < words:
        pool += " ".join(_REASONS[k:] + _REASONS[:k]).split()
    return " ".join(pool[:words])


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_synthetic_dataset(
    folder: str | Path,
    num_samples: int = 6,
    seed: int = 0,
    layout: Literal["manifest", "mer2025"] = "manifest",
    description_words: int | None = None,
) -> Path:
    """Write ``num_samples`` clips into ``folder``.

    ``description_words`` makes every description exactly that many words long (the sample's own
    sentence first, then the others in turn), so that benchmarks run at a realistic sequence length;
    by default each description is one short sentence.

    Returns:
        ``manifest`` layout: the manifest path (use ``data.dataset=csv:<path>``); ``mer2025`` layout:
        ``folder`` itself (use ``data.dataset=mercaptionplus data.root=<folder>``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(num_samples):
        name = f"sample_{i:08d}"
        face = (
            Path("openface_face", name, f"{name}.npy")
            if layout == "mer2025"
            else Path("faces", f"{name}.npy")
        )
        audio = Path("audio", f"{name}.wav")
        for relative in (face, audio):
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        faces = rng.integers(0, 256, size=(int(rng.integers(3, 12)), 32, 32, 3), dtype=np.uint8)
        np.save(folder / face, faces)
        seconds = float(rng.uniform(1.0, 4.0))
        t = np.arange(int(16000 * seconds)) / 16000
        tone = 0.3 * np.sin(2 * np.pi * (200 + 60 * i) * t) + 0.05 * rng.standard_normal(t.shape[0])
        _write_wav(folder / audio, tone)
        k = i % len(_LABELS)
        rows.append(
            {
                "name": name,
                "face": face.as_posix(),
                "audio": audio.as_posix(),
                "subtitle": _SUBTITLES[k],
                "labels": "[" + ", ".join(_LABELS[k]) + "]",
                "description": _description(k, description_words),
            }
        )
    if layout == "manifest":
        manifest = folder / "manifest.csv"
        _write_csv(manifest, rows)
        return manifest
    _write_csv(
        folder / "track2_train_mercaptionplus.csv",
        [{"name": r["name"], "openset": r["labels"]} for r in rows],
    )
    _write_csv(
        folder / "track3_train_mercaptionplus.csv",
        [{"name": r["name"], "reason": r["description"]} for r in rows],
    )
    _write_csv(
        folder / "subtitle_chieng.csv",
        [{"name": r["name"], "chinese": "", "english": r["subtitle"]} for r in rows],
    )
    return folder
