"""``ovmer bench`` end to end on a tiny dataset tree built in a temporary folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.errors import OvmerError
from ovmer.inference.model_table import build_answer_model

pytest.importorskip("mediapipe")
pytest.importorskip("opensmile")
DEMO = Path(__file__).resolve().parents[2] / "src" / "ovmer" / "clues" / "demo" / "demo_clip.mp4"


def _labels(path: Path, split: str, corpus: dict[str, dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{split: np.array(corpus, dtype=object)})


@pytest.fixture
def tree(tmp_path: Path, reference: Path) -> Path:
    """MER2023 with 2 samples (one clip missing) and CMU-MOSI with 2 samples, official layout."""
    root = tmp_path / "data"
    mer = root / "mer2023-dataset-process"
    _labels(
        mer / "label-6way.npz",
        "test1_corpus",
        {"m_happy": {"emo": "happy", "val": 2.0}, "m_lost": {"emo": "sad", "val": -1.0}},
    )
    (mer / "video").mkdir()
    shutil.copy(DEMO, mer / "video" / "m_happy.mp4")
    (mer / "transcription-engchi-polish.csv").write_text(
        "name,chinese,english\nm_happy,x,I am so happy to see you again!\nm_lost,y,Where is it?\n",
        encoding="utf-8",
    )
    mosi = root / "cmumosi-process"
    _labels(
        mosi / "label.npz", "test_corpus", {"s_pos": {"emo": 0, "val": 2.2}, "s_ref": {"emo": 0, "val": -1.4}}
    )
    (mosi / "subvideo").mkdir()
    shutil.copy(DEMO, mosi / "subvideo" / "s_pos.mp4")
    shutil.copy(reference / "media" / "sample_00000000.mp4", mosi / "subvideo" / "s_ref.mp4")
    (mosi / "transcription-engchi-polish.csv").write_text(
        "name,chinese,english\ns_pos,x,This is wonderful news.\ns_ref,y,I hate this terrible awful day.\n",
        encoding="utf-8",
    )
    return root


@pytest.mark.slow
def test_bench_end_to_end_resume_and_rescore(tree: Path, tmp_path: Path, wheel_dir: Path) -> None:
    out = tmp_path / "run"
    args = [
        "bench",
        "--model",
        "clues",
        "--datasets",
        "mer2023,cmumosi",
        "--root",
        str(tree),
        "--out",
        str(out),
        "--assets",
        str(wheel_dir),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output  # m_lost has no clip: some samples failed (docs/cli.md)
    assert "some samples failed inference" in result.output and "mer2023/errors.jsonl" in result.output
    results = json.loads((out / "results.json").read_text())
    mer = results["datasets"]["mer2023"]
    assert mer["answered"] == 1 and list(mer["inference_failures"]) == ["m_lost"]
    assert "paper" in mer["errors"] and "no prediction" in mer["errors"]["paper"]  # upstream: all or nothing
    assert mer["scores"]["clean"]["score"] == pytest.approx(50.0)  # happy hit, the missing sad sample empty
    mosi = results["datasets"]["cmumosi"]
    assert set(mosi["scores"]) == {"paper", "clean"}
    assert mosi["inferred_now"] == 2
    for run in (mer, mosi):  # wall time by stage; inference of real clips with the clue engine takes time
        assert set(run["seconds"]) == {"inference", "extraction", "scoring"}
        assert run["seconds"]["inference"] > 0 and min(run["seconds"].values()) >= 0
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert [s["name"] for s in samples] == ["m_happy", "m_lost", "s_pos", "s_ref"]
    happy = samples[0]
    assert "happy" in happy["ov_labels"] and happy["text"].startswith("In the video, the person smiles")
    assert samples[2]["sentiment"] == "positive" and samples[3]["sentiment"] == "negative"
    assert mosi["scores"]["paper"]["score"] == pytest.approx(100.0)
    report = (out / "report.md").read_text()
    assert "| MER2023 (test1) | hit rate | – | 50.00 | 1/2 |" in report
    assert "| **mean** | | 100.00 (1 of 2) | 75.00 | | |" in report
    assert "ovmer bench --model clues --datasets mer2023,cmumosi" in report
    assert (out / "charts" / "mer2023.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "charts" / "cmumosi.png").is_file()
    assert (out / "cmumosi" / "official" / "clues.npz").is_file()
    assert (out / "cmumosi" / "official" / "clues-openset-sentiment.npz").is_file()

    # Rerun: nothing is inferred again except the sample that failed; the scores are the same.
    answers_before = (out / "cmumosi" / "answers.jsonl").read_text()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output  # m_lost has no clip: some samples failed (docs/cli.md)
    again = json.loads((out / "results.json").read_text())
    assert again["datasets"]["cmumosi"]["inferred_now"] == 0
    assert again["datasets"]["cmumosi"]["scores"] == mosi["scores"]
    assert (
        again["datasets"]["cmumosi"]["seconds"]["inference"] < mosi["seconds"]["inference"]
    )  # nothing to answer
    assert (out / "cmumosi" / "answers.jsonl").read_text() == answers_before


def test_interrupted_inference_resumes(tree: Path, tmp_path: Path, wheel_dir: Path) -> None:
    """A torn last line (the process was killed while writing) is ignored and that sample redone."""
    from ovmer.assets import load_wheel_maps
    from ovmer.bench.runner import run_bench
    from ovmer.llm.lexicon import LexiconExtractor

    out = tmp_path / "run"
    (out / "cmumosi").mkdir(parents=True)
    answers = out / "cmumosi" / "answers.jsonl"
    answers.write_text(
        json.dumps(
            {"name": "s_pos", "text": "The character's emotional state is happy.", "model": "clues:v1"}
        )
        + '\n{"name": "s_ref", "te',
        encoding="utf-8",
    )
    maps = load_wheel_maps(wheel_dir)
    result = run_bench("clues", ["cmumosi"], tree, out, LexiconExtractor(maps), maps)
    run = result.datasets["cmumosi"]
    assert run.inferred_now == 1 and run.answered == 2
    records = [json.loads(x) for x in (out / "cmumosi" / "predictions.jsonl").read_text().splitlines()]
    assert records[0]["ov_labels"] == "[happy]"


def test_run_folder_of_another_model_is_refused(tree: Path, tmp_path: Path, wheel_dir: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"model": "affectgpt:x", "extractor": {}}))
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "--model",
            "clues",
            "--datasets",
            "cmumosi",
            "--root",
            str(tree),
            "--out",
            str(out),
            "--assets",
            str(wheel_dir),
        ],
    )
    assert result.exit_code == 2
    assert "use another --out folder" in result.output


def test_model_specs(tmp_path: Path, tiny_face_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ovmer.inference.protocol import AnswerModel

    clues = build_answer_model("clues")
    assert clues.identity == "clues:v1" and clues.batch_size == 1 and isinstance(clues, AnswerModel)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tiny = build_answer_model(
        f"affectgpt:{tiny_face_dir}?batch_size=2&decoding=paper&seed=3&max_new_tokens=5&strict_inputs=true"
    )
    assert isinstance(tiny, AnswerModel) and tiny.batch_size == 2
    assert "mode=paper" in tiny.identity and "seed=3" in tiny.identity
    assert tiny.strict_inputs is True  # type: ignore[attr-defined]
    with pytest.raises(OvmerError, match="true or false"):
        build_answer_model(f"affectgpt:{tiny_face_dir}?strict_inputs=maybe")
    with pytest.raises(OvmerError, match="greedy or paper"):
        build_answer_model(f"affectgpt:{tiny_face_dir}?decoding=beam")
    pth = tmp_path / "checkpoint_000050.pth"
    pth.write_bytes(b"")
    with pytest.raises(OvmerError, match="--config affectgpt-face"):  # a .pth needs its variant
        build_answer_model(f"affectgpt:{pth}")
    with pytest.raises(OvmerError, match="known key"):
        build_answer_model(f"affectgpt:{pth}?temperature=0")
    with pytest.raises(OvmerError, match="integer"):
        build_answer_model(f"affectgpt:{pth}?max_new_tokens=many")
    with pytest.raises(OvmerError, match="needs a model"):
        build_answer_model("affectgpt:")
    with pytest.raises(OvmerError, match="unknown model spec"):
        build_answer_model("gpt4v")


def _affectgpt_tree(root: Path) -> Path:
    """MER2023 (3 samples: official OpenFace array + wav; raw video only; clip missing) and CMU-MOSI
    (1 sample), synthesized clips, official layout."""
    from tests.models.helpers import write_clip, write_wav

    mer = root / "mer2023-dataset-process"
    _labels(
        mer / "label-6way.npz",
        "test1_corpus",
        {n: {"emo": e, "val": 0.0} for n, e in [("m_face", "happy"), ("m_raw", "sad"), ("m_lost", "angry")]},
    )
    for sub in ("video", "audio", "openface_face"):
        (mer / sub).mkdir()
    rng = np.random.default_rng(0)
    write_clip(mer / "video" / "m_face.mp4", [(200, 150, 120)] * 6, audio_seconds=None)
    write_wav(mer / "audio" / "m_face.wav", 0.1 * rng.standard_normal(40000))
    np.save(mer / "openface_face" / "m_face.npy", rng.integers(0, 255, (5, 112, 112, 3), dtype=np.uint8))
    write_clip(mer / "video" / "m_raw.mp4", [(90, 60, 30 + 10 * i) for i in range(10)], audio_seconds=2.5)
    (mer / "transcription-engchi-polish.csv").write_text(
        "name,chinese,english\nm_face,x,I am happy.\nm_raw,y,\nm_lost,z,Where?\n", encoding="utf-8"
    )
    mosi = root / "cmumosi-process"
    _labels(mosi / "label.npz", "test_corpus", {"s_one": {"emo": 0, "val": 1.5}})
    (mosi / "subvideo").mkdir()
    write_clip(mosi / "subvideo" / "s_one.mp4", [(10, 200, 10)] * 9, audio_seconds=1.0)
    (mosi / "transcription-engchi-polish.csv").write_text(
        "name,chinese,english\ns_one,x,Good news.\n", encoding="utf-8"
    )
    return root


def test_bench_affectgpt_tiny_model_end_to_end(
    tmp_path: Path, wheel_dir: Path, tiny_face_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """affectgpt:<model> on a tiny random-weight face model: loaded once, batched greedy OV-label answers
    equal to ``describe``'s one-at-a-time answers, the missing clip recorded (the rest of its batch still
    answered), both protocols scored, a rerun only re-scores."""
    from ovmer.inference.describe import describe_video
    from ovmer.inference.engine import load_engine
    from ovmer.models.generation import DecodingSettings

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_dir = tiny_face_dir
    root = _affectgpt_tree(tmp_path / "data")
    out = tmp_path / "run"
    spec = f"affectgpt:{model_dir}?max_new_tokens=8"
    args = ["bench", "--model", spec, "--datasets", "mer2023,cmumosi", "--root", str(root)]
    args += ["--out", str(out), "--assets", str(wheel_dir)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output  # m_lost has no clip: some samples failed (docs/cli.md)
    results = json.loads((out / "results.json").read_text())
    assert results["model"].startswith(f"affectgpt:{model_dir}[tiny-face;")
    mer = results["datasets"]["mer2023"]
    assert (mer["answered"], list(mer["inference_failures"])) == (2, ["m_lost"])
    assert "m_lost.mp4" in mer["inference_failures"]["m_lost"]
    assert "clean" in mer["scores"] and set(results["datasets"]["cmumosi"]["scores"]) == {"paper", "clean"}
    answers = {
        json.loads(line)["name"]: json.loads(line)["text"]
        for line in (out / "mer2023" / "answers.jsonl").read_text().splitlines()
    }
    engine = load_engine(str(model_dir))
    settings = DecodingSettings(max_new_tokens=8)
    mer_root = root / "mer2023-dataset-process"
    official = describe_video(
        engine,
        mer_root / "video" / "m_face.mp4",
        subtitle="I am happy.",
        decoding=settings,
        audio=mer_root / "audio" / "m_face.wav",
        faces=mer_root / "openface_face" / "m_face.npy",
    )
    detected = describe_video(engine, mer_root / "video" / "m_raw.mp4", subtitle="", decoding=settings)
    assert detected.inputs is not None and detected.inputs["face_source"] == "mediapipe"
    assert answers == {"m_face": official.text, "m_raw": detected.text}
    records = [json.loads(line) for line in (out / "mer2023" / "answers.jsonl").read_text().splitlines()]
    provenance = {r["name"]: r["inputs"] for r in records}
    assert provenance["m_face"]["face_source"] == "openface" and provenance["m_face"]["audio_source"] == "wav"
    assert (
        provenance["m_raw"]["face_source"] == "mediapipe" and provenance["m_raw"]["audio_source"] == "video"
    )

    again = CliRunner().invoke(app, args)
    assert again.exit_code == 3, again.output  # m_lost has no clip: some samples failed (docs/cli.md)
    rerun = json.loads((out / "results.json").read_text())
    assert rerun["datasets"]["cmumosi"]["inferred_now"] == 0
    assert rerun["datasets"]["mer2023"]["scores"] == mer["scores"]


def test_missing_dataset_folder_is_named(tmp_path: Path, wheel_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "--model",
            "clues",
            "--datasets",
            "meld",
            "--root",
            str(tmp_path),
            "--out",
            str(tmp_path / "r"),
            "--assets",
            str(wheel_dir),
        ],
    )
    assert result.exit_code == 2
    assert "meld-process/label.npz" in result.output
