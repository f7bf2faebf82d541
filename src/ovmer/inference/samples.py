"""Which samples to run: the MER-UniBench test splits read from their official folders, or a manifest.

A minimal reader of the layouts of spec datasets §3 (test names, subtitle column, media folders),
enough for ``ovmer infer``; the full validating loaders live in ``ovmer.data``. Each sample names its
video, audio and face files; missing media are reported when the sample is decoded, naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ovmer.errors import DatasetError


@dataclass(frozen=True)
class InferenceSample:
    """One sample to describe. ``faces`` is the OpenFace ``.npy`` (face model)."""

    name: str
    video: Path | None
    audio: Path | None
    faces: Path | None
    subtitle: str


@dataclass(frozen=True)
class UniBenchLayout:
    """Where one processed MER-UniBench folder keeps its test names, subtitles and media."""

    folder: str
    label_file: str | None
    label_key: str | None
    transcript: str
    subtitle_column: str
    video_dir: str
    audio_dir: str
    session5_only: bool = False  # IEMOCAP: the test side is Session 5


# Spec datasets §3.2 (MER2024 keeps the Chinese column and OV-MERD+ reads `sentence`, as upstream).
UNIBENCH: dict[str, UniBenchLayout] = {
    "mer2023": UniBenchLayout(
        "mer2023-dataset-process",
        "label-6way.npz",
        "test1_corpus",
        "transcription-engchi-polish.csv",
        "english",
        "video",
        "audio",
    ),
    "mer2024": UniBenchLayout(
        "mer2024-dataset-process",
        "label-6way.npz",
        "test1_corpus",
        "transcription_merge.csv",
        "chinese",
        "video",
        "audio",
    ),
    "meld": UniBenchLayout(
        "meld-process",
        "label.npz",
        "test_corpus",
        "transcription-engchi-polish.csv",
        "english",
        "subvideo",
        "subaudio",
    ),
    "iemocapfour": UniBenchLayout(
        "iemocap-process",
        "label_4way.npz",
        "whole_corpus",
        "transcription-engchi-polish.csv",
        "english",
        "subvideo-tgt",
        "subaudio",
        session5_only=True,
    ),
    "cmumosi": UniBenchLayout(
        "cmumosi-process",
        "label.npz",
        "test_corpus",
        "transcription-engchi-polish.csv",
        "english",
        "subvideo",
        "subaudio",
    ),
    "cmumosei": UniBenchLayout(
        "cmumosei-process",
        "label.npz",
        "test_corpus",
        "transcription-engchi-polish.csv",
        "english",
        "subvideo_new",
        "subaudio",
    ),
    "sims": UniBenchLayout(
        "sims-process",
        "label.npz",
        "test_corpus",
        "transcription-engchi-polish.csv",
        "english",
        "video",
        "audio",
    ),
    "simsv2": UniBenchLayout(
        "simsv2-process",
        "label.npz",
        "test_corpus",
        "transcription-engchi-polish.csv",
        "english",
        "video_new",
        "audio",
    ),
    "ovmerdplus": UniBenchLayout(
        "ovmerdplus-process", None, None, "subtitle_eng.csv", "sentence", "video", "audio"
    ),
}


def _dataset_folder(dataset: str, root: Path) -> tuple[UniBenchLayout, Path]:
    layout = UNIBENCH.get(dataset.lower())
    if layout is None:
        raise DatasetError(f"unknown dataset {dataset!r}; known: {sorted(UNIBENCH)} (or use --manifest)")
    folder = root / layout.folder if (root / layout.folder).is_dir() else root
    if not (folder / layout.transcript).is_file():
        raise DatasetError(
            f"{dataset}: {folder / layout.transcript} not found; --root must be the {layout.folder} folder "
            "or the folder that contains it"
        )
    return layout, folder


def _test_names(dataset: str, layout: UniBenchLayout, folder: Path, transcript: pd.DataFrame) -> list[str]:
    if layout.label_file is None:
        return [str(n) for n in transcript["name"]]
    from ovmer.safe_pickle import load_npz_key

    label_path = folder / layout.label_file
    if not label_path.is_file():
        raise DatasetError(f"{dataset}: label file {label_path} not found")
    labels = load_npz_key(label_path, str(layout.label_key)).tolist()
    names = sorted(str(n) for n in labels)
    if layout.session5_only:
        names = [n for n in names if len(n) > 4 and n[4] == "5"]
    return names


def _first_existing(folder: Path, name: str, suffixes: tuple[str, ...]) -> Path:
    for suffix in suffixes:
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return folder / f"{name}{suffixes[0]}"


def unibench_samples(dataset: str, root: str | Path) -> list[InferenceSample]:
    """Test samples of one MER-UniBench dataset under ``root`` (spec datasets §3.2)."""
    layout, folder = _dataset_folder(dataset, Path(root))
    transcript = pd.read_csv(folder / layout.transcript, keep_default_na=True)
    for column in ("name", layout.subtitle_column):
        if column not in transcript.columns:
            raise DatasetError(f"{dataset}: {folder / layout.transcript} has no column {column!r}")
    subtitles = {
        str(n): ("" if pd.isna(s) else str(s))
        for n, s in zip(transcript["name"], transcript[layout.subtitle_column], strict=True)
    }
    samples = []
    for name in _test_names(dataset, layout, folder, transcript):
        if name not in subtitles:
            raise DatasetError(f"{dataset}: sample {name} has no row in {folder / layout.transcript}")
        samples.append(
            InferenceSample(
                name=name,
                video=_first_existing(folder / layout.video_dir, name, (".mp4", ".avi")),
                audio=folder / layout.audio_dir / f"{name}.wav",
                faces=folder / "openface_face" / f"{name}.npy",
                subtitle=subtitles[name],
            )
        )
    return samples


def manifest_samples(path: str | Path) -> list[InferenceSample]:
    """Samples from a JSONL manifest: one object per line with ``name`` and any of ``video``,
    ``audio``, ``faces``, ``subtitle`` (relative paths are relative to the manifest's folder)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"manifest not found: {path}")
    samples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            name = str(row["name"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path}:{number}: not a JSON object with a 'name' ({exc})") from exc

        def media(key: str, row: dict = row) -> Path | None:
            value = row.get(key)
            return None if not value else (path.parent / str(value))

        samples.append(
            InferenceSample(
                name, media("video"), media("audio"), media("faces"), str(row.get("subtitle") or "")
            )
        )
    names = [s.name for s in samples]
    if len(set(names)) != len(names):
        raise DatasetError(f"{path}: duplicate sample names")
    return samples
