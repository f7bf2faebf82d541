"""``ovmer leaderboard`` on a synthetic upstream tree (10 models × 3 variants, both namings), on a real
``run_bench`` run folder, and on the released AffectGPT outputs of ../shared/reference."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.leaderboard import build_leaderboard, flat_metrics, paper_table
from ovmer.leaderboard.discovery import variant_of
from ovmer.results import AnswerRecord, Predictions, write_official
from ovmer.scoring.dataset import score_file

MODELS = ["Chat-UniVi", "LLaMA-VID", "mPLUG-Owl", "Otter", "Qwen-Audio", "SALMONN", "VideoChat",
          "VideoChat2", "Video-ChatGPT", "Video-LLaVA"]  # fmt: skip
VARIANTS = ["subtitle", "nosubtitle", "nosubtitle-addsub"]
MER = {"m0": "happy", "m1": "angry", "m2": "sad", "m3": "worried"}
WRONG = {"happy": "sad", "angry": "happy", "sad": "angry", "worried": "happy"}
MOSI = {"s0": 2.0, "s1": -1.5, "s2": 1.0, "s3": -2.5}
OV = {"o0": "happy, joyful", "o1": "angry", "o2": "sad, lonely", "o3": "worried"}


def _labels(path: Path, split: str, corpus: dict[str, dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{split: np.array(corpus, dtype=object)})


def _answer(label: str) -> str:
    return f"The character's emotional state is {label}."


def _write(base: Path, texts: dict[str, str] | None = None, **fields: dict[str, str]) -> None:
    """Official files of one base: ``texts`` (name2reason) and/or ov_labels / sentiment."""
    predictions = Predictions(str(base))
    for name in texts or next(iter(fields.values())):
        predictions.records[name] = AnswerRecord(name=name, text=(texts or {}).get(name))
        for field_name, values in fields.items():
            setattr(predictions.records[name], field_name, values[name])
    written = write_official(predictions, base)
    assert written


@pytest.fixture
def gt(tmp_path: Path) -> tuple[Path, Path]:
    """(GT_ROOT with MER2023 and CMU-MOSI labels, an OV-MERD ground-truth CSV given with --gt)."""
    root = tmp_path / "gt"
    _labels(root / "mer2023-dataset-process" / "label-6way.npz", "test1_corpus",
            {n: {"emo": e, "val": 0.0} for n, e in MER.items()})  # fmt: skip
    _labels(root / "cmumosi-process" / "label.npz", "test_corpus",
            {n: {"emo": 0, "val": v} for n, v in MOSI.items()})  # fmt: skip
    ov = tmp_path / "check-openset.csv"
    ov.write_text("name,openset\n" + "".join(f'{n},"{[x for x in v.split(", ")]}"\n' for n, v in OV.items()))
    return root, ov


def _upstream(root: Path) -> Path:
    """10 models × 3 variants: MER2023 and CMU-MOSI raw answers in the scripts' naming (results-<flag>.npz;
    extracted by the leaderboard), OV-MERD in the released naming with step-A files (some without the
    answers file). Model i, variant v answers sample j correctly when j <= (i + v) % 4; Otter's MER2023 subtitle file
    is broken."""
    for i, model in enumerate(MODELS):
        for v, variant in enumerate(VARIANTS):
            k = i + v
            mer = {n: _answer(e if j <= k % 4 else WRONG[e]) for j, (n, e) in enumerate(MER.items())}
            _write(root / "results-mer2023" / model / f"results-{variant}.npz", mer)
            mosi = {n: _answer(("happy" if val > 0 else "sad") if j <= k % 4 else ("sad" if val > 0 else "happy"))
                    for j, (n, val) in enumerate(MOSI.items())}  # fmt: skip
            _write(root / "results-cmumosi" / model / f"results-{variant}.npz", mosi)
            ov = {
                n: "[" + (labels if j <= k % 4 else "surprised") + "]"
                for j, (n, labels) in enumerate(OV.items())
            }
            base = root / "results-ovmerd" / model / f"output-reason-7b-{variant}-eng.npz"
            texts = None if v == 2 else {n: f"answer about {n}" for n in OV}
            _write(base, texts, ov_labels=ov)
    (root / "results-mer2023" / "Otter" / "results-subtitle.npz").write_bytes(b"not a zip file")
    (root / "results-mer2023" / "Otter" / "notes.npz").write_bytes(b"")  # another name: left out, noted
    return root


def test_variant_names() -> None:
    assert variant_of("results-nosubtitle-addsub.npz") == ("results-nosubtitle-addsub", "nosubtitle-addsub")
    assert variant_of("results-subtitle-openset-sentiment.npz") == ("results-subtitle", "subtitle")
    assert variant_of("output-reason-7b-nosubtitle-eng-openset.npz") == (
        "output-reason-7b-nosubtitle-eng",
        "nosubtitle",
    )
    assert variant_of("checkpoint_000050_loss_0.527.npz") is None
    assert variant_of("results-subtitle.jsonl") is None


def test_paper_table_rows_and_means() -> None:
    table = paper_table()
    assert len(table["rows"]) == 19 and "arXiv:2501.16566" in table["citation"]
    for row in table["rows"]:
        assert list(row["scores"]) == table["datasets"]
        assert abs(sum(row["scores"].values()) / 9 - row["mean"]) <= 0.011, row["model"]


def test_upstream_tree_cli(tmp_path: Path, gt: tuple[Path, Path], wheel_dir: Path, maps: Any) -> None:
    gt_root, ov = gt
    root = _upstream(tmp_path / "output")
    out, report = tmp_path / "board.json", tmp_path / "board" / "board.md"
    args = ["leaderboard", str(root), "--gt-root", str(gt_root), "--gt", f"ovmerd={ov}", "--paper-table",
            "--json", str(out), "--report", str(report), "--assets", str(wheel_dir)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output  # Otter's broken file (docs/cli.md)
    assert "1 file(s) could not be scored" in result.output
    board = json.loads(out.read_text())
    assert board["protocol"] == "paper" and board["datasets"] == ["mer2023", "cmumosi", "ovmerd"]
    measured = [r for r in board["rows"] if r["source"] == "measured"]
    published = [r for r in board["rows"] if r["source"] == "paper"]
    assert len(measured) == 30 and len(published) == 19
    assert {(r["model"], r["variant"]) for r in measured} == {(m, v) for m in MODELS for v in VARIANTS}
    by_key = {(r["model"], r["variant"]): r for r in measured}
    otter = by_key["Otter", "subtitle"]
    assert set(otter["datasets"]) == {"cmumosi", "ovmerd"}
    assert str(root / "results-mer2023" / "Otter" / "results-subtitle.npz") in otter["errors"]["mer2023"]
    assert by_key["Qwen-Audio", "subtitle"]["inputs"] == "A,T"
    assert by_key["Qwen-Audio", "nosubtitle"]["inputs"] == "A"
    assert by_key["Chat-UniVi", "nosubtitle-addsub"]["inputs"] == "V,T"
    # Every cell equals `ovmer score` on the same file (here: the step-A files of OV-MERD).
    for row in list(by_key.values())[:6]:
        cell = row["datasets"]["ovmerd"]
        expected = score_file("ovmerd", ov, cell["file"], maps=maps).to_json()
        assert cell["metrics"] == flat_metrics(expected) and cell["score"] == expected["score"]
        assert {"M1", "M2", "W1L1", "W5L2", "M_avg", "ovmer_m_avg"} <= set(cell["metrics"])
        assert cell["metric"] == "ovmer_m_avg" and cell["n_scored"] == 4
        scores = [c["score"] for c in row["datasets"].values()]
        assert row["mean"] == pytest.approx(sum(scores) / len(scores))
    # Model 0, variant subtitle: only sample 0 right; model 1: samples 0 and 1 (the lexicon extracts
    # the label the answer names); model 2 with addsub ((2 + 2) % 4 = 0): sample 0 again.
    assert by_key["Chat-UniVi", "subtitle"]["datasets"]["mer2023"]["score"] == pytest.approx(25.0)
    assert by_key["LLaMA-VID", "subtitle"]["datasets"]["mer2023"]["score"] == pytest.approx(50.0)
    assert by_key["mPLUG-Owl", "nosubtitle-addsub"]["datasets"]["mer2023"]["score"] == pytest.approx(25.0)
    assert by_key["LLaMA-VID", "subtitle"]["datasets"]["cmumosi"]["metric"] == "waf"
    assert published[-1]["model"] == "AffectGPT" and published[-1]["datasets"]["mer2023"]["score"] == 78.54
    assert published[-1]["citation"] and published[-1]["mean"] == pytest.approx(74.77, abs=0.01)
    text = report.read_text()
    assert "**Measured: paper protocol" in text and "## Published figures (not measured here)" in text
    assert "Otter / subtitle / mer2023" in text and "notes.npz: not a baseline result name" in text
    assert "labels extracted with lexicon:v2:max4 (ovlabels, sentiment): 30 file(s)" in text
    assert "labels extracted with lexicon:v2:max4 (ovlabels): 29 file(s)" in text  # one broken
    lines = [line for line in text.splitlines() if line.startswith("| ") and line.count("|") == 8][1:31]
    means = [float(line.split("|")[-2].split()[0]) for line in lines]
    assert lines[-1].startswith("| Otter | V,T | subtitle | failed |")  # a partial row after the full ones
    assert means[:-1] == sorted(means[:-1], reverse=True) and means[0] > means[-2]  # best mean first
    assert report.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_clean_protocol_and_missing_ground_truth(tmp_path: Path, gt: tuple[Path, Path], mapper: Any) -> None:
    """Without a ground truth a dataset is left out with a note (not a failure); the clean protocol
    scores a file with a missing sample, the paper protocol records it as failed."""
    from ovmer.llm.lexicon import LexiconExtractor

    gt_root, _ = gt
    root = tmp_path / "output"
    short = {n: _answer(e) for n, e in list(MER.items())[:3]}
    _write(root / "results-mer2023" / "Otter" / "results-nosubtitle.npz", short)
    _write(
        root / "results-ovmerd" / "Otter" / "output-reason-7b-subtitle-eng.npz",
        {"o0": "x"},
        ov_labels={"o0": "[x]"},
    )
    make = lambda: LexiconExtractor(mapper.maps)  # noqa: E731
    clean = build_leaderboard([root], mapper, make, protocol="clean", gt_root=gt_root)
    (row,) = [r for r in clean.rows if r.cells]
    assert row.cells["mer2023"].score["score"] == pytest.approx(
        75.0
    )  # 3 of 4 hits: worried is missing → empty
    assert not clean.failed and any(n.startswith("ovmerd: no ground truth") for n in clean.notes)
    paper = build_leaderboard([root], mapper, make, protocol="paper", gt_root=gt_root)
    assert [(r.key.model, d) for r, d, _ in paper.failed] == [("Otter", "mer2023")]
    assert "have no prediction" in paper.failed[0][2]


class _EchoModel:
    """A tiny answer model for a real ``run_bench`` call: names the label, records its inputs."""

    identity = "echo:v1"
    batch_size = 2

    def load(self, sample: Any) -> Any:
        return sample

    def answer_batch(self, items: Sequence[Any]) -> list[AnswerRecord | Exception]:
        out: list[AnswerRecord | Exception] = []
        for sample in items:
            label = (
                sample.label if isinstance(sample.label, str) else ("happy" if sample.label > 0 else "sad")
            )
            inputs = {"face_source": "mediapipe", "subtitle_source": "dataset" if sample.subtitle else None}
            out.append(AnswerRecord(name=sample.name, text=_answer(label), inputs=inputs))
        return out

    def close(self) -> None:
        pass


def test_bench_runs(
    tmp_path: Path, gt: tuple[Path, Path], wheel_dir: Path, maps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ovmer.bench.runner import run_bench
    from ovmer.inference import model_table
    from ovmer.llm.lexicon import LexiconExtractor

    gt_root, _ = gt
    for folder, column in (("mer2023-dataset-process", "m"), ("cmumosi-process", "s")):
        (gt_root / folder / "transcription-engchi-polish.csv").write_text(
            "name,chinese,english\n" + "".join(f"{column}{j},x,words {j}\n" for j in range(4))
        )
    monkeypatch.setitem(model_table.MODEL_FACTORIES, "echo", lambda argument: _EchoModel())
    run = tmp_path / "run"
    bench = run_bench("echo", ["mer2023", "cmumosi"], gt_root, run, LexiconExtractor(maps), maps)
    stored = bench.to_json()["datasets"]
    out = tmp_path / "board.json"
    upstream = _upstream(tmp_path / "output")
    args = ["leaderboard", str(run), str(upstream), "--gt-root", str(gt_root), "--protocol", "clean",
            "--json", str(out), "--assets", str(wheel_dir)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    rows = json.loads(out.read_text())["rows"]
    (echo,) = [r for r in rows if r["model"] == "echo:v1"]
    assert (echo["inputs"], echo["variant"], echo["source"]) == ("V,T", "subtitle", "measured")
    assert echo["datasets"]["mer2023"]["score"] == pytest.approx(100.0)
    assert echo["datasets"]["mer2023"]["file"] == str(run / "mer2023" / "predictions.jsonl")
    for dataset in ("mer2023", "cmumosi"):  # rescored from predictions.jsonl = what bench stored
        assert echo["datasets"][dataset]["metrics"] == flat_metrics(stored[dataset]["scores"]["clean"])
    assert not any(r["datasets"].get("ovmerd") for r in rows)  # no --gt for ovmerd: left out
    # Without ground truth the bench run's stored scores are used, under the chosen protocol.
    result = CliRunner().invoke(
        app, ["leaderboard", str(run), "--json", str(out), "--assets", str(wheel_dir)]
    )
    assert result.exit_code == 0, result.output
    (echo,) = json.loads(out.read_text())["rows"]
    assert echo["datasets"]["cmumosi"]["metrics"] == flat_metrics(stored["cmumosi"]["scores"]["paper"])
    assert "score stored by `ovmer bench`" in echo["datasets"]["cmumosi"]["note"]


def test_bad_paths(tmp_path: Path, wheel_dir: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "board.json"
    result = runner.invoke(
        app, ["leaderboard", str(tmp_path / "nope"), "--json", str(out), "--assets", str(wheel_dir)]
    )
    assert result.exit_code == 2 and "not found" in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(
        app, ["leaderboard", str(tmp_path / "empty"), "--json", str(out), "--assets", str(wheel_dir)]
    )
    assert result.exit_code == 2 and "neither an `ovmer bench` run" in result.output
    result = runner.invoke(
        app, ["leaderboard", str(tmp_path / "empty"), "--json", str(tmp_path), "--assets", str(wheel_dir)]
    )
    assert result.exit_code == 2 and "is a folder, not a file" in result.output
    result = runner.invoke(
        app, ["leaderboard", str(tmp_path), "--json", str(out), "--report", str(tmp_path / "b.png")]
    )
    assert result.exit_code == 2 and "give --report a .md name" in result.output
    result = runner.invoke(app, ["leaderboard", str(tmp_path), "--gt", "ovmerd", "--json", str(out)])
    assert result.exit_code == 2 and "expected ID=FILE" in result.output
    assert not out.exists()


def test_released_outputs(
    tmp_path: Path, published: Path, gt_root: Path, reference: Path, mapper: Any
) -> None:
    """The released AffectGPT files under baseline names give the paper's Table 2 figures (MER2023 epoch 50,
    CMU-MOSI epoch 40), and the MER2024 OV example pair its known OV-MER metrics."""
    from tests.conftest import RUN

    root = tmp_path / "output"
    for dataset, epoch in (
        ("mer2023", "checkpoint_000050_loss_0.527"),
        ("cmumosi", "checkpoint_000040_loss_0.569"),
    ):
        folder = root / f"results-{dataset}" / "AffectGPT"
        folder.mkdir(parents=True)
        for source in (published / f"results-{dataset}" / RUN).glob(f"{epoch}*.npz"):
            (folder / source.name.replace(epoch, "results-subtitle")).symlink_to(source)
    from ovmer.results import read_predictions

    example = read_predictions(reference / "ov_example" / "predict-openset.csv")
    write_official(example, root / "results-ovmerd" / "AffectGPT" / "output-reason-7b-subtitle-eng.npz")
    board = build_leaderboard([root], mapper, lambda: pytest.fail("nothing needs extraction"), gt_root=gt_root,
                              gt_files={"ovmerd": reference / "ov_example" / "check-openset.csv"}, paper=True)  # fmt: skip
    (row,) = board.rows
    published_row = next(r for r in board.paper_rows if (r.key.model, r.key.inputs) == ("AffectGPT", "A,V,T"))
    assert row.cells["mer2023"].score["score"] == pytest.approx(78.53869969, abs=1e-7)
    assert round(row.cells["mer2023"].score["score"], 2) == published_row.paper_scores["mer2023"]
    assert round(row.cells["cmumosi"].score["score"], 2) == published_row.paper_scores["cmumosi"]  # 81.30
    metrics = row.cells["ovmerd"].to_json()["metrics"]
    assert metrics["M_avg"] == pytest.approx(45.91844929, abs=1e-7)
    assert metrics["M1"] == pytest.approx(29.12038895, abs=1e-7)
    assert metrics["set_scores/M1/precision"] == pytest.approx(33.38872105, abs=1e-7)
    assert metrics["unibench/L1/f"] == pytest.approx(55.37059070, abs=1e-7)
    data = board.to_json()
    assert [r["source"] for r in data["rows"]] == ["measured"] + ["paper"] * 19
