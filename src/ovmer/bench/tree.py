"""Finding a dataset's test samples in the official folder layout (spec ``datasets.md`` §3).

``ROOT/<folder>/<label file>`` holds the labels, ``ROOT/<folder>/<video dir>/<name>.mp4`` (or
``.avi``/``.mkv``/``.mov``) the clips and ``ROOT/<folder>/<subtitle file>`` the transcripts, with the
folder names of :data:`ovmer.data.BENCHMARKS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ovmer.data.benchmarks import BenchmarkDataset
from ovmer.data.groundtruth import label_file_path, read_ground_truth
from ovmer.errors import DatasetError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm")


@dataclass(frozen=True)
class Sample:
    """One test sample: where its clip is and what is said."""

    name: str
    video: Path | None
    subtitle: str
    ground_truth: Any


def read_subtitles(dataset: BenchmarkDataset, root: Path) -> dict[str, str]:
    """``name → subtitle`` from the dataset's transcript file; ``{}`` when it is absent."""
    if not dataset.subtitle_file:
        return {}
    path = Path(root) / dataset.folder / dataset.subtitle_file
    if not path.is_file():
        return {}
    frame = pd.read_csv(path)
    column = dataset.subtitle_column or "english"
    if "name" not in frame.columns or column not in frame.columns:
        raise DatasetError(f"{path}: expected columns name and {column}, found {list(frame.columns)}")
    return {str(n): "" if pd.isna(s) else str(s) for n, s in zip(frame["name"], frame[column], strict=True)}


def find_video(dataset: BenchmarkDataset, root: Path, name: str) -> Path | None:
    for directory in dataset.video_dirs:
        for extension in VIDEO_EXTENSIONS:
            path = Path(root) / dataset.folder / directory / f"{name}{extension}"
            if path.is_file():
                return path
    return None


def list_test_samples(dataset: BenchmarkDataset, root: Path) -> list[Sample]:
    """The test split in ground-truth order; raises :class:`DatasetError` naming the missing folder."""
    label_path = label_file_path(dataset, Path(root))
    if not label_path.is_file():
        raise DatasetError(
            f"{dataset.id}: {label_path} not found; --root must hold the official folders "
            f"({dataset.folder}/{dataset.label_file}, {dataset.folder}/{dataset.video_dirs[0]}/<name>.mp4)"
        )
    ground_truth = read_ground_truth(dataset, label_path)
    subtitles = read_subtitles(dataset, root)
    return [
        Sample(name, find_video(dataset, root, name), subtitles.get(name, ""), value)
        for name, value in ground_truth.items()
    ]
