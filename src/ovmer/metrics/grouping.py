"""The GPT-grouping metric of the MER2024 OV track (docs/scoring.md, 'GPT-grouping metric (MER2024)'),
from stored replies.

A GPT reply groups the union of ground-truth and predicted labels into synonym groups; every word
is replaced by the first word of its group, and precision/recall are set overlaps. Unlike the
set-level F there is **no skipping**: an empty prediction scores 0. The reply parser keeps upstream's
behaviour: groups come from splitting on brackets and items from splitting on quotes, so an unquoted
reply such as ``[[happy, joyful]]`` yields one item ``"happy, joyful"`` that matches nothing.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ovmer.errors import InputFormatError
from ovmer.labels.parse import string_to_list
from ovmer.safe_pickle import load_npy_bytes, open_archive, read_member


@dataclass(frozen=True)
class GroupingScore:
    """``accuracy`` = mean precision, ``recall`` = mean recall, ``avg`` = their mean (the values
    quoted upstream) and ``f`` = 2PR/(P+R), an ovmer extra; which one the OV-MER paper's "GPT"
    column shows is undocumented upstream, so all are reported under explicit names."""

    samples: int
    accuracy: float
    recall: float
    avg: float
    f: float


def parse_grouping_reply(reply: str) -> list[list[str]]:
    """Split a reply like ``[['a', 'b'], ['c']]`` into groups of (unstripped) items."""
    groups = []
    for piece in re.split(r"[\[\]]", reply):
        if piece.strip() in ("", ","):
            continue
        items = [item for item in re.split(r"['\"]", piece) if item.strip() not in ("", ",")]
        groups.append(items)
    return groups


def _synonym_map(reply: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for group in parse_grouping_reply(reply):
        for word in group:
            mapping[word] = group[0]
    return mapping


def grouping_metric(
    ground_truth: Mapping[str, Any], predictions: Mapping[str, Any], replies: Mapping[str, str]
) -> GroupingScore:
    """Score every sample that has a stored grouping reply, in the replies' order."""
    precisions: list[float] = []
    recalls: list[float] = []
    for name, reply in replies.items():
        if name not in ground_truth or name not in predictions:
            raise InputFormatError(f"grouping reply for {name!r} has no ground truth or prediction")
        synonyms = _synonym_map(reply)
        gt = {synonyms.get(w, w) for w in (x.lower() for x in string_to_list(ground_truth[name]))}
        pred = {synonyms.get(w, w) for w in (x.lower() for x in string_to_list(predictions[name]))}
        if not gt:
            raise InputFormatError(
                f"sample {name!r} has an empty ground-truth list; the grouping metric divides by it"
            )
        if not pred:
            precisions.append(0)
            recalls.append(0)
            continue
        overlap = len(gt & pred)
        precisions.append(overlap / len(pred))
        recalls.append(overlap / len(gt))
    accuracy = float(np.mean(precisions)) if precisions else math.nan
    recall = float(np.mean(recalls)) if recalls else math.nan
    denominator = accuracy + recall
    f = 2 * accuracy * recall / denominator if denominator else math.nan
    return GroupingScore(len(precisions), accuracy, recall, (accuracy + recall) / 2, f)


def read_grouping_replies(path: Path) -> dict[str, str]:
    """Read stored replies from a folder of ``<name>.npy`` files or a zip of such a folder.

    Sorted by sample name so results do not depend on directory listing order.
    """
    path = Path(path)
    replies: dict[str, str] = {}
    if path.is_file() and zipfile.is_zipfile(path):
        # bounded reading, and plain arrays only (docs/security.md)
        with open_archive(path) as archive:
            for member in sorted(archive.namelist()):
                if member.endswith(".npy"):
                    data = read_member(archive, member, path)
                    array = load_npy_bytes(data, f"{path}: {member}", allow_objects=False)
                    replies[Path(member).stem] = str(array.tolist())
    elif path.is_dir():
        for file in sorted(path.glob("*.npy")):
            try:
                data = file.read_bytes()
            except OSError as exc:
                raise InputFormatError(f"{file}: cannot read ({exc})") from exc
            replies[file.stem] = str(load_npy_bytes(data, str(file), allow_objects=False).tolist())
    else:
        raise InputFormatError(f"{path}: expected a folder of <name>.npy grouping replies or a zip of one")
    if not replies:
        raise InputFormatError(f"{path}: no <name>.npy grouping replies found")
    return replies
