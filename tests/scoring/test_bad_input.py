"""Bad prediction and ground-truth files: clear errors under `paper`, documented fallbacks under `clean`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.data import read_ground_truth
from ovmer.errors import InputFormatError, PredictionCoverageError
from ovmer.labels.mapping import LabelMapper
from ovmer.results import read_predictions
from ovmer.scoring import score_predictions
from tests.conftest import RUN

runner = CliRunner()


@pytest.fixture(scope="module")
def mer_gt(reference: Path) -> dict[str, str]:
    return read_ground_truth("mer2023", reference / "labels/mer2023-dataset-process/label-6way.npz")


@pytest.fixture(scope="module")
def mer_pred_path(published: Path) -> Path:
    return published / f"results-mer2023/{RUN}/checkpoint_000050_loss_0.527-openset.npz"


def _npz(path: Path, names: list[str], items: list[str]) -> Path:
    np.savez_compressed(path, filenames=np.array(names), fileitems=np.array(items))
    return path


def _subset(path: Path, tmp: Path, drop: int = 0, extra: int = 0, duplicate: str | None = None) -> Path:
    with np.load(path) as archive:
        names, items = archive["filenames"].tolist(), archive["fileitems"].tolist()
    names, items = names[drop:], items[drop:]
    names += [f"extra_{i}" for i in range(extra)]
    items += ["[happy]"] * extra
    if duplicate is not None:
        names.append(names[0])
        items.append(duplicate)
    return _npz(tmp / "pred-openset.npz", names, items)


def test_missing_predictions_paper_is_an_error_clean_counts_them_empty(
    mer_gt, mer_pred_path: Path, mapper: LabelMapper, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = _subset(mer_pred_path, tmp_path, drop=10)
    predictions = read_predictions(path)
    with pytest.raises(
        PredictionCoverageError, match=r"10 of 411 mer2023 samples have no prediction \(e\.g\. \['sample_"
    ):
        score_predictions("mer2023", mer_gt, predictions, mapper, "paper")
    clean = score_predictions("mer2023", mer_gt, predictions, mapper, "clean")
    full = score_predictions("mer2023", mer_gt, read_predictions(mer_pred_path), mapper, "clean")
    assert len(clean.inputs.missing) == 10
    assert clean.main <= full.main
    assert "10 ground-truth sample(s) have no prediction" in clean.inputs.warnings()[0]


def test_extra_names_are_ignored_and_reported(
    mer_gt, mer_pred_path: Path, mapper: LabelMapper, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    predictions = read_predictions(_subset(mer_pred_path, tmp_path, extra=4))
    score = score_predictions("mer2023", mer_gt, predictions, mapper, "paper")
    assert score.main == pytest.approx(0.7853869969, abs=1e-10)
    assert len(score.inputs.extra) == 4 and "extra_0" in score.inputs.warnings()[0]


def test_duplicates_last_wins_in_paper_and_are_refused_in_clean(
    mer_gt, mer_pred_path: Path, mapper: LabelMapper, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    predictions = read_predictions(_subset(mer_pred_path, tmp_path, duplicate="[nothing]"))
    first = next(iter(predictions.records))
    assert predictions.records[first].ov_labels == "[nothing]" and predictions.duplicates == {first: 1}
    paper = score_predictions("mer2023", mer_gt, predictions, mapper, "paper")
    assert paper.inputs.duplicates == [first]
    with pytest.raises(InputFormatError, match="appear more than once with different predictions"):
        score_predictions("mer2023", mer_gt, predictions, mapper, "clean")


def test_unparsable_and_unmappable_labels(
    mer_gt, mapper: LabelMapper, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    names = list(mer_gt)
    items = ["["] + ["The person seems sleepy and bored."] + ["[happy]"] * (len(names) - 2)
    score = score_predictions(
        "mer2023", mer_gt, read_predictions(_npz(tmp_path / "p-openset.npz", names, items)), mapper, "paper"
    )
    assert caplog.text.count("IndexError") == 1
    assert score.inputs.unmappable_predictions == 1
    assert score.inputs.unparsable_predictions == 1
    assert 0 < score.main < 1


def test_sentiment_outside_known_set_counts_as_zero(
    reference: Path, mapper: LabelMapper, tmp_path: Path
) -> None:
    gt = read_ground_truth("cmumosi", reference / "labels/cmumosi-process/label.npz")
    names = list(gt)
    items = ["Positive" if gt[n] > 0 else "negative" for n in names]  # wrong case: not 'positive'
    path = _npz(tmp_path / "x-openset-sentiment.npz", names, items)
    score = score_predictions("cmumosi", gt, read_predictions(path), mapper, "paper")
    assert score.inputs.nonstandard_sentiment == {"Positive": sum(1 for n in names if gt[n] > 0)}
    assert score.secondary["acc"] == pytest.approx(sum(1 for n in names if gt[n] < 0) / 656)


def test_wrong_file_kinds_say_what_to_do(
    mer_gt, published: Path, reference: Path, mapper: LabelMapper, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # The answers alone (a base .npz brings its -openset siblings along, so copy it without them).
    alone = tmp_path / "answers" / "checkpoint_000050_loss_0.527.npz"
    alone.parent.mkdir()
    shutil.copyfile(published / f"results-mer2023/{RUN}/checkpoint_000050_loss_0.527.npz", alone)
    answers = read_predictions(alone)
    with pytest.raises(InputFormatError, match="ovmer extract --task ovlabels"):
        score_predictions("mer2023", mer_gt, answers, mapper)
    gt = read_ground_truth("cmumosi", reference / "labels/cmumosi-process/label.npz")
    labels_only = read_predictions(
        published / f"results-cmumosi/{RUN}/checkpoint_000050_loss_0.527-openset.npz"
    )
    with pytest.raises(InputFormatError, match="ovmer extract --task sentiment"):
        score_predictions("cmumosi", gt, labels_only, mapper)
    odd = tmp_path / "odd.npz"
    np.savez(odd, something=np.arange(3))
    with pytest.raises(InputFormatError, match="none of the official formats"):
        read_predictions(odd)
    with pytest.raises(InputFormatError, match="unknown prediction format"):
        read_predictions(reference / "ov_example/openset-synonym.zip")
    with pytest.raises(InputFormatError, match=r"labels are an \.npz file"):
        read_ground_truth("mer2023", reference / "ov_example/check-openset.csv")


def test_empty_and_malformed_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(InputFormatError, match="file is empty"):
        read_predictions(empty)
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n")
    with pytest.raises(InputFormatError, match="holds no predictions"):
        read_predictions(blank)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"name": "a", "ov_labels": "[happy]"}\n{"name": 3}\n')
    with pytest.raises(InputFormatError, match=r"bad\.jsonl:2: each line must be an object"):
        read_predictions(bad)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"name": "a"\n')
    with pytest.raises(InputFormatError, match=r"broken\.jsonl:1: not valid JSON"):
        read_predictions(broken)
    csv = tmp_path / "p.csv"
    csv.write_text("sample,labels\na,happy\n")
    with pytest.raises(InputFormatError, match="needs columns name, openset"):
        read_predictions(csv)


def test_malicious_pickle_is_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("pwned",))

    path = tmp_path / "evil.npz"
    np.savez(path, name2reason=np.array({"a": Evil()}, dtype=object))
    with pytest.raises(InputFormatError, match=r"builtins\.print is not allowed"):
        read_predictions(path)


def test_ground_truth_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="not found"):
        read_ground_truth("meld", tmp_path / "label.npz")
    path = tmp_path / "label.npz"
    np.savez_compressed(path, test_corpus=np.array({"dia1_utt1": {"emo": 9, "val": -10}}, dtype=object))
    with pytest.raises(InputFormatError, match=r"dia1_utt1.*expected an integer 0–6"):
        read_ground_truth("meld", path)
    with pytest.raises(InputFormatError, match="no split 'test_corpus'"):
        np.savez_compressed(path, train_corpus=np.array({}, dtype=object))
        read_ground_truth("cmumosi", path)
    csv = tmp_path / "ovlabel.csv"
    csv.write_text("name,openset\na,\"['happy']\"\na,[]\n")
    with pytest.raises(InputFormatError, match="duplicate sample name"):
        read_ground_truth("ovmerdplus", csv)


def test_ov_ground_truth_empty_becomes_neutral_except_mer2025(tmp_path: Path) -> None:
    csv = tmp_path / "labels.csv"
    csv.write_text("name,openset\na,\"['happy', 'sad']\"\nb,[]\nc,\n")
    assert read_ground_truth("ovmerdplus", csv) == {"a": "happy, sad", "b": "neutral", "c": "neutral"}
    assert read_ground_truth("mer2025ov", csv) == {"a": "happy, sad", "b": "", "c": ""}


def test_cli_reports_errors_without_traceback(
    assets_env: Path, reference: Path, mer_pred_path: Path, tmp_path: Path
) -> None:
    path = _subset(mer_pred_path, tmp_path, drop=3)
    args = [
        "score",
        "--dataset",
        "mer2023",
        "--gt",
        str(reference / "labels/mer2023-dataset-process/label-6way.npz"),
        "--pred",
        str(path),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "error:" in result.output and "Traceback" not in result.output
    out = tmp_path / "clean.json"
    result = runner.invoke(app, [*args, "--protocol", "clean", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["inputs"]["missing"] == 3
    unknown = runner.invoke(app, ["score", "--dataset", "nope", "--gt", "x", "--pred", "y"])
    assert unknown.exit_code == 2 and "unknown dataset 'nope'" in unknown.output


def test_mer2025_submission_must_cover_the_candidates(assets_env: Path, tmp_path: Path) -> None:
    from ovmer.scoring import score_file

    (tmp_path / "track2_test.csv").write_text("name,openset\na,\"['happy']\"\nb,[]\n")
    (tmp_path / "track_all_candidates.csv").write_text("name\na\nb\nc\n")
    pred = _npz(tmp_path / "sub-openset.npz", ["a", "b"], ["[happy]", "[sad]"])
    with pytest.raises(
        PredictionCoverageError, match=r"exactly the 3 candidate names; 1 missing \(e\.g\. \['c'\]\)"
    ):
        score_file("mer2025ov", tmp_path / "track2_test.csv", pred)
    full = _npz(tmp_path / "full-openset.npz", ["a", "b", "c"], ["[happy]", "[sad]", "[]"])
    result = score_file("mer2025ov", tmp_path / "track2_test.csv", full)
    assert (
        result.metric == "mer2025_score" and result.n_scored == 1
    )  # b has an empty list: skipped, not neutral
    assert result.main == 1.0
