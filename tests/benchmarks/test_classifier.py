"""benchmarks/classifier.py on a few clips: the table, the JSON, and thread-independent results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks.conftest import run_script

pytestmark = [pytest.mark.benchmark_smoke, pytest.mark.timeout(120)]


def test_classifier_benchmark_report(tmp_path: Path) -> None:
    out = tmp_path / "classifier.json"
    run = run_script(
        "classifier.py",
        ["--clips", "60", "--epochs", "2", "--threads", "1,2", "--out", str(out)],
        tmp_path,
        100,
    )
    assert run.stdout.rstrip().endswith(f"written {out}")
    report = json.loads(out.read_text())
    assert report["clips"] == 60 and [r["threads"] for r in report["runs"]] == [1, 2]
    one, two = report["runs"]
    assert one["held_out"] == two["held_out"]  # the thread count changes the speed, never the member
    assert all(r["train_s"] > 0 and r["predict_clips_per_s"] > 0 for r in report["runs"])
    assert "| 1 |" in run.stdout and "| 2 |" in run.stdout
