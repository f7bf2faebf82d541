"""Datasets: benchmark definitions and ground-truth readers (spec ``datasets.md``)."""

from ovmer.data.benchmarks import BENCHMARKS, UNIBENCH_IDS, BenchmarkDataset, Family, get_benchmark
from ovmer.data.groundtruth import read_ground_truth

__all__ = ["BENCHMARKS", "UNIBENCH_IDS", "BenchmarkDataset", "Family", "get_benchmark", "read_ground_truth"]
