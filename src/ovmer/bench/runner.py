"""``ovmer bench``: any model on every test sample, label extraction, scoring in both protocols.

Inference goes through the one batched runner (:func:`ovmer.inference.runner.run_answers`), so
every model gets its prefetching, batching, resume and per-sample error records.

Run folder layout (``--out RUN``)::

    RUN/run.json                     model, extractor, datasets (a rerun must match)
    RUN/<dataset>/answers.jsonl      model answers, appended batch by batch (resume point)
    RUN/<dataset>/errors.jsonl       samples whose inference failed this time (retried on rerun)
    RUN/<dataset>/failures.json      the same, as {name: error}
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
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.progress import Progress

from ovmer.atomic import write_json_atomic, write_text_atomic
from ovmer.bench.report import write_report
from ovmer.bench.result import BenchResult, DatasetRun
from ovmer.data.benchmarks import BenchmarkDataset, Family, get_benchmark
from ovmer.data.registry import Sample, benchmark_samples, dataset_folder
from ovmer.errors import DatasetError, OvmerError
from ovmer.inference.model_table import build_answer_model
from ovmer.inference.protocol import AnswerModel
from ovmer.inference.runner import BatchAnswerer, run_answers
from ovmer.labels.mapping import LabelMapper
from ovmer.llm.extractor import LabelExtractor
from ovmer.results.jsonl import write_records
from ovmer.results.official import write_official
from ovmer.results.record import AnswerRecord, Predictions, as_stored_labels
from ovmer.scoring.dataset import score_predictions
from ovmer.scoring.protocol import Protocol


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


def extract(
    extractor: LabelExtractor, dataset: BenchmarkDataset, answers: dict[str, str], run: DatasetRun
) -> Predictions:
    """Step A for every answer, and step B for the sentiment datasets."""
    names = list(answers)
    predictions = Predictions(source=f"{dataset.id} answers")
    for name in names:
        predictions.records[name] = AnswerRecord(name=name, text=answers[name])
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


def sample_line(
    dataset: BenchmarkDataset,
    sample: Sample,
    run: DatasetRun,
    answers: dict[str, str],
    predictions: Predictions,
) -> dict[str, Any]:
    """One line of ``samples.jsonl``: ground truth, answer, labels and what went wrong."""
    record = predictions.records.get(sample.name)
    truth = sample.label
    return {
        "dataset": dataset.id,
        "name": sample.name,
        "ground_truth": truth if isinstance(truth, str | int | float) else str(truth),
        "text": answers.get(sample.name),
        "ov_labels": None if record is None else record.ov_labels,
        "sentiment": None if record is None else record.sentiment,
        "error": run.failures.get(sample.name) or run.extraction_failures.get(sample.name),
    }


def bench_dataset(
    model: AnswerModel,
    dataset: BenchmarkDataset,
    samples: Sequence[Sample],
    folder: Path,
    extractor: LabelExtractor,
    mapper: LabelMapper,
    *,
    model_spec: str,
    progress: Progress | None = None,
    batch_answerer: BatchAnswerer | None = None,
) -> tuple[DatasetRun, list[str]]:
    """Answer, extract, write and score one dataset; returns its run and its ``samples.jsonl`` lines.

    ``batch_answerer``: the model answers elsewhere (``--ray``, :mod:`ovmer.cluster`), same files."""
    run = DatasetRun(dataset, samples=len(samples))
    started = time.perf_counter()
    answered = run_answers(
        model,
        samples,
        folder,
        dataset=dataset.id,
        show_progress=progress is not None,
        progress=progress,
        batch_answerer=batch_answerer,
    )
    answers = {name: record.text or "" for name, record in answered.records.items()}
    run.answered, run.inferred_now, run.failures = len(answers), answered.answered, answered.failures
    write_json_atomic(folder / "failures.json", run.failures)
    run.seconds["inference"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    predictions = extract(extractor, dataset, answers, run)
    run.seconds["extraction"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    write_records(folder / "predictions.jsonl", predictions.records.values())
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
    run.seconds["scoring"] = round(time.perf_counter() - started, 3)
    lines = [
        json.dumps(sample_line(dataset, s, run, answers, predictions), ensure_ascii=False) for s in samples
    ]
    return run, lines


def run_bench(
    model_spec: str,
    datasets: Sequence[str],
    root: Path,
    out: Path,
    extractor: LabelExtractor,
    maps: Any,
    *,
    command: str | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    ray_address: str | None = None,
) -> BenchResult:
    """Run the benchmark and write every output of the run folder (see the module docstring).

    Args:
        model_spec: see :mod:`ovmer.inference.model_table`.
        datasets: dataset ids (``mer2023``, ``cmumosi`` …).
        root: folder holding the official ``*-process`` folders.
        out: the run folder (created; reused to resume or re-score).
        extractor: step A/B extractor (``lexicon`` or an LLM, see :func:`ovmer.llm.run.build_extractor`).
        maps: emotion-wheel maps (:func:`ovmer.assets.load_wheel_maps`).
        limit: only the first N samples of each dataset (smoke runs; the scores are then partial).
        progress: a live progress display for the inference bars (none by default).
        ray_address: answer on a Ray cluster (``auto`` or ``HOST:PORT``, :mod:`ovmer.cluster`); the
            run folder is the one a local run writes (extraction and scoring stay here).
    """
    definitions = [get_benchmark(d) for d in datasets]
    with ExitStack() as stack:
        model, batch_answerer = _open_model(model_spec, ray_address, stack)
        return _run_bench(
            model,
            batch_answerer,
            model_spec,
            definitions,
            root,
            out,
            extractor,
            maps,
            command,
            limit,
            progress,
        )


def _open_model(
    model_spec: str, ray_address: str | None, stack: ExitStack
) -> tuple[AnswerModel, BatchAnswerer | None]:
    """The model here, or its stand-in on a Ray cluster joined for the ``stack``'s lifetime."""
    if ray_address is None:
        return build_answer_model(model_spec), None
    from ovmer.cluster import RayAnswerModel, SpecRecipe, ray_connection

    stack.enter_context(ray_connection(ray_address))
    model = RayAnswerModel(SpecRecipe(model_spec))
    return model, model.answer_batches


def _run_bench(
    model: AnswerModel,
    batch_answerer: BatchAnswerer | None,
    model_spec: str,
    definitions: list[BenchmarkDataset],
    root: Path,
    out: Path,
    extractor: LabelExtractor,
    maps: Any,
    command: str | None,
    limit: int | None,
    progress: Progress | None,
) -> BenchResult:
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
    try:
        for dataset in definitions:
            samples = load_test_split(dataset, root)[:limit]
            runs[dataset.id], lines = bench_dataset(
                model,
                dataset,
                samples,
                out / dataset.id,
                extractor,
                mapper,
                model_spec=model_spec,
                progress=progress,
                batch_answerer=batch_answerer,
            )
            sample_lines += lines
    finally:
        model.close()
    result = BenchResult(out, config, runs)
    write_json_atomic(out / "results.json", result.to_json())
    write_text_atomic(out / "samples.jsonl", "".join(line + "\n" for line in sample_lines))
    write_report(result)
    return result
