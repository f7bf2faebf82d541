"""Shared by the ``hf:`` adapter tests (test_hf.py, test_hf_audio.py): the two-clip MER2023 tree and
the ``ovmer bench`` run plus batch-1 check they both make."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.data.registry import load_samples
from ovmer.inference.model_table import build_answer_model


def _labels(path: Path, corpus: dict[str, dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, test1_corpus=np.array(corpus, dtype=object))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MER2023 with two synthesized clips, one with a subtitle and one without."""
    from tests.models.helpers import write_clip

    root = tmp_path_factory.mktemp("data")
    mer = root / "mer2023-dataset-process"
    _labels(
        mer / "label-6way.npz", {"m_one": {"emo": "happy", "val": 0.0}, "m_two": {"emo": "sad", "val": 0.0}}
    )
    (mer / "video").mkdir()
    write_clip(mer / "video" / "m_one.mp4", [(200, 150, 120 - 10 * i) for i in range(9)], audio_seconds=1.0)
    write_clip(mer / "video" / "m_two.mp4", [(20, 60 + 10 * i, 200) for i in range(9)], audio_seconds=1.0)
    (mer / "transcription-engchi-polish.csv").write_text(
        "name,chinese,english\nm_one,x,I am happy.\nm_two,y,\n", encoding="utf-8"
    )
    return root


def bench_mer2023(
    spec: str, tree: Path, out: Path, wheel_dir: Path
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``ovmer bench --model spec`` on ``tree``'s mer2023 (must exit 0): results.json and the answer
    records by name (both clips)."""
    args = ["bench", "--model", spec, "--datasets", "mer2023", "--root", str(tree), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--assets", str(wheel_dir)])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    records = {
        r["name"]: r for r in map(json.loads, (out / "mer2023" / "answers.jsonl").read_text().splitlines())
    }
    assert set(records) == {"m_one", "m_two"}
    return results, records


def assert_batch_one_matches(spec: str, tree: Path, records: dict[str, dict[str, Any]]) -> None:
    """``spec`` (batch size 1) answers each mer2023 sample with the text ``records`` holds for it."""
    one_at_a_time = build_answer_model(spec)
    for sample in load_samples(tree, "mer2023"):
        (alone,) = one_at_a_time.answer_batch([one_at_a_time.load(sample)])
        assert not isinstance(alone, Exception)
        assert alone.text == records[sample.name]["text"]
