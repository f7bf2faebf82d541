"""Finding result files in a results folder (docs/scoring.md, 'Result files').

Two layouts are recognised, per dataset:

* official: ``RESULTS/results-<dataset>/<run>/checkpoint_000050_loss_0.527.npz`` (+ ``-openset.npz``,
  ``-openset-sentiment.npz``); the dataset comes from the folder name, case-insensitively;
* ovmer: ``RESULTS/<dataset>/<run>/<checkpoint>.jsonl`` (``results-<dataset>`` works too).

Upstream guesses the run folder by prefix and checkpoint count; ovmer asks for it explicitly when
there is more than one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ovmer.data.benchmarks import BenchmarkDataset
from ovmer.errors import DatasetError
from ovmer.results.official import OPENSET_SUFFIX, SENTIMENT_SUFFIXES


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint's prediction files: an official base path (``.npz``) or a JSONL file."""

    name: str  # e.g. checkpoint_000050_loss_0.527
    path: Path  # the base .npz (may itself be absent if only derived files exist) or the .jsonl


def checkpoint_base_name(file_name: str) -> str | None:
    """``x-openset-sentiment.npz`` → ``x``; ``x.jsonl`` → ``x``; other files → None."""
    if file_name.endswith(".jsonl"):
        return file_name[: -len(".jsonl")]
    if not file_name.endswith(".npz"):
        return None
    stem = file_name[: -len(".npz")]
    for suffix in (*SENTIMENT_SUFFIXES, OPENSET_SUFFIX):
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def list_checkpoints(run_dir: Path) -> list[Checkpoint]:
    """Checkpoints of a run folder in ascending file-name order (the paper's tie-break order)."""
    found: dict[str, Path] = {}
    for path in sorted(Path(run_dir).iterdir()):
        if not path.is_file():
            continue
        base = checkpoint_base_name(path.name)
        if base is None:
            continue
        if path.suffix == ".jsonl":
            found[base] = path
        else:
            found.setdefault(base, path.with_name(base + ".npz"))
    return [Checkpoint(name, found[name]) for name in sorted(found)]


def find_dataset_dir(results_dir: Path, dataset: BenchmarkDataset) -> Path | None:
    """The folder holding a dataset's runs, or None."""
    wanted = {
        f"results-{dataset.result_dir}",
        dataset.id,
        dataset.result_dir,
        *(f"results-{a}" for a in dataset.aliases),
    }
    wanted |= {f"results-{dataset.id}"}
    for child in sorted(Path(results_dir).iterdir()):
        if child.is_dir() and child.name.lower() in wanted:
            return child
    return None


def find_run_dir(dataset_dir: Path, run: str | None) -> Path:
    """Pick the run folder: the one named ``run``, the only one, or the dataset folder itself when
    it holds checkpoint files directly."""
    if run is not None:
        candidate = dataset_dir / run
        if not candidate.is_dir():
            available = sorted(p.name for p in dataset_dir.iterdir() if p.is_dir())
            raise DatasetError(f"{dataset_dir}: no run folder {run!r}; available: {available}")
        return candidate
    runs = sorted(p for p in dataset_dir.iterdir() if p.is_dir())
    if list_checkpoints(dataset_dir) and not runs:
        return dataset_dir
    if len(runs) == 1:
        return runs[0]
    if not runs:
        raise DatasetError(f"{dataset_dir}: no run folders and no checkpoint files")
    raise DatasetError(
        f"{dataset_dir}: several run folders {[p.name for p in runs]}; choose one with --run NAME"
    )
