"""``ovmer bench``: run a model on MER-UniBench datasets, extract labels, score, report."""

from ovmer.bench.result import BenchResult, DatasetRun
from ovmer.bench.runner import run_bench

__all__ = ["BenchResult", "DatasetRun", "run_bench"]
