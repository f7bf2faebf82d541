"""Upstream's result files: the only reader and writer of the official ``.npz`` layouts.

All are ``numpy.savez_compressed`` archives (docs/scoring.md, upstream ``evaluation.py`` and
``inference_hybird.py``):

* ``<base>.npz`` — key ``name2reason``: a pickled ``dict[name → free text]`` (read with the
  allow-listed unpickler of :mod:`ovmer.safe_pickle`, so a file cannot run code);
* ``<base>-openset.npz`` — step A: aligned unicode arrays ``filenames`` and ``fileitems``
  (``'[concern, worry]'``);
* ``<base>-openset-sentiment.npz`` — step B, same layout (``'positive'``); some upstream versions
  name it ``<base>-sentiment.npz``, which is read too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ovmer.atomic import atomic_open
from ovmer.errors import InputFormatError
from ovmer.results.record import Predictions, as_stored_labels
from ovmer.safe_pickle import load_npz_key, npz_keys

OPENSET_SUFFIX = "-openset"
SENTIMENT_SUFFIXES = ("-openset-sentiment", "-sentiment")


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


def official_base(path: Path) -> Path:
    """The base ``.npz`` of any official file name (``x-openset.npz`` → ``x.npz``)."""
    path = Path(path)
    stem = path.name[:-4] if path.name.endswith(".npz") else path.name
    for suffix in (*SENTIMENT_SUFFIXES, OPENSET_SUFFIX):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return path.with_name(stem + ".npz")


def official_kind(path: Path) -> str:
    """Which field an official ``.npz`` holds: ``text``, ``ov_labels`` or ``sentiment`` (by its keys)."""
    keys = npz_keys(path)
    if "name2reason" in keys:
        return "text"
    if {"filenames", "fileitems"} <= set(keys):
        return "sentiment" if path.name[:-4].endswith(SENTIMENT_SUFFIXES) else "ov_labels"
    raise InputFormatError(
        f"{path}: .npz with keys {keys} is none of the official formats (name2reason; or filenames + fileitems)"
    )


def read_official_file(path: Path, predictions: Predictions, kind: str | None = None) -> None:
    """Add one official file's field to ``predictions``; ``kind`` overrides the name's suffix."""
    detected = official_kind(path)
    if detected == "text":
        mapping = load_npz_key(path, "name2reason").tolist()
        if not isinstance(mapping, dict):
            raise InputFormatError(
                f"{path}: name2reason is {type(mapping).__name__}, expected a dict name → text"
            )
        for name, text in mapping.items():
            predictions.merge(str(name), "text", "" if text is None else str(text))
        return
    field_name = kind or detected
    if field_name not in ("ov_labels", "sentiment"):
        raise InputFormatError(f"{path}: kind must be ov_labels or sentiment, got {kind!r}")
    # Plain unicode arrays upstream; an object (pickled) array is refused, naming the file.
    names = load_npz_key(path, "filenames", allow_objects=False)
    items = load_npz_key(path, "fileitems", allow_objects=False)
    if names.shape != items.shape or names.ndim != 1:
        raise InputFormatError(
            f"{path}: filenames {names.shape} and fileitems {items.shape} are not aligned 1-d arrays"
        )
    for name, item in zip(names.tolist(), items.tolist(), strict=True):
        predictions.merge(str(name), field_name, str(item))


def read_checkpoint(base: Path) -> Predictions:
    """Read a checkpoint's official files together (whichever of the three exist)."""
    paths = official_paths(base)
    merged = Predictions(source=str(paths["text"]))
    found = False
    for field_name, path in paths.items():
        if not path.is_file():
            continue
        found = True
        if path.stat().st_size == 0:
            raise InputFormatError(f"{path}: file is empty")
        part = Predictions(source=str(path))
        read_official_file(path, part, None if field_name == "text" else field_name)
        if not part.records:
            raise InputFormatError(f"{path}: holds no predictions")
        for name, record in part.records.items():
            merged.merge(name, field_name, getattr(record, field_name))
        merged.duplicates.update(part.duplicates)
        merged.conflicting_duplicates += part.conflicting_duplicates
    if not found:
        raise InputFormatError(f"{base}: none of {[p.name for p in paths.values()]} exists")
    return merged


def write_official(predictions: Predictions, base: Path, fields: Sequence[str] | None = None) -> list[Path]:
    """Write the official ``.npz`` files for the fields present; returns the paths written.

    ``fields`` limits the files written (``text``, ``ov_labels``, ``sentiment``), so that an
    extraction step adds its file without rewriting the model-output file it read. The ``text``
    file is upstream's ``savez_compressed(name2reason=dict)`` (a 0-d object array).
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
