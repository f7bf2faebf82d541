"""``POST /v1/score``: an uploaded prediction file scored as ``ovmer score --json`` scores it.

The work is the CLI's own (:func:`ovmer.scoring.dataset.score_file` and ``DatasetScore.to_json``),
so the API and the command give the same object (the CLI's optional ``gpt_grouping`` needs a folder
of stored replies and is not offered here). Ground truth is the server's ``--gt-root`` file for the
dataset, or an uploaded ``gt`` file saved under the dataset's official label-file name (the readers
tell formats by name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ovmer.data.benchmarks import BENCHMARKS, BenchmarkDataset, get_benchmark
from ovmer.data.groundtruth import label_file_path
from ovmer.errors import OvmerError, ServeError
from ovmer.labels.mapping import LabelMapper
from ovmer.scoring.dataset import score_file
from ovmer.scoring.protocol import Protocol


def dataset_for(dataset_id: str) -> BenchmarkDataset:
    """The benchmark ``dataset_id`` names, or 422 ``unknown_dataset`` listing the ids."""
    if dataset_id not in BENCHMARKS:
        raise ServeError(
            422, "unknown_dataset", f"dataset: unknown id {dataset_id!r}; known: {', '.join(BENCHMARKS)}"
        )
    return get_benchmark(dataset_id)


def server_ground_truth(dataset: BenchmarkDataset, gt_root: Path | None) -> Path:
    """``GT_ROOT/<folder>/<label file>`` of the server, or 422 saying to upload ``gt`` instead."""
    if gt_root is None:
        raise ServeError(
            422,
            "missing_ground_truth",
            f"gt: upload the ground-truth file ({dataset.label_file}); this server has no --gt-root",
        )
    path = label_file_path(dataset, gt_root)
    if not path.is_file():
        raise ServeError(
            422,
            "missing_ground_truth",
            f"gt: this server has no labels for {dataset.id} ({dataset.folder}/{dataset.label_file} is "
            "not under its --gt-root); upload the ground-truth file as gt",
        )
    return path


def score_upload(
    dataset: BenchmarkDataset,
    gt: Path,
    pred: Path,
    mapper: LabelMapper | None,
    protocol: Protocol,
    metric: str | None,
) -> dict[str, Any]:
    """The ``ovmer score --json`` object; 503 without wheel files, 422 for a file that cannot be scored."""
    if mapper is None:
        raise ServeError(
            503,
            "no_wheel_assets",
            "this server has no emotion-wheel files; start it with --assets DIR (or fetch them with "
            "`ovmer assets fetch`)",
        )
    try:
        return score_file(dataset.id, gt, pred, maps=mapper, protocol=protocol, metric=metric).to_json()
    except OvmerError:
        raise
    except (ValueError, KeyError) as exc:  # e.g. a metric name the dataset's family does not have
        raise ServeError(422, "cannot_score", str(exc)) from exc
