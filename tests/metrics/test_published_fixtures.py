"""Bit-exact reproduction of upstream's scores from the reference copies of upstream's files.

Inputs: the released AffectGPT answers and step-A/B files for MER2023 and CMU-MOSI (zeroQiaoba/AffectGPT
``AffectGPT/output/results-<dataset>/<RUN>/``, docs/scoring.md, 'Result files') and MERTools'
``MER2024/ov_store/`` example pair. Expected values are what upstream's definitions (docs/scoring.md,
'Metric definitions' and 'Aggregation') give on them, to 10 decimals, compared at 1e-10; where only
integer counts are pinned, the exact IEEE value those counts imply with upstream's arithmetic
(``numpy.mean``). The paper-protocol picks are the published 78.54 and 81.30 (docs/scoring.md,
'Protocols'); accuracy, recall and avg of the grouping metric are the values MERTools
``MER2024/main-ov.py`` quotes (docs/scoring.md, 'GPT-grouping metric').
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from ovmer.data import read_ground_truth
from ovmer.labels.mapping import LabelMapper, Metric
from ovmer.metrics import (
    grouping_metric,
    hit_rate_all_wheels,
    mer2025_track2,
    ov_level_scores,
    ovmer_twelve,
    sentiment_scores,
)
from ovmer.metrics.grouping import read_grouping_replies
from ovmer.metrics.sentiment import sentiment_value
from ovmer.results import read_predictions
from tests.conftest import RUN

MER2023 = {  # epoch: (hit rate, mscore, hits per wheel)
    30: (0.7255402731, 0.5225011420, None),
    35: (0.7678668223, 0.5408230557, None),
    40: (0.7344282597, 0.5166570235, None),
    45: (0.7463756788, 0.5303158571, None),
    50: (0.7853869969, 0.5560911198, (259, 262, 251, 238, 244)),
    55: (0.7569750799, 0.5471782639, None),
    60: (0.7368684972, 0.5176135614, None),
}
MOSI = {  # epoch: (WAF, correct of 656, nonstandard counts, (positive, negative, neutral) counts)
    30: (0.8121243289, 532, {"mixed": 2, "contradictory": 1}, (344, 314, 25)),
    35: (0.7848303813, 514, {"mixed": 5}, (334, 304, 43)),
    40: (0.8130135649, 533, {"mixed": 7}, (304, 337, 38)),
    45: (0.8074043512, 529, {"mixed": 5, "dramatic": 1}, (321, 308, 51)),
    50: (0.7984825883, 523, {"mixed": 3}, (341, 299, 43)),
    55: (0.7953405500, 521, {"mixed": 5, "complex": 1}, (325, 311, 44)),
    60: (0.7830397047, 513, {"mixed": 7}, (368, 254, 57)),
}


def _epoch_file(published: Path, dataset: str, epoch: int, suffix: str) -> Path:
    pattern = f"checkpoint_{epoch:06d}_loss_?.???{suffix}.npz"
    matches = sorted((published / f"results-{dataset}" / RUN).glob(pattern))
    assert len(matches) == 1, matches
    return matches[0]


@pytest.fixture(scope="module")
def mer2023_gt(reference: Path) -> dict[str, str]:
    return read_ground_truth("mer2023", reference / "labels/mer2023-dataset-process/label-6way.npz")


@pytest.fixture(scope="module")
def mosi_gt(reference: Path) -> dict[str, float]:
    return read_ground_truth("cmumosi", reference / "labels/cmumosi-process/label.npz")


@pytest.mark.parametrize("epoch", list(MER2023))
def test_mer2023_hit_rate_every_epoch(
    published: Path, mer2023_gt: dict[str, str], mapper: LabelMapper, epoch: int
) -> None:
    predictions = read_predictions(_epoch_file(published, "mer2023", epoch, "-openset")).field_map(
        "ov_labels"
    )
    mean, per_wheel = hit_rate_all_wheels(mer2023_gt, predictions, mapper)
    expected_hit, expected_mscore, hits = MER2023[epoch]
    assert mean.hit_rate == pytest.approx(expected_hit, abs=1e-10)
    assert mean.mscore == pytest.approx(expected_mscore, abs=1e-10)
    assert [s.kept for s in per_wheel] == [323, 323, 323, 323, 305]
    # Full precision: the reported value is exactly numpy's mean of the five per-wheel rates.
    assert mean.hit_rate == float(np.mean([s.hits / s.kept for s in per_wheel]))
    if hits is not None:
        assert tuple(s.hits for s in per_wheel) == hits
        assert mean.hit_rate == float(
            np.mean([h / k for h, k in zip(hits, (323, 323, 323, 323, 305), strict=True)])
        )


def test_mer2023_trace_example(published: Path, mapper: LabelMapper) -> None:
    base = read_predictions(_epoch_file(published, "mer2023", 50, ""))
    openset = read_predictions(_epoch_file(published, "mer2023", 50, "-openset"))
    name = "sample_00001998"
    assert base.records[name].text == "The character's emotional state is concern, worry."
    assert openset.records[name].ov_labels == "[concern, worry]"
    mapped = [mapper.map_cell("[concern, worry]", Metric(3, k, 1)) for k in range(1, 6)]
    assert mapped == [{"scared"}, {"fearful"}, {"scared"}, {"fear"}, {"scared"}]


@pytest.mark.parametrize("epoch", list(MOSI))
def test_cmumosi_waf_every_epoch(published: Path, mosi_gt: dict[str, float], epoch: int) -> None:
    predictions = read_predictions(_epoch_file(published, "cmumosi", epoch, "-openset-sentiment")).field_map(
        "sentiment"
    )
    result = sentiment_scores(mosi_gt, predictions)
    waf, correct, odd, (pos, neg, neu) = MOSI[epoch]
    assert result.kept == 656
    assert result.correct == correct
    assert result.accuracy == correct / 656
    assert result.waf == pytest.approx(waf, abs=1e-10)
    counts = result.prediction_counts
    assert (counts.get("positive"), counts.get("negative"), counts.get("neutral")) == (pos, neg, neu)
    assert {k: v for k, v in counts.items() if k not in ("positive", "negative", "neutral")} == odd
    # Same bits as scikit-learn's weighted F1, which upstream calls.
    names = [n for n in mosi_gt if mosi_gt[n] != 0]
    truth = np.array([mosi_gt[n] > 0 for n in names])
    pred = np.array([sentiment_value(predictions[n]) > 0 for n in names])
    assert result.waf == pytest.approx(f1_score(truth, pred, average="weighted"), abs=1e-15)
    assert result.accuracy == accuracy_score(truth, pred)


#: The OV-MER table row for the example pair, ×100 with two decimals (order: docs/scoring.md, 'Aggregation').
OV_F_PERCENT = [29.12, 32.80, 56.40, 41.98, 57.51, 42.13, 55.40, 44.52, 54.70, 41.91, 52.85, 41.70]

OV_EXPECTED = {  # metric: (F, P, R, kept)
    "M1": (0.2912038895, 0.3338872105, 0.2581966624, 331),
    "M2": (0.3280487459, 0.3565961732, 0.3037332758, 331),
    "M3-W1-L1": (0.5639973406, 0.5754332314, 0.5530071356, 327),
    "M3-W1-L2": (0.4198336630, 0.4654434251, 0.3823649337, 327),
    "M3-W2-L1": (0.5751191580, 0.5937500000, 0.5576219512, 328),
    "M3-W2-L2": (0.4212771673, 0.4649390244, 0.3851117886, 328),
    "M3-W3-L1": (0.5539711695, 0.5414094650, 0.5671296296, 324),
    "M3-W3-L2": (0.4451884657, 0.4424897119, 0.4479203410, 324),
    "M3-W4-L1": (0.5469655914, 0.5563200815, 0.5379204893, 327),
    "M3-W4-L2": (0.4191191846, 0.4335881753, 0.4055846804, 327),
    "M3-W5-L1": (0.5284762753, 0.5300632911, 0.5268987342, 316),
    "M3-W5-L2": (0.4170132639, 0.4306434599, 0.4042194093, 316),
}


@pytest.fixture(scope="module")
def ov_pair(reference: Path) -> tuple[dict[str, str], dict[str, str]]:
    gt = read_ground_truth("ovmerd", reference / "ov_example/check-openset.csv")
    pred = read_predictions(reference / "ov_example/predict-openset.csv").field_map("ov_labels")
    return gt, pred


def test_ov_example_twelve_metrics(
    ov_pair: tuple[dict[str, str], dict[str, str]], mapper: LabelMapper
) -> None:
    gt, pred = ov_pair
    assert len(gt) == 332
    assert sum(1 for v in pred.values() if v in ("", "[]")) == 5
    scores, m_avg = ovmer_twelve(gt, pred, mapper)
    assert [s.metric for s in scores] == list(OV_EXPECTED)
    for score in scores:
        f, p, r, kept = OV_EXPECTED[score.metric]
        assert (score.f, score.precision, score.recall) == pytest.approx((f, p, r), abs=1e-10), score.metric
        assert score.kept == kept
        assert score.f == 2 * (score.precision * score.recall) / (score.precision + score.recall)
    assert m_avg == pytest.approx(0.4591844929, abs=1e-10)
    assert [round(s.f * 100, 2) for s in scores] == OV_F_PERCENT


def test_ov_example_unibench_and_mer2025(
    ov_pair: tuple[dict[str, str], dict[str, str]], mapper: LabelMapper
) -> None:
    gt, pred = ov_pair
    level1 = ov_level_scores(gt, pred, mapper, level=1)
    level2 = ov_level_scores(gt, pred, mapper, level=2)
    assert (level1.f, level1.precision, level1.recall) == pytest.approx(
        (0.5537059070, 0.5593952138, 0.5485155880), abs=1e-10
    )
    assert level2.f == pytest.approx(0.4244863489, abs=1e-10)
    assert mer2025_track2(level1, level2) == pytest.approx(0.4890961279, abs=1e-10)
    # main score = mean of per-wheel F, not F of the mean P and R
    assert level1.f != pytest.approx(
        2 * level1.precision * level1.recall / (level1.precision + level1.recall), abs=1e-6
    )


def test_gpt_grouping_metric(reference: Path, ov_pair: tuple[dict[str, str], dict[str, str]]) -> None:
    raw_gt = dict(pd.read_csv(reference / "ov_example/check-openset.csv").itertuples(index=False, name=None))
    _, pred = ov_pair
    replies = read_grouping_replies(reference / "ov_example/openset-synonym.zip")
    assert replies["sample_00000000"].startswith("[['joyful', 'happy', 'relaxed', 'relieved']")
    score = grouping_metric(raw_gt, pred, replies)
    assert score.samples == 332
    assert score.accuracy == pytest.approx(0.581777108433735, abs=1e-12)
    assert score.recall == pytest.approx(0.4977911646586345, abs=1e-12)
    assert score.avg == pytest.approx(0.5397841365461847, abs=1e-12)
    assert score.f == pytest.approx(0.5365172571242888, abs=1e-12)
