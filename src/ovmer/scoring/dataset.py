"""Scoring one prediction set against one dataset's ground truth.

This is the single place that knows which metric a dataset family uses (docs/scoring.md,
'Pipeline' and 'Metric definitions') and how bad input is treated under each protocol. Scores are
fractions in [0, 1] here; reports multiply by 100.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ovmer.data.benchmarks import BenchmarkDataset, Family, get_benchmark
from ovmer.data.groundtruth import read_ground_truth
from ovmer.errors import InputFormatError, PredictionCoverageError
from ovmer.labels.mapping import LabelMapper, Metric, all_metrics, wheel_metrics
from ovmer.labels.wheel import WheelMaps
from ovmer.metrics.aggregate import level_score_from, mer2025_track2, ovmer_twelve
from ovmer.metrics.hitrate import hit_rate_all_wheels
from ovmer.metrics.sentiment import SENTIMENT_VALUES, sentiment_scores
from ovmer.results.formats import read_predictions
from ovmer.results.record import Predictions
from ovmer.scoring.protocol import Protocol

logger = logging.getLogger(__name__)

#: Main-metric names a user may choose per family (first = default, except OV sets: per dataset).
FAMILY_METRICS: dict[Family, tuple[str, ...]] = {
    Family.DISCRETE: ("hit_rate", "mscore"),
    Family.SENTIMENT: ("waf", "acc"),
    Family.OPENSET: (
        "unibench_l1_f",
        "ovmer_m_avg",
        "mer2025_score",
        "unibench_l2_f",
        *(m.name for m in all_metrics()),
    ),
}


@dataclass
class InputReport:
    """What was wrong with the prediction file (counts plus a few example names)."""

    n_ground_truth: int = 0
    n_predictions: int = 0
    missing: list[str] = field(default_factory=list)  # gt names with no prediction
    extra: list[str] = field(default_factory=list)  # predicted names not in the gt
    duplicates: list[str] = field(default_factory=list)
    nonstandard_sentiment: dict[str, int] = field(default_factory=dict)
    unmappable_predictions: int = 0  # non-empty predictions that map to no wheel label at all
    unparsable_predictions: int = 0  # label strings string_to_list cannot parse (upstream crashes)
    undefined_f: int = 0  # set metrics whose precision and recall are both 0 (F is NaN)

    def warnings(self) -> list[str]:
        """Human-readable lines, each with a count and examples."""
        lines = []

        def examples(names: list[str]) -> str:
            return ", ".join(names[:3]) + (" …" if len(names) > 3 else "")

        if self.missing:
            lines.append(
                f"{len(self.missing)} ground-truth sample(s) have no prediction (e.g. {examples(self.missing)})"
            )
        if self.extra:
            lines.append(
                f"{len(self.extra)} prediction(s) are not in the ground truth and were ignored (e.g. {examples(self.extra)})"
            )
        if self.duplicates:  # differing ones never get here under the clean protocol: it refuses them
            lines.append(
                f"{len(self.duplicates)} sample name(s) appear more than once in the predictions; the last "
                f"occurrence was used, as upstream (e.g. {examples(self.duplicates)})"
            )
        if self.nonstandard_sentiment:
            total = sum(self.nonstandard_sentiment.values())
            detail = ", ".join(f"{k!r} {v}" for k, v in list(self.nonstandard_sentiment.items())[:5])
            lines.append(
                f"{total} sentiment reply(ies) outside positive/negative/neutral, scored as 0 ({detail})"
            )
        if self.unparsable_predictions:
            lines.append(
                f"{self.unparsable_predictions} prediction(s) are the unparsable string '[' and count as empty (upstream crashes)"
            )
        if self.unmappable_predictions:
            lines.append(
                f"{self.unmappable_predictions} non-empty prediction(s) map to no emotion-wheel label"
            )
        if self.undefined_f:
            lines.append(
                f"precision and recall are 0 under {self.undefined_f} set metric(s), so their F is undefined "
                "and reported as NaN (are all predictions empty or missing?)"
            )
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "n_ground_truth": self.n_ground_truth,
            "n_predictions": self.n_predictions,
            "missing": len(self.missing),
            "missing_examples": self.missing[:10],
            "extra": len(self.extra),
            "extra_examples": self.extra[:10],
            "duplicates": len(self.duplicates),
            "nonstandard_sentiment": self.nonstandard_sentiment,
            "unmappable_predictions": self.unmappable_predictions,
            "unparsable_predictions": self.unparsable_predictions,
        }


@dataclass
class DatasetScore:
    """The score of one prediction set on one dataset."""

    dataset: str
    family: Family
    metric: str
    main: float  # fraction in [0, 1]
    n_scored: int
    secondary: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    inputs: InputReport = field(default_factory=InputReport)
    protocol: Protocol = Protocol.PAPER

    def to_json(self) -> dict[str, Any]:
        """JSON view on the paper's 0–100 scale (full precision)."""
        return {
            "dataset": self.dataset,
            "family": self.family.value,
            "protocol": self.protocol.value,
            "metric": self.metric,
            "score": _percent(self.main),
            "n_scored": self.n_scored,
            "secondary": {k: _percent(v) for k, v in self.secondary.items()},
            **_percent_tree(self.details),
            "inputs": self.inputs.to_json(),
        }


