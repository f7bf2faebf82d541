"""Fixtures for training tests: synthetic clips, a feature cache and tiny training configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ovmer.train.config import TrainConfig, load_train_config
from ovmer.train.data import filter_by_length
from ovmer.train.features import encoder_fingerprint, extract_features
from ovmer.train.model import build_model
from ovmer.train.recipe import build_samples
from ovmer.train.synthetic import write_synthetic_dataset


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _fresh_accelerate_state() -> None:
    """Each run builds its own Accelerator; forget the previous one's singleton state."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)


@pytest.fixture(scope="session")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_dataset(tmp_path_factory.mktemp("synthetic"), num_samples=6, seed=0)


def tiny_config(manifest: Path, out: Path, *overrides: str) -> TrainConfig:
    """The shipped tiny-face config on the synthetic clips, quiet, writing into ``out``."""
    return load_train_config(
        "tiny-face",
        [
            f"data.dataset=csv:{manifest}",
            f"run.output_dir={out}",
            "run.progress=false",
            "run.resume=never",
            *overrides,
        ],
    )


@pytest.fixture(scope="session")
def feature_cache(manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cache(manifest, tmp_path_factory.mktemp("cache"))


def make_cache(manifest: Path, out: Path) -> Path:
    """Run the tiny model's encoders once over ``manifest``; return the cache folder."""
    cfg = tiny_config(manifest, out / "run")
    built = build_model(cfg, torch.device("cpu"))
    samples, _ = filter_by_length(build_samples(cfg), built.processor, cfg.data.tasks, cfg.data.max_length)
    extract_features(
        built.model,
        built.processor,
        samples,
        out / "features",
        encoder_fingerprint(built.model, built.local_backbones),
        progress=False,
    )
    return out / "features"
