"""What a bench run produced: per-dataset outcomes and the whole run (written to ``results.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ovmer.data.benchmarks import BenchmarkDataset
from ovmer.scoring.dataset import DatasetScore
from ovmer.scoring.protocol import Protocol


@dataclass
class DatasetRun:
    """What happened to one dataset."""

    dataset: BenchmarkDataset
    samples: int = 0
    answered: int = 0
    inferred_now: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    extraction_failures: dict[str, str] = field(default_factory=dict)
    scores: dict[str, DatasetScore] = field(default_factory=dict)  # protocol → score
    errors: dict[str, str] = field(default_factory=dict)  # protocol → why it was not scored
    #: Wall seconds by stage of this run: ``inference`` (answering what was not done yet, media decoding
    #: overlapped), ``extraction`` (steps A/B), ``scoring`` (files, both protocols).
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.id,
            "title": self.dataset.title,
            "samples": self.samples,
            "answered": self.answered,
            "inferred_now": self.inferred_now,
            "inference_failures": self.failures,
            "extraction_failures": self.extraction_failures,
            "scores": {p: s.to_json() for p, s in self.scores.items()},
            "errors": self.errors,
            "seconds": self.seconds,
        }


@dataclass
class BenchResult:
    """The whole run."""

    out: Path
    config: dict[str, Any]
    datasets: dict[str, DatasetRun]

    def mean(self, protocol: str) -> float | None:
        """Mean main score over the datasets scored under ``protocol`` (see the report for how many)."""
        values = [d.scores[protocol].main for d in self.datasets.values() if protocol in d.scores]
        return float(np.mean(values)) if values else None

    def to_json(self) -> dict[str, Any]:
        means: dict[str, float | None] = {}
        for protocol in Protocol:
            mean = self.mean(protocol.value)
            means[protocol.value] = None if mean is None else mean * 100
        return {**self.config, "mean": means, "datasets": {k: v.to_json() for k, v in self.datasets.items()}}
