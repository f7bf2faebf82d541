"""benchmarks/baselines.py on the tiny Video-LLaVA config on CPU: the table it prints is a measurement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks.conftest import BENCHMARKS, run_script

pytestmark = [pytest.mark.benchmark_smoke, pytest.mark.timeout(120)]

UNIBENCH_CLIPS = 12_799  # MER-UniBench test clips, docs/model.md


def test_baselines_table_is_consistent_with_its_own_run(tmp_path: Path) -> None:
    new_tokens, repeats = 4, 2
    args = ["--tiny", "--models", "video-llava-7b", "--max-batch", "5", "--new-tokens", str(new_tokens)]
    args += ["--repeats", str(repeats), "--json", "out.json"]
    run = run_script("baselines.py", args, tmp_path, timeout_s=90)
    lines = run.stdout.splitlines()
    assert lines[0].startswith("command: ") and lines[0].endswith("baselines.py " + " ".join(args))
    assert lines[1].startswith(f"device: CPU ({os.cpu_count()} cores); dtype: auto; new tokens")
    columns = ["batch", "clips/s", "tokens/s", "peak", "MiB", "UniBench", "h"]
    header = next(i for i, line in enumerate(lines) if line.split() == columns)
    model_line = lines[header - 1]
    assert model_line.startswith(
        "model: video-llava-7b (LanguageBind/Video-LLaVA-7B-hf, random weights, tiny config"
    )
    assert model_line.endswith("tokenizer: tiny, trained on the fly")
    rows = [[float(x) for x in line.split()] for line in lines[header + 1 : header + 4]]
    # batch sizes double from 1 while they fit --max-batch 5
    assert [int(row[0]) for row in rows] == [1, 2, 4]
    assert lines[header + 4] == "wrote out.json"
    timed_s = 0.0
    for batch, clips_per_s, tokens_per_s, peak_mib, unibench_h in rows:
        assert clips_per_s > 0
        # the stop rule is off: every clip yields exactly --new-tokens tokens (clips/s printed to 0.01,
        # tokens/s to 0.1)
        assert tokens_per_s == pytest.approx(clips_per_s * new_tokens, abs=0.05 + 0.005 * new_tokens)
        # clips/s carries up to ±0.005 (a relative error of 0.005 / clips_per_s in the hours derived
        # from it) and the hours themselves ±0.005
        expected_h = UNIBENCH_CLIPS / clips_per_s / 3600
        assert unibench_h == pytest.approx(expected_h, abs=expected_h * 0.005 / clips_per_s + 0.0051)
        assert peak_mib > 100
        timed_s += repeats * batch / clips_per_s
    assert timed_s < run.wall_s
    # the JSON holds the unrounded figures of the same rows
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["command"].endswith(" ".join(args)) and report["new_tokens"] == new_tokens
    (model,) = report["models"]
    assert model["name"] == "video-llava-7b" and model["llm_layers"] == "tiny"
    for row, printed in zip(model["rows"], rows, strict=True):
        assert row["batch"] == printed[0]
        assert row["generated_tokens"] == row["batch"] * new_tokens
        assert row["clips_per_s"] == pytest.approx(printed[1], abs=0.0051)
        assert row["unibench_hours"] == pytest.approx(UNIBENCH_CLIPS / row["clips_per_s"] / 3600)


def test_unknown_model_is_named_with_the_choices(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "baselines.py"), "--tiny", "--models", "no-such-model"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--models no-such-model: unknown model; runnable here: " in done.stderr
    assert "video-llava-7b" in done.stderr
