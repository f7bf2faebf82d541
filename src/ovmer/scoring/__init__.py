"""Scoring engine: one dataset (:mod:`.dataset`), the whole MER-UniBench (:mod:`.unibench`), reports."""

from ovmer.scoring.dataset import DatasetScore, InputReport, score_file, score_predictions
from ovmer.scoring.protocol import Protocol

__all__ = ["DatasetScore", "InputReport", "Protocol", "score_file", "score_predictions"]
