"""Training labels for the voting classifiers: a registered dataset's label file or a CSV.

A registered id (``mer2023``, ``mer2024``, ``meld``, ``iemocap``, ``cmumosi``, ``cmumosei``, ``sims``,
``simsv2``) reads the official MERBench label ``.npz`` under ``ROOT/<folder>/`` (docs/datasets.md).
Each row there is ``{'emo': …, 'val': …}``: ``emo`` is a word (MER2023/MER2024) or an index into the
dataset's label list (MELD, IEMOCAP); sentiment datasets carry ``emo = 0`` and no emotion. ``val`` is
the valence; ``-10`` is upstream's "no valence" placeholder (MELD, IEMOCAP, MER2023 test3), so such
rows have no sentiment label. The sentiment class is the valence's sign, with ``|val| <= neutral_band``
neutral (default 0: only an exact 0 is neutral).

Which splits: by default every ``train*`` key of the label file; IEMOCAP has only ``whole_corpus``, and
its training part is everything but Session 5 (the MER-UniBench test set). ``splits=`` overrides.

A CSV (``csv:PATH``) has a header with ``name`` and at least one of ``emotion``, ``sentiment``
(``negative|neutral|positive``) or ``valence`` (a number); empty cells mean "no label for that task".
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ovmer.classifier.votes import SENTIMENT_CLASSES
from ovmer.data.benchmarks import BenchmarkDataset, Family, get_benchmark
from ovmer.data.groundtruth import discrete_label
from ovmer.data.registry import CSV_PREFIX, dataset_folder
from ovmer.errors import DatasetError, InputFormatError
from ovmer.safe_pickle import load_npz_key, npz_keys

#: upstream's "this sample has no valence" value in the MERBench label files (MELD, IEMOCAP, MER2023 test3)
MISSING_VALENCE = -10.0


@dataclass(frozen=True)
class LabelledSample:
    """One clip's training targets; ``None`` where the dataset gives no label for that task."""

    name: str
    emotion: str | None
    sentiment: str | None


@dataclass
class LabelTable:
    """The labelled clips of one dataset, in file order, and where they came from."""

    dataset: str  # a short id used in member names: ``mer2023`` or the CSV file's stem
    source: str  # the label file read
    samples: list[LabelledSample] = field(default_factory=list)

    @property
    def emotion_labels(self) -> tuple[str, ...]:
        """Sorted distinct emotion labels (the emotion head's classes); empty: no emotion head."""
        return tuple(sorted({s.emotion for s in self.samples if s.emotion is not None}))

    @property
    def has_sentiment(self) -> bool:
        """Whether any clip has a sentiment label (the member then gets a sentiment head)."""
        return any(s.sentiment is not None for s in self.samples)


def sentiment_from_valence(valence: float, neutral_band: float = 0.0) -> str:
    """``negative`` / ``neutral`` / ``positive`` by the sign of ``valence`` (``|v| <= band`` → neutral)."""
    if abs(valence) <= neutral_band:
        return "neutral"
    return "positive" if valence > 0 else "negative"


def read_labels(
    dataset: str,
    root: str | os.PathLike[str] | None = None,
    splits: Sequence[str] | None = None,
    neutral_band: float = 0.0,
) -> LabelTable:
    """Training labels of ``dataset`` (a registered id under ``root``, or ``csv:PATH``).

    Raises:
        DatasetError: unknown id, no root, an open-vocabulary dataset, or an unknown split.
        InputFormatError: a missing or malformed label file or CSV.
    """
    if dataset.startswith(CSV_PREFIX):
        return read_label_csv(Path(dataset[len(CSV_PREFIX) :]), neutral_band)
    bench = get_benchmark(dataset)
    if bench.family is Family.OPENSET:
        raise DatasetError(
            f"{bench.id} has open-vocabulary label lists, not classes; train the classifiers on a discrete "
            "or sentiment dataset (mer2023, mer2024, meld, iemocap, cmumosi, cmumosei, sims, simsv2) or a CSV"
        )
    if root is None:
        raise DatasetError(f"{bench.id}: give --data-root, the folder holding {bench.folder}/")
    path = dataset_folder(root, bench) / bench.label_file
    if not path.is_file():
        raise InputFormatError(
            f"{bench.id}: label file {path} not found (expected {bench.folder}/{bench.label_file})"
        )
    rows = _split_rows(bench, path, splits)
    table = LabelTable(dataset=bench.id, source=str(path))
    for name, row in rows.items():
        emotion = _emotion(bench, path, name, row) if bench.family is Family.DISCRETE else None
        valence = _valence(path, name, row)
        sentiment = None if valence is None else sentiment_from_valence(valence, neutral_band)
        if emotion is not None or sentiment is not None:
            table.samples.append(LabelledSample(str(name), emotion, sentiment))
    return table


