"""Reading and writing model predictions in the official formats and in ovmer's JSONL.

Official formats (spec ``evaluation.md`` §9), all ``numpy.savez_compressed`` archives:

* ``<base>.npz`` — key ``name2reason``: a pickled ``dict[name → free text]`` (read with the
  allow-listed unpickler of :mod:`ovmer.safe_pickle`);
* ``<base>-openset.npz`` — step A: aligned unicode arrays ``filenames`` and ``fileitems``
  (``'[concern, worry]'``);
* ``<base>-openset-sentiment.npz`` — step B, same layout (``'positive'``); some upstream versions
  name it ``<base>-sentiment.npz``, which is read too;
* a CSV with columns ``name, openset`` (the MER2024 OV example files).

ovmer JSONL: one JSON object per line and sample::

    {"name": "sample_00001998", "text": "The character's emotional state is concern, worry.",
     "ov_labels": "[concern, worry]", "sentiment": null,
     "model": "affectgpt", "run": "<run folder>", "checkpoint": "checkpoint_000050_loss_0.527"}

``name`` is required; every other field may be absent or null. ``ov_labels`` is the step-A reply
*as stored* (a string, so scoring sees exactly what upstream saw) or a JSON list of labels.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ovmer.atomic import atomic_open
from ovmer.errors import InputFormatError
from ovmer.safe_pickle import load_npz_key, npz_keys

logger = logging.getLogger(__name__)

OPENSET_SUFFIX = "-openset"
SENTIMENT_SUFFIXES = ("-openset-sentiment", "-sentiment")


@dataclass
class PredictionRecord:
    """Everything known about one sample's prediction."""

    name: str
    text: str | None = None  # the model's free-text answer (name2reason)
    ov_labels: str | list[str] | None = None  # step-A output as stored, or a list
    sentiment: str | None = None  # step-B output
    model: str | None = None
    run: str | None = None
    checkpoint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Predictions:
    """The predictions of one checkpoint on one dataset, keyed by sample name in file order."""

    source: str
    records: dict[str, PredictionRecord] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)  # name → extra occurrences (last one wins)
    conflicting_duplicates: list[str] = field(default_factory=list)  # duplicates whose values differ

    def field_map(self, name: str) -> dict[str, Any]:
        """``sample → value`` of one field (``text``, ``ov_labels``, ``sentiment``) for samples that have it."""
        return {n: getattr(r, name) for n, r in self.records.items() if getattr(r, name) is not None}

    def has(self, name: str) -> bool:
        return any(getattr(r, name) is not None for r in self.records.values())


def official_paths(base: Path) -> dict[str, Path]:
    """The three official files of a checkpoint: ``text``, ``ov_labels`` and ``sentiment``."""
    base = Path(base)
    stem = base.name[:-4] if base.name.endswith(".npz") else base.name
    parent = base.parent
    sentiment = parent / f"{stem}{SENTIMENT_SUFFIXES[0]}.npz"
    for suffix in SENTIMENT_SUFFIXES:
        candidate = parent / f"{stem}{suffix}.npz"
        if candidate.is_file():
            sentiment = candidate
            break
    return {
        "text": parent / f"{stem}.npz",
        "ov_labels": parent / f"{stem}{OPENSET_SUFFIX}.npz",
        "sentiment": sentiment,
    }


def _merge(predictions: Predictions, name: str, field_name: str, value: Any, **meta: Any) -> None:
    record = predictions.records.get(name)
    if record is None:
        predictions.records[name] = record = PredictionRecord(name=name, **meta)
    elif getattr(record, field_name) is not None:
        predictions.duplicates[name] = predictions.duplicates.get(name, 0) + 1
        if getattr(record, field_name) != value:
            predictions.conflicting_duplicates.append(name)
    setattr(record, field_name, value)


def _detect_kind(path: Path) -> str:
    name = path.name
    if name.endswith(".jsonl"):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if not name.endswith(".npz"):
        raise InputFormatError(
            f"{path}: unknown prediction format; expected .npz (official), .jsonl (ovmer) or .csv (name, openset)"
        )
    keys = npz_keys(path)
    if "name2reason" in keys:
        return "text"
    if {"filenames", "fileitems"} <= set(keys):
        stem = name[:-4]
        return "sentiment" if stem.endswith(SENTIMENT_SUFFIXES) else "ov_labels"
    raise InputFormatError(
        f"{path}: .npz with keys {keys} is none of the official formats (name2reason; or filenames + fileitems)"
    )