def _percent(value: float) -> float | None:
    return None if value is None or math.isnan(value) else value * 100


def _percent_tree(details: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, dict):
            out[key] = _percent_tree(value)
        elif isinstance(value, float):
            out[key] = _percent(value)
        else:
            out[key] = value
    return out


def _needed_field(family: Family) -> str:
    return "sentiment" if family is Family.SENTIMENT else "ov_labels"


def _field_values(dataset: BenchmarkDataset, predictions: Predictions) -> dict[str, Any]:
    needed = _needed_field(dataset.family)
    if not predictions.has(needed):
        have = [f for f in ("text", "ov_labels", "sentiment") if predictions.has(f)]
        if needed == "ov_labels":
            fix = "run `ovmer extract --task ovlabels` on it first, or pass the matching -openset.npz file"
        else:
            fix = "run `ovmer extract --task sentiment` on its OV labels first, or pass the -openset-sentiment.npz file"
        raise InputFormatError(
            f"{predictions.source}: {dataset.id} is scored on {'step-B sentiment' if needed == 'sentiment' else 'OV labels'} "
            f"but the file holds only {have or 'nothing usable'}; {fix}"
        )
    return predictions.field_map(needed)


def check_candidates(
    dataset: BenchmarkDataset, predictions: Predictions, candidates: list[str], protocol: Protocol
) -> None:
    """MER2025 Track 2: a submission must cover exactly the candidate names (upstream asserts it)."""
    names, wanted = set(predictions.records), set(candidates)
    if names == wanted:
        return
    missing, extra = sorted(wanted - names), sorted(names - wanted)
    message = (
        f"{predictions.source}: {dataset.id} submissions must contain exactly the {len(wanted)} candidate names; "
        f"{len(missing)} missing (e.g. {missing[:3]}), {len(extra)} unexpected (e.g. {extra[:3]})"
    )
    if protocol is Protocol.PAPER:
        raise PredictionCoverageError(message)
    logger.warning(message)


def read_candidates(gt_path: Path) -> list[str] | None:
    """``track_all_candidates.csv`` beside a MER2025 ground-truth file, if present."""
    path = Path(gt_path).parent / "track_all_candidates.csv"
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    if "name" not in frame.columns:
        raise InputFormatError(f"{path}: expected a column 'name'")
    return frame["name"].astype(str).tolist()


