"""Properties of the metric functions (hypothesis), independent of the fixtures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from ovmer.labels.mapping import LabelMapper, Metric
from ovmer.metrics import set_precision_recall, weighted_f1
from ovmer.metrics.grouping import grouping_metric, parse_grouping_reply
from ovmer.metrics.openset import f_from_means


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_weighted_f1_matches_scikit_learn(pairs: list[tuple[bool, bool]]) -> None:
    truth = np.array([t for t, _ in pairs])
    pred = np.array([p for _, p in pairs])
    expected = f1_score(truth, pred, average="weighted", zero_division=0)
    assert weighted_f1(truth, pred) == pytest.approx(expected, abs=1e-15)


@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=40), st.lists(st.integers(0, 3), min_size=1, max_size=40)
)
def test_weighted_f1_multiclass(a: list[int], b: list[int]) -> None:
    n = min(len(a), len(b))
    truth, pred = np.array(a[:n]), np.array(b[:n])
    assert weighted_f1(truth, pred) == pytest.approx(
        f1_score(truth, pred, average="weighted", zero_division=0), abs=1e-15
    )


WORDS = [
    "happy",
    "sad",
    "angry",
    "worried",
    "surprise",
    "neutral",
    "crying",
    "joy",
    "fear",
    "excited",
    "calm",
]


@pytest.mark.filterwarnings("ignore:precision and recall are both 0")
@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from([f"s{i}" for i in range(12)]), st.lists(st.sampled_from(WORDS), max_size=4), min_size=1),
       st.data())  # fmt: skip
def test_set_scores_are_bounded_and_perfect_predictions_score_one(
    mapper: LabelMapper, gt: dict[str, list[str]], data: st.DataObject
) -> None:
    metric = Metric(3, 1, 1)
    gt_cells = {k: "[" + ", ".join(v) + "]" for k, v in gt.items()}
    pred = {k: "[" + ", ".join(data.draw(st.lists(st.sampled_from(WORDS), max_size=4))) + "]" for k in gt}
    score = set_precision_recall(gt_cells, pred, metric, mapper)
    kept = sum(1 for cell in gt_cells.values() if mapper.map_cell(cell, metric))
    assert score.kept == kept
    if kept:
        assert 0 <= score.precision <= 1 and 0 <= score.recall <= 1
        perfect = set_precision_recall(gt_cells, gt_cells, metric, mapper)
        assert perfect.precision == perfect.recall == perfect.f == 1.0
    else:
        assert np.isnan(score.precision)


def test_f_is_nan_when_precision_and_recall_are_zero() -> None:
    with pytest.warns(RuntimeWarning):
        assert np.isnan(f_from_means(0.0, 0.0))


def test_grouping_reply_parser_keeps_upstream_quirks() -> None:
    assert parse_grouping_reply("[['a', 'b'], ['c']]") == [["a", "b"], ["c"]]
    assert parse_grouping_reply("[[happy, joyful]]") == [["happy, joyful"]]
    score = grouping_metric({"x": "[happy]"}, {"x": "[]"}, {"x": "[['happy']]"})
    assert (score.accuracy, score.recall) == (0.0, 0.0)
    score = grouping_metric({"x": "[Happy, sad]"}, {"x": "[joyful]"}, {"x": "[['happy', 'joyful'], ['sad']]"})
    assert (score.accuracy, score.recall) == (1.0, 0.5)
