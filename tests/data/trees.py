"""Dataset trees in every official layout (docs/datasets.md), generated in temporary folders.

Media are tiny synthesized clips hard-linked under each sample name; label files are written the way
upstream wrote them (``np.savez_compressed`` of dicts; CSVs with the official columns).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ovmer.data.benchmarks import BenchmarkDataset, get_benchmark

MER_LABELS = ["neutral", "angry", "happy", "sad", "worried", "surprise"]


@dataclass
class Tree:
    """What a generated tree holds, for assertions."""

    folder: Path  # the dataset's own folder (ROOT/<official folder>)
    dataset: BenchmarkDataset
    test_names: list[str]
    labels: dict[str, Any]  # expected label per test name (as read_ground_truth returns it)
    subtitles: dict[str, str]  # expected subtitle per test name


def _names(dataset_id: str, count: int, offset: int = 0) -> list[str]:
    pattern = {
        "meld": "test_dia{i}_utt0",
        "iemocap": "Ses05F_impro01_F{i:03d}",
        "cmumosi": "k5Y_838nuGo_{i}",
        "cmumosei": "uogwnZGb-iE_{i}",
        "sims": "video_0003_{i:04d}",
        "simsv2": "video_0001_{i:04d}",
        "ovmerdplus": "samplenew3_{i:08d}",
    }.get(dataset_id, "sample_{i:08d}")
    return [pattern.format(i=i + offset) for i in range(count)]


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.link(source, target)


def build_tree(
    root: Path,
    dataset_id: str,
    *,
    clip: Path,
    wav: Path,
    avi_clip: Path | None = None,
    n_test: int = 3,
    n_train: int = 2,
    faces: bool = True,
) -> Tree:
    """Write ``ROOT/<folder>/`` for ``dataset_id`` with ``n_test`` test and ``n_train`` other samples."""
    dataset = get_benchmark(dataset_id)
    folder = root / dataset.folder
    folder.mkdir(parents=True, exist_ok=True)
    test = _names(dataset_id, n_test)
    train = (
        _names(dataset_id, n_train, offset=500)
        if dataset_id != "iemocap"
        else [f"Ses01F_impro01_F{i:03d}" for i in range(n_train)]
    )
    if dataset_id == "meld":
        train = [f"dia{i}_utt0" for i in range(n_train)]
    labels: dict[str, Any] = {}
    subtitles = {name: f"subtitle of {name}" for name in test + train}
    if test:
        subtitles[test[0]] = ""  # a NaN cell: read as ''

    if dataset.split_key is not None or dataset.label_file.endswith(".npz"):
        corpora: dict[str, dict[str, dict[str, Any]]] = {}
        if dataset_id in ("mer2023", "mer2024"):
            rows = {n: {"emo": MER_LABELS[i % 6], "val": 1.0} for i, n in enumerate(test)}
            labels = {n: r["emo"] for n, r in rows.items()}
            corpora = {
                "train_corpus": {n: {"emo": "happy", "val": 2.0} for n in train},
                dataset.split_key or "": rows,
            }
        elif dataset_id in ("meld", "iemocap"):
            rows = {n: {"emo": i % len(dataset.label_names), "val": -10} for i, n in enumerate(test)}
            labels = {n: dataset.label_names[r["emo"]] for n, r in rows.items()}
            other = {n: {"emo": 0, "val": -10} for n in train}
            if dataset_id == "iemocap":
                corpora = {"whole_corpus": {**other, **rows}}
            else:
                corpora = {"train_corpus": other, "val_corpus": {}, "test_corpus": rows}
        else:
            rows = {n: {"emo": 0, "val": float(i) - 1.0} for i, n in enumerate(test)}
            labels = {n: r["val"] for n, r in rows.items()}
            corpora = {
                "train_corpus": {n: {"emo": 0, "val": 0.5} for n in train},
                "val_corpus": {},
                "test_corpus": rows,
            }
        np.savez_compressed(
            folder / dataset.label_file, **{k: np.array(v, dtype=object) for k, v in corpora.items()}
        )
        transcript = pd.DataFrame(
            {
                "name": list(subtitles),
                "chinese": [f"中文 {n}" if s else None for n, s in subtitles.items()],
                "english": [s or None for s in subtitles.values()],
            }
        )
        transcript.to_csv(folder / (dataset.subtitle_file or "transcript.csv"), index=False)
        if dataset_id == "mer2024":
            subtitles = {n: (f"中文 {n}" if s else "") for n, s in subtitles.items()}
    elif dataset_id == "ovmerdplus":
        openset = {n: ["happy", "excited"] if i % 2 == 0 else [] for i, n in enumerate(test)}
        labels = {n: ", ".join(v) or "neutral" for n, v in openset.items()}
        pd.DataFrame({"name": list(openset), "openset": [str(v) for v in openset.values()]}).to_csv(
            folder / "ovlabel.csv", index=False
        )
        pd.DataFrame({"name": test, "sentence": [subtitles[n] or None for n in test]}).to_csv(
            folder / "subtitle_eng.csv", index=False
        )
        train = []
    else:  # the MER2025 release: one folder, several label files
        openset = {n: ["sad"] if i % 2 == 0 else ["angry", "tense"] for i, n in enumerate(test)}
        if dataset_id != "mer2025ov":
            labels = {n: ", ".join(v) for n, v in openset.items()}
            pd.DataFrame({"name": list(openset), "openset": [str(v) for v in openset.values()]}).to_csv(
                folder / dataset.label_file, index=False
            )
        else:
            labels = dict.fromkeys(test)
            pd.DataFrame({"name": test}).to_csv(folder / "track_all_candidates.csv", index=False)
        pd.DataFrame(
            {
                "name": list(subtitles),
                "chinese": [f"中文 {n}" for n in subtitles],
                "english": [s or None for s in subtitles.values()],
            }
        ).to_csv(folder / "subtitle_chieng.csv", index=False)

    for name in test + train:
        ext = dataset.video_exts[0]
        source = avi_clip if ext == ".avi" and avi_clip is not None else clip
        if ext == ".avi" and avi_clip is None:
            ext = ".mp4"
        _link(source, folder / dataset.video_dirs[0] / f"{name}{ext}")
        _link(wav, folder / dataset.audio_dir / f"{name}.wav")
        if faces:
            face = (
                folder / dataset.face_dir / name / f"{name}.npy"
                if dataset.face_layout == "nested"
                else folder / dataset.face_dir / f"{name}.npy"
            )
            face.parent.mkdir(parents=True, exist_ok=True)
            np.save(face, np.full((4, 16, 16, 3), 100, dtype=np.uint8))
    return Tree(folder, dataset, test, labels, {n: subtitles[n] for n in test})
