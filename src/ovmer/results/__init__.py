"""Prediction files: the official ``.npz`` formats, ovmer's JSONL, discovery of result folders."""

from ovmer.results.formats import (
    PredictionRecord,
    Predictions,
    official_paths,
    read_checkpoint,
    read_predictions,
    write_jsonl,
    write_official,
)

__all__ = [
    "PredictionRecord",
    "Predictions",
    "official_paths",
    "read_checkpoint",
    "read_predictions",
    "write_jsonl",
    "write_official",
]
