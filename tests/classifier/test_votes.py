"""The votes CSV: the exact layout the filter reads, abstentions, and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovmer.classifier.votes import Vote, read_votes, write_votes
from ovmer.errors import InputFormatError


def test_votes_round_trip_with_abstentions(tmp_path: Path) -> None:
    votes = [Vote("a", "happy", "positive", 0.9123456, 0.5), Vote("b", None, "negative", None, 1.0)]
    path = tmp_path / "m.csv"
    assert write_votes(path, votes) == 2
    assert path.read_text() == (
        "name,emotion,sentiment,emotion_prob,sentiment_prob\n"
        "a,happy,positive,0.912346,0.500000\n"
        "b,,negative,,1.000000\n"
    )
    assert read_votes(path) == [
        Vote("a", "happy", "positive", 0.912346, 0.5),
        Vote("b", None, "negative", None, 1.0),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,emotion\n", "header"),
        ("name,emotion,sentiment,emotion_prob,sentiment_prob\na,happy,good,0.5,0.5\n", "sentiment 'good'"),
        ("name,emotion,sentiment,emotion_prob,sentiment_prob\na,happy,neutral,1.5,0.5\n", "not in"),
        ("name,emotion,sentiment,emotion_prob,sentiment_prob\na,happy,neutral,x,0.5\n", "not a number"),
        ("name,emotion,sentiment,emotion_prob,sentiment_prob\na,,,,\na,,,,\n", "duplicate name"),
    ],
)
def test_bad_votes_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputFormatError, match=message):
        read_votes(path)
