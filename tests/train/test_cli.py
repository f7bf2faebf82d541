"""``ovmer features extract``, ``ovmer train`` and ``ovmer train-export`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from typer.testing import CliRunner

from ovmer.cli.main import app

runner = CliRunner()


def test_extract_train_export(manifest: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    data = [f"data.dataset=csv:{manifest}"]
    done = runner.invoke(app, ["features", "extract", "tiny-face", *data, "--out", str(cache)])
    assert done.exit_code == 0, done.output
    assert len(list((cache / "features").glob("*.safetensors"))) == 6
    again = runner.invoke(app, ["features", "extract", "tiny-face", *data, "--out", str(cache)])
    assert "'existing': 6" in again.output  # resumable: nothing recomputed

    run = tmp_path / "run"
    args = [
        *data,
        f"data.feature_cache={cache}",
        f"run.output_dir={run}",
        "run.max_steps=2",
        "run.progress=false",
    ]
    shown = runner.invoke(app, ["train", "tiny-face", *args, "--print-config"])
    assert shown.exit_code == 0 and "max_steps: 2" in shown.output and not run.exists()
    trained = runner.invoke(app, ["train", "tiny-face", *args])
    assert trained.exit_code == 0, trained.output
    assert "trained steps 0–2" in trained.output
    assert json.loads((run / "checkpoints" / "step_0000002" / "checkpoint.json").read_text())["step"] == 2

    exported = runner.invoke(
        app, ["train-export", str(run / "checkpoints" / "step_0000002"), str(tmp_path / "x.pth")]
    )
    assert exported.exit_code == 0, exported.output
    assert set(torch.load(tmp_path / "x.pth", weights_only=True)) == {
        "model",
        "optimizer",
        "config",
        "scaler",
        "epoch",
    }


def test_bad_override_is_a_clear_error(tmp_path: Path) -> None:
    done = runner.invoke(app, ["train", "tiny-face", "run.batch_size=two", f"run.output_dir={tmp_path}"])
    assert done.exit_code == 2
    assert "run.batch_size needs an integer" in done.output
