"""``ovmer classifier train|predict`` end to end, and the error contract (docs/cli.md)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ovmer.classifier.votes import VOTES_HEADER, read_votes
from ovmer.cli.main import app
from tests.classifier.conftest import Synthetic

runner = CliRunner()
TINY = ["--epochs", "40", "--hidden-dim", "16", "--dropout", "0.1"]


def test_train_then_predict_from_the_command_line(synthetic: Synthetic, tmp_path: Path) -> None:
    labels = tmp_path / "labelled.csv"
    labels.write_text(synthetic.labels.read_text() + "ghost,happy,1\n")
    members = tmp_path / "members"
    result = runner.invoke(
        app,
        ["classifier", "train", "--dataset", f"csv:{labels}", "--features", str(synthetic.features),
         "--out", str(members), "--members", "2", "--seed", "5", *TINY],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "labelled-seed5: emotion acc" in result.output and "1 labelled clip(s) skipped" in result.output
    report = json.loads((members / "train_report.json").read_text())
    assert [m["seed"] for m in report["members"]] == [5, 6]
    assert report["skipped"] == [{"dataset": "labelled", "name": "ghost", "reason": "no feature file"}]
    assert all(m["held_out"]["emotion"]["accuracy"] > 0.6 for m in report["members"])

    votes = tmp_path / "votes"
    result = runner.invoke(
        app,
        [
            "classifier",
            "predict",
            "--members",
            str(members),
            "--features",
            str(synthetic.features),
            "--out",
            str(votes),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in votes.glob("*.csv")) == ["labelled-seed5.csv", "labelled-seed6.csv"]
    assert (votes / "labelled-seed5.csv").read_text().splitlines()[0] == ",".join(VOTES_HEADER)
    assert len(read_votes(votes / "labelled-seed6.csv")) == 160

    names = tmp_path / "names.csv"
    names.write_text("name\nsynth_00000\nghost\n")
    result = runner.invoke(
        app,
        ["classifier", "predict", "--members", str(members), "--features", str(synthetic.features),
         "--out", str(tmp_path / "some"), "--names", str(names)],
    )  # fmt: skip
    assert result.exit_code == 3, result.output  # some clips could not be predicted
    assert "2 clip prediction(s) skipped" in result.output


def test_bad_input_exits_2_with_one_message(synthetic: Synthetic, tmp_path: Path) -> None:
    base = ["classifier", "train", "--features", str(synthetic.features), "--out", str(tmp_path / "o")]
    cases = [
        (["--dataset", "nosuchset"], "unknown dataset 'nosuchset'"),
        (["--dataset", "meld"], "give --data-root"),
        (["--dataset", f"csv:{tmp_path / 'none.csv'}"], "cannot read the label CSV"),
        (["--dataset", f"csv:{synthetic.labels}", "--modalities", "smell"], "modalities ['smell']"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output and "Traceback" not in result.output
    result = runner.invoke(
        app,
        [
            "classifier",
            "predict",
            "--members",
            str(tmp_path),
            "--features",
            str(synthetic.features),
            "--out",
            str(tmp_path / "p"),
        ],
    )
    assert result.exit_code == 2 and "no classifier members" in result.output
    result = runner.invoke(app, [*base, "--dataset", f"csv:{synthetic.labels}", "--members", "0"])
    assert result.exit_code == 2


def test_a_registered_dataset_trains_from_its_official_label_file(reference: Path, tmp_path: Path) -> None:
    """CMU-MOSI's label file with features for 60 of its 1,284 training clips: a sentiment-only member."""
    from ovmer.classifier.labels import read_labels
    from ovmer.classifier.synthetic import SyntheticClip, write_synthetic_features

    table = read_labels("cmumosi", reference / "labels")
    clips = [
        SyntheticClip(
            s.name, "neutral", {"negative": -1.0, "neutral": 0.0, "positive": 1.0}[str(s.sentiment)]
        )
        for s in table.samples[:60]
    ]
    write_synthetic_features(tmp_path / "features", clips, {"audio": 8, "visual": 6}, emotions=["neutral"])
    result = runner.invoke(
        app,
        ["classifier", "train", "--dataset", "cmumosi", "--data-root", str(reference / "labels"),
         "--features", str(tmp_path / "features"), "--out", str(tmp_path / "m"), "--epochs", "2", "--hidden-dim", "8"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1224 labelled clip(s) skipped" in result.output
    report = json.loads((tmp_path / "m" / "train_report.json").read_text())
    (member,) = report["members"]
    assert member["name"] == "cmumosi-seed0" and member["emotion_labels"] == []
    assert member["held_out"]["emotion"] is None and member["train_clips"] + member["held_out_clips"] == 60
