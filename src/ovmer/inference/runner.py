"""The one batched runner: any :class:`~ovmer.inference.protocol.AnswerModel` over a list of samples.

``ovmer infer`` and ``ovmer bench`` (and the coming server and cluster runners) run every model
through :func:`run_answers`, which gives each the same guarantees:

- **resumable**: answers are appended to ``answers.jsonl`` batch by batch (one write + fsync); a
  rerun answers only the samples not in it, and a torn last line from a killed run is dropped;
- **guarded**: ``run.json`` records the model's identity and settings; a folder holding answers of
  another model or task is refused;
- **prefetching**: the next batch's inputs are loaded by worker threads while the model answers this
  one (PyAV and NumPy release the GIL);
- **batched by length**: samples are batched in order of subtitle length (less padding; greedy
  answers do not depend on the batch);
- **one bad sample never stops the run**: its error is recorded in ``errors.jsonl`` and the run goes
  on (``skip_errors=False`` stops at the first one instead, naming the sample).

Where the batches are answered is pluggable (``batch_answerer``): by default in this process (threads
load, the model answers); :mod:`ovmer.cluster` answers them on a Ray cluster and hands back each
batch's outcomes in the same order, so the files are the ones a local run writes.

Folder layout: ``answers.jsonl`` (:class:`~ovmer.results.record.AnswerRecord` lines),
``errors.jsonl`` (``{"name", "error"}`` of this call's failures), ``run.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import Progress

from ovmer.atomic import write_json_atomic
from ovmer.data.registry import Sample
from ovmer.errors import DatasetError, OvmerError, SampleFailedError
from ovmer.inference.protocol import AnswerModel
from ovmer.progress import RateColumn, progress_bar
from ovmer.results.jsonl import append_records, read_records
from ovmer.results.record import AnswerRecord

ANSWERS_FILE = "answers.jsonl"
ERRORS_FILE = "errors.jsonl"
RUN_FILE = "run.json"

#: Errors of one sample that are recorded as its failure (the run goes on).
SAMPLE_ERRORS = (OvmerError, OSError, RuntimeError, ValueError)

#: Answers planned batches elsewhere (a cluster): yields, batch by batch in the given order, one
#: outcome per sample (its record, or the error that sample raised).
BatchAnswerer = Callable[[list[list[Sample]]], Iterator[list[AnswerRecord | Exception]]]


def describe_failure(error: Exception) -> str:
    """How a sample's failure is recorded (``errors.jsonl``, ``failures``): ``Type: message``.

    A :class:`~ovmer.errors.SampleFailedError` already holds such a text (made where the sample ran).
    """
    return str(error) if isinstance(error, SampleFailedError) else f"{type(error).__name__}: {error}"


@dataclass
class RunSummary:
    """What one :func:`run_answers` call did; ``records`` holds every answer in the folder."""

    folder: Path
    total: int
    already_done: int = 0
    answered: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    records: dict[str, AnswerRecord] = field(default_factory=dict)

    @property
    def answers_file(self) -> Path:
        return self.folder / ANSWERS_FILE

    @property
    def samples_per_second(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    @property
    def complete(self) -> bool:
        return self.already_done + self.answered == self.total


def guard_run_folder(folder: Path, settings: dict[str, Any]) -> None:
    """Refuse a folder whose ``run.json`` records other settings; record ours."""
    run_file = folder / RUN_FILE
    if run_file.is_file():
        previous = json.loads(run_file.read_text(encoding="utf-8"))
        mismatched = {k: (previous.get(k), v) for k, v in settings.items() if previous.get(k) != v}
        if mismatched:
            raise DatasetError(
                f"{folder} holds results of a different run {mismatched}; use another --out to keep both"
            )
    write_json_atomic(run_file, settings)


def plan_batches(todo: list[Sample], size: int, max_batches: int | None = None) -> list[list[Sample]]:
    """The batches of ``todo`` in the order they are answered and written: sorted by subtitle length,
    ``size`` samples each (the last may be shorter), at most ``max_batches`` of them."""
    # Similar prompt lengths in one batch waste less compute on padding; results do not depend on it.
    ordered = sorted(todo, key=lambda s: len(s.subtitle or ""))
    batches = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    return batches if max_batches is None else batches[:max_batches]


def _prefetched(
    model: AnswerModel, batches: list[list[Sample]], pool: ThreadPoolExecutor
) -> Iterator[tuple[list[Sample], list[Any]]]:
    """Each batch with its loaded items (or the load error), loading the next batch meanwhile."""

    def load(sample: Sample) -> Any:
        try:
            return model.load(sample)
        except SAMPLE_ERRORS as exc:
            return exc

    pending: list[Future[Any]] = [pool.submit(load, s) for s in batches[0]] if batches else []
    for index, batch in enumerate(batches):
        loaded = [future.result() for future in pending]
        nxt = batches[index + 1] if index + 1 < len(batches) else []
        pending = [pool.submit(load, s) for s in nxt]
        yield batch, loaded


def _local_outcomes(
    model: AnswerModel,
    batches: list[list[Sample]],
    pool: ThreadPoolExecutor,
    *,
    dataset: str,
    skip_errors: bool,
) -> Iterator[list[AnswerRecord | Exception]]:
    """Each batch's outcomes, answered in this process (inputs of the next batch load meanwhile).

    Without ``skip_errors`` a sample that failed to load stops the run before the model is asked.
    """
    for batch, loaded in _prefetched(model, batches, pool):
        if not skip_errors:
            for sample, item in zip(batch, loaded, strict=True):
                if isinstance(item, Exception):
                    raise OvmerError(f"{dataset}/{sample.name}: {item}") from item
        yield answer_loaded(model, loaded)


def answer_loaded(model: AnswerModel, loaded: list[Any]) -> list[AnswerRecord | Exception]:
    """One outcome per loaded item: the model's answer, or the item's own load error."""
    good = [i for i, item in enumerate(loaded) if not isinstance(item, Exception)]
    outcomes: list[AnswerRecord | Exception] = list(loaded)
    for index, answer in zip(good, _answer(model, [loaded[i] for i in good]), strict=True):
        outcomes[index] = answer
    return outcomes


def _answer(model: AnswerModel, items: list[Any]) -> list[AnswerRecord | Exception]:
    """The model's answers for loaded items; a batch that fails as a whole fails each of its items."""
    if not items:
        return []
    try:
        answers = model.answer_batch(items)
    except SAMPLE_ERRORS as exc:  # for example out of memory
        return [exc] * len(items)
    if len(answers) != len(items):
        raise OvmerError(f"{model.identity}: answered {len(answers)} of a batch of {len(items)} samples")
    return answers


