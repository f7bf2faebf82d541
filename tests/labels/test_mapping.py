"""Label mapping fixtures (docs/scoring.md, 'Label mapping (M1, M2, M3)' and 'Quirks kept on purpose')."""

from __future__ import annotations

import pytest

from ovmer.labels.mapping import LabelMapper, Metric, all_metrics, metric_names

_ = None
# label: (M1, M2, L1 for W1..W5, L2 for W1..W5); None = dropped
FIXTURES = {
    "angry": (
        "anger",
        "anger",
        ["mad", "angry", "mad", "anger", "mad"],
        ["anger", "aggressive", "angry", "aggressive", "angry"],
    ),
    "happy": (
        "happiness",
        "joy",
        ["happy", "happy", "joyful", "joy", "powerful"],
        ["joyful", "content", "cheerful", "acceptance", "proud"],
    ),
    "joy": (
        "joy",
        "joy",
        ["happy", "happy", "joyful", "joy", "powerful"],
        ["accepted", "accepted", "cheerful", "acceptance", "proud"],
    ),
    "sad": (
        "sad",
        "depressed",
        ["sad"] * 5,
        ["depressed", "depressed", "depressed", "disappointed", "depressed"],
    ),
    "worried": (
        "worried",
        "anxious",
        ["scared", "fearful", "scared", "fear", "scared"],
        ["anxious", "anxious", "anxious", "worried", "anxious"],
    ),
    "surprise": (
        "surprised",
        "amazed",
        ["surprised", "surprised", "powerful", "fear", _],
        ["amazed", "amazed", "aware", "surprised", _],
    ),
    "disgust": (
        "disgust",
        "disgust",
        ["disgusted", "disgusted", _, "disgust", _],
        ["avoiding", "awful", _, "avoidance", _],
    ),
    "fear": (
        "fear",
        "fear",
        ["scared", "happy", "joyful", "genius", "joyful"],
        ["fearful", "powerful", "excited", "embodied", "excited"],
    ),
    "concern": (
        "concern",
        "care",
        ["scared", "fearful", "scared", "fear", "scared"],
        ["anxious", "anxious", "anxious", "worried", "anxious"],
    ),
    "worry": (
        "worried",
        "anxious",
        ["scared", "fearful", "scared", "fear", "scared"],
        ["anxious", "anxious", "anxious", "worried", "anxious"],
    ),
    "frustrated": (
        "frustrated",
        "disappointed",
        ["sad", "sad", "mad", "sad", "mad"],
        ["hurt", "hurt", "angry", "disappointed", "angry"],
    ),
    "excited": (
        "excitable",
        "manic",
        ["surprised", "happy", "joyful", "genius", "joyful"],
        ["excited", "playful", "excited", "creative", "excited"],
    ),
    "helpless": (
        "helpless",
        "helpless",
        ["sad", "fearful", "scared", _, "scared"],
        ["in my feelings", "scared", "helpless", _, "helpless"],
    ),
    "relieved": ("relief", "relief", ["happy", _, _, "joy", _], ["joyful", _, _, "acceptance", _]),
    "crying": (_, _, [_] * 5, [_] * 5),
    "neutral": (_, _, [_] * 5, [_] * 5),
}


@pytest.mark.parametrize("label", list(FIXTURES))
def test_mapping_fixture(mapper: LabelMapper, label: str) -> None:
    m1, m2, level1, level2 = FIXTURES[label]
    assert mapper.map_label(label, Metric(1)) == m1
    assert mapper.map_label(label, Metric(2)) == m2
    assert [mapper.map_label(label, Metric(3, k, 1)) for k in range(1, 6)] == level1
    assert [mapper.map_label(label, Metric(3, k, 2)) for k in range(1, 6)] == level2


def test_basic_labels_level1(mapper: LabelMapper) -> None:
    for label in ("anger", "sadness"):
        assert [mapper.map_label(label, Metric(3, k, 1)) for k in range(1, 6)] == [
            mapper.map_label(label.replace("sadness", "sad").replace("anger", "angry"), Metric(3, k, 1))
            for k in range(1, 6)
        ]


def test_cells_map_to_sets_after_lowercase_and_strip(mapper: LabelMapper) -> None:
    metric = Metric(3, 1, 1)
    assert mapper.map_cell("[Concern,  WORRY ]", metric) == frozenset({"scared"})
    assert mapper.map_cell("[crying, neutral]", metric) == frozenset()
    assert mapper.map_cell(["Happy", "sad"], metric) == frozenset({"happy", "sad"})


def test_metric_names_and_parsing() -> None:
    assert metric_names() == ["M1", "M2"] + [f"M3-W{k}-L{j}" for k in range(1, 6) for j in (1, 2)]
    for metric in all_metrics():
        assert (
            Metric.parse(metric.name)
            == metric
            == Metric.parse(metric.upstream_name)
            == Metric.parse(metric.short_name)
        )
    with pytest.raises(ValueError, match="unknown metric"):
        Metric.parse("M4")
    with pytest.raises(ValueError):
        Metric(3, 6, 1)
