"""``ovmer infer``: AffectGPT on a whole split through the one batched runner, plus upstream's layout.

Layout under ``out``::

    <dataset>/<task>/answers.jsonl    one answer record per sample (resume point)
    <dataset>/<task>/run.json         model, config, decoding, strict inputs (a rerun must match)
    <dataset>/<task>/errors.jsonl     samples that failed in the last call (with --skip-errors)
    results[-description]-<dataset>/<run>/<checkpoint>.npz   upstream's name2reason file, once complete

The ``.npz`` is what upstream's scoring scripts read (docs/model.md, "Result files").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovmer.data.registry import Sample
from ovmer.inference.affectgpt import AffectGPTAnswerer
from ovmer.inference.engine import AffectGPTEngine
from ovmer.inference.protocol import AnswerModel
from ovmer.inference.runner import BatchAnswerer, RunSummary, run_answers
from ovmer.models.generation import DecodingSettings
from ovmer.results.official import write_official
from ovmer.results.record import Predictions


@dataclass
class InferSummary:
    """What one ``infer`` call did (``run``) and the official file, written once every sample is done."""

    run: RunSummary
    npz: Path | None

    @property
    def total(self) -> int:
        return self.run.total

    @property
    def already_done(self) -> int:
        return self.run.already_done

    @property
    def generated(self) -> int:
        return self.run.answered

    @property
    def skipped(self) -> int:
        return len(self.run.failures)

    @property
    def jsonl(self) -> Path:
        return self.run.answers_file

    @property
    def samples_per_second(self) -> float:
        return self.run.samples_per_second


def official_npz_path(out: Path, dataset: str, task: str, run_name: str, checkpoint_name: str) -> Path:
    """``results-<dataset>/<run>/<ckpt>.npz`` (OV labels) or ``results-description-<dataset>/…``."""
    base = "results" if task == "ovlabels" else "results-description"
    return out / f"{base}-{dataset.lower()}" / run_name / f"{checkpoint_name}.npz"


def infer_split(
    engine: AffectGPTEngine,
    samples: Sequence[Sample],
    out: str | Path,
    *,
    dataset: str,
    task: str = "ovlabels",
    decoding: DecodingSettings | None = None,
    batch_size: int = 8,
    run_name: str = "ovmer",
    checkpoint_name: str = "model",
    skip_errors: bool = False,
    show_progress: bool = True,
    prepared: str | os.PathLike[str] | None = None,
    max_batches: int | None = None,
    workers: int = 4,
    dataset_id: str | None = None,
    strict_inputs: bool = False,
) -> InferSummary:
    """Answer every sample not yet answered in ``out``; write the official ``.npz`` when complete.

    ``prepared`` is an ``ovmer prepare`` cache (checked against ``dataset_id``, the registry id or
    ``csv:PATH``); ``strict_inputs`` refuses substitute faces or audio (paper fidelity);
    ``max_batches`` stops early (quick checks, simulated interruptions).
    """
    model = AffectGPTAnswerer(
        engine,
        task=task,
        decoding=decoding,
        batch_size=batch_size,
        strict_inputs=strict_inputs,
        prepared=prepared,
        dataset_id=dataset_id,
    )
    try:
        return answer_split(
            model,
            samples,
            out,
            dataset=dataset,
            task=task,
            settings=model.run_settings(),
            run_name=run_name,
            checkpoint_name=checkpoint_name,
            skip_errors=skip_errors,
            show_progress=show_progress,
            max_batches=max_batches,
            workers=workers,
        )
    finally:
        model.close()


def answer_split(
    model: AnswerModel,
    samples: Sequence[Sample],
    out: str | Path,
    *,
    dataset: str,
    task: str,
    settings: dict[str, Any],
    run_name: str = "ovmer",
    checkpoint_name: str = "model",
    skip_errors: bool = False,
    show_progress: bool = True,
    max_batches: int | None = None,
    workers: int = 4,
    batch_answerer: BatchAnswerer | None = None,
) -> InferSummary:
    """``infer``'s layout for any answer model: the runner's folder ``out/<dataset>/<task>``, then the
    official ``.npz`` once every sample is answered. ``batch_answerer``: answer elsewhere (``--ray``,
    :mod:`ovmer.cluster`)."""
    out = Path(out)
    run = run_answers(
        model,
        samples,
        out / dataset.lower() / task,
        dataset=dataset,
        task=task,
        settings=settings,
        skip_errors=skip_errors,
        workers=workers,
        max_batches=max_batches,
        show_progress=show_progress,
        batch_answerer=batch_answerer,
    )
    npz = None
    if all(s.name in run.records for s in samples):
        npz = official_npz_path(out, dataset, task, run_name, checkpoint_name)
        answers = Predictions(str(run.answers_file), {s.name: run.records[s.name] for s in samples})
        write_official(answers, npz, fields=["text"])
    return InferSummary(run, npz)
