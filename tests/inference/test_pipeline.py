"""The README's path end to end on a tiny tree: ``infer → extract → score → unibench``.

Both routes are taken from the same ``infer`` call: the JSONL answer records and upstream's official
``.npz``. They must give the same labels and the same scores. (Before the one answer record existed,
``extract`` could not read ``infer``'s JSONL: every sample landed in ``missing_input``.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.results import read_predictions
from tests.inference.test_infer import NAMES, _infer_args, _mer2023_tree

CHECKPOINT = "checkpoint_000050_loss_0.527"
EXTRACT_LABELS = ["extract", "--task", "ovlabels", "--backend", "lexicon"]


def _ok(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_infer_extract_score_unibench_on_jsonl_and_npz(
    tmp_path: Path, tiny_face_dir: Path, wheel_dir: Path
) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    root = _mer2023_tree(data)
    _ok(_infer_args(data, out, tiny_face_dir))
    assets = ["--assets", str(wheel_dir)]

    # JSONL route: the answer records go straight into extract, into the ovmer results layout.
    answers = out / "mer2023" / "ovlabels" / "answers.jsonl"
    labels_jsonl = tmp_path / "ovmer" / "mer2023" / "r" / f"{CHECKPOINT}.jsonl"
    labels_jsonl.parent.mkdir(parents=True)
    extract = [*EXTRACT_LABELS, *assets]
    _ok([*extract, "--in", str(answers), "--out", str(labels_jsonl)])
    sidecar = json.loads(labels_jsonl.with_name(labels_jsonl.name + ".extraction.json").read_text())
    assert (sidecar["extracted"], sidecar["missing_input"], sidecar["failures"]) == (3, [], {})

    # Official route: the name2reason .npz, its -openset.npz written beside it.
    official = tmp_path / "official"
    shutil.copytree(out / "results-mer2023", official / "results-mer2023")
    base = official / "results-mer2023" / "r" / f"{CHECKPOINT}.npz"
    _ok([*extract, "--in", str(base), "--out", str(base)])
    assert base.with_name(f"{CHECKPOINT}-openset.npz").is_file()

    from_jsonl, from_npz = read_predictions(labels_jsonl), read_predictions(base)
    assert sorted(from_jsonl.records) == NAMES
    assert from_jsonl.field_map("text") == from_npz.field_map("text")
    assert from_jsonl.field_map("ov_labels") == from_npz.field_map("ov_labels")
    record = from_jsonl.records[NAMES[0]]  # the record keeps what infer knew about the sample
    assert record.model is not None and record.model.startswith("affectgpt:")
    assert record.inputs is not None and record.inputs["face_source"] == "openface"

    gt = root / "label-6way.npz"
    scores = []
    for pred in (labels_jsonl, base):
        target = tmp_path / f"score-{pred.suffix[1:]}.json"
        _ok(
            [
                "score",
                "--dataset",
                "mer2023",
                "--gt",
                str(gt),
                "--pred",
                str(pred),
                "--json",
                str(target),
                *assets,
            ]
        )
        scores.append(json.loads(target.read_text()))
    assert scores[0]["score"] == scores[1]["score"] and scores[0]["n_scored"] == 3

    means = []
    for results in (tmp_path / "ovmer", official):
        target = results.with_suffix(".unibench.json")
        _ok(["unibench", str(results), "--gt-root", str(data), "--json", str(target), *assets])
        summary = json.loads(target.read_text())
        mer = summary["datasets"]["mer2023"]
        assert (mer["status"], mer["checkpoint"], mer["n_scored"]) == ("scored", CHECKPOINT, 3)
        means.append(mer["score"])
    assert means[0] == means[1] == scores[0]["score"]


def test_legacy_response_field_still_reads(tmp_path: Path, wheel_dir: Path) -> None:
    """JSONL written by ``infer`` before the answer record (``response``) is read, with a warning."""
    legacy = tmp_path / "responses.jsonl"
    lines = [{"name": "a", "response": "She is happy and relieved.", "dataset": "toy", "task": "ovlabels"}]
    legacy.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    with pytest.warns(FutureWarning, match="'response' field is deprecated"):
        predictions = read_predictions(legacy)
    assert predictions.field_map("text") == {"a": "She is happy and relieved."}
    out = tmp_path / "labels.jsonl"
    _ok([*EXTRACT_LABELS, "--assets", str(wheel_dir), "--in", str(legacy), "--out", str(out)])
    assert "happy" in str(read_predictions(out).records["a"].ov_labels)
