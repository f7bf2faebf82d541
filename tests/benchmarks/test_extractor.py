"""benchmarks/extractor.py end to end on a tiny random Qwen2 (transformers engine; vLLM needs a GPU)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks.conftest import BENCHMARKS, run_script

pytestmark = [pytest.mark.benchmark_smoke, pytest.mark.timeout(120)]

UNIBENCH_CLIPS = 12_799


def test_hf_rows_are_consistent(tmp_path: Path) -> None:
    out = tmp_path / "extractor.json"
    args = ["--prompts", "12", "--max-tokens", "6", "--batch-sizes", "4,12", "--json", str(out)]
    run = run_script("extractor.py", args, tmp_path, timeout_s=100)
    report = json.loads(out.read_text())
    rows = report["rows"]
    assert [(r["engine"], r["batch_size"]) for r in rows] == [("hf", 4), ("hf", 12)]
    for row in rows:
        assert row["failed"] == 0 and row["prompts"] == 12
        assert row["prompts_per_s"] == pytest.approx(12 / row["seconds"], rel=0.01)
        assert row["new_tokens_per_s"] == pytest.approx(row["prompts_per_s"] * 6, rel=0.01)
        assert row["unibench_step_a_minutes"] == pytest.approx(
            UNIBENCH_CLIPS / row["prompts_per_s"] / 60, rel=0.01
        )
        assert f"hf    batch {row['batch_size']:>4}" in run.stdout
    assert report["best_prompts_per_s"]["hf"] == max(r["prompts_per_s"] for r in rows)
    assert "command: python benchmarks/extractor.py --prompts 12" in run.stdout


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_without_vllm_it_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "extractor.py"), "--prompts", "2", "--max-tokens", "2",
         "--batch-sizes", "2", "--engines", "hf,vllm", "--json", str(tmp_path / "x.json")],
        capture_output=True, text=True, timeout=100, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and "vllm: not measured" in done.stderr and "pip install vllm" in done.stderr
    assert json.loads((tmp_path / "x.json").read_text())["rows"][0]["engine"] == "hf"
