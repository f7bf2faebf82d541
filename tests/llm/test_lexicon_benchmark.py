"""The lexicon-vs-Qwen benchmark runs on the stored outputs and its figures hang together."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "lexicon_extractor.py"


def test_lexicon_benchmark_figures(
    reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "figures.json"
    argv = [str(SCRIPT), "--reference", str(reference), "--show-disagreements", "2", "--json", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(SCRIPT), run_name="__main__")
    printed = capsys.readouterr().out
    figures = json.loads(out.read_text())
    assert figures["extractor"] == "lexicon:v2:max4"
    for dataset in ("mer2023", "cmumosi"):
        records = figures["datasets"][dataset]["checkpoints"]
        assert len(records) == 7
        selected = figures["datasets"][dataset]["paper_protocol"]
        best_qwen = max(records, key=lambda r: r["qwen"])  # first on ties, like numpy.argmax
        assert selected["qwen_checkpoint"] == best_qwen["checkpoint"]
        assert selected["qwen"] == best_qwen["qwen"]
        assert selected["lexicon"] == max(r["lexicon"] for r in records)
        # the documented claim: both extractions select the same checkpoint, within a point
        assert selected["lexicon_checkpoint"] == selected["qwen_checkpoint"]
        assert abs(selected["lexicon"] - selected["qwen"]) < 0.01
    mosi = figures["datasets"]["cmumosi"]
    spread = mosi["positive_vs_rest"]
    assert spread["lexicon_right"] == sum(r["lexicon_right"] for r in mosi["checkpoints"])
    assert spread["qwen_right"] == sum(r["qwen_right"] for r in mosi["checkpoints"])
    assert all(r["scored"] == 656 for r in mosi["checkpoints"])  # spec §10.5: 656 samples with val ≠ 0
    assert 0 < spread["p_one_checkpoint_beyond_1_point"] < spread["p_any_checkpoint_beyond_1_point"] < 1
    assert "both signs" in printed and "even the best rule" in printed
