"""``ovmer infer`` stopped part-way by Ctrl-C, SIGTERM or SIGKILL, then rerun: the same answers."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.results.jsonl import read_records
from ovmer.safe_pickle import load_npz_key
from tests.kill.conftest import (
    Stopper,
    assert_no_torn_files,
    expected_exit,
    lines_in,
    ovmer,
)
from tests.models.helpers import write_clip

pytestmark = pytest.mark.slow
SAMPLES = 6


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("infer-kill")
    rows = ["name,video,subtitle"]
    for i in range(SAMPLES):
        write_clip(folder / f"s{i}.mp4", [((i * 40) % 255, 100, 30 * j % 255) for j in range(4 + i % 3)])
        rows.append(f"s{i},s{i}.mp4,line {i}")
    path = folder / "toy.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _args(manifest: Path, out: Path, model: Path) -> list[str]:
    return [
        "infer",
        "--dataset",
        f"csv:{manifest}",
        "--out",
        str(out),
        "--model",
        str(model),
        "--batch-size",
        "1",
        "--max-new-tokens",
        "6",
        "--workers",
        "1",
    ]


def _outputs(out: Path, model: Path) -> tuple[dict[str, str | None], dict[str, object]]:
    records = read_records(out / "toy" / "ovlabels" / "answers.jsonl")
    names = [r.name for r in records]
    assert len(names) == len(set(names)) == SAMPLES, f"every sample answered exactly once: {names}"
    npz = out / "results-toy" / model.name / "model.npz"
    return {r.name: r.text for r in records}, dict(load_npz_key(npz, "name2reason").item())


@pytest.fixture(scope="module")
def reference(
    manifest: Path, tiny_frame_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str | None], dict[str, object]]:
    """The outputs of an uninterrupted run."""
    out = tmp_path_factory.mktemp("infer-reference")
    result = CliRunner().invoke(app, _args(manifest, out, tiny_frame_dir))
    assert result.exit_code == 0, result.output
    return _outputs(out, tiny_frame_dir)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_infer_stopped_and_rerun_gives_the_same_answers(
    signum: signal.Signals,
    manifest: Path,
    tiny_frame_dir: Path,
    reference: tuple[dict[str, str | None], dict[str, object]],
    tmp_path: Path,
    stopper: Stopper,
) -> None:
    out = tmp_path / "run"
    answers = out / "toy" / "ovlabels" / "answers.jsonl"
    code, output = stopper.run(
        ovmer(*_args(manifest, out, tiny_frame_dir)),
        signum,
        lines_in(answers, 2),
        env={"HF_HUB_OFFLINE": "1"},
    )
    assert code in expected_exit(signum), output[-2000:]
    done = len(read_records(answers, repair_torn_tail=True))
    assert 2 <= done < SAMPLES, "the run should have been stopped part-way"
    rerun = CliRunner().invoke(app, _args(manifest, out, tiny_frame_dir))
    assert rerun.exit_code == 0, rerun.output
    assert_no_torn_files(out)
    assert _outputs(out, tiny_frame_dir) == reference
