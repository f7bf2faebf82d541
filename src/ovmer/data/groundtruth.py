"""Reading benchmark ground truth from the official label files (docs/datasets.md, 'Upstream file facts').

The result is an insertion-ordered mapping ``name → label`` in the file's own order (upstream sums
in that order, so keeping it keeps the bits):

* discrete sets → the label *name* (``"worried"``; MELD/IEMOCAP integers converted by the label list);
* sentiment sets → the continuous valence (float);
* open-vocabulary sets → a label string: OV-MERD/OV-MERD+ items joined with ``", "``, an empty list
  becoming ``"neutral"`` (which maps to nothing, so the metric skips it); MER2025 Track 2 keeps
  empty lists empty.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from ovmer.data.benchmarks import BenchmarkDataset, Family, get_benchmark
from ovmer.errors import DatasetError, InputFormatError
from ovmer.labels.parse import string_to_list
from ovmer.safe_pickle import load_npz_key, npz_keys

GroundTruth = dict[str, Any]


def label_file_path(dataset: BenchmarkDataset, gt_root: Path) -> Path:
    """``GT_ROOT/<folder>/<label file>``, the official layout."""
    return Path(gt_root) / dataset.folder / dataset.label_file


def read_ground_truth(dataset_id: str | BenchmarkDataset, path: Path, split: str = "test") -> GroundTruth:
    """Read one split of a dataset's labels.

    Args:
        dataset_id: an id such as ``mer2023`` (see :data:`ovmer.data.BENCHMARKS`).
        path: the label file (``label-6way.npz``, ``label.npz``, ``ovlabel.csv``, ``track2_*.csv``…).
        split: ``test`` (what MER-UniBench scores) or ``val`` (for the clean protocol's checkpoint choice).
    """
    dataset = dataset_id if isinstance(dataset_id, BenchmarkDataset) else get_benchmark(dataset_id)
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(
            f"{dataset.id}: ground-truth file {path} not found (expected {dataset.folder}/{dataset.label_file})"
        )
    if dataset.family is Family.OPENSET:
        if split != "test":
            raise DatasetError(f"{dataset.id} has no {split!r} split; open-vocabulary sets are scored whole")
        return _read_openset_csv(dataset, path)
    key = dataset.split_key if split == "test" else dataset.val_split_key
    if key is None:
        raise DatasetError(f"{dataset.id} has no {split!r} split in {dataset.label_file}")
    if path.suffix != ".npz":
        raise InputFormatError(
            f"{path}: {dataset.id} labels are an .npz file ({dataset.label_file}), got {path.name}"
        )
    if key not in npz_keys(path):
        raise InputFormatError(f"{path}: no split {key!r} for {dataset.id}; keys are {npz_keys(path)}")
    corpus = load_npz_key(path, key).tolist()
    if not isinstance(corpus, dict) or not corpus:
        raise InputFormatError(f"{path}: split {key!r} is empty or not a name → label dict")
    if dataset.name_filter == "session5" and split == "test":
        corpus = {name: row for name, row in corpus.items() if len(name) > 4 and name[4] == "5"}
    if dataset.family is Family.DISCRETE:
        return {name: discrete_label(dataset, path, name, row) for name, row in corpus.items()}
    return {name: _valence(path, name, row) for name, row in corpus.items()}


def _row_field(path: Path, name: str, row: Any, field: str) -> Any:
    if not isinstance(row, dict) or field not in row:
        raise InputFormatError(f"{path}: sample {name!r} has no {field!r} entry (got {row!r})")
    return row[field]


def discrete_label(dataset: BenchmarkDataset, path: Path, name: str, row: Any) -> str:
    """A label file row's ``emo``: the word itself, or the dataset's label name at an integer index."""
    emo = _row_field(path, name, row, "emo")
    if isinstance(emo, str):
        return emo
    if not dataset.label_names:
        raise InputFormatError(
            f"{path}: sample {name!r} has non-string label {emo!r}; {dataset.id} uses label names"
        )
    try:
        index = int(emo)
        if index != emo or not 0 <= index < len(dataset.label_names):
            raise ValueError
    except (TypeError, ValueError):
        raise InputFormatError(
            f"{path}: sample {name!r} has label {emo!r}; expected an integer 0–{len(dataset.label_names) - 1} "
            f"over {list(dataset.label_names)}"
        ) from None
    return dataset.label_names[index]


def _valence(path: Path, name: str, row: Any) -> float:
    value = _row_field(path, name, row, "val")
    try:
        valence = float(value)
    except (TypeError, ValueError):
        raise InputFormatError(f"{path}: sample {name!r} has non-numeric valence {value!r}") from None
    if math.isnan(valence):
        raise InputFormatError(f"{path}: sample {name!r} has NaN valence")
    return valence


def _read_openset_csv(dataset: BenchmarkDataset, path: Path) -> GroundTruth:
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InputFormatError(f"{path}: cannot read CSV ({exc})") from exc
    for column in ("name", "openset"):
        if column not in frame.columns:
            raise InputFormatError(
                f"{path}: missing column {column!r} (found {list(frame.columns)}); expected name, openset"
            )
    if frame.empty:
        raise InputFormatError(f"{path}: no rows")
    duplicated = frame["name"][frame["name"].duplicated()].tolist()
    if duplicated:
        raise InputFormatError(f"{path}: {len(duplicated)} duplicate sample name(s), e.g. {duplicated[:3]}")
    keep_empty = dataset.id == "mer2025ov"
    labels: GroundTruth = {}
    for name, cell in zip(frame["name"], frame["openset"], strict=True):
        joined = ", ".join(string_to_list("" if pd.isna(cell) else cell))
        labels[str(name)] = joined if (joined or keep_empty) else "neutral"
    order_file = (
        path.parent / dataset.subtitle_file if dataset.id == "ovmerdplus" and dataset.subtitle_file else None
    )
    if order_file is not None and order_file.is_file():
        # Upstream reads the OV-MERD+ test list from subtitle_eng.csv and looks labels up by name.
        names = pd.read_csv(order_file)["name"].astype(str).tolist()
        missing = [n for n in names if n not in labels]
        if missing:
            raise InputFormatError(
                f"{path}: {len(missing)} name(s) of {order_file.name} have no label, e.g. {missing[:3]}"
            )
        labels = {n: labels[n] for n in names}
    return labels
