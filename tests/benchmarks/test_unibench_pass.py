"""benchmarks/unibench_pass.py end to end on the CPU: a tiny random AffectGPT through ``run_bench`` on a
MER2023-layout tree of links to the demo clip, the lexicon extractor, stage times from results.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks.conftest import run_script

pytestmark = [pytest.mark.benchmark_smoke, pytest.mark.timeout(180)]


def test_a_small_pass_reports_its_stages(tmp_path: Path, wheel_dir: Path) -> None:
    out = tmp_path / "pass.json"
    run = run_script(
        "unibench_pass.py",
        [
            "--clips",
            "5",
            "--tiny",
            "--assets",
            str(wheel_dir),
            "--out",
            str(tmp_path / "run"),
            "--json",
            str(out),
        ],
        tmp_path,
        timeout_s=150,
    )
    report = json.loads(out.read_text())
    assert report["answered"] == 5 and report["inference_failures"] == report["extraction_failures"] == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    stages = results["datasets"]["mer2023"]["seconds"]
    assert report["stages_s"] == stages and set(stages) == {"inference", "extraction", "scoring"}
    assert report["total_s"] == pytest.approx(sum(stages.values()) + report["other_s"], abs=0.02)
    assert report["unibench_minutes"] == pytest.approx(12_799 * report["total_s"] / 5 / 60, rel=0.01)
    assert report["model"].startswith("affectgpt:random:")
    assert results["datasets"]["mer2023"]["answered"] == 5
    for stage in ("inference", "extraction", "scoring", "other", "total"):
        assert f"{stage:>10}: " in run.stdout
