"""``ovmer bench``: inference on every test sample, label extraction, scoring in both protocols.

Run folder layout (``--out RUN``)::

    RUN/run.json                     model, extractor, datasets (a rerun must match)
    RUN/<dataset>/answers.jsonl      model answers, appended sample by sample (resume point)
    RUN/<dataset>/failures.json      samples whose inference failed this time (retried on rerun)
    RUN/<dataset>/predictions.jsonl  answers + OV labels (+ sentiment): ovmer JSONL
    RUN/<dataset>/official/<model>.npz (+ -openset, -openset-sentiment)   upstream layout
    RUN/results.json                 scores of both protocols, full precision
    RUN/samples.jsonl                one line per sample: ground truth, answer, labels, sentiment
    RUN/report.md, RUN/charts/<dataset>.png

Rerunning on a finished folder does no inference; extraction replies come from the cache, so it
only re-scores. With one model output per sample there is no checkpoint to select: the two
protocols differ in how they treat missing predictions (paper: fatal, as upstream; clean: empty).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ovmer.atomic import write_json_atomic, write_text_atomic
from ovmer.bench.models import BatchedBenchModel, BenchModel, load_model
from ovmer.data.benchmarks import BenchmarkDataset, Family, get_benchmark
from ovmer.data.registry import Sample, benchmark_samples, dataset_folder
from ovmer.errors import DatasetError, OvmerError
from ovmer.labels.mapping import LabelMapper
from ovmer.llm.extractor import LabelExtractor
from ovmer.results.formats import PredictionRecord, Predictions, as_stored_labels, write_jsonl, write_official
from ovmer.scoring.dataset import DatasetScore, score_predictions
from ovmer.scoring.protocol import Protocol

logger = logging.getLogger(__name__)

#: Called as (dataset id, stage, done, total) for progress bars.
ProgressHook = Callable[[str, str, int, int], None]


@dataclass
class DatasetRun:
    """What happened to one dataset."""

    dataset: BenchmarkDataset
    samples: int = 0
    answered: int = 0
    inferred_now: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    extraction_failures: dict[str, str] = field(default_factory=dict)
    scores: dict[str, DatasetScore] = field(default_factory=dict)  # protocol → score
    errors: dict[str, str] = field(default_factory=dict)  # protocol → why it was not scored

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.id,
            "title": self.dataset.title,
            "samples": self.samples,
            "answered": self.answered,
            "inferred_now": self.inferred_now,
            "inference_failures": self.failures,
            "extraction_failures": self.extraction_failures,
            "scores": {p: s.to_json() for p, s in self.scores.items()},
            "errors": self.errors,
        }


@dataclass
class BenchResult:
    """The whole run."""

    out: Path
    config: dict[str, Any]
    datasets: dict[str, DatasetRun]

    def mean(self, protocol: str) -> float | None:
        """Mean main score over the datasets scored under ``protocol`` (see the report for how many)."""
        values = [d.scores[protocol].main for d in self.datasets.values() if protocol in d.scores]
        return float(np.mean(values)) if values else None

    def to_json(self) -> dict[str, Any]:
        means: dict[str, float | None] = {}
        for protocol in Protocol:
            mean = self.mean(protocol.value)
            means[protocol.value] = None if mean is None else mean * 100
        return {**self.config, "mean": means, "datasets": {k: v.to_json() for k, v in self.datasets.items()}}


def _read_answers(path: Path) -> dict[str, str]:
    """Answers written so far; a torn last line (killed mid-write) is ignored."""
    answers: dict[str, str] = {}
    if not path.is_file():
        return answers
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
            answers[str(obj["name"])] = str(obj["text"])
        except (ValueError, KeyError, TypeError):
            continue
    return answers


def _append_answer(path: Path, name: str, text: str, model: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"name": name, "text": text, "model": model}, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _check_run_folder(out: Path, config: dict[str, Any]) -> None:
    path = out / "run.json"
    if path.is_file():
        previous = json.loads(path.read_text(encoding="utf-8"))
        for key in ("model", "extractor"):
            if previous.get(key) != config.get(key):
                raise OvmerError(
                    f"{out} holds a run with {key} {previous.get(key)!r}, not {config.get(key)!r}; "
                    "use another --out folder"
                )
    write_json_atomic(path, config)


#: Errors of one sample that are recorded as its failure (the run goes on).
SAMPLE_ERRORS = (OvmerError, OSError, RuntimeError, ValueError)


def _answer_chunk(model: BenchModel, chunk: Sequence[Sample]) -> list[str | Exception]:
    """Answers (or the error) for each sample: one batched call when the model batches."""
    if isinstance(model, BatchedBenchModel):
        try:
            return model.answer_batch(chunk)
        except SAMPLE_ERRORS as exc:  # the whole batch failed (for example out of memory)
            return [exc] * len(chunk)
    outcomes: list[str | Exception] = []
    for sample in chunk:
        try:
            outcomes.append(model.answer(sample))
        except SAMPLE_ERRORS as exc:
            outcomes.append(exc)
    return outcomes


def infer(
    model: BenchModel,
    samples: Sequence[Sample],
    answers_path: Path,
    run: DatasetRun,
    progress: ProgressHook | None = None,
) -> dict[str, str]:
    """Answer every sample not yet in ``answers_path``; a failing sample is recorded and skipped."""
    answers = _read_answers(answers_path)
    answers_path.parent.mkdir(parents=True, exist_ok=True)
    todo = [s for s in samples if s.name not in answers]
    done = len(samples) - len(todo)
    if progress:
        progress(run.dataset.id, "inference", done, len(samples))
    size = model.batch_size if isinstance(model, BatchedBenchModel) else 1
    for start in range(0, len(todo), size):
        chunk = todo[start : start + size]
        for sample, outcome in zip(chunk, _answer_chunk(model, chunk), strict=True):
            if isinstance(outcome, Exception):
                run.failures[sample.name] = f"{type(outcome).__name__}: {outcome}"
                logger.warning("%s/%s: inference failed: %s", run.dataset.id, sample.name, outcome)
            else:
                _append_answer(answers_path, sample.name, outcome, model.identity)
                answers[sample.name] = outcome
                run.inferred_now += 1
            done += 1
        if progress:
            progress(run.dataset.id, "inference", done, len(samples))
    return answers


def extract(
    extractor: LabelExtractor, dataset: BenchmarkDataset, answers: dict[str, str], run: DatasetRun
) -> Predictions:
    """Step A for every answer, and step B for the sentiment datasets."""
    names = list(answers)
    predictions = Predictions(source=f"{dataset.id} answers")
    for name in names:
        predictions.records[name] = PredictionRecord(name=name, text=answers[name])
    ov = extractor.ovlabels([answers[n] for n in names])
    for name, outcome in zip(names, ov, strict=True):
        if isinstance(outcome, Exception):
            run.extraction_failures[name] = f"step A: {outcome}"
            del predictions.records[name]
        else:
            predictions.records[name].ov_labels = outcome
    if dataset.family is Family.SENTIMENT:
        kept = list(predictions.records)
        replies = extractor.sentiment(
            [as_stored_labels(predictions.records[n].ov_labels or "") for n in kept]
        )
        for name, outcome in zip(kept, replies, strict=True):
            if isinstance(outcome, Exception):
                run.extraction_failures[name] = f"step B: {outcome}"
                del predictions.records[name]
            else:
                predictions.records[name].sentiment = outcome
    return predictions


def load_test_split(dataset: BenchmarkDataset, root: Path) -> list[Sample]:
    """The test split from the dataset registry (labels = the scorer's ground truth, in its order).

    A missing or unreadable transcript gives samples without subtitles (the clue engine then
    transcribes); a missing label file is an error naming the path ``--root`` should hold.
    """
    label_path = dataset_folder(root, dataset) / dataset.label_file
    if not label_path.is_file() and dataset.names_file is None:
        raise DatasetError(
            f"{dataset.id}: {Path(root) / dataset.folder / dataset.label_file} not found; --root must hold the "
            f"official folders ({dataset.folder}/{dataset.label_file}, {dataset.folder}/{dataset.video_dirs[0]}/<name>.mp4)"
        )
    return benchmark_samples(root, dataset, "test", require_subtitles=False)


def run_bench(
    model_spec: str,
    datasets: Sequence[str],
    root: Path,
    out: Path,
    extractor: LabelExtractor,
    maps: Any,
    *,
    command: str | None = None,
    progress: ProgressHook | None = None,
    limit: int | None = None,
) -> BenchResult:
    """Run the benchmark and write every output of the run folder (see the module docstring).

    Args:
        model_spec: see :func:`ovmer.bench.models.load_model`.
        datasets: dataset ids (``mer2023``, ``cmumosi`` …).
        root: folder holding the official ``*-process`` folders.
        out: the run folder (created; reused to resume or re-score).
        extractor: step A/B extractor (``lexicon`` or an LLM, see :func:`ovmer.llm.run.build_extractor`).
        maps: emotion-wheel maps (:func:`ovmer.assets.load_wheel_maps`).
        limit: only the first N samples of each dataset (smoke runs; the scores are then partial).
    """
    definitions = [get_benchmark(d) for d in datasets]
    model = load_model(model_spec)
    out = Path(out)
    config = {
        "model": model.identity,
        "model_spec": model_spec,
        "extractor": extractor.metadata(),
        "datasets": [d.id for d in definitions],
        "root": str(root),
        "limit": limit,
        "command": command,
    }
    out.mkdir(parents=True, exist_ok=True)
    _check_run_folder(out, config)
    mapper = LabelMapper(maps)
    runs: dict[str, DatasetRun] = {}
    sample_lines: list[str] = []
    for dataset in definitions:
        samples = load_test_split(dataset, root)
        if limit is not None:
            samples = samples[:limit]
        run = DatasetRun(dataset, samples=len(samples))
        runs[dataset.id] = run
        folder = out / dataset.id
        answers = infer(model, samples, folder / "answers.jsonl", run, progress)
        run.answered = len(answers)
        write_json_atomic(folder / "failures.json", run.failures)
        predictions = extract(extractor, dataset, answers, run)
        write_jsonl(predictions.records, folder / "predictions.jsonl")
        if predictions.records:
            write_official(predictions, folder / "official" / f"{model_spec.replace(':', '_')}.npz")
        ground_truth = {s.name: s.label for s in samples}
        for protocol in Protocol:
            try:
                run.scores[protocol.value] = score_predictions(
                    dataset, ground_truth, predictions, mapper, protocol
                )
            except OvmerError as exc:
                run.errors[protocol.value] = str(exc)
        for sample in samples:
            record = predictions.records.get(sample.name)
            truth = sample.label
            sample_lines.append(
                json.dumps(
                    {
                        "dataset": dataset.id,
                        "name": sample.name,
                        "ground_truth": truth if isinstance(truth, str | int | float) else str(truth),
                        "text": answers.get(sample.name),
                        "ov_labels": None if record is None else record.ov_labels,
                        "sentiment": None if record is None else record.sentiment,
                        "error": run.failures.get(sample.name) or run.extraction_failures.get(sample.name),
                    },
                    ensure_ascii=False,
                )
            )
    result = BenchResult(out, config, runs)
    write_json_atomic(out / "results.json", result.to_json())
    write_text_atomic(out / "samples.jsonl", "\n".join(sample_lines) + ("\n" if sample_lines else ""))
    from ovmer.bench.report import write_report

    write_report(result)
    return result
