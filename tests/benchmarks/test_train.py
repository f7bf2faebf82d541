"""benchmarks/train.py on the tiny model on CPU: step times with and without the feature cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ovmer.models.tiny import tiny_config
from tests.benchmarks.conftest import run_script
from tests.qwen2_shapes import count, lora_shapes, qwen2_shapes

pytestmark = [pytest.mark.benchmark_smoke, pytest.mark.timeout(300)]


def test_train_benchmark_report(tmp_path: Path) -> None:
    steps, warmup, samples, batch, words = 5, 1, 4, 2, 40
    out = tmp_path / "train.json"
    args = [
        *("--steps", str(steps), "--warmup", str(warmup), "--samples", str(samples)),
        *("--description-words", str(words), "--out", str(out), f"run.batch_size={batch}"),
    ]
    run = run_script("train.py", args, tmp_path, timeout_s=240)
    assert run.stdout.rstrip().endswith(f"written {out}")
    report = json.loads(out.read_text())
    assert report["device"].startswith("cpu") and report["samples"] == samples
    assert f"run.batch_size={batch}" in report["overrides"]
    for key in ("without_cache", "with_cache"):
        timed = report[key]
        assert timed["steps_timed"] == steps - warmup
        # the batch size asked for on the command line is what each step consumed
        assert timed["samples_per_s"] * timed["step_time_mean_s"] == pytest.approx(batch)
        # every sample's prompt plus its description: at least one token per description word
        assert timed["tokens_per_sample"] > words
    # the cache replaces the encoders, never what the LLM is given
    assert report["with_cache"]["tokens_per_sample"] == report["without_cache"]["tokens_per_sample"]
    assert report["speedup"] > 1  # the frozen encoders are no longer run at each step
    steps_s = sum(
        report[key]["step_time_mean_s"] * (steps - warmup) for key in ("without_cache", "with_cache")
    )
    assert report["feature_extraction_s"] + steps_s < run.wall_s
    # LLM parameters for the MFU figure: all of the tiny Qwen2 and its LoRA but the input embedding
    text = tiny_config("face").text_config
    embedding = text["vocab_size"] * text["hidden_size"]
    assert report["llm_parameters"] == count(qwen2_shapes(text)) + count(lora_shapes(text, 16)) - embedding
