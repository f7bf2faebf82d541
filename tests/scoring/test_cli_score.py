"""`ovmer score`, `ovmer unibench` and `ovmer convert` end to end on the reference files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from tests.conftest import RUN, results_with_broken_checkpoint
from tests.metrics.test_published_fixtures import OV_F_PERCENT

runner = CliRunner()


def _invoke(*args: str) -> object:
    result = runner.invoke(app, [str(a) for a in args])
    return result


def test_score_mer2023_epoch50(assets_env: Path, reference: Path, published: Path, tmp_path: Path) -> None:
    out = tmp_path / "score.json"
    report = tmp_path / "score.md"
    result = _invoke("score", "--dataset", "mer2023", "--gt", reference / "labels/mer2023-dataset-process/label-6way.npz",
                     "--pred", published / f"results-mer2023/{RUN}/checkpoint_000050_loss_0.527-openset.npz",
                     "--json", out, "--report", report)  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["metric"] == "hit_rate" and data["protocol"] == "paper"
    assert data["score"] == pytest.approx(78.53869969, abs=1e-7)
    assert data["n_scored"] == 323
    assert [w["kept"] for w in data["per_wheel"].values()] == [323, 323, 323, 323, 305]
    assert "78.54" in result.output and "78.54" in report.read_text()


def test_score_ov_example_has_twelve_f_and_variants(
    assets_env: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ov.json"
    result = _invoke("score", "--dataset", "ovmerd", "--gt", reference / "ov_example/check-openset.csv",
                     "--pred", reference / "ov_example/predict-openset.csv",
                     "--grouping", reference / "ov_example/openset-synonym.zip", "--json", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    keys = ["M1", "M2"] + [f"W{k}L{j}" for k in range(1, 6) for j in (1, 2)]
    assert [round(data[k], 2) for k in keys] == OV_F_PERCENT
    assert data["M_avg"] == pytest.approx(45.91844929, abs=1e-7)
    assert data["metric"] == "ovmer_m_avg" and data["score"] == data["M_avg"]
    assert data["unibench"]["L1"]["f"] == pytest.approx(55.37059070, abs=1e-7)
    assert data["unibench"]["L1"]["precision"] == pytest.approx(55.93952138, abs=1e-7)
    assert data["unibench"]["L2"]["f"] == pytest.approx(42.44863489, abs=1e-7)
    assert data["mer2025"]["score"] == pytest.approx(48.90961279, abs=1e-7)
    assert data["gpt_grouping"]["avg"] == pytest.approx(53.97841365461847, abs=1e-9)
    assert data["inputs"]["n_ground_truth"] == 332


def test_unibench_paper_protocol_reproduces_published_values(
    assets_env: Path, published: Path, gt_root: Path, tmp_path: Path
) -> None:
    out, report = tmp_path / "u.json", tmp_path / "u.md"
    result = _invoke(
        "unibench", published, "--gt-root", gt_root, "--protocol", "paper", "--json", out, "--report", report
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["protocol"] == "paper" and "best-of-N" in data["protocol_label"]
    mer, mosi = data["datasets"]["mer2023"], data["datasets"]["cmumosi"]
    assert mer["checkpoint"] == "checkpoint_000050_loss_0.527" and round(mer["score"], 2) == 78.54
    assert mosi["checkpoint"] == "checkpoint_000040_loss_0.569" and round(mosi["score"], 2) == 81.30
    assert round(mosi["secondary"]["acc"], 2) == 81.25
    assert len(mer["per_checkpoint"]) == 7 and round(min(mer["per_checkpoint"].values()), 2) == 72.55
    assert data["mean"] == pytest.approx((mer["score"] + mosi["score"]) / 2, abs=1e-12)
    assert data["n_datasets"] == 2 and data["complete"] is False
    assert data["datasets"]["meld"]["status"] == "skipped"
    assert (
        data["datasets"]["mer2024"]["status"] == "skipped"
        and "ground truth not found" in data["datasets"]["mer2024"]["reason"]
    )
    text = report.read_text()
    assert "**78.54**" in text and "Scores per checkpoint" in text and "M3-W5-L1 hit rate (244/305)" in text
    assert report.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_unibench_clean_protocol_needs_a_declared_checkpoint(
    assets_env: Path, published: Path, gt_root: Path, tmp_path: Path
) -> None:
    refused = _invoke("unibench", published, "--gt-root", gt_root)
    assert refused.exit_code == 2 and "--checkpoint" in refused.output
    out = tmp_path / "clean.json"
    result = _invoke("unibench", published, "--gt-root", gt_root, "--checkpoint", "60", "--json", out)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["protocol"] == "clean"
    assert {d["checkpoint"] for d in data["datasets"].values() if d["status"] == "scored"} == {
        "checkpoint_000060_loss_0.480"
    }
    assert round(data["datasets"]["mer2023"]["score"], 2) == 73.69
    assert list(data["datasets"]["mer2023"]["per_checkpoint"]) == ["checkpoint_000060_loss_0.480"]
    paper_flags = _invoke(
        "unibench", published, "--gt-root", gt_root, "--protocol", "paper", "--checkpoint", "60"
    )
    assert paper_flags.exit_code == 2


def _write_sentiment(path: Path, names: list[str], items: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, filenames=np.array(names), fileitems=np.array(items))


def test_clean_protocol_selects_checkpoint_on_validation_split(
    assets_env: Path, reference: Path, published: Path, gt_root: Path, tmp_path: Path
) -> None:
    from ovmer.data import read_ground_truth

    val = read_ground_truth("cmumosi", reference / "labels/cmumosi-process/label.npz", split="val")
    names = list(val)
    good = ["positive" if val[n] > 0 else "negative" for n in names]
    val_dir = tmp_path / "val" / "results-cmumosi" / RUN
    _write_sentiment(
        val_dir / "checkpoint_000030_loss_0.602-openset-sentiment.npz", names, ["negative"] * len(names)
    )
    _write_sentiment(val_dir / "checkpoint_000055_loss_0.493-openset-sentiment.npz", names, good)
    out = tmp_path / "sel.json"
    result = _invoke(
        "unibench", published, "--gt-root", gt_root, "--select-on-val", tmp_path / "val", "--json", out
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["selection"]["method"] == "validation" and data["selection"]["datasets"] == ["cmumosi"]
    assert data["selection"]["validation_mean"]["checkpoint_000055_loss_0.493"] == 100.0
    assert data["datasets"]["mer2023"]["checkpoint"] == "checkpoint_000055_loss_0.493"
    assert round(data["datasets"]["cmumosi"]["score"], 2) == 79.53


def test_convert_round_trip_and_ovmer_layout(
    assets_env: Path, published: Path, gt_root: Path, tmp_path: Path
) -> None:
    base = published / f"results-mer2023/{RUN}/checkpoint_000050_loss_0.527.npz"
    jsonl = tmp_path / "mine" / "mer2023" / "myrun" / "epoch50.jsonl"
    assert _invoke("convert", base, jsonl, "--model", "affectgpt").exit_code == 0
    first = json.loads(jsonl.read_text().splitlines()[0])
    assert set(first) >= {"name", "text", "ov_labels", "model", "checkpoint"}
    assert first["checkpoint"] == "checkpoint_000050_loss_0.527"
    back = tmp_path / "back" / "x.npz"
    assert _invoke("convert", jsonl, back).exit_code == 0
    from ovmer.results import read_checkpoint

    original, restored = read_checkpoint(base), read_checkpoint(back)
    assert {n: (r.text, r.ov_labels) for n, r in original.records.items()} == {
        n: (r.text, r.ov_labels) for n, r in restored.records.items()
    }
    out = tmp_path / "mine.json"
    result = _invoke("unibench", tmp_path / "mine", "--gt-root", gt_root, "--json", out)
    assert result.exit_code == 0, result.output
    assert round(json.loads(out.read_text())["datasets"]["mer2023"]["score"], 2) == 78.54


def test_unibench_records_a_broken_checkpoint_and_goes_on(
    assets_env: Path, published: Path, gt_root: Path, tmp_path: Path
) -> None:
    results = results_with_broken_checkpoint(published, tmp_path)
    out = tmp_path / "u.json"
    result = _invoke("unibench", results, "--gt-root", gt_root, "--protocol", "paper", "--json", out)
    assert result.exit_code == 0, result.output
    mer = json.loads(out.read_text())["datasets"]["mer2023"]
    assert mer["per_checkpoint"]["checkpoint_000035_loss_0.597"] is None
    assert "not a readable .npz" in mer["checkpoint_errors"]["checkpoint_000035_loss_0.597"]
    assert round(mer["score"], 2) == 78.54
