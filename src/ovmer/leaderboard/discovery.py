"""Finding what a leaderboard scores: upstream baseline result roots and ``ovmer bench`` run folders.

Two kinds of ``RESULTS`` folder are recognised (docs/baselines.md, 'Leaderboard'):

* an upstream result root, ``ROOT/results-<dataset>/<Model>/<file>.npz``, with the two namings of
  upstream ``OV-MER/``: ``results-<flag>.npz`` as the baseline scripts write it and
  ``output-reason-7b-<variant>-eng.npz`` as the OV-MERD outputs were released; each base may come
  with its ``-openset.npz`` (step A) and ``-openset-sentiment.npz`` (step B) files, or only with them;
* an ``ovmer bench`` run folder (``RUN/results.json``, ``RUN/run.json``, ``RUN/<dataset>/predictions.jsonl``;
  layout in :mod:`ovmer.bench.runner`).

Nothing is read here but folder listings and the bench run's small JSON files; scoring is
:mod:`ovmer.leaderboard.table`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ovmer.data.benchmarks import BenchmarkDataset, get_benchmark
from ovmer.errors import DatasetError, InputFormatError
from ovmer.scoring.discovery import checkpoint_base_name

#: The subtitle variants of the OV-MER baselines (upstream ``OV-MER/<Model>/main-*.py`` and ``merge.py``).
VARIANTS: tuple[str, ...] = ("subtitle", "nosubtitle", "nosubtitle-addsub")
_VARIANT = "|".join(re.escape(v) for v in sorted(VARIANTS, key=len, reverse=True))
#: ``results-<flag>`` (the scripts) and ``output-reason-7b-<variant>-eng`` (the released OV-MERD files).
BASE_NAMES = (
    re.compile(rf"^results-(?P<variant>{_VARIANT})$"),
    re.compile(rf"^output-reason-7b-(?P<variant>{_VARIANT})-eng$"),
)


@dataclass(frozen=True)
class RowKey:
    """What one leaderboard row stands for: a model, the modalities it read, its subtitle variant."""

    model: str
    inputs: str  # "A,V,T"-style, "" when unknown
    variant: str


@dataclass
class UpstreamFile:
    """One model × variant × dataset cell of an upstream root: the base ``.npz`` (which may be absent
    when only its step-A/step-B files exist)."""

    key: RowKey
    dataset: BenchmarkDataset
    base: Path


@dataclass
class BenchRun:
    """An ``ovmer bench`` run folder and what its JSON files say."""

    folder: Path
    key: RowKey
    results: dict[str, Any]  # results.json


@dataclass
class Found:
    """Everything found under the RESULTS folders, plus notes on what was left out and why."""

    files: list[UpstreamFile] = field(default_factory=list)
    runs: list[BenchRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def variant_of(file_name: str) -> tuple[str, str] | None:
    """``(base name, variant)`` of an upstream baseline file of either naming, else None.

    >>> variant_of("output-reason-7b-nosubtitle-addsub-eng-openset.npz")
    ('output-reason-7b-nosubtitle-addsub-eng', 'nosubtitle-addsub')
    """
    base = checkpoint_base_name(file_name)
    if base is None or not file_name.endswith(".npz"):
        return None
    for pattern in BASE_NAMES:
        match = pattern.match(base)
        if match:
            return base, match.group("variant")
    return None


def model_inputs(model: str, variant: str, known: dict[str, str]) -> str:
    """The modalities a baseline read: its family's (``known``), without T when the subtitle was left out.

    ``nosubtitle-addsub`` keeps T: the subtitle is merged into the answer before extraction.
    """
    inputs = known.get(model, "")
    if variant == "nosubtitle" and inputs:
        inputs = ",".join(m for m in inputs.split(",") if m != "T")
    return inputs


def _scan_model_folder(folder: Path, dataset: BenchmarkDataset, known: dict[str, str], found: Found) -> None:
    bases: dict[str, tuple[str, Path]] = {}  # variant → (base name, base path)
    for path in sorted(folder.iterdir()):
        named = variant_of(path.name) if path.is_file() else None
        if named is None:
            if path.is_file() and path.suffix == ".npz":
                found.notes.append(f"{path}: not a baseline result name (results-<flag>.npz or "
                                   "output-reason-7b-<variant>-eng.npz); left out")  # fmt: skip
            continue
        base, variant = named
        previous = bases.get(variant)
        if previous is not None and previous[0] != base:
            found.notes.append(
                f"{folder}: {previous[0]}.npz and {base}.npz are both the {variant!r} variant; "
                f"{previous[0]} is scored (remove one of them)"
            )
            continue
        bases[variant] = (base, folder / f"{base}.npz")
    for variant, (_, base_path) in bases.items():
        key = RowKey(folder.name, model_inputs(folder.name, variant, known), variant)
        found.files.append(UpstreamFile(key, dataset, base_path))


def scan_upstream_root(root: Path, known: dict[str, str], found: Found) -> None:
    """Add every ``results-<dataset>/<Model>/`` baseline file of ``root`` to ``found``."""
    for child in sorted(root.iterdir()):
        if not (child.is_dir() and child.name.lower().startswith("results-")):
            continue
        try:
            dataset = get_benchmark(child.name)
        except DatasetError:
            found.notes.append(f"{child}: unknown dataset folder; left out")
            continue
        for model_folder in sorted(p for p in child.iterdir() if p.is_dir()):
            _scan_model_folder(model_folder, dataset, known, found)


def _bench_inputs(folder: Path, datasets: list[str]) -> tuple[str, str]:
    """(inputs, variant) of a bench run from the input provenance its answers recorded.

    A: an audio source; V: faces or video frames; T: a subtitle (``media.inputs.InputProvenance``).
    Without provenance the inputs are unknown and the variant is ``subtitle`` (bench gives a model the
    dataset's subtitle whenever it has one: docs/bench.md).
    """
    seen: set[str] = set()
    recorded = False
    for dataset in datasets:
        answers = folder / dataset / "answers.jsonl"
        if not answers.is_file():
            continue
        for line in answers.read_text(encoding="utf-8").splitlines():
            try:
                inputs = json.loads(line).get("inputs") or {}
            except (ValueError, AttributeError):
                continue  # a torn line of an interrupted run: bench redoes it
            if not isinstance(inputs, dict) or not inputs:
                continue
            recorded = True
            if inputs.get("audio_source"):
                seen.add("A")
            if inputs.get("face_source") or inputs.get("num_source_frames") or inputs.get("frame_indices"):
                seen.add("V")
            if inputs.get("subtitle_source"):
                seen.add("T")
    inputs_text = ",".join(m for m in ("A", "V", "T") if m in seen)
    variant = "subtitle" if (not recorded or "T" in seen) else "nosubtitle"
    return inputs_text, variant


def read_bench_run(folder: Path) -> BenchRun:
    """Read a bench run folder's ``results.json`` (the model identity, datasets and stored scores)."""
    path = folder / "results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFormatError(f"{path}: cannot read the bench results ({exc}); rerun `ovmer bench`") from exc
    if not isinstance(results, dict) or not isinstance(results.get("datasets"), dict):
        raise InputFormatError(f"{path}: not an `ovmer bench` results.json (no 'datasets' object)")
    model = str(results.get("model") or results.get("model_spec") or folder.name)
    inputs, variant = _bench_inputs(folder, list(results["datasets"]))
    return BenchRun(folder, RowKey(model, inputs, variant), results)


def discover(paths: list[Path], known: dict[str, str]) -> Found:
    """Classify each RESULTS folder and list what it holds.

    Raises:
        DatasetError: a path is missing, a file, or neither a bench run nor an upstream result root.
    """
    found = Found()
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            what = "not found" if not path.exists() else "is a file, not a folder"
            raise DatasetError(
                f"{path}: {what} (give a bench run folder or a folder holding results-<dataset>/)"
            )
        if (path / "results.json").is_file():
            found.runs.append(read_bench_run(path))
        elif any(c.is_dir() and c.name.lower().startswith("results-") for c in path.iterdir()):
            scan_upstream_root(path, known, found)
        else:
            raise DatasetError(
                f"{path}: neither an `ovmer bench` run (no results.json) nor an upstream result root "
                "(no results-<dataset>/ folder); give one of them"
            )
    return found
