"""``ovmer data export``: Parquet / JSONL manifests that round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.data.export import export_samples
from ovmer.data.registry import load_samples
from ovmer.errors import DatasetError
from tests.data.trees import build_tree

runner = CliRunner()


def test_parquet_round_trip(tmp_path: Path, media: dict[str, Path]) -> None:
    pytest.importorskip("pyarrow", reason="Parquet export needs the [data] extra")
    tree = build_tree(tmp_path / "root", "cmumosi", clip=media["clip"], wav=media["wav"])
    out = tmp_path / "cmumosi.parquet"
    result = runner.invoke(app, ["data", "export", str(tmp_path / "root"), "-d", "cmumosi", "-o", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert list(frame.columns) == [
        "dataset",
        "split",
        "name",
        "video",
        "audio",
        "face",
        "subtitle",
        "label",
        "description",
    ]
    assert frame["name"].tolist() == tree.test_names
    assert frame["label"].tolist() == [tree.labels[n] for n in tree.test_names]
    assert all(Path(v).is_file() for v in frame["video"])
    assert not list(tmp_path.glob(".*.tmp"))


def test_jsonl_keeps_unicode(tmp_path: Path, media: dict[str, Path]) -> None:
    build_tree(tmp_path / "root", "mer2024", clip=media["clip"], wav=media["wav"])
    samples = load_samples(tmp_path / "root", "mer2024")
    out = export_samples(samples, "mer2024", tmp_path / "m.jsonl", "jsonl")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["name"] for r in rows] == [s.name for s in samples]
    assert rows[1]["subtitle"].startswith("中文")  # MER2024 reads the Chinese column


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown export format"):
        export_samples([], "x", tmp_path / "x", "xml")


def test_hugging_face_dataset_round_trip(tmp_path: Path, media: dict[str, Path]) -> None:
    datasets = pytest.importorskip("datasets", reason="HF export needs the [data] extra")
    tree = build_tree(tmp_path / "root", "cmumosi", clip=media["clip"], wav=media["wav"])
    out = tmp_path / "cmumosi-hf"
    (out).mkdir()  # an existing export is replaced, not merged
    (out / "stale.txt").write_text("old")
    result = runner.invoke(
        app, ["data", "export", str(tmp_path / "root"), "-d", "cmumosi", "-o", str(out), "--format", "hf"]
    )
    assert result.exit_code == 0, result.output
    loaded = datasets.load_from_disk(str(out))
    assert loaded["name"] == tree.test_names
    assert loaded["label"] == [tree.labels[n] for n in tree.test_names]
    assert not (out / "stale.txt").exists()
    assert not list(tmp_path.glob(".*.tmp"))
