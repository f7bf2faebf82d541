"""The corpus writer on a hand-made folder: MER2025 track files, the manifest the registry reads back,
provenance, and the name check."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ovmer.annotate.corpus import write_corpus
from ovmer.data.registry import load_samples
from ovmer.errors import AnnotationError
from ovmer.labels.parse import string_to_list
from ovmer.results.jsonl import append_json_lines, read_json_lines
from ovmer.train.data import train_sample


def test_corpus_files_read_back(tmp_path: Path) -> None:
    clips = [
        {
            "name": "a",
            "video": "/v/a.mp4",
            "subtitle": "Great, thanks",
            "description": 'She is happy, "really".',
        },
        {"name": "b", "video": "/v/b.mp4", "subtitle": "", "description": "Nothing shows."},
        {"name": "c", "video": "/v/c.mp4", "subtitle": "", "description": "Removed."},
        {"name": "d", "video": "/v/d.mp4", "error": "MediaError: broken"},
    ]
    append_json_lines(tmp_path / "clips.jsonl", clips)
    append_json_lines(tmp_path / "labels.jsonl", [
        {"name": "a", "labels": ["happy", "grateful"], "sentiment": "positive"},
        {"name": "b", "labels": [], "sentiment": "neutral"},
        {"name": "c", "labels": ["sad"], "sentiment": "negative"},
    ])  # fmt: skip
    append_json_lines(tmp_path / "filter.jsonl", [
        {"name": "a", "kept": True}, {"name": "b", "kept": True},
        {"name": "c", "kept": False, "stage": "length", "reason": "short"},
    ])  # fmt: skip
    files = write_corpus(tmp_path, "mine")
    assert files.clips == 2 and files.track2.name == "track2_train_mine.csv"
    with files.track2.open(newline="") as handle:
        openset = {row["name"]: string_to_list(row["openset"]) for row in csv.DictReader(handle)}
    assert openset == {"a": ["happy", "grateful"], "b": []}
    with files.track3.open(newline="") as handle:
        assert {row["name"]: row["reason"] for row in csv.DictReader(handle)}[
            "a"
        ] == 'She is happy, "really".'
    samples = {s.name: s for s in load_samples(None, f"csv:{files.manifest}")}
    assert sorted(samples) == ["a", "b"] and samples["a"].subtitle == "Great, thanks"
    assert train_sample(samples["a"]).ovlabels == ["happy", "grateful"]
    assert "neutral" in train_sample(samples["b"]).answer("ovlabels")  # an empty list trains as neutral
    provenance = {r["name"]: r for r in read_json_lines(files.provenance)}
    assert provenance["c"]["in_corpus"] is False and provenance["c"]["filter"]["stage"] == "length"
    assert "d" not in provenance


@pytest.mark.parametrize("name", ["../x", ".hidden", "a/b"])
def test_bad_corpus_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(AnnotationError, match="corpus name"):
        write_corpus(tmp_path, name)
