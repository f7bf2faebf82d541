"""Dataset registry: a user's local copy of a benchmark (or a CSV manifest) → typed samples.

See docs/datasets.md, 'Upstream file facts': each dataset reads its **official folder layout** from a root the
user gives; labels come from :func:`ovmer.data.groundtruth.read_ground_truth` (the scoring code's
reader, so loading and scoring agree), subtitles from the column the benchmark's loader uses
(NaN → ``""``), media paths from the benchmark's sub-folders. Nothing is substituted at random:
:mod:`ovmer.data.check` reports what is missing.

A user dataset is ``csv:PATH`` with columns ``name, video`` and optional ``audio, subtitle, labels,
face, description`` (``face``: an OpenFace ``.npy`` for the face model, which may stand in for
``video`` together with ``audio``; ``description``: a training target); relative paths in it are
resolved against the CSV file's folder.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ovmer.data.benchmarks import BENCHMARKS, BenchmarkDataset, Family, get_benchmark
from ovmer.data.groundtruth import read_ground_truth
from ovmer.errors import DatasetError, InputFormatError
from ovmer.labels.parse import string_to_list
from ovmer.media.inputs import SampleMedia

CSV_PREFIX = "csv:"


@dataclass(frozen=True)
class Sample:
    """One clip of a dataset split. Paths are absolute; a path may not exist (``ovmer data check``)."""

    name: str
    video: Path | None
    audio: Path | None  # pre-extracted wav (None: take the audio track of the video)
    face: Path | None  # official openface_face array (None: detect faces)
    subtitle: str | None  # in the benchmark's language; None when the dataset has no subtitles
    label: Any  # str (discrete / OV list joined with ", "), float (valence) or None (unlabelled)
    split: str
    description: str | None = None  # free-text clue description (OV-MERD, MER-Caption+), when available

    def to_record(self) -> dict[str, Any]:
        """A JSON-friendly dict (paths as strings) for manifests."""
        record = asdict(self)
        for key in ("video", "audio", "face"):
            record[key] = None if record[key] is None else os.fspath(record[key])
        return record

    def media(self) -> SampleMedia:
        """The sample's files and subtitle, as the one inputs builder takes them."""
        return SampleMedia(
            name=self.name, video=self.video, wav=self.audio, face_array=self.face, subtitle=self.subtitle
        )


@dataclass(frozen=True)
class DatasetInfo:
    """What ``ovmer data info`` prints about a dataset id."""

    id: str
    title: str
    family: str
    folder: str
    label_file: str
    splits: tuple[str, ...]
    test_size: int | None
    subtitle: str
    media: str
    scored: bool


def dataset_info(dataset_id: str) -> DatasetInfo:
    """Describe a registered dataset (no files are read)."""
    d = get_benchmark(dataset_id)
    faces = "openface_face/<name>/<name>.npy" if d.face_layout == "nested" else "openface_face/<name>.npy"
    splits = ("test", "val") if d.val_split_key else ("test",)
    subtitle = f"{d.subtitle_file} column {d.subtitle_column!r} ({d.subtitle_language})"
    media = f"{'|'.join(d.video_dirs)}/<name>{'|'.join(d.video_exts)}, {d.audio_dir}/<name>.wav, {faces}"
    return DatasetInfo(
        id=d.id,
        title=d.title,
        family=d.family.value,
        folder=d.folder,
        label_file=d.label_file,
        splits=splits,
        test_size=d.test_size,
        subtitle=subtitle,
        media=media,
        scored=d.scored,
    )


def list_datasets() -> list[DatasetInfo]:
    """Every registered dataset id, MER-UniBench first."""
    return [dataset_info(i) for i in BENCHMARKS]


def dataset_folder(root: str | os.PathLike[str], dataset: BenchmarkDataset) -> Path:
    """The dataset's own folder: ``ROOT/<official folder>`` when present, else ``ROOT`` itself."""
    root = Path(root).resolve()
    nested = root / dataset.folder
    return nested if nested.is_dir() else root


def find_video(folder: Path, dataset: BenchmarkDataset, name: str) -> Path:
    """The first existing ``<video dir>/<name><ext>`` (``.mp4`` before ``.avi``, as upstream); if none
    exists, the first candidate (so that errors name the expected path)."""
    candidates = [folder / vdir / f"{name}{ext}" for vdir in dataset.video_dirs for ext in dataset.video_exts]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[0]


def face_path(folder: Path, dataset: BenchmarkDataset, name: str) -> Path:
    """Official face array path (flat for MER-UniBench folders, nested for the MER2025 release)."""
    if dataset.face_layout == "nested":
        return folder / dataset.face_dir / name / f"{name}.npy"
    return folder / dataset.face_dir / f"{name}.npy"


