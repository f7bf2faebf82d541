"""benchmarks/inference.py on the tiny random model on CPU: the table it prints is a measurement."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.benchmarks.conftest import run_script

pytestmark = [pytest.mark.benchmark_smoke, pytest.mark.timeout(300)]

UNIBENCH_CLIPS = 12_799  # MER-UniBench test clips, docs/model.md


@pytest.mark.parametrize("visual", ["frame", "face"])
def test_inference_table_is_consistent_with_its_own_run(visual: str, tmp_path: Path) -> None:
    new_tokens, repeats = 4, 2
    args = [
        "--max-batch",
        "3",
        "--new-tokens",
        str(new_tokens),
        "--repeats",
        str(repeats),
        "--visual",
        visual,
    ]
    run = run_script("inference.py", args, tmp_path, timeout_s=240)
    lines = run.stdout.splitlines()
    assert lines[0].startswith("command: ") and lines[0].endswith(" ".join(args))
    assert lines[1].startswith("model: tiny-random; device: CPU")
    assert lines[1].endswith(f"dtype: fp32; new tokens per sample: {new_tokens}")
    assert lines[2].split() == ["batch", "samples/s", "tokens/s", "peak", "MiB", "UniBench", "h"]
    rows = [[float(x) for x in line.split()] for line in lines[3:]]
    # batch sizes double from 1 while they fit --max-batch 3
    assert [int(row[0]) for row in rows] == [1, 2]
    total_ram_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    timed_s = 0.0
    for batch, samples_per_s, tokens_per_s, peak_mib, unibench_h in rows:
        assert samples_per_s > 0
        # the stop rule is off, so every sample yields exactly --new-tokens tokens (printing rounds
        # samples/s to 0.01 and tokens/s to 0.1)
        assert tokens_per_s == pytest.approx(samples_per_s * new_tokens, abs=0.05 + 0.005 * new_tokens)
        # Both figures are printed to 0.01: samples/s carries up to ±0.005 (a relative error of
        # 0.005 / samples_per_s in the hours derived from it) and the hours themselves ±0.005.
        expected_h = UNIBENCH_CLIPS / samples_per_s / 3600
        assert unibench_h == pytest.approx(expected_h, abs=expected_h * 0.005 / samples_per_s + 0.0051)
        # peak resident memory of a process that has imported torch and built a model
        assert 100 < peak_mib < total_ram_mib
        timed_s += repeats * batch / samples_per_s
    # the timed generations happened inside this run, besides warm-ups and the model build
    assert timed_s < run.wall_s