def _split_rows(bench: BenchmarkDataset, path: Path, splits: Sequence[str] | None) -> dict[str, Any]:
    keys = npz_keys(path)
    chosen = list(splits) if splits else [k for k in keys if k.startswith("train")]
    unknown = [k for k in chosen if k not in keys]
    if unknown:
        raise DatasetError(f"{path}: no split {unknown[0]!r} for {bench.id}; the file has {keys}")
    test_only = not chosen and bench.name_filter == "session5" and bench.split_key in keys
    if test_only:
        chosen = [str(bench.split_key)]
    if not chosen:
        raise DatasetError(f"{path}: no train* split in {keys}; name the splits to use (--splits KEY,…)")
    rows: dict[str, Any] = {}
    for key in chosen:
        corpus = load_npz_key(path, key).tolist()
        if not isinstance(corpus, dict):
            raise InputFormatError(f"{path}: split {key!r} is not a name → label dict")
        for name, row in corpus.items():
            rows.setdefault(str(name), row)
    if test_only:  # IEMOCAP: train on Sessions 1–4, Session 5 is the benchmark's test set
        rows = {n: r for n, r in rows.items() if not (len(n) > 4 and n[4] == "5")}
    return rows


def _emotion(bench: BenchmarkDataset, path: Path, name: str, row: Any) -> str:
    """The row's emotion as the scorer reads it (:func:`ovmer.data.groundtruth.discrete_label`), in lower case."""
    label = discrete_label(bench, path, name, row).strip().lower()
    if not label:
        raise InputFormatError(f"{path}: sample {name!r} has an empty emotion")
    return label


def _valence(path: Path, name: str, row: Any) -> float | None:
    value = row.get("val") if isinstance(row, dict) else None
    if value is None:
        return None
    try:
        valence = float(value)
    except (TypeError, ValueError):
        raise InputFormatError(f"{path}: sample {name!r} has non-numeric valence {value!r}") from None
    return None if math.isnan(valence) or valence == MISSING_VALENCE else valence


def read_label_csv(path: Path, neutral_band: float = 0.0) -> LabelTable:
    """Labels from ``name,emotion[,sentiment|valence]`` (see the module docstring)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFormatError(
            f"{path}: cannot read the label CSV ({exc}); expected name,emotion[,sentiment]"
        ) from exc
    header = [h.strip().lower() for h in rows[0]] if rows else []
    tasks = {"emotion", "sentiment", "valence"} & set(header)
    if "name" not in header or not tasks:
        raise InputFormatError(
            f"{path}: header {header} lacks 'name' and a label column; expected name,emotion[,sentiment|valence]"
        )
    column = {key: header.index(key) for key in ("name", *tasks)}
    table = LabelTable(dataset=path.stem, source=str(path))
    seen: set[str] = set()
    for line, fields in enumerate(rows[1:], start=2):
        if len(fields) != len(header):
            raise InputFormatError(f"{path}: line {line} has {len(fields)} fields, the header {len(header)}")
        cells = {key: fields[i].strip() for key, i in column.items()}
        name = cells["name"]
        if not name or name in seen:
            raise InputFormatError(f"{path}: line {line}: empty or duplicate name {name!r}")
        seen.add(name)
        sentiment = _csv_sentiment(path, line, cells, neutral_band)
        emotion = cells.get("emotion", "").lower() or None
        if emotion is not None or sentiment is not None:
            table.samples.append(LabelledSample(name, emotion, sentiment))
    if not table.samples:
        raise InputFormatError(f"{path}: no labelled rows")
    return table


def _csv_sentiment(path: Path, line: int, cells: dict[str, str], neutral_band: float) -> str | None:
    word = cells.get("sentiment", "").lower()
    if word:
        if word not in SENTIMENT_CLASSES:
            raise InputFormatError(
                f"{path}: line {line}: sentiment {word!r} is not one of {', '.join(SENTIMENT_CLASSES)}"
            )
        return word
    text = cells.get("valence", "")
    if not text:
        return None
    try:
        valence = float(text)
    except ValueError:
        raise InputFormatError(f"{path}: line {line}: valence {text!r} is not a number") from None
    if math.isnan(valence):
        raise InputFormatError(f"{path}: line {line}: valence is NaN")
    return sentiment_from_valence(valence, neutral_band)
