"""Sentiment scores for the dimensional datasets (docs/scoring.md, 'Metric definitions').

The step-B reply is compared **exactly and case-sensitively**: ``positive`` → 1, ``negative`` → −1,
``neutral`` → 0 and anything else (``mixed``, ``complex``, ``Positive``) → 0. Samples whose continuous
ground-truth valence is 0 are dropped; the task is then binary, positive vs. non-positive, so
neutral and unparsable predictions count as negative. WAF is the support-weighted F1 over the two
classes (scikit-learn's ``f1_score(average='weighted')``, reimplemented here to keep the core install
free of scikit-learn; the tests check both agree), ACC the accuracy.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SENTIMENT_VALUES: dict[str, int] = {"positive": 1, "negative": -1, "neutral": 0}


@dataclass(frozen=True)
class SentimentScore:
    """WAF (main score) and ACC over samples with non-zero ground truth; fractions in [0, 1]."""

    waf: float
    accuracy: float
    kept: int  # samples with val != 0
    correct: int
    prediction_counts: dict[str, int] = field(default_factory=dict)  # raw step-B strings over all samples


def sentiment_value(reply: Any) -> int:
    """Map a stored step-B string to 1 / −1 / 0 (anything unknown → 0, as upstream)."""
    return SENTIMENT_VALUES.get(reply, 0) if isinstance(reply, str) else 0


def weighted_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Support-weighted F1 over the classes present in either array, as scikit-learn computes it.

    Per class: ``F1 = 2·TP / (support + predicted count)`` (0 when both are 0); the average is
    weighted by support. Shapes: two 1-d arrays of the same length, any hashable label type.
    """
    truth = np.asarray(truth)
    predicted = np.asarray(predicted)
    if truth.shape != predicted.shape or truth.ndim != 1:
        raise ValueError(f"expected two 1-d arrays of equal length, got {truth.shape} and {predicted.shape}")
    if truth.size == 0:
        return math.nan
    labels = np.unique(np.concatenate([truth, predicted]))
    true_positive = np.array([np.sum((truth == c) & (predicted == c)) for c in labels], dtype=np.float64)
    support = np.array([np.sum(truth == c) for c in labels], dtype=np.float64)
    predicted_count = np.array([np.sum(predicted == c) for c in labels], dtype=np.float64)
    denominator = support + predicted_count
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = np.where(denominator > 0, 2 * true_positive / denominator, 0.0)
    if support.sum() == 0:
        return 0.0
    return float(np.average(per_class, weights=support))


def sentiment_scores(ground_truth: Mapping[str, float], predictions: Mapping[str, Any]) -> SentimentScore:
    """Score step-B replies against continuous valence.

    Args:
        ground_truth: sample name → valence (CMU-MOSI/MOSEI in [−3, 3], CH-SIMS in [−1, 1]).
        predictions: sample name → step-B string; must hold every ground-truth name.
    """
    names = list(ground_truth)
    values = np.array([ground_truth[n] for n in names])
    predicted = np.array([sentiment_value(predictions[n]) for n in names])
    keep = values != 0
    truth_binary = values[keep] > 0
    predicted_binary = predicted[keep] > 0
    correct = int(np.sum(truth_binary == predicted_binary))
    kept = int(keep.sum())
    counts = Counter(str(predictions[n]) for n in names)
    return SentimentScore(
        waf=weighted_f1(truth_binary, predicted_binary),
        accuracy=correct / kept if kept else math.nan,
        kept=kept,
        correct=correct,
        prediction_counts=dict(counts.most_common()),
    )
