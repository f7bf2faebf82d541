"""The votes CSV: one classifier member's emotion and sentiment for each clip (the filter's input).

Layout (header first, UTF-8, ``,``-separated, one row per clip)::

    name,emotion,sentiment,emotion_prob,sentiment_prob

An empty ``emotion`` or ``sentiment`` cell (and its empty probability) means the member abstains on
that task (it has no head for it). No torch here: ``ovmer annotate filter`` reads votes on any install.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ovmer.atomic import atomic_open
from ovmer.errors import InputFormatError

VOTES_HEADER: tuple[str, ...] = ("name", "emotion", "sentiment", "emotion_prob", "sentiment_prob")
#: Sentiment classes in head order; a valence's sign maps onto them (docs/classifier.md).
SENTIMENT_CLASSES: tuple[str, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Vote:
    """One member's prediction for one clip; ``None`` where the member abstains."""

    name: str
    emotion: str | None
    sentiment: str | None
    emotion_prob: float | None
    sentiment_prob: float | None


def _prob_cell(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def write_votes(path: str | os.PathLike[str], votes: Iterable[Vote]) -> int:
    """Write ``votes`` to ``path`` atomically in the layout above; returns the number of rows."""
    count = 0
    with atomic_open(path, "w") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(VOTES_HEADER)
        for vote in votes:
            writer.writerow(
                [
                    vote.name,
                    vote.emotion or "",
                    vote.sentiment or "",
                    _prob_cell(vote.emotion_prob),
                    _prob_cell(vote.sentiment_prob),
                ]
            )
            count += 1
    return count


def _parse_prob(path: Path, line: int, text: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputFormatError(f"{path}: line {line}: probability {text!r} is not a number") from None
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise InputFormatError(f"{path}: line {line}: probability {text!r} is not in [0, 1]")
    return value


def read_votes(path: str | os.PathLike[str]) -> list[Vote]:
    """Read a votes CSV written by :func:`write_votes` (or by hand in the same layout).

    Raises:
        InputFormatError: missing file, wrong header, a sentiment outside ``negative|neutral|positive``,
            a bad probability or a duplicate name; the message names the file and line.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFormatError(f"{path}: cannot read the votes CSV ({exc})") from exc
    if not rows or tuple(h.strip() for h in rows[0]) != VOTES_HEADER:
        found = rows[0] if rows else []
        raise InputFormatError(f"{path}: header {found} is not {','.join(VOTES_HEADER)} (a votes CSV)")
    votes: list[Vote] = []
    seen: set[str] = set()
    for line, fields in enumerate(rows[1:], start=2):
        if len(fields) != len(VOTES_HEADER):
            raise InputFormatError(
                f"{path}: line {line} has {len(fields)} fields, expected {len(VOTES_HEADER)}"
            )
        name, emotion, sentiment = (cell.strip() for cell in fields[:3])
        if not name or name in seen:
            raise InputFormatError(f"{path}: line {line}: empty or duplicate name {name!r}")
        if sentiment and sentiment not in SENTIMENT_CLASSES:
            raise InputFormatError(
                f"{path}: line {line}: sentiment {sentiment!r} is not one of {', '.join(SENTIMENT_CLASSES)}"
            )
        seen.add(name)
        votes.append(
            Vote(
                name=name,
                emotion=emotion or None,
                sentiment=sentiment or None,
                emotion_prob=_parse_prob(path, line, fields[3]),
                sentiment_prob=_parse_prob(path, line, fields[4]),
            )
        )
    return votes
