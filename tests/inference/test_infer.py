"""``ovmer infer``: batched split inference, official npz, resume after a crash, torn-line repair."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.data.registry import load_samples, manifest_samples
from ovmer.errors import DatasetError, OvmerError
from ovmer.inference.engine import AffectGPTEngine
from ovmer.inference.sample_inputs import SampleLoader
from ovmer.inference.split import infer_split
from ovmer.models.generation import DecodingSettings
from ovmer.models.loading import load_model
from ovmer.results.jsonl import read_records
from ovmer.safe_pickle import load_npz_key
from tests.models.helpers import write_clip, write_wav

SETTINGS = DecodingSettings(max_new_tokens=6)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("split")
    rows = ["name,video,subtitle"]
    for i in range(5):
        write_clip(folder / f"s{i}.mp4", [((i * 40) % 255, 100, 30 * j % 255) for j in range(6 + i)])
        rows.append(f"s{i},s{i}.mp4,{f'line {i}' if i % 2 else ''}")
    path = folder / "toy.csv"  # a user dataset: ovmer's CSV manifest (--dataset csv:PATH)
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def engine(tiny_frame_dir: Path) -> AffectGPTEngine:
    return AffectGPTEngine(load_model(tiny_frame_dir))


def _run(engine: AffectGPTEngine, manifest: Path, out: Path, **kwargs: object) -> object:
    return infer_split(
        engine,
        manifest_samples(manifest),
        out,
        dataset="toy",
        decoding=SETTINGS,
        batch_size=2,
        run_name="tiny_run",
        checkpoint_name="checkpoint_000030_loss_0.602",
        show_progress=False,
        **kwargs,  # type: ignore[arg-type]
    )


def test_resume_after_crash_equals_uninterrupted(
    engine: AffectGPTEngine, manifest: Path, tmp_path: Path
) -> None:
    full = _run(engine, manifest, tmp_path / "full")
    assert full.generated == 5 and full.npz is not None  # type: ignore[attr-defined]
    expected = load_npz_key(full.npz, "name2reason").tolist()  # type: ignore[attr-defined]
    assert full.npz == tmp_path / "full/results-toy/tiny_run/checkpoint_000030_loss_0.602.npz"  # type: ignore[attr-defined]

    out = tmp_path / "crashed"
    first = _run(engine, manifest, out, max_batches=1)  # "crash" after one batch
    assert first.generated == 2 and first.npz is None  # type: ignore[attr-defined]
    jsonl = out / "toy" / "ovlabels" / "answers.jsonl"
    with open(jsonl, "a", encoding="utf-8") as handle:  # the process died mid-write
        handle.write('{"name": "s2", "resp')
    second = _run(engine, manifest, out)
    assert (second.already_done, second.generated) == (2, 3)  # type: ignore[attr-defined]
    records = read_records(jsonl)
    assert sorted(r.name for r in records) == ["s0", "s1", "s2", "s3", "s4"]  # each exactly once
    assert all(r.model and r.dataset == "toy" and r.task == "ovlabels" for r in records)
    assert all(r.inputs and r.inputs["audio_source"] == "video" for r in records)  # provenance recorded
    assert load_npz_key(second.npz, "name2reason").tolist() == expected  # type: ignore[attr-defined]
    third = _run(engine, manifest, out)
    assert third.generated == 0  # type: ignore[attr-defined]


def test_refuses_to_mix_runs(engine: AffectGPTEngine, manifest: Path, tmp_path: Path) -> None:
    _run(engine, manifest, tmp_path, max_batches=1)
    with pytest.raises(DatasetError, match="different run"):
        infer_split(
            engine,
            manifest_samples(manifest),
            tmp_path,
            dataset="toy",
            decoding=DecodingSettings(max_new_tokens=7),
            show_progress=False,
        )


def test_bad_sample_fails_or_is_skipped(engine: AffectGPTEngine, manifest: Path, tmp_path: Path) -> None:
    samples = [
        s if s.name != "s3" else dataclasses.replace(s, video=tmp_path / "missing.mp4")
        for s in manifest_samples(manifest)
    ]
    with pytest.raises(OvmerError, match=r"toy/s3.*missing\.mp4"):
        infer_split(engine, samples, tmp_path / "a", dataset="toy", decoding=SETTINGS, show_progress=False)
    result = infer_split(
        engine,
        samples,
        tmp_path / "b",
        dataset="toy",
        decoding=SETTINGS,
        show_progress=False,
        skip_errors=True,
    )
    assert (result.generated, result.skipped, result.npz) == (4, 1, None)
    errors = read_records(tmp_path / "b" / "toy" / "ovlabels" / "errors.jsonl")
    assert errors[0].name == "s3" and errors[0].error is not None and "missing.mp4" in errors[0].error


def test_cli_infer_manifest(manifest: Path, tiny_frame_dir: Path, tmp_path: Path) -> None:
    args = [
        "infer",
        "--dataset",
        f"csv:{manifest}",
        "--out",
        str(tmp_path),
        "--model",
        str(tiny_frame_dir),
    ]
    args += ["--task", "description", "--batch-size", "3", "--max-new-tokens", "5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    npz = tmp_path / "results-description-toy" / tiny_frame_dir.name / "model.npz"
    assert set(load_npz_key(npz, "name2reason").tolist()) == {f"s{i}" for i in range(5)}
    run = json.loads((tmp_path / "toy" / "description" / "run.json").read_text())
    assert run["done"] == 5 and run["decoding"]["mode"] == "greedy"


def test_registry_split_listing(reference: Path) -> None:
    """infer reads samples through the dataset registry: test sizes, media folders, subtitles."""
    samples = load_samples(reference / "labels", "mer2023")
    assert len(samples) == 411
    assert samples[0].video is not None and samples[0].video.parent.name == "video"
    assert samples[0].face is not None and samples[0].face.parent.name == "openface_face"
    assert len(load_samples(reference / "labels" / "cmumosi-process", "cmumosi")) == 686
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_samples(reference, "nope")


NAMES = ["sample_00000001", "sample_00000002", "sample_00000003"]


def _mer2023_tree(data: Path, official_faces: bool = True) -> Path:
    """A miniature mer2023-dataset-process folder: label npz, transcript, video/audio(/openface_face)."""
    import numpy as np
    import pandas as pd

    root = data / "mer2023-dataset-process"
    for sub in ("video", "audio", "openface_face"):
        (root / sub).mkdir(parents=True)
    labels = {n: {"emo": "happy", "val": 1.0} for n in NAMES}
    np.savez_compressed(
        root / "label-6way.npz",
        test1_corpus=np.array(labels, dtype=object),
        train_corpus=np.array({"sample_00000009": {"emo": "sad", "val": 0.0}}, dtype=object),
    )
    pd.DataFrame(
        {
            "name": [*NAMES, "sample_00000009"],
            "chinese": ["你好"] * 4,
            "english": ["Hello.", None, "Oh no!", "x"],
        }
    ).to_csv(root / "transcription-engchi-polish.csv", index=False)
    rng = np.random.default_rng(0)
    for n in NAMES:
        write_clip(root / "video" / f"{n}.mp4", [(30, 60, 90)] * 6, audio_seconds=None)
        write_wav(root / "audio" / f"{n}.wav", 0.1 * rng.standard_normal(40000))
        if official_faces:
            crops = rng.integers(0, 255, (4, 112, 112, 3), dtype=np.uint8)
            np.save(root / "openface_face" / f"{n}.npy", crops)
    return root


def _infer_args(data: Path, out: Path, model: Path) -> list[str]:
    args = ["infer", "--dataset", "mer2023", "--root", str(data), "--out", str(out), "--model", str(model)]
    args += ["--batch-size", "2", "--max-new-tokens", "4", "--run-name", "r"]
    return [*args, "--checkpoint-name", "checkpoint_000050_loss_0.527"]


def _answers(out: Path) -> dict[str, str]:
    npz = out / "results-mer2023" / "r" / "checkpoint_000050_loss_0.527.npz"
    return load_npz_key(npz, "name2reason").tolist()  # type: ignore[no-any-return]


def test_cli_infer_official_unibench_layout(tmp_path: Path, tiny_face_dir: Path) -> None:
    _mer2023_tree(tmp_path / "data")
    args = _infer_args(tmp_path / "data", tmp_path / "out", tiny_face_dir)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(_answers(tmp_path / "out")) == NAMES  # the test split only, not the training sample
    again = CliRunner().invoke(app, args)
    assert "0 generated, 3 already done" in again.output


def test_cli_infer_face_model_without_openface_arrays(tmp_path: Path, tiny_face_dir: Path) -> None:
    """No openface_face/<name>.npy: faces are detected in the videos (grey clips: centre fallback)."""
    pytest.importorskip("mediapipe")
    _mer2023_tree(tmp_path / "data", official_faces=False)
    result = CliRunner().invoke(app, _infer_args(tmp_path / "data", tmp_path / "out", tiny_face_dir))
    assert result.exit_code == 0, result.output
    assert sorted(_answers(tmp_path / "out")) == NAMES


def test_cli_infer_from_a_prepare_cache(tmp_path: Path, tiny_face_dir: Path) -> None:
    """--prepared: samples ``ovmer prepare`` finished are read from its cache, not decoded again, and give
    the same greedy answers as decoding (same official faces, same wav)."""
    pytest.importorskip("mediapipe")
    data = tmp_path / "data"
    root = _mer2023_tree(data)
    direct = CliRunner().invoke(app, _infer_args(data, tmp_path / "direct", tiny_face_dir))
    assert direct.exit_code == 0, direct.output
    cache = tmp_path / "cache"
    prepared = CliRunner().invoke(app, ["prepare", str(data), "--dataset", "mer2023", "--out", str(cache)])
    assert prepared.exit_code == 0, prepared.output
    for video in (root / "video").iterdir():  # proof that nothing is decoded: the videos are gone
        video.unlink()
    args = [*_infer_args(data, tmp_path / "cached", tiny_face_dir), "--prepared", str(cache)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert _answers(tmp_path / "cached") == _answers(tmp_path / "direct")
    not_a_cache = CliRunner().invoke(app, [*args[:-1], str(tmp_path)])
    assert not_a_cache.exit_code == 2 and "prepare.json" in not_a_cache.output
    with pytest.raises(DatasetError, match="holds a prepared 'mer2023', not 'mer2024'"):
        SampleLoader("face", cache, "mer2024")  # MER2024 has the same sample names: never mix the caches
    SampleLoader("face", cache, "MER2023").close()


def test_cli_infer_needs_root_for_registered_datasets(tmp_path: Path, tiny_frame_dir: Path) -> None:
    args = ["infer", "--dataset", "meld", "--out", str(tmp_path), "--model", str(tiny_frame_dir)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--root" in result.output


def test_sample_loader_picks_official_faces_then_detection(tmp_path: Path) -> None:
    """A manifest's ``face`` array is used when it exists; otherwise faces are detected in the video."""
    import numpy as np

    pytest.importorskip("mediapipe")

    write_clip(tmp_path / "a.mp4", [(120, 90, 60)] * 5)
    np.save(tmp_path / "a.npy", np.zeros((3, 112, 112, 3), np.uint8))
    manifest = tmp_path / "m.csv"
    manifest.write_text("name,video,face\nwith,a.mp4,a.npy\nwithout,a.mp4,missing.npy\n", encoding="utf-8")
    faces, frames = SampleLoader("face"), SampleLoader("frame")
    try:
        with_face, without_face = (faces(s).provenance for s in manifest_samples(manifest))
        frame_inputs = frames(manifest_samples(manifest)[0])
    finally:
        faces.close()
        frames.close()
    assert (with_face.face_source, with_face.num_source_frames) == ("openface", 3)
    assert without_face.face_source == "mediapipe" and without_face.face_found == [False] * 8
    assert frame_inputs.provenance.face_source is None and frame_inputs.provenance.num_source_frames == 5
    assert frame_inputs.subtitle is None


def test_cli_infer_skip_errors_exits_3_and_says_where(
    manifest: Path, tiny_frame_dir: Path, tmp_path: Path
) -> None:
    """A failed sample with --skip-errors: the rest is answered, the run exits 3 (docs/cli.md)."""
    broken = manifest.parent / "broken.csv"  # beside the clips: its paths are relative
    rows = manifest.read_text(encoding="utf-8").splitlines()
    rows[2] = rows[2].replace("s1.mp4", "gone.mp4")
    broken.write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = [
        "infer",
        "--dataset",
        f"csv:{broken}",
        "--out",
        str(tmp_path / "out"),
        "--model",
        str(tiny_frame_dir),
    ]
    args += ["--max-new-tokens", "3", "--skip-errors"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "1 sample(s) failed" in result.output and "errors.jsonl" in result.output
    answers = read_records(tmp_path / "out" / "broken" / "ovlabels" / "answers.jsonl")
    assert sorted(r.name for r in answers) == ["s0", "s2", "s3", "s4"]
