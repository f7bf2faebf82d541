"""``ovmer annotate describe`` stopped part-way (Ctrl-C, kill -9), then rerun: the corpus of an
uninterrupted run, every clip answered once, nothing torn."""

from __future__ import annotations

import csv
import shutil
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.results.jsonl import read_json_lines
from ovmer.results.review import latest_by_name
from tests.kill.conftest import Stopper, assert_no_torn_files, expected_exit, lines_in, ovmer

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[2] / "src" / "ovmer" / "clues" / "demo" / "demo_clip.mp4"
NAMES = [f"clip{k}" for k in range(3)]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("annotate-kill")
    with (folder / "clips.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "video", "subtitle"])
        for k, name in enumerate(NAMES):
            shutil.copy(DEMO, folder / f"{name}.mp4")
            writer.writerow([name, f"{name}.mp4", f"Sentence number {k}, I am so happy."])
    return folder / "clips.csv"


def _descriptions(corpus: Path) -> dict[str, str]:
    return {name: row["description"] for name, row in latest_by_name(corpus / "clips.jsonl").items()}


@pytest.fixture(scope="module")
def uninterrupted(manifest: Path) -> dict[str, str]:
    out = manifest.parent / "uninterrupted"
    result = CliRunner().invoke(app, ["annotate", "describe", str(manifest), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return _descriptions(out)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_describe_stopped_and_rerun(
    manifest: Path, uninterrupted: dict[str, str], tmp_path: Path, stopper: Stopper, signum: signal.Signals
) -> None:
    out = tmp_path / "corpus"
    answers = out / "clue_answers" / "shared" / "answers.jsonl"
    args = ["annotate", "describe", str(manifest), "--out", str(out)]
    code, output = stopper.run(ovmer(*args), signum, lines_in(answers, 1))
    assert code in expected_exit(signum), output[-2000:]
    if signum == signal.SIGINT:
        assert "run the same command again to resume" in output
    assert not (out / "clips.jsonl").exists() or len(_descriptions(out)) < len(NAMES)
    rerun = CliRunner().invoke(app, args)
    assert rerun.exit_code == 0, rerun.output
    assert_no_torn_files(out)
    assert _descriptions(out) == uninterrupted and sorted(uninterrupted) == NAMES
    assert sorted(row["name"] for row in read_json_lines(answers)) == NAMES  # none answered twice