def read_predictions(path: Path, kind: str | None = None) -> Predictions:
    """Read one prediction file of any supported format.

    Args:
        path: the file.
        kind: for ``filenames``/``fileitems`` archives, ``ov_labels`` or ``sentiment`` (default: from the
            file name, ``-sentiment`` suffix → sentiment).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(f"{path}: prediction file not found")
    if path.stat().st_size == 0:
        raise InputFormatError(f"{path}: file is empty")
    detected = _detect_kind(path)
    predictions = Predictions(source=str(path))
    if detected == "jsonl":
        _read_jsonl(path, predictions)
    elif detected == "csv":
        _read_csv(path, predictions)
    elif detected == "text":
        mapping = load_npz_key(path, "name2reason").tolist()
        if not isinstance(mapping, dict):
            raise InputFormatError(
                f"{path}: name2reason is {type(mapping).__name__}, expected a dict name → text"
            )
        for name, text in mapping.items():
            _merge(predictions, str(name), "text", "" if text is None else str(text))
    else:
        field_name = kind or detected
        if field_name not in ("ov_labels", "sentiment"):
            raise InputFormatError(f"{path}: kind must be ov_labels or sentiment, got {kind!r}")
        with np.load(path, allow_pickle=False) as archive:
            names, items = archive["filenames"], archive["fileitems"]
        if names.shape != items.shape or names.ndim != 1:
            raise InputFormatError(
                f"{path}: filenames {names.shape} and fileitems {items.shape} are not aligned 1-d arrays"
            )
        for name, item in zip(names.tolist(), items.tolist(), strict=True):
            _merge(predictions, str(name), field_name, str(item))
    if not predictions.records:
        raise InputFormatError(f"{path}: holds no predictions")
    if predictions.duplicates:
        examples = list(predictions.duplicates)[:3]
        logger.warning(
            "%s: %d duplicate sample name(s), the last occurrence is used (e.g. %s)",
            path,
            len(predictions.duplicates),
            examples,
        )
    return predictions


def _read_jsonl(path: Path, predictions: Predictions) -> None:
    known = set(PredictionRecord.__dataclass_fields__)
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFormatError(f"{path}:{line_number}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"]:
                raise InputFormatError(
                    f"{path}:{line_number}: each line must be an object with a non-empty string 'name'"
                )
            labels = obj.get("ov_labels")
            if labels is not None and not (
                isinstance(labels, str)
                or (isinstance(labels, list) and all(isinstance(x, str) for x in labels))
            ):
                raise InputFormatError(
                    f"{path}:{line_number}: 'ov_labels' must be a string or a list of strings"
                )
            meta = {k: obj.get(k) for k in ("model", "run", "checkpoint")}
            name = obj["name"]
            for field_name in ("text", "ov_labels", "sentiment"):
                if obj.get(field_name) is not None:
                    _merge(predictions, name, field_name, obj[field_name], **meta)
            if name not in predictions.records:
                predictions.records[name] = PredictionRecord(name=name, **meta)
            unknown = set(obj) - known
            if unknown:
                logger.debug("%s:%d: ignoring unknown field(s) %s", path, line_number, sorted(unknown))


def _read_csv(path: Path, predictions: Predictions) -> None:
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InputFormatError(f"{path}: cannot read CSV ({exc})") from exc
    if "name" not in frame.columns or "openset" not in frame.columns:
        raise InputFormatError(
            f"{path}: a prediction CSV needs columns name, openset (found {list(frame.columns)})"
        )
    for name, cell in zip(frame["name"], frame["openset"], strict=True):
        _merge(predictions, str(name), "ov_labels", "" if pd.isna(cell) else str(cell))


def read_checkpoint(base: Path) -> Predictions:
    """Read a checkpoint's official files together (whichever of the three exist)."""
    paths = official_paths(base)
    merged = Predictions(source=str(paths["text"]))
    found = False
    for field_name, path in paths.items():
        if not path.is_file():
            continue
        found = True
        part = read_predictions(path, kind=None if field_name == "text" else field_name)
        for name, record in part.records.items():
            _merge(merged, name, field_name, getattr(record, field_name))
        merged.duplicates.update(part.duplicates)
        merged.conflicting_duplicates += part.conflicting_duplicates
    if not found:
        raise InputFormatError(f"{base}: none of {[p.name for p in paths.values()]} exists")
    return merged


def write_jsonl(records: list[PredictionRecord] | dict[str, PredictionRecord], path: Path) -> None:
    """Write records as ovmer JSONL, atomically."""
    values = list(records.values()) if isinstance(records, dict) else records
    with atomic_open(path) as handle:
        for record in values:
            handle.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")


def as_stored_labels(value: str | list[str]) -> str:
    """An OV label value as the string step B and the official files see (``[a, b]`` for a list)."""
    return value if isinstance(value, str) else "[" + ", ".join(value) + "]"


def official_base(path: Path) -> Path:
    """The base ``.npz`` of any official file name (``x-openset.npz`` → ``x.npz``)."""
    path = Path(path)
    stem = path.name[:-4] if path.name.endswith(".npz") else path.name
    for suffix in (*SENTIMENT_SUFFIXES, OPENSET_SUFFIX):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return path.with_name(stem + ".npz")


def write_official(predictions: Predictions, base: Path, fields: Sequence[str] | None = None) -> list[Path]:
    """Write the official ``.npz`` files for the fields present; returns the paths written.

    ``fields`` limits the files written (``text``, ``ov_labels``, ``sentiment``), so that an
    extraction step adds its file without rewriting the model-output file it read.
    """
    wanted = set(fields) if fields is not None else {"text", "ov_labels", "sentiment"}
    paths = official_paths(base)
    paths["sentiment"] = paths["text"].with_name(paths["text"].name[:-4] + SENTIMENT_SUFFIXES[0] + ".npz")
    written = []
    texts = predictions.field_map("text") if "text" in wanted else {}
    if texts:
        with atomic_open(paths["text"], "wb") as handle:
            np.savez_compressed(handle, name2reason=np.array(texts, dtype=object))
        written.append(paths["text"])
    for field_name in ("ov_labels", "sentiment"):
        values = predictions.field_map(field_name) if field_name in wanted else {}
        if not values:
            continue
        items = [as_stored_labels(v) if field_name == "ov_labels" else str(v) for v in values.values()]
        with atomic_open(paths[field_name], "wb") as handle:
            np.savez_compressed(handle, filenames=np.array(list(values)), fileitems=np.array(items))
        written.append(paths[field_name])
    return written


def summarise(predictions: Predictions) -> dict[str, int]:
    """Counts for reports: samples, and how many have each field."""
    counts: Counter[str] = Counter()
    for record in predictions.records.values():
        counts["samples"] += 1
        for field_name in ("text", "ov_labels", "sentiment"):
            if getattr(record, field_name) is not None:
                counts[field_name] += 1
    return dict(counts)
