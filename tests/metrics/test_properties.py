"""Properties of the metric functions (hypothesis), independent of the fixtures.

Expected set scores come from the emotion-wheel tables read here with openpyxl and csv and the
mapping rule of docs/scoring.md ('Label mapping'), never from ``ovmer.labels``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import openpyxl
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


class WheelTables:
    """Level-1 roots straight from the seven files, by the documented rule: a label's word forms
    (format.csv) give base words, each base word its wheel labels (itself if a wheel word, and the
    wheel words it is a synonym of in any run of synonym.xlsx); the alphabetically first of them that
    wheel k knows goes to its level-1 root (a word in several rows: the last row)."""

    def __init__(self, wheel_dir: Path) -> None:
        self.base_words: dict[str, set[str]] = {}
        with open(wheel_dir / "format.csv", newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                for form in [row["name"], *row["format"].split(",")]:
                    if form.strip():
                        self.base_words.setdefault(form.strip().lower(), set()).add(
                            row["name"].strip().lower()
                        )
        self.wheel_labels: dict[str, set[str]] = {}
        rows = self._rows(wheel_dir / "synonym.xlsx")[1:]
        for row in rows:
            for word, synonyms in zip(row[0::2], row[1::2], strict=True):
                if word is None:
                    continue
                word = str(word).strip().lower()
                for key in [word, *str(synonyms or "").split(",")]:
                    if key.strip():
                        self.wheel_labels.setdefault(key.strip().lower(), set()).add(word)
        self.roots: dict[int, dict[str, str]] = {}
        for wheel in range(1, 6):
            running: list[object] = [None, None, None]
            roots = self.roots[wheel] = {}
            for row in self._rows(wheel_dir / f"wheel{wheel}.xlsx")[1:]:
                running = [
                    cell if cell is not None else above for cell, above in zip(row, running, strict=True)
                ]
                level1, level2, level3 = (str(cell).strip().lower() for cell in running)
                roots.update({level1: level1, level2: level1, level3: level1})

    @staticmethod
    def _rows(path: Path) -> list[tuple[object, ...]]:
        return list(openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True))

    def root(self, label: str, wheel: int) -> str | None:
        labels = {w for base in self.base_words.get(label, ()) for w in self.wheel_labels.get(base, ())}
        return next((self.roots[wheel][w] for w in sorted(labels) if w in self.roots[wheel]), None)

    def roots_of(self, labels: list[str], wheel: int) -> set[str]:
        return {root for label in labels if (root := self.root(label, wheel)) is not None}


@pytest.fixture(scope="module")
def tables(wheel_dir: Path) -> WheelTables:
    return WheelTables(wheel_dir)


def test_the_tables_give_the_documented_first_alphabetical_hits(tables: WheelTables) -> None:
    # docs/scoring.md: fear -> wheel-2 happy (via courageous), happy -> wheel-5 powerful,
    # surprise -> wheel-4 fear, neutral -> nothing on any wheel
    assert (tables.root("fear", 2), tables.root("happy", 5), tables.root("surprise", 4)) == (
        "happy",
        "powerful",
        "fear",
    )
    assert [tables.root("neutral", wheel) for wheel in range(1, 6)] == [None] * 5


def test_level1_mapping_of_every_word_form_is_the_tables(mapper: LabelMapper, tables: WheelTables) -> None:
    for wheel in range(1, 6):
        metric = Metric(3, wheel, 1)
        mapped = {form: set(mapper.map_cell(f"[{form}]", metric)) for form in tables.base_words}
        assert mapped == {form: tables.roots_of([form], wheel) for form in tables.base_words}


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
    "Relieved ",  # case and spaces are normalised
    "furniture",  # no word form of the tables
]


@pytest.mark.filterwarnings("ignore:precision and recall are both 0")
@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from([f"s{i}" for i in range(12)]), st.lists(st.sampled_from(WORDS), max_size=4), min_size=1),
       st.integers(1, 5), st.data())  # fmt: skip
def test_set_scores_are_the_overlaps_of_the_mapped_sets(
    mapper: LabelMapper, tables: WheelTables, gt: dict[str, list[str]], wheel: int, data: st.DataObject
) -> None:
    metric = Metric(3, wheel, 1)
    pred = {k: data.draw(st.lists(st.sampled_from(WORDS), max_size=4)) for k in gt}
    score = set_precision_recall(
        {k: "[" + ", ".join(v) + "]" for k, v in gt.items()},
        {k: "[" + ", ".join(v) + "]" for k, v in pred.items()},
        metric,
        mapper,
    )
    precisions, recalls, empty = [], [], 0
    for name, labels in gt.items():  # docs/scoring.md, 'Set-level P / R / F'
        g = tables.roots_of([label.strip().lower() for label in labels], wheel)
        p = tables.roots_of([label.strip().lower() for label in pred[name]], wheel)
        if not g:
            continue
        empty += not p
        precisions.append(len(g & p) / len(p) if p else 0.0)
        recalls.append(len(g & p) / len(g) if p else 0.0)
    assert (score.kept, score.empty_predictions) == (len(precisions), empty)
    if precisions:
        assert score.precision == pytest.approx(float(np.mean(precisions)), abs=1e-15)
        assert score.recall == pytest.approx(float(np.mean(recalls)), abs=1e-15)
        perfect = set_precision_recall(
            {k: "[" + ", ".join(v) + "]" for k, v in gt.items()},
            {k: "[" + ", ".join(v) + "]" for k, v in gt.items()},
            metric,
            mapper,
        )
        assert perfect.precision == perfect.recall == perfect.f == 1.0
    else:
        assert np.isnan(score.precision) and np.isnan(score.recall)


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