def read_dataset_subtitles(folder: Path, dataset: BenchmarkDataset) -> dict[str, str]:
    """``name → subtitle`` from the benchmark's transcript column (NaN → ``""``, as upstream).

    Raises:
        InputFormatError: the file is missing, not UTF-8, or lacks the column.
    """
    if dataset.subtitle_file is None or dataset.subtitle_column is None:
        return {}
    path = folder / dataset.subtitle_file
    if not path.is_file():
        raise InputFormatError(
            f"{dataset.id}: subtitle file {path} not found (expected {dataset.subtitle_file})"
        )
    try:
        frame = pd.read_csv(path, encoding="utf-8", keep_default_na=True)
    except UnicodeDecodeError as exc:
        raise InputFormatError(
            f"{path}: not valid UTF-8 at byte {exc.start} ({exc.reason}); re-save it as UTF-8 "
            "(Chinese transcripts saved as GBK are the usual cause)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise InputFormatError(f"{path}: cannot read CSV ({exc})") from exc
    for column in ("name", dataset.subtitle_column):
        if column not in frame.columns:
            raise InputFormatError(
                f"{path}: missing column {column!r} (found {list(frame.columns)}); {dataset.id} reads "
                f"{dataset.subtitle_column!r}"
            )
    return {
        str(name): "" if pd.isna(text) else str(text)
        for name, text in zip(frame["name"], frame[dataset.subtitle_column], strict=True)
    }


def read_descriptions(folder: Path, dataset: BenchmarkDataset) -> dict[str, str]:
    """``name → description`` from the dataset's ``track3_*.csv`` when the file exists.

    An empty/NaN description is left out (the sample then has ``description=None``): upstream does
    not guard against it (docs/datasets.md, 'Upstream file facts'); ovmer reports such samples instead
    (``ovmer data check``: ``description_missing``; training: ``filtered.json``) and goes on.

    Raises:
        InputFormatError: unreadable file or missing columns.
    """
    if dataset.description_file is None:
        return {}
    path = folder / dataset.description_file
    if not path.is_file():
        return {}
    try:
        frame = pd.read_csv(path, encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise InputFormatError(f"{path}: cannot read CSV ({exc})") from exc
    for column in ("name", "reason"):
        if column not in frame.columns:
            raise InputFormatError(f"{path}: missing column {column!r} (found {list(frame.columns)})")
    return {
        str(name): str(reason)
        for name, reason in zip(frame["name"], frame["reason"], strict=True)
        if not pd.isna(reason) and str(reason).strip()
    }


def _names_without_labels(folder: Path, dataset: BenchmarkDataset) -> list[str]:
    # MER2025 Track 2: the candidate list is public, the labels are not (docs/datasets.md,
    # 'Upstream file facts').
    assert dataset.names_file is not None
    path = folder / dataset.names_file
    if not path.is_file():
        raise InputFormatError(
            f"{dataset.id}: neither the label file {dataset.label_file} nor the name list "
            f"{dataset.names_file} is in {folder}"
        )
    frame = pd.read_csv(path)
    if "name" not in frame.columns:
        raise InputFormatError(f"{path}: missing column 'name' (found {list(frame.columns)})")
    return frame["name"].astype(str).tolist()


def benchmark_samples(
    root: str | os.PathLike[str],
    dataset_id: str | BenchmarkDataset,
    split: str = "test",
    *,
    require_subtitles: bool = True,
) -> list[Sample]:
    """All samples of one split of a registered dataset, in the label file's order.

    ``require_subtitles=False`` tolerates a missing/broken transcript (subtitles become None); the
    checker uses it to report every problem at once instead of stopping at the first.

    Raises:
        InputFormatError / DatasetError: the label or subtitle file is missing or malformed.
    """
    dataset = dataset_id if isinstance(dataset_id, BenchmarkDataset) else get_benchmark(dataset_id)
    folder = dataset_folder(root, dataset)
    label_path = folder / dataset.label_file
    labels: dict[str, Any]
    if not label_path.is_file() and dataset.names_file is not None:
        labels = dict.fromkeys(_names_without_labels(folder, dataset))
    else:
        labels = read_ground_truth(dataset, label_path, split)
    has_subtitles = dataset.subtitle_file is not None
    try:
        subtitles = read_dataset_subtitles(folder, dataset)
    except InputFormatError:
        if require_subtitles:
            raise
        subtitles, has_subtitles = {}, False
    descriptions = read_descriptions(folder, dataset)
    return [
        Sample(
            name=name,
            video=find_video(folder, dataset, name),
            audio=folder / dataset.audio_dir / f"{name}.wav",
            face=face_path(folder, dataset, name),
            subtitle=subtitles.get(name, "") if has_subtitles else None,
            label=label,
            split=split,
            description=descriptions.get(name),
        )
        for name, label in labels.items()
    ]


def _cell(row: pd.Series, column: str) -> str | None:
    if column not in row.index:
        return None
    value = row[column]
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value)
    return text if text.strip() else None


def manifest_samples(csv_path: str | os.PathLike[str]) -> list[Sample]:
    """Samples of a user CSV manifest (``name, video`` + optional ``audio, subtitle, labels, face,
    description``; ``face`` without ``video`` is enough for the face model when ``audio`` is given).

    ``face`` names an official-layout OpenFace array ``[N, h, w, 3]`` BGR; without it the face model
    and ``prepare`` detect faces in the video.

    ``labels`` may be a list-like string (``"['happy', 'excited']"``) or comma-separated words; it is
    normalised to words joined by ``", "`` as the OV loaders do.

    Raises:
        InputFormatError: unreadable CSV, missing required columns, empty or duplicate names.
    """
    path = Path(csv_path)
    if not path.is_file():
        raise InputFormatError(f"manifest {path} not found")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"{path}: not valid UTF-8 at byte {exc.start}; re-save it as UTF-8") from exc
    except (OSError, csv.Error) as exc:
        raise InputFormatError(f"{path}: cannot read CSV ({exc})") from exc
    if not rows:
        raise InputFormatError(
            f"{path}: the manifest is empty; it needs a header name,video[,audio,subtitle,labels]"
        )
    header = [h.strip() for h in rows[0]]
    for line, fields in enumerate(rows[1:], start=2):
        if len(fields) != len(header):
            raise InputFormatError(
                f"{path}: line {line} has {len(fields)} fields but the header has {len(header)}; "
                'quote cells that contain commas ("a, b")'
            )
    frame = pd.DataFrame(rows[1:], columns=header, dtype=str)
    if "name" not in frame.columns or not {"video", "face"} & set(frame.columns):
        raise InputFormatError(
            f"{path}: found columns {list(frame.columns)}; a manifest needs name and video (or, for the "
            "face model, face) and may add audio,subtitle,labels,description"
        )
    if frame.empty:
        raise InputFormatError(f"{path}: the manifest has no rows")
    empty = frame.index[frame["name"].str.strip() == ""].tolist()
    if empty:
        raise InputFormatError(f"{path}: empty 'name' in data row(s) {[i + 2 for i in empty][:5]}")
    duplicated = frame["name"][frame["name"].duplicated()].tolist()
    if duplicated:
        raise InputFormatError(f"{path}: duplicate sample name(s) {duplicated[:5]}")
    base = path.parent

    def resolve(value: str | None) -> Path | None:
        return None if value is None else (base / value).resolve()

    samples = []
    for _, row in frame.iterrows():
        labels = _cell(row, "labels")
        if labels is not None:
            words = string_to_list(labels) if labels.lstrip().startswith("[") else labels.split(",")
            labels = ", ".join(w.strip() for w in words if w.strip())
        samples.append(
            Sample(
                name=str(row["name"]).strip(),
                video=resolve(_cell(row, "video")),
                audio=resolve(_cell(row, "audio")),
                face=resolve(_cell(row, "face")),
                subtitle=_cell(row, "subtitle") if "subtitle" in frame.columns else None,
                label=labels,
                split="all",
                description=_cell(row, "description"),
            )
        )
    return samples


