"""``ovmer bench`` stopped part-way by Ctrl-C or SIGTERM, then rerun: the same answers and scores."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.results.jsonl import read_records
from tests.kill.conftest import Stopper, assert_no_torn_files, expected_exit, lines_in, ovmer
from tests.models.helpers import write_clip, write_wav

pytestmark = pytest.mark.slow
NAMES = [f"sample_{i:08d}" for i in range(1, 6)]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A miniature MER2023 folder: labels, transcript, video, wav and OpenFace arrays for 5 samples."""
    import pandas as pd

    data = tmp_path_factory.mktemp("bench-kill")
    root = data / "mer2023-dataset-process"
    for sub in ("video", "audio", "openface_face"):
        (root / sub).mkdir(parents=True)
    emotions = ["happy", "sad", "angry", "happy", "neutral"]
    labels = {n: {"emo": e, "val": 0.0} for n, e in zip(NAMES, emotions, strict=True)}
    np.savez_compressed(root / "label-6way.npz", test1_corpus=np.array(labels, dtype=object))
    pd.DataFrame({"name": NAMES, "chinese": ["x"] * 5, "english": [f"line {i}" for i in range(5)]}).to_csv(
        root / "transcription-engchi-polish.csv", index=False
    )
    rng = np.random.default_rng(0)
    for name in NAMES:
        write_clip(root / "video" / f"{name}.mp4", [(30, 60, 90)] * 4, audio_seconds=None)
        write_wav(root / "audio" / f"{name}.wav", 0.1 * rng.standard_normal(32000))
        np.save(
            root / "openface_face" / f"{name}.npy", rng.integers(0, 255, (3, 112, 112, 3), dtype=np.uint8)
        )
    return data


def _args(data: Path, out: Path, model: Path, wheel_dir: Path) -> list[str]:
    spec = f"affectgpt:{model}?max_new_tokens=6&batch_size=1"
    where = ["--root", str(data), "--out", str(out), "--assets", str(wheel_dir)]
    return ["bench", "--model", spec, "--datasets", "mer2023", *where]


def _outputs(out: Path) -> tuple[dict[str, str | None], dict[str, object]]:
    records = read_records(out / "mer2023" / "answers.jsonl")
    names = [r.name for r in records]
    assert sorted(names) == NAMES, f"every sample answered exactly once: {names}"
    scores = json.loads((out / "results.json").read_text(encoding="utf-8"))["datasets"]["mer2023"]["scores"]
    return {r.name: r.text for r in records}, scores


@pytest.fixture(scope="module")
def uninterrupted(
    data: Path, tiny_face_dir: Path, wheel_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str | None], dict[str, object]]:
    out = tmp_path_factory.mktemp("bench-reference")
    result = CliRunner().invoke(app, _args(data, out, tiny_face_dir, wheel_dir))
    assert result.exit_code == 0, result.output
    return _outputs(out)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_bench_stopped_and_rerun_gives_the_same_answers_and_scores(
    signum: signal.Signals,
    data: Path,
    tiny_face_dir: Path,
    wheel_dir: Path,
    uninterrupted: tuple[dict[str, str | None], dict[str, object]],
    tmp_path: Path,
    stopper: Stopper,
) -> None:
    out = tmp_path / "run"
    answers = out / "mer2023" / "answers.jsonl"
    code, output = stopper.run(
        ovmer(*_args(data, out, tiny_face_dir, wheel_dir)),
        signum,
        lines_in(answers, 2),
        env={"HF_HUB_OFFLINE": "1"},
    )
    assert code in expected_exit(signum), output[-2000:]
    if signum == signal.SIGINT:
        assert "Traceback" not in output and "again" in output  # says how to resume
    done = len(read_records(answers, repair_torn_tail=True))
    assert 2 <= done < len(NAMES), "the run should have been stopped part-way"
    rerun = CliRunner().invoke(app, _args(data, out, tiny_face_dir, wheel_dir))
    assert rerun.exit_code == 0, rerun.output
    assert_no_torn_files(out)
    assert _outputs(out) == uninterrupted
