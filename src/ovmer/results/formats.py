"""The one reader of model predictions: every supported format in, one :class:`Predictions` out.

Formats (docs/scoring.md):

* ovmer JSONL (``.jsonl``): one :class:`~ovmer.results.record.AnswerRecord` per line (written by
  ``infer``, ``bench``, ``extract`` and ``convert``; see :mod:`ovmer.results.jsonl`);
* upstream's official ``.npz`` files (:mod:`ovmer.results.official`): a base ``x.npz`` brings its
  ``x-openset.npz`` / ``x-openset-sentiment.npz`` siblings along, and the base itself may be absent;
* a CSV with columns ``name, openset`` (the MER2024 OV example files).

Writers: :func:`ovmer.results.jsonl.write_records` (JSONL) and
:func:`ovmer.results.official.write_official` (``.npz``): one per format.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pandas as pd

from ovmer.errors import InputFormatError
from ovmer.results.jsonl import read_records
from ovmer.results.official import official_base, read_checkpoint, read_official_file
from ovmer.results.record import OUTPUT_FIELDS, Predictions

logger = logging.getLogger(__name__)


def read_predictions(path: Path, kind: str | None = None) -> Predictions:
    """Read a prediction file of any supported format.

    Args:
        path: the file; an official base ``.npz`` (not ``-openset``/``-sentiment``) reads the
            checkpoint's files together, even when only its siblings exist.
        kind: for ``filenames``/``fileitems`` archives, ``ov_labels`` or ``sentiment`` (default: from
            the file name, ``-sentiment`` suffix → sentiment).

    Raises:
        InputFormatError: naming the file (missing, empty, unknown format, bad content).
    """
    path = Path(path)
    if path.suffix == ".npz" and kind is None and official_base(path) == path:
        return read_checkpoint(path)
    if not path.is_file():
        raise InputFormatError(f"{path}: prediction file not found")
    if path.stat().st_size == 0:
        raise InputFormatError(f"{path}: file is empty")
    predictions = Predictions(source=str(path))
    if path.name.endswith(".jsonl"):
        _add_jsonl(path, predictions)
    elif path.name.endswith(".csv"):
        _add_csv(path, predictions)
    elif path.name.endswith(".npz"):
        read_official_file(path, predictions, kind)
    else:
        raise InputFormatError(
            f"{path}: unknown prediction format; expected .npz (official), .jsonl (ovmer) or .csv (name, openset)"
        )
    if not predictions.records:
        raise InputFormatError(f"{path}: holds no predictions")
    if predictions.duplicates:
        # Info, not warning: what a duplicate means is the caller's to say (scoring refuses differing
        # ones under the clean protocol, so "the last occurrence is used" would contradict its error).
        logger.info(
            "%s: %d duplicate sample name(s), the last occurrence is used (e.g. %s)",
            path,
            len(predictions.duplicates),
            list(predictions.duplicates)[:3],
        )
    return predictions


def _add_jsonl(path: Path, predictions: Predictions) -> None:
    for record in read_records(path):
        if record.name not in predictions.records:  # first occurrence: the whole record
            predictions.records[record.name] = record
            continue
        for field_name in OUTPUT_FIELDS:
            value = getattr(record, field_name)
            if value is not None:
                predictions.merge(record.name, field_name, value)


def _add_csv(path: Path, predictions: Predictions) -> None:
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InputFormatError(f"{path}: cannot read CSV ({exc})") from exc
    if "name" not in frame.columns or "openset" not in frame.columns:
        raise InputFormatError(
            f"{path}: a prediction CSV needs columns name, openset (found {list(frame.columns)})"
        )
    for name, cell in zip(frame["name"], frame["openset"], strict=True):
        predictions.merge(str(name), "ov_labels", "" if pd.isna(cell) else str(cell))


def summarise(predictions: Predictions) -> dict[str, int]:
    """Counts for reports: samples, and how many have each field."""
    counts: Counter[str] = Counter()
    for record in predictions.records.values():
        counts["samples"] += 1
        for field_name in OUTPUT_FIELDS:
            if getattr(record, field_name) is not None:
                counts[field_name] += 1
    return dict(counts)
