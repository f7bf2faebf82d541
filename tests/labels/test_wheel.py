"""Emotion-wheel maps against the upstream files' contents (docs/scoring.md, 'Emotion-wheel tables')."""

from __future__ import annotations

from ovmer.labels.wheel import WheelMaps


def test_map_sizes(maps: WheelMaps) -> None:
    assert len(maps.wheel_labels) == 253
    assert len(maps.raw_mapping) == 1255
    assert sum(len(set(v)) > 1 for v in maps.raw_mapping.values()) == 431
    assert len(maps.format_mapping) == 7386
    assert sum(len(set(v)) > 1 for v in maps.format_mapping.values()) == 887
    for level in (1, 2):
        assert [len(maps.clusters[(k, level)]) for k in range(1, 6)] == [114, 126, 78, 102, 77]


def test_wheel_shapes_and_roots(maps: WheelMaps) -> None:
    roots = {
        1: ["mad", "disgusted", "sad", "happy", "surprised", "scared"],
        2: ["fearful", "angry", "disgusted", "sad", "surprised", "happy", "bad"],
        3: ["mad", "scared", "joyful", "powerful", "peaceful", "sad"],
        4: ["joy", "genius", "anger", "sad", "fear", "disgust"],
        5: ["mad", "scared", "sad", "peaceful", "powerful", "joyful"],
    }
    level2_counts = {1: 36, 2: 41, 3: 36, 4: 48, 5: 36}
    level3_counts = {1: 72, 2: 82, 3: 36, 4: 48, 5: 36}
    for k, wheel in maps.wheels.items():
        assert list(wheel) == roots[k]
        assert sum(len(children) for children in wheel.values()) == level2_counts[k]
        assert (
            sum(len(leaves) for children in wheel.values() for leaves in children.values())
            == level3_counts[k]
        )


def test_level1_words_go_to_alphabetically_first_child(maps: WheelMaps) -> None:
    expected = {
        1: dict(
            mad="aggressive",
            disgusted="avoiding",
            sad="depressed",
            happy="accepted",
            surprised="amazed",
            scared="anxious",
        ),
        2: dict(
            fearful="anxious",
            angry="aggressive",
            disgusted="awful",
            sad="depressed",
            surprised="amazed",
            happy="accepted",
            bad="bored",
        ),
        3: dict(
            mad="angry",
            scared="anxious",
            joyful="cheerful",
            powerful="appreciated",
            peaceful="content",
            sad="ashamed",
        ),
        4: dict(
            joy="acceptance",
            genius="attentive",
            anger="aggressive",
            sad="bored",
            fear="busy",
            disgust="avoidance",
        ),
        5: dict(
            mad="angry",
            scared="anxious",
            sad="ashamed",
            peaceful="content",
            powerful="appreciated",
            joyful="aware",
        ),
    }
    for k, assignments in expected.items():
        for word, child in assignments.items():
            assert maps.clusters[(k, 2)][word] == child, (k, word)
            assert maps.clusters[(k, 1)][word] == word


def test_neutral_is_in_no_map(maps: WheelMaps) -> None:
    assert "neutral" not in maps.raw_mapping
    assert "neutral" not in maps.format_mapping
    assert "don’t care" in maps.wheel_labels  # curly apostrophe kept
