"""Utterance-level features for the classifiers, read from feature folders (numpy only, no torch).

A feature folder is either a cache written by ``ovmer features extract`` (``cache.json`` +
``features/<name>.safetensors``; docs/training.md) or a plain folder of ``<name>.safetensors``. Each
file may hold ``visual`` (T, 768: CLIP ViT-L/14 frame features), ``audio`` (K, 1024: chinese-hubert-large
clip features) and ``text`` (D,) or (L, D). MERBench's ``utt`` setting classifies one vector per
modality (upstream ``MERBench/toolkit/models/attention.py``), so a 2-d array is averaged over its
first axis → (D,). Several folders are merged per clip, the first folder that has a modality wins
(e.g. a CLIP+HuBERT cache plus a folder of text features).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ovmer.errors import DatasetError, InputFormatError

MODALITIES: tuple[str, ...] = ("audio", "text", "visual")  # the order of upstream's fusion (a, t, v)
CACHE_META = "cache.json"  # the marker of an `ovmer features extract` cache (ovmer.train.features)
CACHE_FEATURES_DIR = "features"
SUFFIX = ".safetensors"


def feature_dir(folder: str | os.PathLike[str]) -> Path:
    """The folder that holds the ``<name>.safetensors`` files of a cache or plain feature folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: feature folder not found (create it with `ovmer features extract`)")
    if (folder / CACHE_META).is_file():
        return folder / CACHE_FEATURES_DIR
    return folder


class FeatureFolders:
    """Read access to one or more feature folders: ``names()`` and ``load(name)`` → {modality: (D,)}."""

    def __init__(self, folders: Sequence[str | os.PathLike[str]]) -> None:
        if not folders:
            raise DatasetError("no feature folder given (--features DIR)")
        self.folders = [feature_dir(f) for f in folders]

    def names(self) -> list[str]:
        """Every clip name with a feature file in any folder, sorted."""
        found: set[str] = set()
        for folder in self.folders:
            if folder.is_dir():
                found.update(p.name[: -len(SUFFIX)] for p in folder.iterdir() if p.name.endswith(SUFFIX))
        return sorted(n for n in found if n and not n.startswith("."))

    def load(self, name: str) -> dict[str, np.ndarray]:
        """The clip's utterance vectors, float32 (D,) per modality found; empty if it has no file.

        Raises:
            InputFormatError: a file that is not safetensors, or an array that is not 1-d or 2-d.
        """
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise InputFormatError(f"clip name {name!r} cannot name a feature file")
        vectors: dict[str, np.ndarray] = {}
        for folder in self.folders:
            path = folder / f"{name}{SUFFIX}"
            if not path.is_file():
                continue
            try:
                arrays = load_file(str(path))
            except (SafetensorError, OSError, ValueError) as exc:
                raise InputFormatError(f"{path}: cannot read the feature file ({exc})") from exc
            for modality in MODALITIES:
                if modality in arrays and modality not in vectors:
                    vectors[modality] = utterance_vector(arrays[modality], path, modality)
        return vectors


def utterance_vector(array: np.ndarray, path: Path, modality: str) -> np.ndarray:
    """(D,) as is, (T, D) averaged over T; float32. Non-finite values are refused."""
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 2 and array.shape[0] > 0:
        array = array.mean(axis=0)
    if array.ndim != 1 or array.size == 0:
        raise InputFormatError(f"{path}: {modality!r} has shape {array.shape}; expected (D,) or (T, D)")
    if not np.isfinite(array).all():
        raise InputFormatError(f"{path}: {modality!r} holds NaN or infinite values")
    return array


def usable_vectors(
    folders: FeatureFolders, name: str, modalities: Sequence[str], dims: dict[str, int]
) -> tuple[str, dict[str, np.ndarray]]:
    """``("", vectors)`` when the clip has every modality with the sizes in ``dims`` (``{}``: any size),
    else ``(why it cannot be used, {})``; the reason is what training and prediction record."""
    try:
        vectors = folders.load(name)
    except InputFormatError as exc:
        return f"unreadable features: {exc}", {}
    if not vectors:
        return "no feature file", {}
    missing = [m for m in modalities if m not in vectors]
    if missing:
        return f"no {'+'.join(missing)} features", {}
    wrong = [m for m in modalities if m in dims and vectors[m].shape[0] != dims[m]]
    if wrong:
        size = vectors[wrong[0]].shape[0]
        return f"{wrong[0]} features have {size} dims, expected {dims[wrong[0]]}", {}
    return "", vectors
