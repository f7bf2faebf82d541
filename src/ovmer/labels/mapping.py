"""Mapping labels onto base words and emotion-wheel clusters (docs/scoring.md, 'Label mapping (M1, M2, M3)').

Three metric families, names kept from the papers because users search for them:

* **M1** (upstream ``case1``): a word form → its alphabetically first base word;
* **M2** (``case2``): that base word → its alphabetically first wheel label;
* **M3-Wk-Lj** (``case3_wheelk_levelj``): all wheel labels of all base words, sorted, and the first
  one that wheel *k* knows → its level-*j* cluster.

A label unknown to ``format_mapping`` (``neutral``, ``crying``) is dropped. A list maps item by item
to a *set*. Results are memoised per (label, metric) and per (label string, metric): thousands of
samples share a few hundred distinct strings, which makes scoring a whole benchmark sub-second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ovmer.labels.parse import string_to_list
from ovmer.labels.wheel import LEVELS, WHEEL_IDS, WheelMaps


@dataclass(frozen=True, order=True)
class Metric:
    """One label-mapping metric. ``wheel``/``level`` are set only for the M3 family."""

    family: int  # 1, 2 or 3 (M1, M2, M3)
    wheel: int = 0
    level: int = 0

    def __post_init__(self) -> None:
        if self.family not in (1, 2, 3):
            raise ValueError(f"metric family must be 1, 2 or 3, got {self.family}")
        if self.family == 3 and (self.wheel not in WHEEL_IDS or self.level not in LEVELS):
            raise ValueError(f"M3 needs wheel in 1..5 and level in 1..2, got W{self.wheel} L{self.level}")

    @property
    def name(self) -> str:
        """Paper name: ``M1``, ``M2`` or ``M3-W1-L1``."""
        return f"M{self.family}" if self.family < 3 else f"M3-W{self.wheel}-L{self.level}"

    @property
    def short_name(self) -> str:
        """Key used in ovmer JSON outputs: ``M1``, ``M2``, ``W1L1`` … ``W5L2``."""
        return f"M{self.family}" if self.family < 3 else f"W{self.wheel}L{self.level}"

    @property
    def upstream_name(self) -> str:
        """Name in the reference code: ``case1``, ``case2``, ``case3_wheel1_level1``."""
        return f"case{self.family}" if self.family < 3 else f"case3_wheel{self.wheel}_level{self.level}"

    @classmethod
    def parse(cls, text: str) -> Metric:
        """Accept any of the three spellings (``M3-W2-L1``, ``W2L1``, ``case3_wheel2_level1``)."""
        for metric in all_metrics():
            if text in (metric.name, metric.short_name, metric.upstream_name):
                return metric
        raise ValueError(f"unknown metric {text!r}; expected one of {metric_names()}")


def wheel_metrics(level: int) -> list[Metric]:
    """M3-W1-Lj … M3-W5-Lj, in wheel order."""
    return [Metric(3, wheel, level) for wheel in WHEEL_IDS]


def all_metrics() -> list[Metric]:
    """The twelve OV-MER metrics in the paper's column order (docs/scoring.md, 'Aggregation')."""
    metrics = [Metric(1), Metric(2)]
    for wheel in WHEEL_IDS:
        metrics += [Metric(3, wheel, 1), Metric(3, wheel, 2)]
    return metrics


def metric_names() -> list[str]:
    """Paper names of the twelve metrics."""
    return [m.name for m in all_metrics()]


class LabelMapper:
    """Maps labels and label strings under a metric, with memoisation. Not thread-safe by design
    (each worker builds its own; building costs microseconds once the maps are loaded)."""

    def __init__(self, maps: WheelMaps) -> None:
        self.maps = maps
        # One dict per metric keyed by plain strings: hashing a (str, Metric) tuple per lookup costs
        # more than the lookup itself when scoring ~10^5 cells.
        self._label_cache: dict[Metric, dict[str, str | None]] = {}
        self._string_cache: dict[Metric, _CellTable] = {}
        self._parse_cache: dict[str, list[str]] = {}

    def map_label(self, label: str, metric: Metric) -> str | None:
        """Map one lower-cased, stripped label; ``None`` means the label is dropped."""
        cache = self._label_cache.get(metric)
        if cache is None:
            cache = self._label_cache[metric] = {}
        try:
            return cache[label]
        except KeyError:
            result = cache[label] = self._map_label_uncached(label, metric)
            return result

    def _map_label_uncached(self, label: str, metric: Metric) -> str | None:
        bases = self.maps.format_mapping.get(label)
        if bases is None:
            return None
        if metric.family == 1:
            return sorted(bases)[0]
        if metric.family == 2:
            return sorted(self.maps.raw_mapping[sorted(bases)[0]])[0]
        cluster = self.maps.clusters[(metric.wheel, metric.level)]
        candidates = [wheel_label for base in bases for wheel_label in self.maps.raw_mapping[base]]
        for wheel_label in sorted(candidates):
            if wheel_label in cluster:
                return cluster[wheel_label]
        return None

    def map_items(self, items: Iterable[str], metric: Metric, *, normalise: bool = True) -> frozenset[str]:
        """Map a list of labels to the set of their clusters. ``normalise`` lower-cases and strips
        each item first, as the metric code does after ``string_to_list``."""
        cache = self._label_cache.get(metric)
        if cache is None:
            cache = self._label_cache[metric] = {}
        mapped = set()
        for item in items:
            label = item.lower().strip() if normalise else item
            try:
                result = cache[label]
            except KeyError:
                result = cache[label] = self._map_label_uncached(label, metric)
            if result is not None:
                mapped.add(result)
        return frozenset(mapped)

    def map_cell(self, cell: Any, metric: Metric) -> frozenset[str]:
        """``string_to_list`` + lower/strip + map, memoised per distinct string cell."""
        if isinstance(cell, str):
            return self.cell_mapper(metric)(cell)
        return self.map_items(string_to_list(cell), metric)

    def cell_mapper(self, metric: Metric) -> Callable[[Any], frozenset[str]]:
        """A fast ``cell → mapped set`` function for one metric (for loops over many samples).

        Backed by a dict whose ``__missing__`` computes and stores a result, so a hit is one lookup.
        """
        table = self._string_cache.get(metric)
        if table is None:
            table = self._string_cache[metric] = _CellTable(self, metric)
        return table.lookup

    def parse(self, cell: str) -> list[str]:
        """``string_to_list`` memoised per string (so a warning about a cell is logged once)."""
        items = self._parse_cache.get(cell)
        if items is None:
            items = self._parse_cache[cell] = string_to_list(cell)
        return items


class _CellTable(dict):
    """Memo of ``cell → mapped set`` for one metric; misses are computed by ``__missing__``."""

    def __init__(self, mapper: LabelMapper, metric: Metric) -> None:
        super().__init__()
        self.mapper = mapper
        self.metric = metric

    def __missing__(self, cell: Any) -> frozenset[str]:
        if isinstance(cell, str):
            result = self[cell] = self.mapper.map_items(self.mapper.parse(cell), self.metric)
            return result
        return self.mapper.map_items(string_to_list(cell), self.metric)

    def lookup(self, cell: Any) -> frozenset[str]:
        try:
            return self[cell]
        except TypeError:  # unhashable cell: a list of labels from JSONL
            return self.mapper.map_items(string_to_list(cell), self.metric)
