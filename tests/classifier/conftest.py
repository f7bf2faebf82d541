"""Fixtures for the classifier tests: synthetic features with a planted signal and one trained folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ovmer.classifier.synthetic import (
    SyntheticClip,
    synthetic_clips,
    write_label_csv,
    write_synthetic_features,
)
from ovmer.classifier.training import TrainSettings

DIMS = {"visual": 12, "audio": 16}  # tiny stand-ins for CLIP (768) and HuBERT (1024)


def tiny_settings(**changes: object) -> TrainSettings:
    """Small and quick, but enough for the planted signal to be learnt."""
    values: dict[str, object] = {"epochs": 40, "hidden_dim": 16, "dropout": 0.1, "batch_size": 32}
    values.update(changes)
    return TrainSettings(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Synthetic:
    clips: list[SyntheticClip]
    features: Path
    labels: Path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    folder = tmp_path_factory.mktemp("synthetic")
    clips = synthetic_clips(160, seed=3)
    write_synthetic_features(folder / "features", clips, DIMS, seed=3)
    write_label_csv(folder / "labels.csv", clips)
    return Synthetic(clips, folder / "features", folder / "labels.csv")


@pytest.fixture(scope="module")
def trained(synthetic: Synthetic, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with two members (seeds 0 and 1) trained on the synthetic labels."""
    from ovmer.classifier.training import train_members

    out = tmp_path_factory.mktemp("members")
    train_members(
        [f"csv:{synthetic.labels}"], [synthetic.features], out, tiny_settings(members=2), progress=False
    )
    return out
