"""The review data of an annotation corpus: the queue, decisions, and how they bind."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from ovmer.errors import AnnotationError
from ovmer.results.jsonl import append_json_lines
from ovmer.results.review import (
    CLIPS_FILE,
    FILTER_FILE,
    LABELS_FILE,
    REVIEW_FILE,
    decide,
    read_decisions,
    record_decision,
    review_queue,
)


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    append_json_lines(
        folder / CLIPS_FILE,
        [
            {"name": "a", "video": "/v/a.mp4", "audio_clue": "loud", "visual_clue": "smile",
             "description": "She is happy.", "subtitle": "yes"},
            {"name": "b", "video": "/v/b.mp4", "audio_clue": None, "visual_clue": "frown",
             "description": "He is sad.", "subtitle": ""},
            {"name": "c", "video": "/v/c.mp4", "error": "MediaError: broken"},
        ],
    )  # fmt: skip
    append_json_lines(folder / LABELS_FILE, [{"name": "a", "labels": ["happy"], "sentiment": "positive"}])
    append_json_lines(
        folder / FILTER_FILE, [{"name": "b", "kept": False, "stage": "length", "reason": "short"}]
    )
    return folder


def test_queue_lists_described_clips_with_everything_the_page_shows(corpus: Path) -> None:
    items = review_queue(corpus)
    assert [i.name for i in items] == ["a", "b"]  # c failed: nothing to review
    a, b = items
    assert (a.audio_clue, a.visual_clue, a.labels, a.sentiment, a.kept) == (
        "loud",
        "smile",
        ["happy"],
        "positive",
        None,
    )
    assert (b.kept, b.stage, b.reason, b.status) == (False, "length", "short", "pending")
    assert json.loads(json.dumps(a.to_json()))["status"] == "pending"


def test_latest_decision_wins_and_history_is_kept(corpus: Path) -> None:
    record_decision(corpus, "a", "reject", reviewer="ann", time="2026-12-03T10:00:00Z")
    record_decision(corpus, "a", "edit", reviewer="bob", labels=[" joy ", "", "relief"])
    assert len((corpus / REVIEW_FILE).read_text().splitlines()) == 2
    latest = read_decisions(corpus)["a"]
    assert (latest.decision, latest.labels, latest.reviewer) == ("edit", ["joy", "relief"], "bob")
    assert latest.time.endswith("Z")
    assert [i.name for i in review_queue(corpus, status="edited")] == ["a"]
    assert [i.name for i in review_queue(corpus, status="pending")] == ["b"]


@pytest.mark.parametrize(
    ("name", "decision", "labels", "reviewer", "match"),
    [
        ("zzz", "accept", None, "ann", "no clip named"),
        ("a", "maybe", None, "ann", "unknown decision"),
        ("a", "edit", [], "ann", "non-empty list"),
        ("a", "accept", ["x"], "ann", "only with decision 'edit'"),
        ("a", "accept", None, " ", "reviewer"),
    ],
)
def test_bad_decisions_are_refused_and_nothing_is_written(
    corpus: Path, name: str, decision: str, labels: list[str] | None, reviewer: str, match: str
) -> None:
    with pytest.raises(AnnotationError, match=match):
        record_decision(corpus, name, decision, reviewer=reviewer, labels=labels)
    assert not (corpus / REVIEW_FILE).exists()


def test_queue_without_clips_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match="annotate describe"):
        review_queue(tmp_path)


def test_decide_binds_filter_verdicts(corpus: Path) -> None:
    record_decision(corpus, "a", "accept", reviewer="ann")
    record_decision(corpus, "b", "reject", reviewer="ann")
    decisions = read_decisions(corpus)
    assert decide(False, ["happy"], decisions["a"]) == (True, ["happy"])  # accept overrides a removal
    assert decide(True, ["sad"], decisions["b"]) == (False, ["sad"])
    assert decide(False, ["sad"], None) == (False, ["sad"])


def _decide_many(corpus: str, reviewer: str) -> None:
    for _ in range(20):
        record_decision(Path(corpus), "a", "edit", reviewer=reviewer, labels=["x" * 2000])


def test_concurrent_reviewers_never_interleave_lines(corpus: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_decide_many, args=(str(corpus), f"r{i}")) for i in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert all(proc.exitcode == 0 for proc in procs)
    lines = (corpus / REVIEW_FILE).read_text().splitlines()
    assert len(lines) == 60
    assert all(json.loads(line)["labels"] == ["x" * 2000] for line in lines)
