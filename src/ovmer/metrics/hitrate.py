"""Hit rate for the discrete datasets (docs/scoring.md, 'Metric definitions').

The single ground-truth label and the predicted OV list are mapped to level-1 clusters of one wheel;
a hit is a non-empty intersection. Samples whose ground truth maps to nothing (``neutral`` always,
``surprise``/``disgust`` on some wheels) are skipped, so kept counts differ per wheel. The reported
hit rate is the mean over the five wheels. ``mscore`` (secondary, unreported in the paper) divides
hits by the prediction's overlap with the test set's whole label space.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ovmer.labels.mapping import LabelMapper, Metric, wheel_metrics


@dataclass(frozen=True)
class HitRateScore:
    """Hit rate and mscore under one wheel (``metric``) or averaged over wheels (``metric='mean'``)."""

    metric: str
    hit_rate: float
    mscore: float
    kept: int
    hits: int


def hit_rate(
    ground_truth: Mapping[str, str],
    predictions: Mapping[str, Any],
    metric: Metric,
    mapper: LabelMapper,
) -> HitRateScore:
    """Hit rate of ``predictions`` (name → OV label cell) for one-label ``ground_truth`` (name → label)."""
    # The label space: each distinct gt string mapped as one label, not lower-cased (as upstream).
    candidate_set = set()
    for label in set(ground_truth.values()):
        mapped = mapper.map_label(label, metric)
        if mapped is not None:
            candidate_set.add(mapped)
    candidates = frozenset(candidate_set)
    hits: list[int] = []
    mscores: list[float] = []
    map_cell = mapper.cell_mapper(metric)
    for name, gt_label in ground_truth.items():
        gt = map_cell(gt_label)
        if not gt:
            continue
        pred = map_cell(predictions[name])
        overlap = len(pred & gt)
        hits.append(overlap)
        in_space = len(pred & candidates)
        mscores.append(0 if in_space == 0 else overlap / in_space)
    return HitRateScore(
        metric=metric.name,
        hit_rate=float(np.mean(hits)) if hits else math.nan,
        mscore=float(np.mean(mscores)) if mscores else math.nan,
        kept=len(hits),
        hits=int(sum(hits)),
    )


def hit_rate_all_wheels(
    ground_truth: Mapping[str, str],
    predictions: Mapping[str, Any],
    mapper: LabelMapper,
) -> tuple[HitRateScore, list[HitRateScore]]:
    """The reported hit rate: mean over M3-W1-L1 … M3-W5-L1 of the per-wheel hit rate and mscore."""
    per_wheel = [hit_rate(ground_truth, predictions, metric, mapper) for metric in wheel_metrics(level=1)]
    hit_mean, mscore_mean = np.mean([[s.hit_rate, s.mscore] for s in per_wheel], axis=0).tolist()
    mean = HitRateScore(
        "mean",
        hit_mean,
        mscore_mean,
        kept=sum(s.kept for s in per_wheel),
        hits=sum(s.hits for s in per_wheel),
    )
    return mean, per_wheel


def hit_or_not(ground_truth: Sequence[str], prediction: Sequence[str], mapper: LabelMapper) -> bool:
    """Upstream's "EMERCoarse Filter" test (``hit_or_not`` in AffectGPT's ``ew_metric.py`` /
    ``func_hit_or_not`` in ``wheel.py``): True when, on **any** of M3-W1-L1 … M3-W5-L1, the two OV
    lists mapped to level-1 clusters share an element.

    Each list is mapped exactly as the hit rate maps it (lower-cased, stripped, item by item); an
    empty list counts as ``['neutral']``, and since ``neutral`` maps to nothing on every wheel, a
    neutral or empty side never hits (as upstream). Used by ``ovmer annotate filter`` (the vote).
    """
    truth = list(ground_truth) or ["neutral"]
    predicted = list(prediction) or ["neutral"]
    for metric in wheel_metrics(level=1):
        if mapper.map_items(truth, metric) & mapper.map_items(predicted, metric):
            return True
    return False
