"""``ovmer data check``: a complete copy passes; every kind of damage is named file by file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.data.benchmarks import get_benchmark
from ovmer.data.check import KINDS, check_dataset
from tests.data.trees import Tree, build_tree

runner = CliRunner()


@pytest.fixture
def full_mer2023(tmp_path: Path, reference: Path, media: dict[str, Path]) -> Tree:
    """A complete MER2023 copy: the real label file and transcript, 411 tiny clips, wavs and faces."""
    folder = tmp_path / "mer2023-dataset-process"
    folder.mkdir()
    real = reference / "labels" / "mer2023-dataset-process"
    for name in ("label-6way.npz", "transcription-engchi-polish.csv"):
        os.symlink(real / name, folder / name)
    from ovmer.data.registry import load_samples

    names = [s.name for s in load_samples(tmp_path, "mer2023")]
    face = np.full((5, 16, 16, 3), 90, dtype=np.uint8)
    for sub in ("video", "audio", "openface_face"):
        (folder / sub).mkdir()
    for name in names:
        os.link(media["clip"], folder / "video" / f"{name}.mp4")
        os.link(media["wav"], folder / "audio" / f"{name}.wav")
        np.save(folder / "openface_face" / f"{name}.npy", face)
    return Tree(folder, get_benchmark("mer2023"), names, {}, {})


def test_complete_copy_passes(full_mer2023: Tree) -> None:
    report = check_dataset(full_mer2023.folder.parent, "mer2023")
    assert report.num_samples == 411 == report.expected_samples
    assert report.ok, report.errors[:3]
    # The real transcript has an empty cell for one test sample: a warning, as upstream reads it as ''.
    assert set(report.counts()) <= {"subtitle_empty"}


def test_every_problem_is_named(full_mer2023: Tree, media: dict[str, Path]) -> None:
    folder, names = full_mer2023.folder, full_mer2023.test_names
    (folder / "video" / f"{names[0]}.mp4").unlink()  # missing video
    (folder / "video" / f"{names[1]}.mp4").unlink()
    (folder / "video" / f"{names[1]}.mp4").write_bytes(b"")  # empty video
    (folder / "video" / f"{names[2]}.mp4").unlink()
    (folder / "video" / f"{names[2]}.mp4").write_bytes(np.random.default_rng(0).bytes(5000))  # corrupt
    (folder / "audio" / f"{names[3]}.wav").unlink()  # missing wav → video track used
    (folder / "video" / f"{names[4]}.mp4").unlink()
    os.link(media["silent"], folder / "video" / f"{names[4]}.mp4")
    (folder / "audio" / f"{names[4]}.wav").unlink()  # no wav and a silent video → error
    np.save(folder / "openface_face" / f"{names[5]}.npy", np.zeros((0, 16, 16, 3), np.uint8))  # N = 0
    (folder / "openface_face" / f"{names[6]}.npy").unlink()  # missing face → detector
    os.link(media["clip"], folder / "video" / "stray_clip.mp4")  # media without label
    report = check_dataset(folder, "mer2023")
    by_kind = {(p.kind, p.sample) for p in report.problems}
    assert ("video_missing", names[0]) in by_kind
    assert ("video_empty", names[1]) in by_kind
    assert ("video_unreadable", names[2]) in by_kind
    assert ("audio_missing", names[3]) in by_kind
    assert ("no_audio", names[4]) in by_kind
    assert ("face_invalid", names[5]) in by_kind
    assert ("face_missing", names[6]) in by_kind
    assert ("media_without_label", "stray_clip") in by_kind
    assert {p.kind for p in report.errors} == {
        "video_missing",
        "video_empty",
        "video_unreadable",
        "no_audio",
        "face_invalid",
    }
    assert all(p.kind in KINDS for p in report.problems)
    assert all(p.path for p in report.problems)
    corrupt = next(p for p in report.problems if p.kind == "video_unreadable")
    assert corrupt.path is not None and corrupt.path.endswith(f"{names[2]}.mp4")


def test_parallel_check_finds_the_same_problems(full_mer2023: Tree) -> None:
    folder, names = full_mer2023.folder, full_mer2023.test_names
    (folder / "video" / f"{names[300]}.mp4").unlink()
    np.save(folder / "openface_face" / f"{names[5]}.npy", np.zeros((0, 16, 16, 3), np.uint8))
    serial = check_dataset(folder, "mer2023", deep=False)
    parallel = check_dataset(folder, "mer2023", deep=False, workers=2)
    assert parallel.problems == serial.problems
    assert {(p.kind, p.sample) for p in parallel.errors} == {
        ("video_missing", names[300]),
        ("face_invalid", names[5]),
    }


def test_count_and_subtitle_file_problems(tmp_path: Path, media: dict[str, Path]) -> None:
    tree = build_tree(tmp_path, "sims", clip=media["clip"], wav=media["wav"])
    transcript = tree.folder / "transcription-engchi-polish.csv"
    transcript.write_bytes("name,chinese,english\nvideo_0003_0000,你好,hi\n".encode("gbk"))
    report = check_dataset(tmp_path, "sims")
    kinds = report.counts()
    assert kinds["count"] == 1  # 3 test samples, CH-SIMS has 457
    assert kinds["subtitle_file"] == 1
    message = next(p.message for p in report.problems if p.kind == "subtitle_file")
    assert "not valid UTF-8" in message and "transcription-engchi-polish.csv" in message


def test_subtitle_rows_missing_and_mojibake(tmp_path: Path, media: dict[str, Path]) -> None:
    tree = build_tree(tmp_path, "cmumosi", clip=media["clip"], wav=media["wav"])
    transcript = tree.folder / "transcription-engchi-polish.csv"
    lines = transcript.read_text(encoding="utf-8").splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if not line.startswith(tree.test_names[1])]
    kept.append(f"{tree.test_names[1]},x,caf\ufffd au lait")
    transcript.write_text("\n".join(kept[:-1]) + "\n", encoding="utf-8")
    report = check_dataset(tmp_path, "cmumosi")
    assert ("subtitle_missing", tree.test_names[1]) in {(p.kind, p.sample) for p in report.problems}
    transcript.write_text("\n".join(kept) + "\n", encoding="utf-8")
    report = check_dataset(tmp_path, "cmumosi")
    assert ("subtitle_encoding", tree.test_names[1]) in {(p.kind, p.sample) for p in report.problems}


def test_label_file_missing(tmp_path: Path) -> None:
    report = check_dataset(tmp_path, "meld")
    assert not report.ok and report.counts() == {"label_file": 1}


def test_cli_check_exit_codes_and_json(full_mer2023: Tree, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["data", "check", str(full_mer2023.folder), "--dataset", "mer2023", "--quick"]
    )
    assert result.exit_code == 0, result.output
    assert "411 samples (expected 411)" in result.output
    name = full_mer2023.test_names[7]
    (full_mer2023.folder / "video" / f"{name}.mp4").unlink()
    out = tmp_path / "report.json"
    result = runner.invoke(
        app,
        ["data", "check", str(full_mer2023.folder), "--dataset", "mer2023", "--json", str(out), "--quick"],
    )
    assert result.exit_code == 1
    assert name in result.output and "video_missing" in result.output
    report = json.loads(out.read_text())
    assert report["ok"] is False and report["counts"]["video_missing"] == 1
    missing = [(p["severity"], p["sample"]) for p in report["problems"] if p["kind"] == "video_missing"]
    assert missing == [("error", name)]


def test_cli_check_csv_manifest(tmp_path: Path, media: dict[str, Path]) -> None:
    shutil.copy(media["clip"], tmp_path / "ok.mp4")
    manifest = tmp_path / "m.csv"
    manifest.write_text("name,video\nok,ok.mp4\ngone,gone.mp4\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "check", str(tmp_path), "--dataset", f"csv:{manifest}"])
    assert result.exit_code == 1
    assert "gone.mp4" in result.output and "1 error(s)" in result.output


def test_cli_check_unknown_dataset_is_misuse(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "check", str(tmp_path), "--dataset", "nope"])
    assert result.exit_code == 2
    assert "unknown dataset" in result.output


def test_require_faces_makes_missing_faces_errors(tmp_path: Path, media: dict[str, Path]) -> None:
    tree = build_tree(tmp_path, "ovmerd", clip=media["clip"], wav=media["wav"], faces=False)
    assert check_dataset(tmp_path, "ovmerd", deep=False).counts() == {
        "count": 1,
        "face_missing": 3,
        "subtitle_empty": 1,
    }
    strict = check_dataset(tmp_path, "ovmerd", deep=False, require_faces=True)
    missing = [p for p in strict.errors if p.kind == "face_missing"]
    assert [p.sample for p in missing] == tree.test_names
    assert missing[0].path is not None and missing[0].path.endswith(
        f"openface_face/{tree.test_names[0]}/{tree.test_names[0]}.npy"
    )


def test_face_and_wav_manifest_without_video(tmp_path: Path, media: dict[str, Path]) -> None:
    """A face array + wav is a complete face-model sample; without either it is an error."""
    shutil.copy(media["wav"], tmp_path / "a.wav")
    np.save(tmp_path / "a.npy", np.zeros((4, 32, 32, 3), np.uint8))
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "name,face,audio\nok,a.npy,a.wav\nnoface,gone.npy,a.wav\nnoaudio,a.npy,\n", encoding="utf-8"
    )
    report = check_dataset(tmp_path, f"csv:{manifest}")
    by_sample = {(p.sample, p.kind) for p in report.errors}
    assert by_sample == {("noface", "face_missing"), ("noaudio", "no_audio")}
    assert not [p for p in report.problems if p.sample == "ok"]
