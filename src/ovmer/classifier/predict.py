"""Run every trained member over a feature folder: one votes CSV per member (the filter's input).

Output (``--out``)::

    <member>.csv           name,emotion,sentiment,emotion_prob,sentiment_prob (ovmer.classifier.votes)
    predict_report.json    per member: clips predicted and skipped; the skipped clips with reasons

A clip whose features are missing, unreadable or of another size is skipped for that member (no
row in its CSV), recorded with its reason and counted; the others are predicted.
"""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ovmer.classifier.features import FeatureFolders, usable_vectors
from ovmer.classifier.model import Member, is_member, load_member, torch_threads
from ovmer.classifier.votes import Vote, write_votes
from ovmer.errors import InputFormatError, ModelError

PREDICT_REPORT = "predict_report.json"
CHUNK = 256  # clips per forward pass: bounds memory on a corpus of 100k clips


def find_members(folder: str | os.PathLike[str]) -> list[Path]:
    """``folder`` itself when it is a member, else its member sub-folders (sorted by name).

    Raises:
        ModelError: no member there (the message says how to make one).
    """
    folder = Path(folder)
    if is_member(folder):
        return [folder]
    found = sorted(p for p in folder.iterdir() if is_member(p)) if folder.is_dir() else []
    if not found:
        raise ModelError(
            f"{folder}: no classifier members (folders with config.json and model.safetensors); "
            "train them with `ovmer classifier train`"
        )
    return found


def read_names(path: str | os.PathLike[str]) -> list[str]:
    """Clip names from a CSV's ``name`` column (a corpus manifest, a label file), in file order."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFormatError(f"{path}: cannot read the name list ({exc})") from exc
    if not rows or "name" not in rows[0]:
        raise InputFormatError(f"{path}: no 'name' column (or no rows); give a CSV with a name column")
    return list(dict.fromkeys(str(r["name"]).strip() for r in rows if str(r["name"] or "").strip()))


@torch.no_grad()
def predict_member(
    member: Member,
    folders: FeatureFolders,
    names: Sequence[str],
    on_chunk: Callable[[int], None] | None = None,
) -> tuple[list[Vote], list[dict[str, str]]]:
    """The member's votes for ``names`` (in order) and the clips it skipped (``name``, ``reason``)."""
    config = member.model.config
    votes: list[Vote] = []
    skipped: list[dict[str, str]] = []
    for start in range(0, len(names), CHUNK):
        kept: list[str] = []
        rows: dict[str, list[np.ndarray]] = {m: [] for m in config.modalities}
        for name in names[start : start + CHUNK]:
            reason, vectors = usable_vectors(folders, name, config.modalities, config.input_dims)
            if reason:
                skipped.append({"member": member.name, "name": name, "reason": reason})
                continue
            kept.append(name)
            for modality in config.modalities:
                rows[modality].append(vectors[modality])
        if kept:
            with torch_threads():
                logits = member.model({m: torch.from_numpy(np.stack(v)) for m, v in rows.items()})
            votes.extend(_votes(kept, logits, config.emotion_labels, config.sentiment_labels))
        if on_chunk is not None:
            on_chunk(min(CHUNK, len(names) - start))
    return votes, skipped


def _votes(
    names: list[str],
    logits: tuple[torch.Tensor | None, torch.Tensor | None],
    emotion_labels: Sequence[str],
    sentiment_labels: Sequence[str],
) -> list[Vote]:
    """Argmax class and its softmax probability per head; None for a missing head."""
    picked: list[tuple[list[str | None], list[float | None]]] = []
    for head_logits, labels in zip(logits, (emotion_labels, sentiment_labels), strict=True):
        if head_logits is None:
            picked.append(([None] * len(names), [None] * len(names)))
            continue
        prob, index = torch.softmax(head_logits.double(), dim=1).max(dim=1)
        picked.append(([labels[i] for i in index.tolist()], [float(p) for p in prob.tolist()]))
    (emotions, emotion_probs), (sentiments, sentiment_probs) = picked
    return [
        Vote(name, emotions[i], sentiments[i], emotion_probs[i], sentiment_probs[i])
        for i, name in enumerate(names)
    ]


def predict_members(
    members: str | os.PathLike[str],
    features: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    names: Sequence[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Write ``<out>/<member>.csv`` for every member under ``members`` and ``predict_report.json``.

    ``names`` defaults to every clip with a feature file. Returns the report dict: ``members`` (name,
    csv path, predicted, skipped counts) and ``skipped`` (member, name, reason).
    """
    from ovmer.atomic import write_json_atomic
    from ovmer.progress import progress_bar

    folders = FeatureFolders(features)
    loaded = [load_member(path) for path in find_members(members)]
    clip_names = list(names) if names is not None else folders.names()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"clips": len(clip_names), "members": [], "skipped": []}
    with progress_bar("predict", disable=not progress) as bar:
        for member in loaded:
            task = bar.add_task(member.name, total=len(clip_names))
            votes, skipped = predict_member(member, folders, clip_names, functools.partial(bar.advance, task))
            path = out / f"{member.name}.csv"
            write_votes(path, votes)
            report["members"].append(
                {"name": member.name, "csv": str(path), "predicted": len(votes), "skipped": len(skipped)}
            )
            report["skipped"].extend(skipped)
    write_json_atomic(out / PREDICT_REPORT, report)
    return report
