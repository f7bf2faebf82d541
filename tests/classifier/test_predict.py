"""Prediction: one votes CSV per member, skipped clips counted, abstaining heads left empty."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ovmer.classifier.predict import find_members, predict_members, read_names
from ovmer.classifier.votes import SENTIMENT_CLASSES, VOTES_HEADER, read_votes
from ovmer.errors import CheckpointKeyError, InputFormatError, ModelError
from tests.classifier.conftest import Synthetic, tiny_settings


def test_every_member_writes_its_votes(synthetic: Synthetic, trained: Path, tmp_path: Path) -> None:
    report = predict_members(trained, [synthetic.features], tmp_path, progress=False)
    assert [m["name"] for m in report["members"]] == ["labels-seed0", "labels-seed1"]
    assert report["skipped"] == []
    path = tmp_path / "labels-seed0.csv"
    assert path.read_text().splitlines()[0] == ",".join(VOTES_HEADER)
    votes = read_votes(path)
    assert [v.name for v in votes] == [c.name for c in synthetic.clips]
    assert {v.emotion for v in votes} <= {"angry", "happy", "neutral", "sad"}
    assert {v.sentiment for v in votes} <= set(SENTIMENT_CLASSES)
    assert all(0.25 <= (v.emotion_prob or 0) <= 1 and 1 / 3 <= (v.sentiment_prob or 0) <= 1 for v in votes)
    truth = {c.name: c.emotion for c in synthetic.clips}
    assert sum(v.emotion == truth[v.name] for v in votes) / len(votes) > 0.8  # mostly training clips
    again = tmp_path / "again"
    predict_members(trained / "labels-seed0", [synthetic.features], again, progress=False)
    assert (again / "labels-seed0.csv").read_bytes() == path.read_bytes()  # one member folder works too


def test_clips_without_features_are_skipped_recorded_and_counted(
    synthetic: Synthetic, trained: Path, tmp_path: Path
) -> None:
    names = tmp_path / "names.csv"
    names.write_text("name,video\nsynth_00003,x.mp4\nghost,y.mp4\nsynth_00001,z.mp4\n")
    report = predict_members(trained, [synthetic.features], tmp_path / "out", names=read_names(names))
    assert [v.name for v in read_votes(tmp_path / "out" / "labels-seed1.csv")] == [
        "synth_00003",
        "synth_00001",
    ]
    assert report["members"][0]["skipped"] == 1 and len(report["skipped"]) == 2
    stored = json.loads((tmp_path / "out" / "predict_report.json").read_text())
    assert stored["skipped"][0] == {"member": "labels-seed0", "name": "ghost", "reason": "no feature file"}


def test_a_sentiment_only_member_abstains_on_emotion(synthetic: Synthetic, tmp_path: Path) -> None:
    from ovmer.classifier.training import train_members

    labels = tmp_path / "mosi-like.csv"
    labels.write_text("name,valence\n" + "".join(f"{c.name},{c.valence}\n" for c in synthetic.clips[:60]))
    train_members(
        [f"csv:{labels}"], [synthetic.features], tmp_path / "m", tiny_settings(epochs=2), progress=False
    )
    predict_members(tmp_path / "m", [synthetic.features], tmp_path / "p", progress=False)
    votes = read_votes(tmp_path / "p" / "mosi-like-seed0.csv")
    assert all(v.emotion is None and v.emotion_prob is None and v.sentiment for v in votes)


def test_bad_member_folders_are_refused(trained: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no classifier members"):
        find_members(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(trained / "labels-seed0", broken)
    config = json.loads((broken / "config.json").read_text())
    config["model"]["hidden_dim"] = 8
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointKeyError, match="wrong shape"):
        predict_members(broken, [tmp_path], tmp_path / "o", progress=False)
    config["format"] = 99
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="format-1"):
        predict_members(broken, [tmp_path], tmp_path / "o", progress=False)
    with pytest.raises(InputFormatError, match="name column"):
        read_names(trained / "settings.json")