def check_coverage(
    dataset: BenchmarkDataset,
    ground_truth: Mapping[str, Any],
    predictions: Predictions,
    protocol: Protocol,
) -> tuple[dict[str, Any], InputReport]:
    """Align predictions with the ground truth under the protocol's rules.

    Paper: a missing prediction is an error (upstream fails with ``KeyError``). Clean: a missing
    prediction becomes an empty one (``""``: no labels, or a non-positive sentiment) and is reported.
    Extra names are ignored in both, with a warning.
    """
    values = _field_values(dataset, predictions)
    report = InputReport(n_ground_truth=len(ground_truth), n_predictions=len(values))
    report.missing = [n for n in ground_truth if n not in values]
    report.extra = [n for n in values if n not in ground_truth]
    report.duplicates = list(predictions.duplicates)
    if predictions.conflicting_duplicates and protocol is Protocol.CLEAN:
        names = predictions.conflicting_duplicates
        raise InputFormatError(
            f"{predictions.source}: {len(names)} sample name(s) appear more than once with different predictions "
            f"(e.g. {names[:3]}); the clean protocol refuses to guess which one counts (keep one per sample, "
            "or use --protocol paper, which takes the last occurrence as upstream)"
        )
    if report.missing:
        if protocol is Protocol.PAPER:
            raise PredictionCoverageError(
                f"{predictions.source}: {len(report.missing)} of {len(ground_truth)} {dataset.id} samples have no "
                f"prediction (e.g. {report.missing[:3]}). The paper protocol requires all of them, as upstream; "
                "use --protocol clean to score missing ones as empty predictions"
            )
        values = {**values, **dict.fromkeys(report.missing, "")}
    if dataset.family is Family.SENTIMENT:
        odd: dict[str, int] = {}
        for name in ground_truth:
            reply = values[name]
            if reply not in SENTIMENT_VALUES:
                odd[str(reply)] = odd.get(str(reply), 0) + 1
        report.nonstandard_sentiment = dict(sorted(odd.items(), key=lambda kv: -kv[1]))
    for line in report.warnings():
        logger.info("%s: %s", dataset.id, line)  # callers show report.warnings() where they fit
    return values, report


def score_predictions(
    dataset_id: str | BenchmarkDataset,
    ground_truth: Mapping[str, Any],
    predictions: Predictions,
    mapper: LabelMapper | WheelMaps,
    protocol: Protocol | str = Protocol.PAPER,
    metric: str | None = None,
) -> DatasetScore:
    """Score aligned predictions on one dataset with its family's metrics.

    Args:
        dataset_id: a benchmark id (``mer2023`` …) or definition.
        ground_truth: from :func:`ovmer.data.read_ground_truth`.
        predictions: from :func:`ovmer.results.read_predictions`.
        mapper: a :class:`LabelMapper` (reuse one across calls: it memoises) or the maps.
        protocol: ``paper`` or ``clean`` (see :mod:`ovmer.scoring.protocol`).
        metric: main metric override, one of :data:`FAMILY_METRICS` for the family.
    """
    dataset = dataset_id if isinstance(dataset_id, BenchmarkDataset) else get_benchmark(dataset_id)
    protocol = Protocol(protocol)
    mapper = mapper if isinstance(mapper, LabelMapper) else LabelMapper(mapper)
    metric = metric or dataset.main_metric
    if metric not in FAMILY_METRICS[dataset.family]:
        raise InputFormatError(
            f"metric {metric!r} does not apply to {dataset.id}; choose from {list(FAMILY_METRICS[dataset.family])}"
        )
    values, report = check_coverage(dataset, ground_truth, predictions, protocol)
    if dataset.family is Family.DISCRETE:
        score = _score_discrete(dataset, ground_truth, values, mapper, metric)
    elif dataset.family is Family.SENTIMENT:
        score = _score_sentiment(dataset, ground_truth, values, metric)
    else:
        # metrics.openset warns when P + R = 0 (all predictions empty); report it as an input problem
        # instead of a raw RuntimeWarning with a source path on the console.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            score = _score_openset(dataset, ground_truth, values, mapper, metric)
        report.undefined_f = sum("F is undefined" in str(w.message) for w in caught)
        for other in (w for w in caught if "F is undefined" not in str(w.message)):
            warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    score.inputs = report
    score.protocol = protocol
    if dataset.family is not Family.SENTIMENT:
        report.unmappable_predictions, report.unparsable_predictions = _count_unmappable(
            ground_truth, values, mapper
        )
    return score


def _count_unmappable(
    ground_truth: Mapping[str, Any], values: Mapping[str, Any], mapper: LabelMapper
) -> tuple[int, int]:
    """(predictions with labels that all map to nothing, predictions that cannot be parsed: ``[``)."""
    map_m1 = mapper.cell_mapper(Metric(1))
    unmappable = unparsable = 0
    for name in ground_truth:
        value = values[name]
        if value == "[":
            unparsable += 1
        elif (mapper.parse(value) if isinstance(value, str) else value) and not map_m1(value):
            unmappable += 1
    return unmappable, unparsable


