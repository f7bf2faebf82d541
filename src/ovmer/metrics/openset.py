"""Set-level precision / recall / F for open-vocabulary labels (docs/scoring.md, 'Metric definitions').

Per sample: ``G`` and ``P`` are the mapped label sets. A sample with empty ``G`` is skipped (this is how
``neutral``-only ground truth is excluded); an empty ``P`` scores 0/0. Precision and recall are
averaged over kept samples and **F is computed from those two means**, not averaged per sample.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ovmer.labels.mapping import LabelMapper, Metric


@dataclass(frozen=True)
class SetScore:
    """Dataset-level set scores under one metric. Fractions in [0, 1]; NaN when undefined."""

    metric: str
    precision: float
    recall: float
    f: float
    kept: int  # samples with a non-empty mapped ground truth
    empty_predictions: int  # kept samples whose mapped prediction was empty


def f_from_means(precision: float, recall: float) -> float:
    """``2·P·R / (P + R)`` in upstream's operation order; NaN (with a warning) when P + R = 0."""
    if precision + recall == 0 or math.isnan(precision) or math.isnan(recall):
        if not (math.isnan(precision) or math.isnan(recall)):
            warnings.warn(
                "precision and recall are both 0; F is undefined (NaN)", RuntimeWarning, stacklevel=2
            )
        return math.nan
    return 2 * (precision * recall) / (precision + recall)


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def set_precision_recall(
    ground_truth: Mapping[str, Any],
    predictions: Mapping[str, Any],
    metric: Metric,
    mapper: LabelMapper,
) -> SetScore:
    """Score predictions against ground truth under ``metric``.

    Args:
        ground_truth: sample name → label cell (``"[happy, sad]"``, a list, ``""``); iteration order
            is the order of the sums (kept as upstream).
        predictions: sample name → label cell; must have every ground-truth name (callers decide
            what a missing one means; see :mod:`ovmer.bench.scoring`).
    """
    precisions: list[float] = []
    recalls: list[float] = []
    empty = 0
    map_cell = mapper.cell_mapper(metric)
    for name, gt_cell in ground_truth.items():
        gt = map_cell(gt_cell)
        if not gt:
            continue
        pred = map_cell(predictions[name])
        if not pred:
            precisions.append(0)
            recalls.append(0)
            empty += 1
            continue
        overlap = len(gt & pred)
        precisions.append(overlap / len(pred))
        recalls.append(overlap / len(gt))
    precision, recall = _mean(precisions), _mean(recalls)
    return SetScore(metric.name, precision, recall, f_from_means(precision, recall), len(precisions), empty)
