"""The leaderboard: one row per model × inputs × subtitle variant, scored with the one scorer.

Every measured cell goes through :func:`ovmer.results.read_predictions` and
:func:`ovmer.scoring.score_predictions` (the code behind ``ovmer score``), under one protocol for the
whole table. Raw answers without a step-A file are labelled first with the chosen extractor
(:func:`ovmer.llm.run.run_task`; LLM replies are cached, so a rerun is free). A file that cannot be
read, extracted or scored is recorded in its row and the table goes on.

The paper's Table 2 figures (``paper_table2.json`` beside this module, with its citation) can be
added as rows with ``source: "paper"``: published numbers, never relabelled as measured ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ovmer.data.benchmarks import BENCHMARKS, UNIBENCH_IDS, BenchmarkDataset, Family, get_benchmark
from ovmer.data.groundtruth import GroundTruth, label_file_path, read_ground_truth
from ovmer.errors import InputFormatError, OvmerError
from ovmer.labels.mapping import LabelMapper
from ovmer.leaderboard.discovery import VARIANTS, BenchRun, Found, RowKey, UpstreamFile, discover
from ovmer.llm.extractor import LabelExtractor
from ovmer.llm.run import run_task
from ovmer.results.formats import read_predictions
from ovmer.results.record import Predictions
from ovmer.scoring.dataset import DatasetScore, score_predictions
from ovmer.scoring.protocol import Protocol

#: What each protocol means for a table of one file per cell (no checkpoint is selected here).
PROTOCOL_LABELS = {
    Protocol.PAPER: "paper protocol: one file per model and variant, scored as upstream "
    "(a missing prediction makes the file fail)",
    Protocol.CLEAN: "clean protocol: one file per model and variant; missing predictions count as empty",
}


def paper_table() -> dict[str, Any]:
    """The paper's Table 2 and the modalities of the upstream baseline folders (``paper_table2.json``)."""
    text = resources.files("ovmer.leaderboard").joinpath("paper_table2.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass
class Cell:
    """One dataset of one row: the score JSON of ``ovmer score`` and where it came from."""

    score: dict[str, Any]  # DatasetScore.to_json()
    file: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score["score"],
            "metric": self.score["metric"],
            "n_scored": self.score["n_scored"],
            "metrics": flat_metrics(self.score),
            "file": self.file,
            **({"note": self.note} if self.note else {}),
        }


@dataclass
class Row:
    """One leaderboard row: measured cells and the files of this row that failed, by dataset."""

    key: RowKey
    source: str  # "measured" or "paper"
    cells: dict[str, Cell] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # dataset id → why it is not scored
    paper_scores: dict[str, float] = field(default_factory=dict)  # published figures (source "paper")

    def score(self, dataset: str) -> float | None:
        """The main score (×100) of a dataset, or None."""
        if self.source == "paper":
            return self.paper_scores.get(dataset)
        cell = self.cells.get(dataset)
        return None if cell is None else cell.score["score"]

    @property
    def mean(self) -> float | None:
        """Plain mean of the row's scored datasets (×100); a NaN score counts as unscored."""
        values = [v for d in self.datasets if (v := self.score(d)) is not None and not math.isnan(v)]
        return sum(values) / len(values) if values else None

    @property
    def datasets(self) -> list[str]:
        return list(self.paper_scores if self.source == "paper" else self.cells)

    def to_json(self, metrics: Mapping[str, str] | None = None, citation: str = "") -> dict[str, Any]:
        data: dict[str, Any] = {
            "model": self.key.model,
            "inputs": self.key.inputs,
            "variant": self.key.variant,
            "source": self.source,
        }
        if self.source == "paper":
            data["citation"] = citation
            data["datasets"] = {d: {"score": v, "metric": (metrics or {}).get(d), "n_scored": None,
                                    "metrics": {}} for d, v in self.paper_scores.items()}  # fmt: skip
        else:
            data["datasets"] = {d: c.to_json() for d, c in self.cells.items()}
        data["mean"] = self.mean
        data["n_datasets"] = len(data["datasets"])
        data["errors"] = dict(self.errors)
        return data


