"""Reading the emotion-wheel tables into the maps the metrics use (docs/scoring.md, 'Emotion-wheel
tables').

Inputs are the seven upstream files (``wheel1.xlsx`` … ``wheel5.xlsx``, ``synonym.xlsx``,
``format.csv``), obtained through :mod:`ovmer.assets`. Outputs, bundled in :class:`WheelMaps`:

* ``wheels[k]`` — wheel *k* (1–5) as ``{level1: {level2: [level3, ...]}}`` in first-seen order;
* ``raw_mapping`` — 1,255 words → the wheel labels they are synonyms of (GPT synonyms, 8 runs);
* ``format_mapping`` — 7,386 word forms → base words of ``raw_mapping``;
* ``clusters[(k, level)]`` — every word of wheel *k* → its level-1 root or level-2 cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ovmer.errors import AssetError
from ovmer.labels.parse import string_to_list

WHEEL_IDS: tuple[int, ...] = (1, 2, 3, 4, 5)
LEVELS: tuple[int, ...] = (1, 2)
SYNONYM_RUNS: int = 8  # synonym.xlsx holds eight GPT runs: word_run1..8 / synonym_run1..8 (docs/scoring.md)

Wheel = dict[str, dict[str, list[str]]]


@dataclass(frozen=True)
class WheelMaps:
    """All emotion-wheel lookup tables, built once and shared by every metric."""

    wheels: dict[int, Wheel]
    raw_mapping: dict[str, list[str]]
    format_mapping: dict[str, list[str]]
    clusters: dict[tuple[int, int], dict[str, str]] = field(default_factory=dict)

    @property
    def wheel_labels(self) -> set[str]:
        """The 253 words that appear anywhere on the five wheels (docs/scoring.md)."""
        return _all_wheel_words(self.wheels.values())


def read_wheel(path: Path) -> Wheel:
    """Read one ``wheelK.xlsx`` with the merged-cell rule: an empty cell repeats the row above.

    All three levels are lower-cased and stripped (cells have mixed case and trailing spaces).
    """
    frame = _read_excel(path)
    _require_columns(frame, path, ("level1", "level2", "level3"))
    wheel: Wheel = {}
    running = {"level1": "", "level2": "", "level3": ""}
    for row in frame[["level1", "level2", "level3"]].to_dict("records"):
        for column in running:
            cell = row[column]
            if not pd.isna(cell):
                running[column] = str(cell)
        level1, level2, level3 = (running[c].lower().strip() for c in ("level1", "level2", "level3"))
        wheel.setdefault(level1, {}).setdefault(level2, []).append(level3)
    return wheel


def _all_wheel_words(wheels: object) -> set[str]:
    words: set[str] = set()
    for wheel in wheels:  # type: ignore[attr-defined]
        for level1, children in wheel.items():
            words.add(level1)
            for level2, leaves in children.items():
                words.add(level2)
                words.update(leaves)
    return words


def read_synonym_runs(path: Path, wheel_labels: set[str]) -> dict[str, list[str]]:
    """Build ``raw_mapping`` from ``synonym.xlsx`` (docs/scoring.md, 'Emotion-wheel tables'): 1,255 keys,
    431 with several targets.

    Each run maps every wheel label to itself and each of its synonyms to it; the eight runs are
    merged left to right, a key present in both becoming the set union of the two lists.
    """
    frame = _read_excel(path)
    merged: dict[str, list[str]] | None = None
    for run in range(1, SYNONYM_RUNS + 1):
        word_column, synonym_column = f"word_run{run}", f"synonym_run{run}"
        _require_columns(frame, path, (word_column, synonym_column))
        run_map: dict[str, list[str]] = {}
        for row_number, (word, synonyms) in enumerate(
            zip(frame[word_column], frame[synonym_column], strict=True), start=2
        ):
            raw = str(word).strip().lower()
            if raw not in wheel_labels:
                raise AssetError(
                    f"{path}: row {row_number}, column {word_column}: {raw!r} is not a word of the emotion "
                    "wheels; the file does not match the pinned upstream version (run `ovmer assets verify`)"
                )
            run_map.setdefault(raw, []).append(raw)
            for synonym in string_to_list(synonyms):
                run_map.setdefault(synonym.strip().lower(), []).append(raw)
        merged = run_map if merged is None else _merge_runs(merged, run_map)
    assert merged is not None
    return merged


def _merge_runs(left: Mapping[str, list[str]], right: Mapping[str, list[str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for key in [*left.keys(), *right.keys()]:
        if key in left and key in right:
            merged[key] = list(set(left[key] + right[key]))
        else:
            merged[key] = list(left[key]) if key in left else list(right[key])
    return merged


def read_format_variants(path: Path) -> dict[str, list[str]]:
    """Build ``format_mapping`` from ``format.csv`` (docs/scoring.md, 'Emotion-wheel tables'): 7,386 keys,
    887 with several bases.

    Read with pandas defaults on purpose: the reference reads it that way, so the same cells become
    NaN (→ ``""``) as upstream.
    """
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise AssetError(f"{path}: cannot read CSV ({exc}); run `ovmer assets verify`") from exc
    _require_columns(frame, path, ("name", "format"))
    mapping: dict[str, list[str]] = {}
    for name, variants in zip(frame["name"], frame["format"], strict=True):
        base = "" if pd.isna(name) else name
        for variant in string_to_list("" if pd.isna(variants) else variants):
            mapping.setdefault(variant, []).append(base)
        mapping.setdefault(base, []).append(base)
    return mapping


def wheel_cluster(wheel: Wheel, level: int) -> dict[str, str]:
    """Map every word of ``wheel`` to its cluster at ``level`` (docs/scoring.md, 'Emotion-wheel tables').

    Level 1: every word → its level-1 root. Level 2: level-2 words → themselves, level-3 words → their
    parent, and level-1 words → their alphabetically first level-2 child. Words that occur in several
    places keep the last write of the nested level1 → level2 → level3 walk, as upstream.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be 1 or 2, got {level}")
    cluster: dict[str, str] = {}
    for level1, children in wheel.items():
        cluster[level1] = level1 if level == 1 else sorted(children)[0]
        for level2, leaves in children.items():
            target = level1 if level == 1 else level2
            cluster[level2] = target
            for level3 in leaves:
                cluster[level3] = target
    return cluster


def build_wheel_maps(directory: Path) -> WheelMaps:
    """Build every map from a directory holding the seven emotion-wheel files."""
    directory = Path(directory)
    wheels = {k: read_wheel(directory / f"wheel{k}.xlsx") for k in WHEEL_IDS}
    raw_mapping = read_synonym_runs(directory / "synonym.xlsx", _all_wheel_words(wheels.values()))
    format_mapping = read_format_variants(directory / "format.csv")
    clusters = {(k, level): wheel_cluster(wheels[k], level) for k in WHEEL_IDS for level in LEVELS}
    return WheelMaps(wheels=wheels, raw_mapping=raw_mapping, format_mapping=format_mapping, clusters=clusters)


def _read_excel(path: Path) -> pd.DataFrame:
    try:
        return pd.read_excel(path, engine="openpyxl")
    except FileNotFoundError as exc:
        raise AssetError(f"{path}: file not found; run `ovmer assets fetch` or pass --assets DIR") from exc
    # openpyxl raises almost anything on a damaged file (zip, XML, cell values that overflow): none
    # of it may escape as a traceback. The shipped files are checked by SHA-256 before this.
    except Exception as exc:
        raise AssetError(f"{path}: cannot read spreadsheet ({exc}); run `ovmer assets verify`") from exc


def _require_columns(frame: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AssetError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
