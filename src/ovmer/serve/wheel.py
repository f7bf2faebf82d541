"""OV labels placed on emotion wheel 1, for the page's chart.

Each label is mapped the way the M3-W1 metrics map it (synonyms and word forms, then the wheel's
level-1 root and level-2 cluster: :class:`ovmer.labels.mapping.LabelMapper`), so the chart shows
what scoring would count. Wheel 1 has 6 roots (docs/scoring.md, 'Emotion-wheel tables').
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ovmer.labels.mapping import LabelMapper, Metric
from ovmer.labels.wheel import WheelMaps

#: The wheel the chart draws (the first of the five; any would do, the metrics use all).
CHART_WHEEL = 1


def wheel_layout(maps: WheelMaps) -> dict[str, list[str]]:
    """Wheel 1 as ``{root: [level-2 clusters]}`` in the table's order (the chart's sectors)."""
    return {root: list(clusters) for root, clusters in maps.wheels[CHART_WHEEL].items()}


def place_labels(labels: Iterable[str], mapper: LabelMapper) -> list[dict[str, Any]]:
    """``[{"label", "root", "cluster"}]``: each label's wheel-1 root and level-2 cluster, or None
    where the label maps to nothing on the wheel."""
    level1, level2 = Metric(3, CHART_WHEEL, 1), Metric(3, CHART_WHEEL, 2)
    return [
        {"label": label, "root": mapper.map_label(label, level1), "cluster": mapper.map_label(label, level2)}
        for label in labels
    ]