@dataclass
class Leaderboard:
    """Measured rows under one protocol, the published rows apart, and notes on what was left out."""

    protocol: Protocol
    rows: list[Row]
    paper_rows: list[Row] = field(default_factory=list)
    citation: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def datasets(self) -> list[str]:
        """The measured datasets, in the paper's column order, then the others in registry order."""
        present = {d for row in self.rows for d in row.cells}
        order = [*UNIBENCH_IDS, *(d for d in BENCHMARKS if d not in UNIBENCH_IDS)]
        return [d for d in order if d in present]

    @property
    def failed(self) -> list[tuple[Row, str, str]]:
        """(row, dataset, reason) of every file that could not be scored."""
        return [(row, d, e) for row in self.rows for d, e in row.errors.items()]

    def to_json(self) -> dict[str, Any]:
        metrics = paper_table()["metrics"] if self.paper_rows else {}
        return {
            "protocol": self.protocol.value,
            "protocol_label": PROTOCOL_LABELS[self.protocol],
            "datasets": self.datasets,
            "rows": [r.to_json() for r in self.rows]
            + [r.to_json(metrics, self.citation) for r in self.paper_rows],
            "paper_citation": self.citation or None,
            "notes": self.notes,
        }


def flat_metrics(score: Mapping[str, Any]) -> dict[str, float | None]:
    """Every metric of an ``ovmer score --json`` object, flat: the main one, the secondary ones and
    the detail values (nested keys joined by ``/``, e.g. ``M1``, ``W3L2``, ``M_avg``,
    ``set_scores/M1/precision``, ``per_wheel/M3-W1-L1/hit_rate``). Counts are left out; ×100."""
    out: dict[str, float | None] = {score["metric"]: score["score"]}
    out.update(score.get("secondary", {}))
    skip = {"dataset", "family", "protocol", "metric", "score", "n_scored", "secondary", "inputs"}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}/{key}" if prefix else str(key), inner)
        elif isinstance(value, float) or value is None:
            out[prefix] = value

    for key, value in score.items():
        if key not in skip and key != "prediction_counts":
            walk(key, value)
    return out


def _needs(dataset: BenchmarkDataset) -> list[str]:
    return ["ovlabels", "sentiment"] if dataset.family is Family.SENTIMENT else ["ovlabels"]


def _extract(predictions: Predictions, dataset: BenchmarkDataset, extractor: LabelExtractor) -> str:
    """Run the missing extraction steps in place; returns the note the report groups files by."""
    tasks = []
    for task, field_name in zip(_needs(dataset), ("ov_labels", "sentiment"), strict=False):
        if all(getattr(r, field_name) is not None for r in predictions.records.values()):
            continue
        report = run_task(predictions, task, extractor)
        tasks.append(task)
        if report.failures or report.missing_input:
            name, error = next(iter(report.failures.items()), (report.missing_input[0], "no input"))
            raise InputFormatError(
                f"{predictions.source}: {task} extraction failed for {len(report.failures)} sample(s) and "
                f"{len(report.missing_input)} had no input (e.g. {name}: {error}); rerun to retry"
            )
    return f"labels extracted with {extractor.metadata().get('extractor')} ({', '.join(tasks)})"


class _Scorer:
    """Scores cells against the ground truth chosen per dataset (``--gt`` wins over ``--gt-root``)."""

    def __init__(
        self,
        gt_root: Path | None,
        gt_files: Mapping[str, Path],
        mapper: LabelMapper,
        protocol: Protocol,
        extractor: Callable[[], LabelExtractor],
    ) -> None:
        self.gt_root, self.gt_files, self.mapper = gt_root, dict(gt_files), mapper
        self.protocol, self._make_extractor = protocol, extractor
        self._extractor: LabelExtractor | None = None
        self._truth: dict[str, GroundTruth | None] = {}

    def truth(self, dataset: BenchmarkDataset) -> GroundTruth | None:
        """The dataset's test labels, or None when no ground truth was given for it."""
        if dataset.id not in self._truth:
            path = self.gt_files.get(dataset.id)
            if path is None and self.gt_root is not None:
                candidate = label_file_path(dataset, self.gt_root)
                path = candidate if candidate.is_file() else None
            self._truth[dataset.id] = None if path is None else read_ground_truth(dataset, path)
        return self._truth[dataset.id]

    def score(self, dataset: BenchmarkDataset, path: Path) -> tuple[DatasetScore, str]:
        truth = self.truth(dataset)
        assert truth is not None
        predictions = read_predictions(path)
        note = ""
        if not predictions.has("sentiment" if dataset.family is Family.SENTIMENT else "ov_labels"):
            if self._extractor is None:
                self._extractor = self._make_extractor()
            note = _extract(predictions, dataset, self._extractor)
        return score_predictions(dataset, truth, predictions, self.mapper, self.protocol), note


def _variant_rank(variant: str) -> int:
    return VARIANTS.index(variant) if variant in VARIANTS else len(VARIANTS)


def _row(rows: dict[RowKey, Row], key: RowKey) -> Row:
    return rows.setdefault(key, Row(key, "measured"))


