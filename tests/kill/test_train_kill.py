"""``ovmer features extract`` and ``ovmer train`` stopped part-way, then rerun: the same results."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.train.synthetic import write_synthetic_dataset
from tests.kill.conftest import Stopper, assert_no_torn_files, expected_exit, first_file, lines_in, ovmer

pytestmark = pytest.mark.slow
SAMPLES = 12
OFFLINE = {"HF_HUB_OFFLINE": "1"}


@pytest.fixture(autouse=True)
def _fresh_accelerate_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each in-process run builds its own Accelerator; forget the previous one's singleton state."""
    from accelerate.state import AcceleratorState

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    AcceleratorState._reset_state(reset_partial_state=True)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_dataset(tmp_path_factory.mktemp("kill-synthetic"), num_samples=SAMPLES, seed=0)


def _features(manifest: Path, cache: Path) -> list[str]:
    return ["features", "extract", "tiny-face", f"data.dataset=csv:{manifest}", "--out", str(cache)]


def _tensors(cache: Path) -> dict[str, dict[str, torch.Tensor]]:
    files = sorted((cache / "features").glob("*.safetensors"))
    return {p.name: load_file(p) for p in files}


def test_features_extract_killed_and_rerun(manifest: Path, tmp_path: Path, stopper: Stopper) -> None:
    cache = tmp_path / "cache"
    ready = first_file(cache / "features", "*.safetensors", count=2)
    code, output = stopper.run(ovmer(*_features(manifest, cache)), signal.SIGTERM, ready, env=OFFLINE)
    assert code in expected_exit(signal.SIGTERM), output[-2000:]
    rerun = CliRunner().invoke(app, _features(manifest, cache))
    assert rerun.exit_code == 0, rerun.output
    reference = CliRunner().invoke(app, _features(manifest, tmp_path / "reference"))
    assert reference.exit_code == 0, reference.output
    assert_no_torn_files(cache)
    stopped, uninterrupted = _tensors(cache), _tensors(tmp_path / "reference")
    assert sorted(stopped) == sorted(uninterrupted) and len(stopped) == SAMPLES
    # Files written by the stopped process and by this one: the same features up to the float
    # rounding of another thread count (CPU matmuls split work differently), never other samples'.
    for name, tensors in stopped.items():
        assert tensors.keys() == uninterrupted[name].keys()
        for key, value in tensors.items():
            torch.testing.assert_close(value, uninterrupted[name][key], rtol=1e-4, atol=1e-5)


def _train(manifest: Path, run: Path) -> list[str]:
    return [
        "train",
        "tiny-face",
        f"data.dataset=csv:{manifest}",
        "data.num_workers=0",
        f"run.output_dir={run}",
        "run.max_steps=8",
        "run.save_every_steps=2",
        "run.log_every=1",
        "run.progress=false",
    ]


def test_train_interrupted_resumes_to_the_same_result(
    manifest: Path, tmp_path: Path, stopper: Stopper
) -> None:
    run = tmp_path / "run"
    code, output = stopper.run(
        ovmer(*_train(manifest, run)), signal.SIGINT, lines_in(run / "metrics.jsonl", 3), env=OFFLINE
    )
    assert code in expected_exit(signal.SIGINT), output[-2000:]
    resumed = CliRunner().invoke(app, _train(manifest, run))
    assert resumed.exit_code == 0, resumed.output
    reference = CliRunner().invoke(app, _train(manifest, tmp_path / "reference"))
    assert reference.exit_code == 0, reference.output
    assert_no_torn_files(run)

    def rows(folder: Path) -> list[dict[str, float]]:
        return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]

    assert [r["step"] for r in rows(run)] == list(range(1, 9))  # every step logged exactly once
    assert [r["loss"] for r in rows(run)] == pytest.approx([r["loss"] for r in rows(tmp_path / "reference")])
