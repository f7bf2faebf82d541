"""Per-dataset metrics (docs/scoring.md, 'Metric definitions', 'Aggregation' and 'GPT-grouping
metric (MER2024)'): pure, deterministic functions of ground-truth and prediction mappings. Means
are taken with ``numpy.mean`` over lists in ground-truth order, exactly as upstream, so that pairwise
summation gives the same bits."""

from ovmer.metrics.aggregate import (
    mer2025_track2,
    ov_level_scores,
    ovmer_twelve,
)
from ovmer.metrics.grouping import GroupingScore, grouping_metric, parse_grouping_reply
from ovmer.metrics.hitrate import HitRateScore, hit_rate, hit_rate_all_wheels
from ovmer.metrics.openset import SetScore, set_precision_recall
from ovmer.metrics.sentiment import SENTIMENT_VALUES, SentimentScore, sentiment_scores, weighted_f1

__all__ = [
    "SENTIMENT_VALUES",
    "GroupingScore",
    "HitRateScore",
    "SentimentScore",
    "SetScore",
    "grouping_metric",
    "hit_rate",
    "hit_rate_all_wheels",
    "mer2025_track2",
    "ov_level_scores",
    "ovmer_twelve",
    "parse_grouping_reply",
    "sentiment_scores",
    "set_precision_recall",
    "weighted_f1",
]
