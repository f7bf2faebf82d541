"""Hostile or broken user files give one-line ovmer errors naming the file, never a traceback, and
never run code or fill the memory (docs/security.md)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.data import read_ground_truth
from ovmer.errors import EnvironmentVariableError, InputFormatError
from ovmer.metrics.grouping import read_grouping_replies
from ovmer.results import read_predictions
from ovmer.safe_pickle import MAX_MEMBER_BYTES_VARIABLE, load_npz_key, max_member_bytes

runner = CliRunner()

MER2023_GT = "labels/mer2023-dataset-process/label-6way.npz"


@pytest.fixture
def assets_env(wheel_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OVMER_ASSETS_DIR", str(wheel_dir))
    return wheel_dir


def _score(reference: Path, pred: Path) -> str:
    result = runner.invoke(
        app, ["score", "--dataset", "mer2023", "--gt", str(reference / MER2023_GT), "--pred", str(pred)]
    )
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())  # unwrap the console's line breaks


def _npy_with_pickle(payload: bytes) -> bytes:
    """A ``.npy`` of a 0-d object array whose pickle is ``payload`` (as upstream label files)."""
    stream = io.BytesIO()
    header = npy_format.header_data_from_array_1_0(np.array(None, dtype=object))
    npy_format.write_array_header_1_0(stream, header)
    return stream.getvalue() + payload


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# ---------------------------------------------------------------- object arrays in -openset.npz
@pytest.fixture
def object_openset(tmp_path: Path) -> Path:
    path = tmp_path / "ckpt-openset.npz"
    names, items = np.array(["sample_00000001"], dtype=object), np.array(["[happy]"], dtype=object)
    np.savez_compressed(path, filenames=names, fileitems=items)
    return path


def test_object_arrays_in_an_openset_file_are_an_input_error(object_openset: Path) -> None:
    with pytest.raises(InputFormatError, match=rf"{object_openset}: key 'filenames': is a NumPy object"):
        read_predictions(object_openset)


@pytest.mark.usefixtures("assets_env")
def test_score_and_convert_name_an_openset_file_with_object_arrays(
    object_openset: Path, reference: Path, tmp_path: Path
) -> None:
    assert f"{object_openset}: key 'filenames': is a NumPy object" in _score(reference, object_openset)
    converted = runner.invoke(app, ["convert", str(object_openset), str(tmp_path / "out.jsonl")])
    assert converted.exit_code == 2 and "is a NumPy object" in converted.output


@pytest.mark.usefixtures("assets_env")
def test_score_names_a_prediction_jsonl_that_is_not_utf8(reference: Path, tmp_path: Path) -> None:
    path = tmp_path / "pred.jsonl"
    path.write_bytes(b'{"name": "sample_00000001", "ov_labels": "caf\xe9"}\n')
    assert f"{path}: not UTF-8 text" in _score(reference, path)


# ---------------------------------------------------------------- the allow-listed unpickler
@pytest.mark.usefixtures("assets_env")
def test_allowed_type_called_with_bad_arguments_is_an_input_error(reference: Path, tmp_path: Path) -> None:
    """``dict(5)``: an allowed global, a TypeError when called; must not escape as a traceback."""
    payload = b"\x80\x02cbuiltins\ndict\nK\x05\x85R."  # dict((5,))
    path = _zip(tmp_path / "label-6way.npz", {"test1_corpus.npy": _npy_with_pickle(payload)})
    with pytest.raises(InputFormatError, match=rf"{path}: key 'test1_corpus' holds pickled data .*TypeError"):
        read_ground_truth("mer2023", path)
    result = runner.invoke(app, ["score", "--dataset", "mer2023", "--gt", str(path), "--pred", str(path)])
    assert result.exit_code == 2 and "holds pickled data ovmer will not load" in result.output


def test_a_label_file_that_would_run_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    payload = b"\x80\x02cbuiltins\nopen\nX" + len(str(marker)).to_bytes(4, "little") + str(marker).encode()
    payload += b"X\x01\x00\x00\x00w\x86R."  # open(marker, "w")
    path = _zip(tmp_path / "label.npz", {"test1_corpus.npy": _npy_with_pickle(payload)})
    with pytest.raises(InputFormatError, match=r"global builtins\.open is not allowed"):
        load_npz_key(path, "test1_corpus")
    assert not marker.exists()


# ---------------------------------------------------------------- bounded reading
def _bomb(path: Path, size: int) -> Path:
    """A small ``-openset.npz`` whose ``filenames`` member inflates to about ``size`` bytes."""
    stream = io.BytesIO()
    np.save(stream, np.zeros(size // 4, dtype="<U1"))  # UTF-32 zeros: deflates ~1000:1
    return _zip(path, {"filenames.npy": stream.getvalue(), "fileitems.npy": stream.getvalue()})


def test_a_member_declared_larger_than_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _bomb(tmp_path / "bomb-openset.npz", 4 * 1024 * 1024)
    assert path.stat().st_size < 20_000
    monkeypatch.setenv(MAX_MEMBER_BYTES_VARIABLE, "1M")
    with pytest.raises(
        InputFormatError, match=rf"{path}: member 'filenames.npy' declares \d+ bytes, over the limit"
    ):
        read_predictions(path)
    monkeypatch.delenv(MAX_MEMBER_BYTES_VARIABLE)
    assert len(read_predictions(path).records) == 1  # within the default limit: read (one empty name)


def test_a_member_that_inflates_past_its_declared_size_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory may lie: reading stops at the declared size and the archive is called corrupt."""
    path = _bomb(tmp_path / "liar-openset.npz", 4 * 1024 * 1024)
    data = bytearray(path.read_bytes())
    real = (4 * 1024 * 1024 // 4) * 4 + 128  # np.save header included
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.find(signature)  # the first member's local and central headers
        size = int.from_bytes(data[start + offset : start + offset + 4], "little")
        assert abs(size - real) < 1024
        data[start + offset : start + offset + 4] = (1000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    monkeypatch.setenv(MAX_MEMBER_BYTES_VARIABLE, "64K")
    with pytest.raises(InputFormatError, match=rf"{path}: member 'filenames.npy' is corrupt"):
        read_predictions(path)


def test_grouping_replies_are_read_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _bomb(tmp_path / "replies.zip", 4 * 1024 * 1024)
    monkeypatch.setenv(MAX_MEMBER_BYTES_VARIABLE, "1M")
    with pytest.raises(InputFormatError, match="over the limit"):
        read_grouping_replies(path)


@pytest.mark.parametrize(
    ("value", "expected"), [("", 2 * 1024**3), ("4096", 4096), ("2k", 2048), (" 3G ", 3 * 1024**3)]
)
def test_size_limit_setting(value: str, expected: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_MEMBER_BYTES_VARIABLE, value)
    assert max_member_bytes() == expected


@pytest.mark.parametrize("value", ["lots", "-5", "0", "1.5G", "10X"])
def test_a_bad_size_limit_is_a_clear_error(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_MEMBER_BYTES_VARIABLE, value)
    with pytest.raises(EnvironmentVariableError, match=MAX_MEMBER_BYTES_VARIABLE):
        max_member_bytes()
