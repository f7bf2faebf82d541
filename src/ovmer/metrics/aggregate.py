"""The three ways OV scores are aggregated (docs/scoring.md, 'Aggregation').

* OV-MER paper: twelve F values (M1, M2, M3-W1-L1 … M3-W5-L2) and **M-avg**, their mean;
* MER-UniBench (OV-MERD+): per level, the **mean over five wheels of the per-wheel F** (and of P, R);
* MER2025 Track 2: ``(L1F + L2F) / 2``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ovmer.labels.mapping import LabelMapper, all_metrics, wheel_metrics
from ovmer.metrics.openset import SetScore, set_precision_recall


@dataclass(frozen=True)
class LevelScore:
    """Mean over the five wheels at one level (MER-UniBench main score is ``f`` at level 1)."""

    level: int
    f: float
    precision: float
    recall: float
    per_wheel: list[SetScore]


def ov_level_scores(
    ground_truth: Mapping[str, Any], predictions: Mapping[str, Any], mapper: LabelMapper, level: int
) -> LevelScore:
    """``[mean_k F_k, mean_k P_k, mean_k R_k]`` over M3-W1-Lj … M3-W5-Lj."""
    per_wheel = [set_precision_recall(ground_truth, predictions, m, mapper) for m in wheel_metrics(level)]
    return level_score_from(per_wheel, level)


def level_score_from(per_wheel: list[SetScore], level: int) -> LevelScore:
    """Aggregate five already computed per-wheel scores of one level (same arithmetic as upstream)."""
    f, precision, recall = np.mean([[s.f, s.precision, s.recall] for s in per_wheel], axis=0).tolist()
    return LevelScore(level, f, precision, recall, per_wheel)


def ovmer_twelve(
    ground_truth: Mapping[str, Any], predictions: Mapping[str, Any], mapper: LabelMapper
) -> tuple[list[SetScore], float]:
    """The OV-MER table: twelve set scores in paper order and M-avg (mean of the twelve F)."""
    scores = [set_precision_recall(ground_truth, predictions, m, mapper) for m in all_metrics()]
    return scores, float(np.mean([s.f for s in scores]))


def mer2025_track2(level1: LevelScore, level2: LevelScore) -> float:
    """MER2025 Track 2 score: ``(L1F + L2F) / 2``."""
    return (level1.f + level2.f) / 2
