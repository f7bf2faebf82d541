"""The high-level filter's vote: voting classifiers' predictions against a description's labels.

Each member's predictions come as a votes CSV, ``name,emotion,sentiment,emotion_prob,sentiment_prob``
(:mod:`ovmer.classifier.votes`; ``ovmer classifier predict`` writes it): ``emotion`` a discrete English label,
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

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ovmer.classifier.votes import Vote
from ovmer.classifier.votes import read_votes as read_votes_file

#: The votes file's layout and reader are :mod:`ovmer.classifier.votes` (the file seam with ``classifier``).
MemberVotes = dict[str, Vote]


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


def read_votes(path: Path) -> MemberVotes:
    """One member's votes by clip name (emotions lower-cased), read by
    :func:`ovmer.classifier.votes.read_votes`.

    Raises:
        InputFormatError: missing file, wrong header, a bad sentiment or probability, a duplicate name.
    """
    return {
        v.name: Vote(
            v.name, v.emotion.lower() if v.emotion else None, v.sentiment, v.emotion_prob, v.sentiment_prob
        )
        for v in read_votes_file(path)
    }


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


def clip_tallies(name: str, members: Sequence[MemberVotes]) -> tuple[Tally, Tally]:
    """The emotion and sentiment tallies of one clip over every member (no row: abstains)."""
    votes = [m.get(name) for m in members]
    return tally([v.emotion if v else None for v in votes]), tally(
        [v.sentiment if v else None for v in votes]
    )