def run_answers(
    model: AnswerModel,
    samples: Sequence[Sample],
    folder: str | Path,
    *,
    dataset: str,
    task: str = "ovlabels",
    settings: dict[str, Any] | None = None,
    skip_errors: bool = True,
    workers: int = 4,
    max_batches: int | None = None,
    show_progress: bool = True,
    progress: Progress | None = None,
    batch_answerer: BatchAnswerer | None = None,
) -> RunSummary:
    """Answer every sample of ``samples`` not yet in ``folder`` (see the module docstring).

    Args:
        model: any answer model (:mod:`ovmer.inference.model_table`).
        samples: the split (names must be unique).
        folder: the results folder of this model on this split (created).
        dataset, task: recorded in every answer and in ``run.json``.
        settings: more settings that must match on resume (default: the model's identity).
        skip_errors: record a failing sample and go on (default) or stop, naming it.
        workers: threads loading the next batch's inputs.
        max_batches: stop after this many batches (quick checks; simulates an interruption).
        show_progress: a rich progress bar with counts, samples/s and ETA.
        progress: a live progress display to add this run's bar to (default: its own).
        batch_answerer: answers the planned batches elsewhere (default: here; ``model`` then only
            gives ``identity`` and ``batch_size``; :func:`ovmer.cluster.run_answers_on_ray`).
    """
    folder = Path(folder)
    names = [s.name for s in samples]
    if len(set(names)) != len(names):
        raise DatasetError(f"{dataset}: duplicate sample names in the split")
    run_settings = {"identity": model.identity, "dataset": dataset, "task": task, **(settings or {})}
    guard_run_folder(folder, run_settings)
    wanted = set(names)
    summary = RunSummary(folder, total=len(samples))
    answers_file = folder / ANSWERS_FILE
    summary.records = {
        r.name: r for r in read_records(answers_file, repair_torn_tail=True) if r.name in wanted
    }
    summary.already_done = len(summary.records)
    todo = [s for s in samples if s.name not in summary.records]
    (folder / ERRORS_FILE).unlink(missing_ok=True)  # it lists this call's failures only
    started = time.perf_counter()
    own = progress is None
    if progress is None:
        progress = progress_bar("{task.description}", RateColumn(), disable=not show_progress)
    with progress if own else nullcontext(), ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        bar = progress.add_task(f"{dataset} {task}", total=len(samples), completed=summary.already_done)
        batches = plan_batches(todo, model.batch_size, max_batches)
        outcomes = (
            _local_outcomes(model, batches, pool, dataset=dataset, skip_errors=skip_errors)
            if batch_answerer is None
            else batch_answerer(batches)
        )
        for batch, outcome in zip(batches, outcomes, strict=False):
            _record_batch(model, batch, outcome, summary, dataset=dataset, task=task, skip_errors=skip_errors)
            progress.update(bar, advance=len(batch))
    summary.seconds = time.perf_counter() - started
    counts = {"total": summary.total, "done": len(summary.records), "failed": len(summary.failures)}
    write_json_atomic(
        folder / RUN_FILE, {**run_settings, **counts, "last_call_seconds": round(summary.seconds, 3)}
    )
    return summary


def _record_batch(
    model: AnswerModel,
    batch: list[Sample],
    outcomes: list[AnswerRecord | Exception],
    summary: RunSummary,
    *,
    dataset: str,
    task: str,
    skip_errors: bool,
) -> None:
    """Append one batch's answers, then record (or raise) its failures.

    Without ``skip_errors`` the answers of the batch that did come back are kept before a failed
    sample is raised.
    """
    records: list[AnswerRecord] = []
    failed: list[tuple[Sample, Exception]] = []
    for sample, outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, Exception):
            failed.append((sample, outcome))
            continue
        outcome.name, outcome.model, outcome.dataset, outcome.task = (
            sample.name,
            model.identity,
            dataset,
            task,
        )
        records.append(outcome)
    append_records(summary.folder / ANSWERS_FILE, records)
    summary.records.update({r.name: r for r in records})
    summary.answered += len(records)
    if failed and not skip_errors:
        sample, error = failed[0]
        raise OvmerError(f"{dataset}/{sample.name}: {error}") from error
    for sample, error in failed:
        summary.failures[sample.name] = describe_failure(error)
    append_records(
        summary.folder / ERRORS_FILE,
        (
            AnswerRecord(
                sample.name,
                model=model.identity,
                dataset=dataset,
                task=task,
                error=summary.failures[sample.name],
            )
            for sample, _ in failed
        ),
    )