def is_manifest(dataset_id: str) -> bool:
    """True for ``csv:PATH`` dataset ids."""
    return dataset_id.startswith(CSV_PREFIX)


def load_samples(root: str | os.PathLike[str] | None, dataset_id: str, split: str = "test") -> list[Sample]:
    """Samples of ``dataset_id`` (a registered id or ``csv:PATH``) under ``root``."""
    if is_manifest(dataset_id):
        return manifest_samples(dataset_id[len(CSV_PREFIX) :])
    if root is None:
        raise DatasetError(f"{dataset_id}: a dataset root folder is needed")
    return benchmark_samples(root, dataset_id, split)


def iter_media_names(folder: Path, dataset: BenchmarkDataset) -> Iterator[tuple[str, Path]]:
    """``(name, path)`` of every video file in the dataset's video folders."""
    for vdir in dataset.video_dirs:
        directory = folder / vdir
        if not directory.is_dir():
            continue
        for entry in sorted(directory.iterdir()):
            if entry.suffix.lower() in dataset.video_exts and entry.is_file():
                yield entry.stem, entry


def all_labelled_names(folder: Path, dataset: BenchmarkDataset) -> set[str]:
    """Names that have a label in *any* split of the label file (media of other splits is expected)."""
    from ovmer.safe_pickle import load_npz_key, npz_keys

    path = folder / dataset.label_file
    if not path.is_file():
        return set()
    if dataset.family is Family.OPENSET or path.suffix == ".csv":
        return set(pd.read_csv(path)["name"].astype(str))
    names: set[str] = set()
    for key in npz_keys(path):
        corpus = load_npz_key(path, key).tolist()
        if isinstance(corpus, dict):
            names.update(str(n) for n in corpus)
    return names


def known_ids() -> Sequence[str]:
    """Registered dataset ids (``csv:PATH`` is accepted in addition)."""
    return tuple(BENCHMARKS)
