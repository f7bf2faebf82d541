"""The high-level filter's vote: voting classifiers' predictions against a description's labels.

Each member's predictions come as a CSV with the header ``name,emotion,sentiment,emotion_prob,
sentiment_prob`` (``ovmer classifier predict`` writes it): ``emotion`` a discrete English label,
``sentiment`` ``positive|negative|neutral``, an empty cell an abstention. The paper (§2.2) takes a
majority vote over the members and removes a clip whose description's labels disagree with it;
what ovmer chose where the paper is silent (docs/annotate.md, 'Vote'):

- **majority**: a label wins with more than half of the votes cast (abstentions and members without
  a row for the clip cast none); a tie or a plurality below half is *undecided*;
- **undecided** (no majority, or every member abstained): the clip is removed by default, since there
  is nothing the description can agree with (``undecided="keep"`` keeps it instead);
- **emotion agreement**: upstream's ``hit_or_not`` (:func:`ovmer.metrics.hitrate.hit_or_not`) between
  ``[voted emotion]`` and the description's OV labels; **sentiment**: equal strings.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ovmer.errors import InputFormatError

VOTE_COLUMNS = ("name", "emotion", "sentiment", "emotion_prob", "sentiment_prob")
SENTIMENTS = ("positive", "negative", "neutral")


@dataclass(frozen=True)
class MemberVote:
    """One member's prediction for one clip (``None``: abstained)."""

    emotion: str | None
    sentiment: str | None


@dataclass(frozen=True)
class Tally:
    """The vote on one question (emotion or sentiment) for one clip."""

    winner: str | None  # None: undecided
    counts: dict[str, int]
    abstained: int

    @property
    def reason(self) -> str:
        """Why there is no winner, in words (empty when there is one)."""
        if self.winner is not None:
            return ""
        return "every member abstained" if not self.counts else f"no majority {dict(self.counts)}"


def _cell(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def read_votes(path: Path) -> dict[str, MemberVote]:
    """One member's votes by clip name.

    Raises:
        InputFormatError: missing columns, a duplicate name, or a sentiment outside
            ``positive|negative|neutral`` (naming the file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(f"{path}: vote file not found (write it with `ovmer classifier predict`)")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("name", "emotion", "sentiment") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputFormatError(
                f"{path}: missing column(s) {missing}; the header is {','.join(VOTE_COLUMNS)}"
            )
        votes: dict[str, MemberVote] = {}
        for line, row in enumerate(reader, start=2):
            name = _cell(row.get("name"))
            if name is None:
                raise InputFormatError(f"{path}:{line}: empty name")
            if name in votes:
                raise InputFormatError(f"{path}:{line}: clip {name!r} is listed twice")
            sentiment = _cell(row.get("sentiment"))
            sentiment = sentiment.lower() if sentiment else None
            if sentiment is not None and sentiment not in SENTIMENTS:
                raise InputFormatError(f"{path}:{line}: sentiment {sentiment!r} is not one of {SENTIMENTS}")
            emotion = _cell(row.get("emotion"))
            votes[name] = MemberVote(emotion.lower() if emotion else None, sentiment)
    return votes


def tally(values: Sequence[str | None]) -> Tally:
    """Strict majority of the votes cast (see the module docstring)."""
    cast = [v for v in values if v is not None]
    counts = Counter(cast)
    winner = None
    if counts:
        label, top = counts.most_common(1)[0]
        if top * 2 > len(cast):
            winner = label
    return Tally(winner, dict(counts), abstained=len(values) - len(cast))


def clip_tallies(name: str, members: Sequence[dict[str, MemberVote]]) -> tuple[Tally, Tally]:
    """The emotion and sentiment tallies of one clip over every member (no row: abstains)."""
    votes = [m.get(name, MemberVote(None, None)) for m in members]
    return tally([v.emotion for v in votes]), tally([v.sentiment for v in votes])