def _put(row: Row, dataset: str, cell: Cell) -> None:
    if dataset in row.cells:
        row.errors[dataset] = f"{cell.file}: a second result for {dataset}; {row.cells[dataset].file} is kept"
    else:
        row.cells[dataset] = cell


def _score_upstream(files: Sequence[UpstreamFile], scorer: _Scorer, rows: dict[RowKey, Row],
                    notes: list[str], progress: Callable[[str], None] | None) -> None:  # fmt: skip
    skipped: set[str] = set()
    for item in files:
        row = _row(rows, item.key)
        try:
            if scorer.truth(item.dataset) is None:
                skipped.add(item.dataset.id)
                continue
            score, note = scorer.score(item.dataset, item.base)
            _put(row, item.dataset.id, Cell(score.to_json(), str(item.base), note))
        except OvmerError as exc:  # one bad file never stops the table
            row.errors[item.dataset.id] = str(exc)
        if progress:
            progress(f"{item.key.model} {item.key.variant} {item.dataset.id}")
    notes += [
        f"{d}: no ground truth (--gt {d}=FILE or --gt-root); its files were not scored"
        for d in sorted(skipped)
    ]


def _score_bench(run: BenchRun, scorer: _Scorer, rows: dict[RowKey, Row]) -> None:
    """Rescore ``<dataset>/predictions.jsonl`` when ground truth is given, else take results.json's score."""
    row = _row(rows, run.key)
    for dataset_id, stored in run.results["datasets"].items():
        predictions = run.folder / dataset_id / "predictions.jsonl"
        try:
            dataset = get_benchmark(dataset_id)
            if scorer.truth(dataset) is not None:
                score, note = scorer.score(dataset, predictions)
                _put(row, dataset.id, Cell(score.to_json(), str(predictions), note))
                continue
            protocol = scorer.protocol.value
            if protocol not in stored.get("scores", {}):
                reason = stored.get("errors", {}).get(protocol, "no score stored")
                raise InputFormatError(
                    f"{run.folder / 'results.json'}: {dataset_id} has no {protocol} score ({reason})"
                )
            note = "score stored by `ovmer bench` (labels of its --root; no ground truth given here)"
            _put(row, dataset.id, Cell(stored["scores"][protocol], str(run.folder / "results.json"), note))
        except OvmerError as exc:
            row.errors[dataset_id] = str(exc)


def build_leaderboard(
    results: Sequence[Path],
    mapper: LabelMapper,
    extractor: Callable[[], LabelExtractor],
    *,
    protocol: Protocol | str = Protocol.PAPER,
    gt_root: Path | None = None,
    gt_files: Mapping[str, Path] | None = None,
    paper: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Leaderboard:
    """Score every model × variant × dataset found under ``results`` (see the module docstring).

    Args:
        results: bench run folders and/or upstream result roots.
        mapper: the emotion-wheel label mapper (one, reused: it memoises).
        extractor: builds the step-A/B extractor, called once and only if some file needs it.
        protocol: ``paper`` or ``clean`` for every measured cell.
        gt_root: folder with the official ``*-process`` label folders.
        gt_files: dataset id → ground-truth file (any file ``ovmer score --gt`` reads); wins over ``gt_root``.
        paper: add the paper's Table 2 rows (``source: "paper"``).

    Raises:
        DatasetError: a RESULTS path is neither kind of folder, or a ``gt_files`` id is unknown.
        InputFormatError: a ground-truth file cannot be read.
    """
    protocol = Protocol(protocol)
    table = paper_table()
    gt = {get_benchmark(k).id: Path(v) for k, v in (gt_files or {}).items()}
    for dataset_id, path in gt.items():
        if not path.is_file():
            raise InputFormatError(
                f"{path}: ground-truth file for {dataset_id} not found (check --gt {dataset_id}=FILE)"
            )
    found: Found = discover(list(results), table["model_inputs"])
    scorer = _Scorer(gt_root, gt, mapper, protocol, extractor)
    rows: dict[RowKey, Row] = {}
    notes = list(found.notes)
    _score_upstream(found.files, scorer, rows, notes, progress)
    for run in found.runs:
        _score_bench(run, scorer, rows)
    ordered = sorted(
        rows.values(), key=lambda r: (r.key.model.lower(), _variant_rank(r.key.variant), r.key.inputs)
    )
    board = Leaderboard(protocol, ordered, notes=notes)
    if paper:
        board.citation = table["citation"]
        board.paper_rows = [
            Row(RowKey(r["model"], r["inputs"], "subtitle"), "paper", paper_scores=dict(r["scores"]))
            for r in table["rows"]
        ]
    return board
