"""The whole pipeline on synthetic clips: describe → filter → corpus → registry → one training step."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.annotate.filter import Verdict
from ovmer.cli.main import app
from ovmer.results.jsonl import read_json_lines
from ovmer.results.review import record_decision
from tests.annotate.conftest import CLIPS, write_manifest, write_votes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(talking_clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Path:
    """``annotate describe`` (clue engine, rules merge) and ``annotate filter`` run by the CLI."""
    folder = tmp_path_factory.mktemp("pipeline")
    rows = [{"name": n, "video": str(p), "subtitle": CLIPS[n][1]} for n, p in talking_clips.items()]
    rows.append({"name": "broken", "video": str(folder / "missing.mp4"), "subtitle": ""})
    manifest = write_manifest(folder / "clips.csv", rows)
    corpus = folder / "corpus"
    runner = CliRunner()
    result = runner.invoke(app, ["annotate", "describe", str(manifest), "--out", str(corpus)])
    assert result.exit_code == 3, result.output  # the broken clip is recorded, the run went on
    names = list(talking_clips)
    votes = [
        write_votes(folder / f"member{k}.csv", [(n, "happy", "positive") for n in names]) for k in range(2)
    ] + [write_votes(folder / "member2.csv", [(n, "sad", "") for n in names])]
    args = ["annotate", "filter", str(corpus), "--length-quantiles", "0,1", "--assets", str(wheel_dir)]
    result = runner.invoke(app, [*args, "--votes", *map(str, votes), "--name", "synth"])  # votes/*.csv
    assert result.exit_code == 0, result.output
    assert "| speaker | 3 | 1 |" in result.output
    return corpus


def test_describe_writes_clues_and_descriptions(built: Path) -> None:
    rows = {r["name"]: r for r in read_json_lines(built / "clips.jsonl")}
    talk = rows["talk_a"]
    assert talk["branch"] == "video_audio"
    assert "smiles" in talk["visual_clue"] and "voice" in talk["audio_clue"]
    assert (
        talk["description"].startswith("Visual clues: In the video")
        and CLIPS["talk_a"][1] in talk["description"]
    )
    assert talk["provenance"]["audio_model"] == "clues:v1" and talk["provenance"]["merge"] == "rules:v1"
    assert "no clue and no subtitle" in rows["broken"]["error"]


def test_filter_funnel_and_corpus(built: Path) -> None:
    funnel = json.loads((built / "funnel.json").read_text())
    assert funnel["clips_in"] == 3 and funnel["failed_description"] == 1
    assert [s["removed"] for s in funnel["stages"]] == [1, 0, 0, 0]
    assert funnel["clips_out"] == 2 and funnel["vote_members"] == 3
    verdicts = {r["name"]: r for r in read_json_lines(built / "filter.jsonl")}
    assert verdicts["still_a"]["stage"] == "speaker" and "lips do not follow" in verdicts["still_a"]["reason"]
    assert verdicts["talk_a"]["details"]["vote"]["emotion"]["winner"] == "happy"
    track2 = (built / "track2_train_synth.csv").read_text().splitlines()
    assert track2[0] == "name,openset" and {line.split(",")[0] for line in track2[1:]} == {"talk_a", "talk_b"}
    assert (built / "track3_train_synth.csv").read_text().startswith("name,reason\n")
    provenance = {r["name"]: r for r in read_json_lines(built / "provenance.jsonl")}
    assert (
        provenance["still_a"]["in_corpus"] is False and provenance["still_a"]["filter"]["stage"] == "speaker"
    )


def test_review_decisions_bind_the_export(built: Path) -> None:
    record_decision(built, "still_a", "accept", reviewer="ann")
    record_decision(built, "talk_b", "reject", reviewer="ann")
    record_decision(built, "talk_a", "edit", reviewer="ann", labels=["joyful", "relieved"])
    result = CliRunner().invoke(app, ["annotate", "export", str(built), "--name", "synth", "--json"])
    assert result.exit_code == 0, result.output
    from ovmer.annotate.filter import review_counts
    from ovmer.results.review import FILTER_FILE

    verdicts = {r["name"]: Verdict(**r) for r in read_json_lines(built / FILTER_FILE)}
    assert review_counts(built, verdicts) == {
        "decisions": 3, "brought_back": 1, "rejected": 1, "edited": 1, "corpus_out": 2
    }  # fmt: skip
    with (built / "track2_train_synth.csv").open(newline="") as handle:
        rows = {row["name"]: row["openset"] for row in csv.DictReader(handle)}
    assert rows == {"still_a": "['happy']", "talk_a": "['joyful', 'relieved']"}  # accept, edit; reject gone


def test_the_corpus_trains_unchanged(built: Path, tmp_path: Path) -> None:
    from ovmer.data.registry import load_samples
    from ovmer.train.config import load_train_config
    from ovmer.train.recipe import train

    manifest = built / "manifest.csv"
    samples = load_samples(None, f"csv:{manifest}")
    assert samples and all(s.description and s.label is not None for s in samples)
    cfg = load_train_config(
        "tiny-face",
        [
            f"data.dataset=csv:{manifest}",
            "model.config=affectgpt-frame",
            f"run.output_dir={tmp_path / 'run'}",
            "run.progress=false",
            "run.resume=never",
            "run.max_steps=1",
            "run.batch_size=1",
        ],
    )
    result = train(cfg)
    assert len(result.losses) == 1 and result.losses[0] > 0
