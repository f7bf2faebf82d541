"""``ovmer bench``: run a model on MER-UniBench datasets, extract labels, score, report."""

from ovmer.bench.models import MODEL_FACTORIES, BenchModel, ClueModel, load_model
from ovmer.bench.runner import BenchResult, DatasetRun, run_bench

__all__ = [
    "MODEL_FACTORIES",
    "BenchModel",
    "BenchResult",
    "ClueModel",
    "DatasetRun",
    "load_model",
    "run_bench",
]
