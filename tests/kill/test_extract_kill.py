"""``ovmer extract`` (lexicon) killed at a seeded random moment, then rerun: the same official files."""

from __future__ import annotations

import random
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from tests.conftest import RUN
from tests.kill.conftest import Stopper, assert_no_torn_files, expected_exit, ovmer

pytestmark = pytest.mark.slow


def _base(reference: Path, folder: Path) -> Path:
    source = reference / f"published/affectgpt/results-cmumosi/{RUN}/checkpoint_000040_loss_0.569.npz"
    folder.mkdir()
    return Path(shutil.copy(source, folder / source.name))


def _args(base: Path, wheel_dir: Path) -> list[str]:
    options = ["--task", "ovlabels", "--backend", "lexicon", "--assets", str(wheel_dir)]
    return ["extract", *options, "--in", str(base), "--out", str(base)]


def _openset(base: Path) -> tuple[list[str], list[object]]:
    with np.load(base.with_name(base.stem + "-openset.npz"), allow_pickle=False) as archive:
        return archive["filenames"].tolist(), archive["fileitems"].tolist()


def test_extract_killed_and_rerun(reference: Path, wheel_dir: Path, tmp_path: Path, stopper: Stopper) -> None:
    base = _base(reference, tmp_path / "run")
    delay = random.Random(13).uniform(0.5, 1.5)  # seeded: a failure replays at the same moment
    start = time.monotonic()
    code, output = stopper.run(
        ovmer(*_args(base, wheel_dir)), signal.SIGKILL, lambda: time.monotonic() - start > delay
    )
    assert code in expected_exit(signal.SIGKILL), output[-2000:]
    rerun = CliRunner().invoke(app, _args(base, wheel_dir))
    assert rerun.exit_code == 0, rerun.output
    expected = _base(reference, tmp_path / "reference")
    uninterrupted = CliRunner().invoke(app, _args(expected, wheel_dir))
    assert uninterrupted.exit_code == 0, uninterrupted.output
    assert_no_torn_files(tmp_path / "run")
    assert _openset(base) == _openset(expected) and len(_openset(base)[0]) == 686