def _score_discrete(
    dataset: BenchmarkDataset,
    ground_truth: Mapping[str, Any],
    values: Mapping[str, Any],
    mapper: LabelMapper,
    metric: str,
) -> DatasetScore:
    mean, per_wheel = hit_rate_all_wheels(ground_truth, values, mapper)
    main = mean.hit_rate if metric == "hit_rate" else mean.mscore
    # A sample counts as scored when some wheel keeps it; gt labels take only a few distinct values.
    scorable = {
        label
        for label in set(ground_truth.values())
        if any(mapper.map_cell(label, m) for m in wheel_metrics(1))
    }
    n_scored = sum(1 for label in ground_truth.values() if label in scorable)
    return DatasetScore(
        dataset.id, dataset.family, metric, main, n_scored,
        secondary={"mscore": mean.mscore} if metric == "hit_rate" else {"hit_rate": mean.hit_rate},
        details={"per_wheel": {s.metric: {"hit_rate": s.hit_rate, "mscore": s.mscore, "hits": s.hits, "kept": s.kept} for s in per_wheel}},
    )  # fmt: skip


def _score_sentiment(
    dataset: BenchmarkDataset, ground_truth: Mapping[str, Any], values: Mapping[str, Any], metric: str
) -> DatasetScore:
    result = sentiment_scores(ground_truth, values)
    main = result.waf if metric == "waf" else result.accuracy
    return DatasetScore(
        dataset.id, dataset.family, metric, main, result.kept,
        secondary={"acc": result.accuracy} if metric == "waf" else {"waf": result.waf},
        details={"correct": result.correct, "prediction_counts": result.prediction_counts},
    )  # fmt: skip


def _score_openset(
    dataset: BenchmarkDataset,
    ground_truth: Mapping[str, Any],
    values: Mapping[str, Any],
    mapper: LabelMapper,
    metric: str,
) -> DatasetScore:
    twelve, m_avg = ovmer_twelve(ground_truth, values, mapper)
    by_name = {s.metric: s for s in twelve}
    # The level scores reuse the twelve per-metric results instead of computing them again.
    level1 = level_score_from([by_name[m.name] for m in wheel_metrics(1)], level=1)
    level2 = level_score_from([by_name[m.name] for m in wheel_metrics(2)], level=2)
    track2 = mer2025_track2(level1, level2)
    choices = {
        "unibench_l1_f": level1.f,
        "unibench_l2_f": level2.f,
        "ovmer_m_avg": m_avg,
        "mer2025_score": track2,
    }
    choices.update({name: s.f for name, s in by_name.items()})
    short = {m.name: m.short_name for m in all_metrics()}
    n_scored = by_name["M3-W1-L1"].kept
    details: dict[str, Any] = {short[s.metric]: s.f for s in twelve}
    details["M_avg"] = m_avg
    details["set_scores"] = {
        short[s.metric]: {
            "f": s.f,
            "precision": s.precision,
            "recall": s.recall,
            "kept": s.kept,
            "empty_predictions": s.empty_predictions,
        }
        for s in twelve
    }
    details["unibench"] = {
        "L1": {"f": level1.f, "precision": level1.precision, "recall": level1.recall},
        "L2": {"f": level2.f, "precision": level2.precision, "recall": level2.recall},
    }
    details["mer2025"] = {"L1F": level1.f, "L2F": level2.f, "score": track2}
    secondary = (
        {"precision": level1.precision, "recall": level1.recall}
        if metric == "unibench_l1_f"
        else {"unibench_l1_f": level1.f}
    )
    return DatasetScore(
        dataset.id, dataset.family, metric, choices[metric], n_scored, secondary=secondary, details=details
    )


def score_file(
    dataset_id: str,
    gt: Path | str,
    pred: Path | str,
    maps: WheelMaps | LabelMapper | None = None,
    protocol: Protocol | str = Protocol.PAPER,
    metric: str | None = None,
    assets: Path | str | None = None,
) -> DatasetScore:
    """Score one prediction file against one ground-truth file (the ``ovmer score`` command)."""
    from ovmer.assets import load_wheel_maps

    ground_truth = read_ground_truth(dataset_id, Path(gt))
    predictions = read_predictions(Path(pred))
    if get_benchmark(dataset_id).id == "mer2025ov":
        candidates = read_candidates(Path(gt))
        if candidates is not None:
            check_candidates(get_benchmark(dataset_id), predictions, candidates, Protocol(protocol))
    mapper = maps if maps is not None else load_wheel_maps(assets)
    return score_predictions(dataset_id, ground_truth, predictions, mapper, protocol, metric)
