"""Every append-only JSONL file of ovmer goes through one appender that cuts a torn tail first
(``results.jsonl.append_json_lines``): a rerun never appends onto the fragment a killed run left."""

from __future__ import annotations

import json
from pathlib import Path

from ovmer.results.jsonl import append_json_lines, read_json_lines, truncate_torn_tail
from ovmer.train.run_log import truncate_metrics


def _rows(path: Path) -> list[dict[str, object]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_append_after_a_torn_tail_drops_the_fragment(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    assert not truncate_torn_tail(path)  # missing: nothing to do
    append_json_lines(path, [{"n": 1}, {"n": 2}])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"n": 3, "te')  # killed mid-write
    append_json_lines(path, [{"n": 3}])
    assert _rows(path) == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_a_torn_line_longer_than_the_read_chunk_and_a_lone_fragment(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"n": 1}\n' + '{"x": "' + "y" * 200_000, encoding="utf-8")
    assert truncate_torn_tail(path) and path.read_text() == '{"n": 1}\n'
    path.write_text('{"n": 1', encoding="utf-8")
    assert read_json_lines(path) == [] and path.read_bytes() == b""


def test_training_metrics_resume_over_a_torn_row(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    append_json_lines(path, [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}, {"step": 3, "loss": 1.0}])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"step": 4, "lo')
    truncate_metrics(path, last_step=2)  # resumed from the step-2 checkpoint: 3 is written again
    append_json_lines(path, [{"step": 3, "loss": 1.0}])
    assert [row["step"] for row in _rows(path)] == [1, 2, 3]
