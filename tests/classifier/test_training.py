"""Training: a planted signal is learnt (held-out beats chance), runs are deterministic and resumable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ovmer.classifier.features import FeatureFolders
from ovmer.classifier.labels import read_labels
from ovmer.classifier.model import WEIGHTS_FILE, load_member
from ovmer.classifier.training import (
    IGNORE,
    gather_training_data,
    held_out_split,
    train_members,
    train_one,
)
from ovmer.errors import DatasetError, TrainConfigError
from tests.classifier.conftest import Synthetic, tiny_settings


def test_members_beat_chance_on_held_out_clips(trained: Path) -> None:
    report = json.loads((trained / "train_report.json").read_text())
    assert [m["name"] for m in report["members"]] == ["labels-seed0", "labels-seed1"]
    for member in report["members"]:
        assert member["held_out_clips"] >= 30 and member["train_clips"] + member["held_out_clips"] == 160
        for task in ("emotion", "sentiment"):
            scores = member["held_out"][task]
            # 4 emotions / 3 sentiments: chance is the majority class (≈ 0.25–0.4)
            assert scores["accuracy"] >= scores["chance"] + 0.25, (task, scores)
            assert 0.0 <= scores["weighted_f1"] <= 1.0
    markdown = (trained / "train_report.md").read_text()
    assert "| labels-seed0 | labels | 0 |" in markdown


def test_held_out_split_is_stratified_disjoint_and_seeded() -> None:
    strata = np.array([0] * 10 + [1] * 5 + [2] * 1)
    train, held = held_out_split(strata, 0.2, seed=4)
    assert set(train).isdisjoint(held) and len(train) + len(held) == 16
    assert sorted(strata[held].tolist()) == [0, 0, 1]  # a class of 1 clip stays in training
    again = held_out_split(strata, 0.2, seed=4)
    assert np.array_equal(again[1], held)
    assert not np.array_equal(held_out_split(strata, 0.2, seed=5)[1], held)


def test_same_seed_gives_identical_weights(synthetic: Synthetic, trained: Path, tmp_path: Path) -> None:
    train_members(
        [f"csv:{synthetic.labels}"], [synthetic.features], tmp_path, tiny_settings(members=2), progress=False
    )
    for member in ("labels-seed0", "labels-seed1"):
        assert (tmp_path / member / WEIGHTS_FILE).read_bytes() == (
            trained / member / WEIGHTS_FILE
        ).read_bytes()
    assert (trained / "labels-seed0" / WEIGHTS_FILE).read_bytes() != (
        trained / "labels-seed1" / WEIGHTS_FILE
    ).read_bytes()


def test_saved_member_loads_and_predicts_the_same(synthetic: Synthetic) -> None:
    table = read_labels(f"csv:{synthetic.labels}")
    data = gather_training_data(table, FeatureFolders([synthetic.features]), ("audio", "visual"))
    member = train_one(data, "m", 7, tiny_settings(epochs=2))
    from ovmer.classifier.model import save_member

    folder = save_member(Path(synthetic.features).parent / "roundtrip", member)
    loaded = load_member(folder)
    inputs = {m: torch.from_numpy(x[:5]) for m, x in data.inputs.items()}
    with torch.no_grad():
        for before, after in zip(member.model(inputs), loaded.model(inputs), strict=True):
            assert before is not None and after is not None and torch.equal(before, after)
    assert loaded.info["seed"] == 7 and loaded.model.config == member.model.config


def test_a_rerun_keeps_finished_members_and_refuses_other_settings(
    synthetic: Synthetic, trained: Path
) -> None:
    weights = trained / "labels-seed0" / WEIGHTS_FILE
    stamp = weights.stat().st_mtime_ns
    report = train_members(
        [f"csv:{synthetic.labels}"], [synthetic.features], trained, tiny_settings(members=2), progress=False
    )
    assert weights.stat().st_mtime_ns == stamp and len(report["members"]) == 2
    with pytest.raises(TrainConfigError, match="epochs"):
        train_members(
            [f"csv:{synthetic.labels}"],
            [synthetic.features],
            trained,
            tiny_settings(epochs=3),
            progress=False,
        )


def test_clips_without_features_are_skipped_and_counted(synthetic: Synthetic, tmp_path: Path) -> None:
    labels = tmp_path / "more.csv"
    labels.write_text(synthetic.labels.read_text() + "ghost_1,happy,1\nghost_2,sad,-1\n")
    data = gather_training_data(
        read_labels(f"csv:{labels}"), FeatureFolders([synthetic.features]), ("audio", "visual")
    )
    assert len(data.names) == 160
    assert [(s["name"], s["reason"]) for s in data.skipped] == [
        ("ghost_1", "no feature file"),
        ("ghost_2", "no feature file"),
    ]
    with pytest.raises(DatasetError, match="text features"):
        gather_training_data(read_labels(f"csv:{labels}"), FeatureFolders([synthetic.features]), ("text",))


def test_a_sentiment_only_dataset_trains_only_a_sentiment_head(synthetic: Synthetic, tmp_path: Path) -> None:
    labels = tmp_path / "valence.csv"
    labels.write_text("name,valence\n" + "".join(f"{c.name},{c.valence}\n" for c in synthetic.clips))
    data = gather_training_data(read_labels(f"csv:{labels}"), FeatureFolders([synthetic.features]), ["audio"])
    assert data.emotion_labels == () and (data.emotion == IGNORE).all()
    member = train_one(data, "v", 0, tiny_settings(epochs=2))
    assert member.model.emotion_head is None and member.info["held_out"]["emotion"] is None
    assert member.info["held_out"]["sentiment"]["clips"] > 0


def test_text_features_from_another_folder_join_the_fusion(synthetic: Synthetic, tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    text = tmp_path / "text"
    text.mkdir()
    rng = np.random.default_rng(0)
    for clip in synthetic.clips:
        save_file(
            {"text": rng.normal(size=(3, 5)).astype(np.float32)}, str(text / f"{clip.name}.safetensors")
        )
    folders = FeatureFolders([synthetic.features, text])
    data = gather_training_data(read_labels(f"csv:{synthetic.labels}"), folders, ("visual", "text", "audio"))
    member = train_one(data, "t", 0, tiny_settings(epochs=1))
    assert member.model.config.modalities == ("audio", "text", "visual")
    assert member.model.config.input_dims == {"audio": 16, "text": 5, "visual": 12}


def test_a_dataset_without_features_fails_before_any_member_is_trained(
    synthetic: Synthetic, tmp_path: Path
) -> None:
    other = tmp_path / "other.csv"
    other.write_text("name,emotion\nnobody_1,happy\nnobody_2,sad\n")
    with pytest.raises(DatasetError, match="only 0 of 2 labelled clips"):
        train_members(
            [f"csv:{synthetic.labels}", f"csv:{other}"],
            [synthetic.features],
            tmp_path / "out",
            tiny_settings(),
        )
    assert not (tmp_path / "out").exists()
