"""benchmarks/scoring.py (``make bench``): the MER-UniBench stand-in and its timings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.benchmarks.conftest import run_script

pytestmark = [pytest.mark.benchmark_smoke, pytest.mark.timeout(300)]

UNIBENCH_CLIPS = 12_799  # MER-UniBench test clips over its 9 datasets, docs/model.md


def test_scoring_benchmark_times_the_full_size_stand_in(reference: Path, tmp_path: Path) -> None:
    repeat = 2
    run = run_script("scoring.py", ["--reference", str(reference), "--repeat", str(repeat)], tmp_path, 240)
    out = run.stdout
    assert (
        f"MER-UniBench stand-in: 9 datasets x 7 checkpoints, {UNIBENCH_CLIPS} samples per checkpoint "
        f"({UNIBENCH_CLIPS * 7} sample scorings)"
    ) in out
    runs = {
        m[1]: [float(x) for x in m[3].split(", ")]
        for m in re.finditer(r"^  (\w+) +median +([0-9.]+) s +\(runs: ([0-9., ]+)\)$", out, re.MULTILINE)
    }
    assert {key: len(values) for key, values in runs.items()} == {
        "load": repeat,
        "ovmer": repeat,
        "unibench": repeat,
        "naive": 1,
    }
    assert all(value > 0 for values in runs.values() for value in values)
    # every timed section ran inside this process's lifetime (besides the stand-in build)
    assert sum(sum(values) for values in runs.values()) < run.wall_s
    # the naive scoring re-reads a spreadsheet per metric and maps every label afresh: it is the
    # benchmark's point that this is an order of magnitude slower than ovmer's memoised scoring
    speed_up = re.search(r"speed-up of ovmer scoring over the naive upstream-style scoring: (\d+)x", out)
    assert speed_up and int(speed_up[1]) >= 5
    assert min(runs["naive"]) > max(runs["ovmer"])
    mean = re.search(r"paper-protocol mean on the stand-in: ([0-9.]+)$", out, re.MULTILINE)
    assert mean and 0 < float(mean[1]) < 100
