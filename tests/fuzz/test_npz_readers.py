"""Fuzz the ``.npz``/``.npy`` readers: label files, prediction archives, face arrays, grouping replies."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ovmer.data import read_ground_truth
from ovmer.media.inputs import read_face_array
from ovmer.metrics.grouping import read_grouping_replies
from ovmer.results import read_predictions
from tests.fuzz.conftest import FUZZ, mutated, plain_data, reads_or_refuses

DATASETS = ("mer2023", "meld", "iemocap", "cmumosi")
KEYS = (
    "test1_corpus",
    "test_corpus",
    "val_corpus",
    "whole_corpus",
    "filenames",
    "fileitems",
    "name2reason",
    "x",
)

plain_arrays = hnp.arrays(
    dtype=st.sampled_from(["<U8", "<i8", "<f4", "|b1", "|u1", "<c8", "|S4", "<M8[D]"]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3),
)


def _object_array(value: object) -> np.ndarray:
    array = np.empty((), dtype=object)
    array[()] = value
    return array


#: What an archive member may hold: plain arrays, or pickled plain data (as upstream label files).
member_arrays = plain_arrays | plain_data.map(_object_array)


def _valid_label_file() -> bytes:
    stream = io.BytesIO()
    corpus = {"sample_1": {"emo": "happy", "val": 1.0}, "sample_2": {"emo": 2, "val": -0.5}}
    np.savez_compressed(stream, test1_corpus=_object_array(corpus), test_corpus=_object_array(corpus))
    return stream.getvalue()


def _valid_openset_file() -> bytes:
    stream = io.BytesIO()
    np.savez_compressed(
        stream, filenames=np.array(["a", "b"]), fileitems=np.array(["[happy]", "[sad, calm]"])
    )
    return stream.getvalue()


def _write_npz(path: Path, members: dict[str, np.ndarray]) -> Path:
    with open(path, "wb") as handle:
        np.savez(handle, **members)  # pickles object arrays, as upstream's writer does
    return path


def _read_all_ways(path: Path) -> None:
    for dataset in DATASETS:
        reads_or_refuses(lambda dataset=dataset: read_ground_truth(dataset, path))
        reads_or_refuses(lambda dataset=dataset: read_ground_truth(dataset, path, split="val"))


npz_bytes = st.binary(max_size=1024) | mutated(_valid_label_file()) | mutated(_valid_openset_file())


@FUZZ
@given(data=npz_bytes)
def test_label_files_from_bytes(data: bytes, scratch: Path) -> None:
    path = scratch / "label.npz"
    path.write_bytes(data)
    _read_all_ways(path)


@FUZZ
@given(members=st.dictionaries(st.sampled_from(KEYS), member_arrays, max_size=3))
def test_label_files_with_odd_content(members: dict[str, np.ndarray], scratch: Path) -> None:
    _read_all_ways(_write_npz(scratch / "label.npz", members))


@FUZZ
@given(data=npz_bytes, suffix=st.sampled_from(["", "-openset", "-openset-sentiment"]))
def test_prediction_archives_from_bytes(data: bytes, suffix: str, scratch: Path) -> None:
    path = scratch / f"ckpt{suffix}.npz"
    path.write_bytes(data)
    reads_or_refuses(lambda: read_predictions(path))
    path.unlink()


@FUZZ
@given(
    members=st.dictionaries(st.sampled_from(KEYS), member_arrays, max_size=3),
    suffix=st.sampled_from(["", "-openset", "-openset-sentiment"]),
)
def test_prediction_archives_with_odd_content(
    members: dict[str, np.ndarray], suffix: str, scratch: Path
) -> None:
    path = _write_npz(scratch / f"ckpt{suffix}.npz", members)
    reads_or_refuses(lambda: read_predictions(path))
    path.unlink()


@FUZZ
@given(payload=st.binary(max_size=256) | plain_data.map(lambda v: pickle.dumps(v, protocol=2)))
def test_pickled_members_with_hostile_or_odd_payloads(payload: bytes, scratch: Path) -> None:
    """Raw pickle bytes after a valid object-array header: the allow-list unpickler's input."""
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        stream, np.lib.format.header_data_from_array_1_0(_object_array(None))
    )
    path = scratch / "label.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("test1_corpus.npy", stream.getvalue() + payload)
    reads_or_refuses(lambda: read_ground_truth("mer2023", path))


def _valid_face_array() -> bytes:
    stream = io.BytesIO()
    np.save(stream, np.zeros((2, 4, 4, 3), dtype=np.uint8))
    return stream.getvalue()


@FUZZ
@given(
    data=st.binary(max_size=512) | mutated(_valid_face_array()) | plain_arrays.map(lambda a: _npy(a)),
    mmap=st.booleans(),
)
def test_face_arrays(data: bytes, mmap: bool, scratch: Path) -> None:
    path = scratch / "face.npy"
    path.write_bytes(data)
    reads_or_refuses(lambda: read_face_array(path, mmap=mmap))


def _npy(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=False)
    return stream.getvalue()


@FUZZ
@given(
    members=st.dictionaries(
        st.sampled_from(["a.npy", "b.npy", "c.txt"]),
        st.binary(max_size=200) | plain_arrays.map(_npy),
        max_size=3,
    )
)
def test_grouping_reply_archives(members: dict[str, bytes], scratch: Path) -> None:
    path = scratch / "replies.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    reads_or_refuses(lambda: read_grouping_replies(path))
