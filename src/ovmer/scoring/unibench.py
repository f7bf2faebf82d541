"""MER-UniBench: score every dataset and checkpoint of a results folder and aggregate (docs/scoring.md,
'Protocols' and 'Aggregation').

The aggregate is the mean of the nine per-dataset main scores. Under the ``paper`` protocol each
dataset reports its best checkpoint on the test set; under ``clean`` one checkpoint, fixed by name or
chosen on validation splits, serves every dataset.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ovmer.data.benchmarks import UNIBENCH_IDS, BenchmarkDataset, get_benchmark
from ovmer.data.groundtruth import GroundTruth, label_file_path, read_ground_truth
from ovmer.errors import DatasetError, OvmerError
from ovmer.labels.mapping import LabelMapper
from ovmer.labels.wheel import WheelMaps
from ovmer.results.formats import read_predictions
from ovmer.scoring.dataset import DatasetScore, score_predictions
from ovmer.scoring.discovery import Checkpoint, find_dataset_dir, find_run_dir, list_checkpoints
from ovmer.scoring.protocol import Protocol
from ovmer.scoring.selection import match_checkpoint

ProgressHook = Callable[[str, str], None]  # (dataset id, checkpoint name) after each scored checkpoint


@dataclass
class CheckpointOutcome:
    """One checkpoint on one dataset: a score, or the reason it could not be scored."""

    name: str
    score: DatasetScore | None = None
    error: str | None = None


@dataclass
class DatasetOutcome:
    """Everything about one dataset in a MER-UniBench run."""

    dataset: BenchmarkDataset
    status: str  # "scored", "skipped" (no ground truth or no results) or "failed"
    reason: str = ""
    run: str | None = None
    checkpoints: list[CheckpointOutcome] = field(default_factory=list)
    selected: str | None = None

    @property
    def selected_score(self) -> DatasetScore | None:
        for outcome in self.checkpoints:
            if outcome.name == self.selected:
                return outcome.score
        return None

    def to_json(self) -> dict[str, Any]:
        if self.status != "scored":
            return {"status": self.status, "reason": self.reason}
        selected = self.selected_score
        assert selected is not None
        data = selected.to_json()
        data.update(
            status="scored",
            run=self.run,
            checkpoint=self.selected,
            per_checkpoint={
                c.name: (c.score.to_json()["score"] if c.score else None) for c in self.checkpoints
            },
            checkpoint_errors={c.name: c.error for c in self.checkpoints if c.error},
        )
        return data


@dataclass
class UnibenchResult:
    """The result of ``ovmer unibench``."""

    protocol: Protocol
    datasets: dict[str, DatasetOutcome]
    selection: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def scored(self) -> list[DatasetOutcome]:
        return [d for d in self.datasets.values() if d.status == "scored"]

    @property
    def mean(self) -> float:
        """Mean of the selected main scores (fraction); NaN when nothing was scored."""
        mains = [d.selected_score.main for d in self.scored if d.selected_score is not None]
        return float(np.mean(mains)) if mains else math.nan

    def to_json(self) -> dict[str, Any]:
        mean = self.mean
        return {
            "protocol": self.protocol.value,
            "protocol_label": self.protocol.label,
            "datasets": {key: outcome.to_json() for key, outcome in self.datasets.items()},
            "mean": None if math.isnan(mean) else mean * 100,
            "n_datasets": len(self.scored),
            "complete": len(self.scored) == len(UNIBENCH_IDS),
            "selection": self.selection,
            "seconds": self.seconds,
        }


def _score_checkpoints(
    dataset: BenchmarkDataset,
    ground_truth: GroundTruth,
    checkpoints: Sequence[Checkpoint],
    mapper: LabelMapper,
    protocol: Protocol,
    progress: ProgressHook | None,
) -> list[CheckpointOutcome]:
    outcomes = []
    for checkpoint in checkpoints:
        try:
            predictions = read_predictions(checkpoint.path)
            score = score_predictions(dataset, ground_truth, predictions, mapper, protocol)
            outcomes.append(CheckpointOutcome(checkpoint.name, score=score))
        except OvmerError as exc:  # one bad checkpoint never stops the benchmark
            outcomes.append(CheckpointOutcome(checkpoint.name, error=str(exc)))
        if progress:
            progress(dataset.id, checkpoint.name)
    return outcomes


def _locate(
    results_dir: Path, gt_root: Path, dataset: BenchmarkDataset, run: str | None, split: str = "test"
) -> tuple[GroundTruth, Path, list[Checkpoint]] | str:
    """Ground truth, run folder and checkpoints of a dataset, or the reason to skip it."""
    label_path = label_file_path(dataset, gt_root)
    if not label_path.is_file():
        return f"ground truth not found at {label_path}"
    dataset_dir = find_dataset_dir(results_dir, dataset)
    if dataset_dir is None:
        return f"no results-{dataset.result_dir}/ or {dataset.id}/ folder in {results_dir}"
    run_dir = find_run_dir(dataset_dir, run)
    checkpoints = list_checkpoints(run_dir)
    if not checkpoints:
        return f"no checkpoint files in {run_dir}"
    return read_ground_truth(dataset, label_path, split=split), run_dir, checkpoints


def _require_folder(path: Path, what: str, fix: str) -> None:
    if not path.exists():
        raise DatasetError(f"{path}: {what} not found ({fix})")
    if not path.is_dir():
        raise DatasetError(f"{path}: {what} is a file, not a folder ({fix})")


def plan(results_dir: Path, gt_root: Path, datasets: Sequence[str], run: str | None) -> dict[str, Any]:
    """Locate everything first so progress can show a total; value per id is a tuple or a skip reason.

    Raises:
        DatasetError: ``results_dir`` or ``gt_root`` is missing or not a folder (nothing could be scored).
    """
    _require_folder(Path(results_dir), "results folder", "give the folder that holds results-<dataset>/")
    _require_folder(Path(gt_root), "--gt-root", "give the folder with the official *-process label folders")
    located: dict[str, Any] = {}
    for dataset_id in datasets:
        dataset = get_benchmark(dataset_id)
        try:
            located[dataset.id] = _locate(results_dir, gt_root, dataset, run)
        except OvmerError as exc:
            located[dataset.id] = f"failed: {exc}"
    return located


def select_on_validation(
    val_results: Path, val_gt_root: Path, datasets: Sequence[str], run: str | None, mapper: LabelMapper
) -> tuple[str, dict[str, Any]]:
    """Pick the checkpoint with the best mean main score on the datasets' validation splits.

    Only datasets with a validation split in their label file take part (MELD, CMU-MOSI, CMU-MOSEI,
    CH-SIMS, CH-SIMS v2); only checkpoints present for all of them are candidates.
    """
    table: dict[str, dict[str, float]] = {}
    for dataset_id in datasets:
        dataset = get_benchmark(dataset_id)
        if dataset.val_split_key is None:
            continue
        located = _locate(val_results, val_gt_root, dataset, run, split="val")
        if isinstance(located, str):
            continue
        ground_truth, _, checkpoints = located
        for outcome in _score_checkpoints(dataset, ground_truth, checkpoints, mapper, Protocol.CLEAN, None):
            if outcome.score is not None:
                table.setdefault(outcome.name, {})[dataset.id] = outcome.score.main
    if not table:
        raise DatasetError(
            f"no validation results could be scored in {val_results} (need results-<dataset>/<run>/ folders for "
            "meld, cmumosi, cmumosei, sims or simsv2 and their label files under the validation ground-truth root)"
        )
    used = sorted({d for scores in table.values() for d in scores})
    complete = {name: scores for name, scores in table.items() if set(scores) == set(used)}
    if not complete:
        raise DatasetError(f"no checkpoint has validation results for all of {used}")
    means = {name: float(np.mean([scores[d] for d in used])) for name, scores in sorted(complete.items())}
    best = max(means, key=lambda name: means[name])  # first in name order on ties
    return best, {
        "method": "validation",
        "datasets": used,
        "validation_mean": {k: v * 100 for k, v in means.items()},
    }


def run_unibench(
    results_dir: Path,
    gt_root: Path,
    maps: WheelMaps | LabelMapper,
    protocol: Protocol | str = Protocol.CLEAN,
    datasets: Sequence[str] = UNIBENCH_IDS,
    run: str | None = None,
    checkpoint: str | None = None,
    val_results: Path | None = None,
    val_gt_root: Path | None = None,
    progress: ProgressHook | None = None,
    located: dict[str, Any] | None = None,
) -> UnibenchResult:
    """Score a results folder on MER-UniBench.

    Args:
        results_dir: folder with ``results-<dataset>/<run>/`` (official) or ``<dataset>/<run>/`` (ovmer).
        gt_root: folder with the official ``*-process`` folders; datasets without one are skipped.
        protocol: ``paper`` (best checkpoint per dataset, on the test set) or ``clean``.
        checkpoint: clean protocol: the checkpoint for every dataset (name, epoch, ``first``/``last``).
        val_results, val_gt_root: clean protocol: choose the checkpoint on validation splits instead.
    """
    started = time.perf_counter()
    protocol = Protocol(protocol)
    mapper = maps if isinstance(maps, LabelMapper) else LabelMapper(maps)
    if protocol is Protocol.PAPER and (checkpoint or val_results):
        raise DatasetError(
            "--checkpoint / --select-on-val belong to the clean protocol; the paper protocol scores every checkpoint"
        )
    located = located if located is not None else plan(Path(results_dir), Path(gt_root), datasets, run)
    selection: dict[str, Any] = {}
    chosen: str | None = None
    if protocol is Protocol.CLEAN:
        if val_results is not None:
            chosen, selection = select_on_validation(
                Path(val_results), Path(val_gt_root or gt_root), datasets, run, mapper
            )
        elif checkpoint is not None:
            selection = {"method": "declared", "requested": checkpoint}
        else:
            counts = {k: len(v[2]) for k, v in located.items() if not isinstance(v, str)}
            if any(n > 1 for n in counts.values()):
                raise DatasetError(
                    "the clean protocol scores one checkpoint fixed in advance, but several were found "
                    f"({counts}); pass --checkpoint NAME|EPOCH|last, or --select-on-val DIR, or --protocol paper "
                    "to reproduce the published best-of-N test-set selection"
                )
            selection = {"method": "only checkpoint"}
    outcomes: dict[str, DatasetOutcome] = {}
    for dataset_id, entry in located.items():
        dataset = get_benchmark(dataset_id)
        if isinstance(entry, str):
            status = "failed" if entry.startswith("failed:") else "skipped"
            outcomes[dataset.id] = DatasetOutcome(dataset, status, reason=entry.removeprefix("failed: "))
            continue
        ground_truth, run_dir, checkpoints = entry
        if protocol is Protocol.CLEAN:
            names = [c.name for c in checkpoints]
            try:
                name = match_checkpoint(chosen or checkpoint or names[0], names)
            except OvmerError as exc:
                outcomes[dataset.id] = DatasetOutcome(dataset, "failed", reason=str(exc), run=run_dir.name)
                continue
            checkpoints = [c for c in checkpoints if c.name == name]
        scored = _score_checkpoints(dataset, ground_truth, checkpoints, mapper, protocol, progress)
        good = [c for c in scored if c.score is not None]
        if not good:
            reason = "; ".join(f"{c.name}: {c.error}" for c in scored)
            outcomes[dataset.id] = DatasetOutcome(
                dataset, "failed", reason=reason, run=run_dir.name, checkpoints=scored
            )
            continue
        # np.argmax semantics: the first maximum in ascending file-name order wins.
        best = good[int(np.argmax([c.score.main for c in good if c.score is not None]))]
        outcomes[dataset.id] = DatasetOutcome(
            dataset, "scored", run=run_dir.name, checkpoints=scored, selected=best.name
        )
    return UnibenchResult(protocol, outcomes, selection, seconds=time.perf_counter() - started)
