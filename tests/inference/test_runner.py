"""The one batched runner on a small model of its own (no media): batching by length, prefetching,
failures recorded, resume, the guard, and the answer record it writes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from ovmer.data.registry import Sample
from ovmer.errors import DatasetError, MediaError, OvmerError
from ovmer.inference.protocol import AnswerModel
from ovmer.inference.runner import run_answers
from ovmer.results import AnswerRecord, read_records


class CountingModel:
    """Answers with the subtitle's word count; ``bad`` samples fail to load, ``explode`` fails a batch."""

    identity = "counting:v1"

    def __init__(self, batch_size: int = 2, bad: frozenset[str] = frozenset(), explode: str = "") -> None:
        self.batch_size = batch_size
        self.bad, self.explode = bad, explode
        self.batches: list[list[str]] = []
        self.load_threads: set[str] = set()
        self.closed = False

    def load(self, sample: Sample) -> Sample:
        self.load_threads.add(threading.current_thread().name)
        if sample.name in self.bad:
            raise MediaError(f"{sample.name}.mp4: cannot decode")
        return sample

    def answer_batch(self, items: Sequence[Sample]) -> list[AnswerRecord | Exception]:
        self.batches.append([s.name for s in items])
        if any(s.name == self.explode for s in items):
            raise RuntimeError("CUDA out of memory")
        return [AnswerRecord("", text=str(len((s.subtitle or "").split())), inputs={"n": 1}) for s in items]

    def close(self) -> None:
        self.closed = True


def _samples(subtitles: dict[str, str]) -> list[Sample]:
    return [Sample(n, None, None, None, s, None, "test") for n, s in subtitles.items()]


SUBTITLES = {"a": "one two three", "b": "", "c": "one", "d": "one two", "e": "x y z w"}


def test_batches_by_subtitle_length_and_records_every_answer(tmp_path: Path) -> None:
    model = CountingModel()
    assert isinstance(model, AnswerModel)
    summary = run_answers(model, _samples(SUBTITLES), tmp_path, dataset="toy", show_progress=False)
    assert model.batches == [["b", "c"], ["d", "e"], ["a"]]  # shortest subtitles (characters) first
    assert model.load_threads and "MainThread" not in model.load_threads  # loaded in worker threads
    assert (summary.total, summary.answered, summary.already_done, summary.complete) == (5, 5, 0, True)
    records = {r.name: r for r in read_records(tmp_path / "answers.jsonl")}
    assert {n: r.text for n, r in records.items()} == {"a": "3", "b": "0", "c": "1", "d": "2", "e": "4"}
    assert {(r.model, r.dataset, r.task) for r in records.values()} == {("counting:v1", "toy", "ovlabels")}
    assert records["a"].inputs == {"n": 1}


def test_failures_are_recorded_the_rest_answered_and_retried_later(tmp_path: Path) -> None:
    samples = _samples(SUBTITLES)
    model = CountingModel(bad=frozenset({"c"}), explode="a")
    summary = run_answers(model, samples, tmp_path, dataset="toy", show_progress=False)
    assert set(summary.failures) == {"c", "a"}
    assert "cannot decode" in summary.failures["c"] and "out of memory" in summary.failures["a"]
    assert model.batches == [["b"], ["d", "e"], ["a"]]  # the bad sample left its batch, the rest went on
    errors = read_records(tmp_path / "errors.jsonl")
    assert [(r.name, r.error is not None) for r in errors] == [("c", True), ("a", True)]
    again = run_answers(CountingModel(), samples, tmp_path, dataset="toy", show_progress=False)
    assert (again.already_done, again.answered, again.failures) == (3, 2, {})
    assert not (tmp_path / "errors.jsonl").exists()  # it lists the last call's failures only
    with pytest.raises(OvmerError, match=r"toy/c: c\.mp4: cannot decode"):
        run_answers(
            CountingModel(bad=frozenset({"c"})),
            samples,
            tmp_path / "strict",
            dataset="toy",
            skip_errors=False,
            show_progress=False,
        )


def test_without_skip_errors_a_failed_answer_stops_the_run_and_keeps_the_others(tmp_path: Path) -> None:
    model = CountingModel(explode="a")  # a is alone in the last batch
    with pytest.raises(OvmerError, match=r"toy/a: CUDA out of memory"):
        run_answers(
            model, _samples(SUBTITLES), tmp_path, dataset="toy", skip_errors=False, show_progress=False
        )
    assert sorted(r.name for r in read_records(tmp_path / "answers.jsonl")) == ["b", "c", "d", "e"]


def test_interrupted_run_resumes_without_repeating(tmp_path: Path) -> None:
    samples = _samples(SUBTITLES)
    first = run_answers(CountingModel(), samples, tmp_path, dataset="toy", max_batches=1, show_progress=False)
    assert (first.answered, first.complete) == (2, False)
    with open(tmp_path / "answers.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"name": "d", "te')  # killed mid-write
    model = CountingModel()
    second = run_answers(model, samples, tmp_path, dataset="toy", show_progress=False)
    assert (second.already_done, second.answered) == (2, 3)
    assert sorted(n for batch in model.batches for n in batch) == ["a", "d", "e"]  # b, c were done
    assert sorted(r.name for r in read_records(tmp_path / "answers.jsonl")) == ["a", "b", "c", "d", "e"]


def test_guard_refuses_another_model_or_task(tmp_path: Path) -> None:
    samples = _samples(SUBTITLES)
    run_answers(CountingModel(), samples, tmp_path, dataset="toy", show_progress=False)
    other = CountingModel()
    other.identity = "counting:v2"
    with pytest.raises(DatasetError, match="different run"):
        run_answers(other, samples, tmp_path, dataset="toy", show_progress=False)
    with pytest.raises(DatasetError, match="different run"):
        run_answers(
            CountingModel(), samples, tmp_path, dataset="toy", task="description", show_progress=False
        )
    with pytest.raises(DatasetError, match="duplicate sample names"):
        run_answers(
            CountingModel(), samples + samples[:1], tmp_path / "dup", dataset="toy", show_progress=False
        )


def test_a_model_that_miscounts_its_answers_is_stopped(tmp_path: Path) -> None:
    class Short(CountingModel):
        def answer_batch(self, items: Sequence[Sample]) -> list[AnswerRecord | Exception]:
            return super().answer_batch(items)[:-1]

    with pytest.raises(OvmerError, match="answered 1 of a batch of 2"):
        run_answers(Short(), _samples(SUBTITLES), tmp_path, dataset="toy", show_progress=False)
