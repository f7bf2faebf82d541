"""Fuzz the text readers: JSONL answers, prediction and label CSVs, manifests, label strings."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ovmer.data import read_ground_truth
from ovmer.data.registry import manifest_samples
from ovmer.labels.parse import string_to_list
from ovmer.labels.wheel import read_format_variants
from ovmer.results import read_predictions
from ovmer.results.jsonl import read_records
from tests.fuzz.conftest import FUZZ, mutated, plain_data, reads_or_refuses

FIELDS = (
    "name",
    "text",
    "ov_labels",
    "sentiment",
    "model",
    "inputs",
    "timings",
    "error",
    "response",
    "other",
)
COLUMNS = (
    "name",
    "openset",
    "video",
    "face",
    "audio",
    "subtitle",
    "labels",
    "description",
    "format",
    "x",
    "",
)

records = st.dictionaries(st.sampled_from(FIELDS), plain_data, max_size=5)
jsonl_text = st.lists(
    records.map(json.dumps) | plain_data.map(json.dumps) | st.text(max_size=30), max_size=5
).map("\n".join)
cells = (
    st.none()
    | st.text(max_size=12)
    | st.integers()
    | st.floats()
    | st.sampled_from(["[a, b]", "['x']", "[", "]", ",", '"'])
)


@st.composite
def csv_tables(draw: st.DrawFn) -> str:
    """A CSV with some of the columns the readers look for, ragged rows sometimes."""
    header = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=4))
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=len(header) + 1), max_size=5))
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(header)
    writer.writerows(["" if c is None else c for c in row] for row in rows)
    return stream.getvalue()


text_files = (
    st.binary(max_size=512)
    | jsonl_text.map(str.encode)
    | csv_tables().map(str.encode)
    | mutated(b'{"name": "a", "ov_labels": ["happy"], "text": "x"}\nname,openset\n"a","[b]"\n')
)


@FUZZ
@given(data=text_files, repair=st.booleans())
def test_jsonl_records(data: bytes, repair: bool, scratch: Path) -> None:
    path = scratch / "answers.jsonl"
    path.write_bytes(data)
    reads_or_refuses(lambda: read_records(path, repair_torn_tail=repair))


@FUZZ
@given(data=text_files, suffix=st.sampled_from([".jsonl", ".csv"]))
def test_prediction_files(data: bytes, suffix: str, scratch: Path) -> None:
    path = scratch / f"pred{suffix}"
    path.write_bytes(data)
    reads_or_refuses(lambda: read_predictions(path))


@FUZZ
@given(data=text_files, dataset=st.sampled_from(["mer2025ov", "ovmerd", "ovmerdplus"]))
def test_open_vocabulary_label_csvs(data: bytes, dataset: str, scratch: Path) -> None:
    path = scratch / "track2_test.csv"
    path.write_bytes(data)
    (scratch / "subtitle_eng.csv").write_bytes(data[::-1])  # OV-MERD+ also reads its test list
    reads_or_refuses(lambda: read_ground_truth(dataset, path))


@FUZZ
@given(data=text_files)
def test_manifests(data: bytes, scratch: Path) -> None:
    path = scratch / "manifest.csv"
    path.write_bytes(data)
    reads_or_refuses(lambda: manifest_samples(path))


@FUZZ
@given(data=text_files)
def test_format_table(data: bytes, scratch: Path) -> None:
    path = scratch / "format.csv"
    path.write_bytes(data)
    reads_or_refuses(lambda: read_format_variants(path))


@FUZZ
@given(value=st.text() | cells | plain_data)
def test_label_strings(value: object) -> None:
    result = reads_or_refuses(lambda: string_to_list(value))
    assert result is None or isinstance(result, list)
