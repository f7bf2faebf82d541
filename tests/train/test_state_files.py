"""Training state is read weights-only: a ``training_state.pt`` or ``rng_rank<r>.pt`` that would run
code is refused before anything runs, by ``train-export`` and by resume (docs/security.md)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.errors import TrainStateError
from ovmer.train.checkpointing import (
    STATE_FILE,
    load_rng_state,
    load_training_state,
    rng_state,
    set_rng_state,
)
from ovmer.train.recipe import train
from tests.train.conftest import tiny_config

runner = CliRunner()


class WritesAFile:
    """Unpickling this opens (creates) ``marker``: what a hostile checkpoint could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


@pytest.fixture(scope="module")
def run_dir(manifest: Path, feature_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("state") / "run"
    train(tiny_config(manifest, out, "run.max_steps=2", f"data.feature_cache={feature_cache}"))
    return out


def _hostile_copy(run_dir: Path, tmp_path: Path, file_name: str) -> tuple[Path, Path]:
    """A copy of the run whose newest checkpoint's ``file_name`` writes a marker when unpickled."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    marker = tmp_path / "marker"
    checkpoint = copy / "checkpoints" / "step_0000002"
    torch.save({"step": 2, "payload": WritesAFile(marker)}, checkpoint / file_name)
    return checkpoint, marker


def test_the_hostile_file_really_runs_code_when_loaded_unsafely(tmp_path: Path) -> None:
    path, marker = tmp_path / "x.pt", tmp_path / "marker"
    torch.save({"payload": WritesAFile(marker)}, path)
    torch.load(path, weights_only=False)
    assert marker.exists()  # so the refusals below are meaningful


def test_train_export_refuses_a_hostile_training_state(run_dir: Path, tmp_path: Path) -> None:
    checkpoint, marker = _hostile_copy(run_dir, tmp_path, STATE_FILE)
    result = runner.invoke(app, ["train-export", str(checkpoint), str(tmp_path / "x.pth")])
    assert result.exit_code == 2, result.output
    assert str(checkpoint / STATE_FILE) in result.output.replace("\n", "")
    assert "weights-only" in result.output
    assert not marker.exists() and not (tmp_path / "x.pth").exists()


@pytest.mark.parametrize("file_name", [STATE_FILE, "rng_rank0.pt"])
def test_resume_refuses_a_hostile_state_file(
    file_name: str, run_dir: Path, manifest: Path, feature_cache: Path, tmp_path: Path
) -> None:
    checkpoint, marker = _hostile_copy(run_dir, tmp_path, file_name)
    cfg = tiny_config(
        manifest,
        checkpoint.parent.parent,
        "run.max_steps=3",
        "run.resume=auto",
        f"data.feature_cache={feature_cache}",
    )
    with pytest.raises(TrainStateError, match=rf"{checkpoint / file_name}: refused, not a weights-only"):
        train(cfg)
    assert not marker.exists()


def test_state_written_by_ovmer_is_weights_only(run_dir: Path) -> None:
    checkpoint = run_dir / "checkpoints" / "step_0000002"
    for name in (STATE_FILE, "rng_rank0.pt"):
        assert torch.serialization.get_unsafe_globals_in_checkpoint(checkpoint / name) == []
    assert load_training_state(checkpoint / STATE_FILE)["step"] == 2


def _draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_rng_state_round_trips_exactly(tmp_path: Path) -> None:
    torch.save(rng_state(), tmp_path / "rng.pt")
    expected = _draws()
    set_rng_state(load_rng_state(tmp_path / "rng.pt"))
    assert _draws() == expected


def test_rng_files_of_earlier_ovmer_still_load(tmp_path: Path) -> None:
    """Before weights-only loading, NumPy's state was pickled as an array: still read, bit for bit."""
    legacy = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    torch.save(legacy, tmp_path / "rng.pt")
    expected = _draws()
    set_rng_state(load_rng_state(tmp_path / "rng.pt"))
    assert _draws() == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([1, 2], "holds a list"),
        ({"optimizer": None, "scheduler": {}}, r"no \['step'\] entry"),
        ({"optimizer": None, "scheduler": {}, "step": "2"}, "entry 'step' is a str"),
        ({"optimizer": None, "scheduler": {}, "step": 2, "epoch_loss": [1.0]}, "must be"),
    ],
)
def test_odd_training_states_are_clear_errors(content: object, message: str, tmp_path: Path) -> None:
    torch.save(content, tmp_path / STATE_FILE)
    with pytest.raises(TrainStateError, match=message):
        load_training_state(tmp_path / STATE_FILE, required=("optimizer", "scheduler", "step"))
