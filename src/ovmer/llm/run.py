"""Running an extraction task over a prediction file (the engine of ``ovmer extract``).

Reads any supported prediction file (official ``.npz``, ovmer JSONL, CSV), runs one task for every
sample that lacks its output, records failures per sample and goes on, and writes ovmer JSONL or
the official ``.npz`` file of the task, plus a ``.extraction.json`` sidecar with the extractor's
identity, sampling settings, prompt hashes, counts and failures (docs/extraction.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ovmer.atomic import write_json_atomic
from ovmer.errors import InputFormatError, OvmerError
from ovmer.llm.backends import HTTPSettings, parse_backend
from ovmer.llm.extractor import TASKS, LabelExtractor, LLMExtractor, Outcome
from ovmer.llm.settings import decoding_preset
from ovmer.results import (
    Predictions,
    as_stored_labels,
    official_base,
    read_predictions,
    write_official,
    write_records,
)

#: task → (input field, output field) of :class:`~ovmer.results.record.AnswerRecord`.
TASK_FIELDS: dict[str, tuple[str, str]] = {
    "ovlabels": ("text", "ov_labels"),
    "sentiment": ("ov_labels", "sentiment"),
    "merge": ("text", "text"),
}


@dataclass
class ExtractionReport:
    """What one extraction run did."""

    task: str
    total: int
    extracted: int = 0
    # samples that already had the output (reused as-is, as upstream: docs/extraction.md,
    # 'Determinism and the cache')
    kept: int = 0
    missing_input: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "total": self.total,
            "extracted": self.extracted,
            "kept": self.kept,
            "missing_input": self.missing_input,
            "failures": self.failures,
            "outputs": [str(p) for p in self.outputs],
            **self.metadata,
        }


def build_extractor(
    spec: str,
    *,
    decoding: str = "deterministic",
    seed: int | None = None,
    max_tokens: int | None = None,
    assets: Path | None = None,
    max_labels: int | None = 4,
    batch_size: int = 8,
    device: str | None = None,
    http: HTTPSettings | None = None,
) -> LabelExtractor:
    """An extractor from a CLI spec: ``lexicon``, ``hf:ID``, ``vllm:ID``, ``openai:URL#MODEL`` or ``cache:IDENTITY``."""
    if spec == "lexicon":
        from ovmer.assets import load_wheel_maps
        from ovmer.llm.lexicon import LexiconExtractor

        return LexiconExtractor(load_wheel_maps(assets), max_labels=max_labels)
    sampling = decoding_preset(decoding, seed)
    if max_tokens is not None:
        sampling = replace(sampling, max_tokens=max_tokens)
    options: dict[str, Any] = {}
    if spec.startswith("hf:"):
        options = {"batch_size": batch_size, "device": device}
    elif spec.startswith("openai:"):
        options = {"http": http or HTTPSettings(batch_size=batch_size)}
    return LLMExtractor(parse_backend(spec, sampling, **options))


def read_subtitle_file(path: Path) -> dict[str, str]:
    """Subtitles by sample: a CSV with ``name`` and ``english`` (MERBench transcripts) or ``subtitle``
    column, or JSONL lines ``{"name": ..., "subtitle": ...}``. Missing cells become ``""``."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(f"{path}: subtitle file not found")
    if path.suffix == ".jsonl":
        result = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    obj = json.loads(line)
                    result[str(obj["name"])] = str(obj.get("subtitle") or "")
                except (ValueError, KeyError, TypeError) as exc:
                    raise InputFormatError(
                        f"{path}:{number}: expected {{'name', 'subtitle'}} ({exc})"
                    ) from None
        return result
    frame = pd.read_csv(path)
    column = next((c for c in ("subtitle", "english") if c in frame.columns), None)
    if "name" not in frame.columns or column is None:
        raise InputFormatError(
            f"{path}: a subtitle CSV needs columns name and english (or subtitle); found {list(frame.columns)}"
        )
    return {str(n): "" if pd.isna(s) else str(s) for n, s in zip(frame["name"], frame[column], strict=True)}


def run_task(
    predictions: Predictions,
    task: str,
    extractor: LabelExtractor,
    *,
    subtitles: dict[str, str] | None = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExtractionReport:
    """Run ``task`` on every sample lacking its output; fills the records in place."""
    if task not in TASKS:
        raise OvmerError(f"unknown task {task!r}; choose one of {list(TASKS)}")
    source, target = TASK_FIELDS[task]
    report = ExtractionReport(task=task, total=len(predictions.records), metadata=extractor.metadata())
    names: list[str] = []
    inputs: list[str] = []
    for name, record in predictions.records.items():
        if task != "merge" and getattr(record, target) is not None and not overwrite:
            report.kept += 1
            continue
        value = getattr(record, source)
        if value is None:
            report.missing_input.append(name)
            continue
        names.append(name)
        inputs.append(as_stored_labels(value) if source == "ov_labels" else str(value))
    if task == "merge" and subtitles is None:
        raise OvmerError("the merge task needs subtitles: pass --subtitles FILE (CSV name, english)")
    outcomes: list[Outcome]
    if task == "ovlabels":
        outcomes = extractor.ovlabels(inputs, progress)
    elif task == "sentiment":
        outcomes = extractor.sentiment(inputs, progress)
    else:
        assert subtitles is not None
        outcomes = extractor.merge(inputs, [subtitles.get(n, "") for n in names], progress)
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, Exception):
            report.failures[name] = f"{type(outcome).__name__}: {outcome}"
        else:
            setattr(predictions.records[name], target, outcome)
            report.extracted += 1
    return report


def write_output(predictions: Predictions, task: str, out: Path) -> list[Path]:
    """Write ovmer JSONL (``.jsonl``) or the task's official ``.npz`` (``x-openset.npz``, or the
    base name ``x.npz``, next to which ``x-openset.npz`` is written)."""
    out = Path(out)
    if out.suffix == ".jsonl":
        write_records(out, predictions.records.values())
        return [out]
    if out.suffix == ".npz":
        return write_official(predictions, official_base(out), fields=[TASK_FIELDS[task][1]])
    raise InputFormatError(f"{out}: output must end in .jsonl (ovmer) or .npz (official)")


def extract_file(
    task: str,
    extractor: LabelExtractor,
    in_path: Path,
    out_path: Path,
    *,
    subtitles_path: Path | None = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExtractionReport:
    """Read ``in_path``, run ``task``, write ``out_path`` and its ``.extraction.json`` sidecar."""
    predictions = read_predictions(in_path)
    subtitles = read_subtitle_file(subtitles_path) if subtitles_path else None
    report = run_task(
        predictions, task, extractor, subtitles=subtitles, overwrite=overwrite, progress=progress
    )
    report.outputs = write_output(predictions, task, out_path)
    sidecar = report.outputs[0].with_name(report.outputs[0].name + ".extraction.json")
    write_json_atomic(sidecar, {"input": str(in_path), **report.to_json()})
    report.outputs.append(sidecar)
    return report
