"""Emotion-label machinery: parsing label strings and mapping them onto emotion wheels.

Docs: docs/scoring.md, 'Label mapping (M1, M2, M3)' and 'Emotion-wheel tables'. Everything here
reproduces the reference implementation exactly, quirks included, because the published MER-UniBench
and OV-MER numbers depend on them.
"""

from ovmer.labels.mapping import LabelMapper, Metric, metric_names
from ovmer.labels.parse import string_to_list
from ovmer.labels.wheel import WheelMaps, build_wheel_maps

__all__ = ["LabelMapper", "Metric", "WheelMaps", "build_wheel_maps", "metric_names", "string_to_list"]
