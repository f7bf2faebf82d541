"""The error contract of docs/cli.md: exit codes, one ``error:`` line, tracebacks only for bugs or --debug."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from tests.conftest import RUN, results_with_broken_checkpoint

runner = CliRunner()


def _invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_a_bug_shows_the_traceback_asks_for_a_report_and_never_exits_0(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ovmer.data.registry as registry

    def broken() -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(registry, "list_datasets", broken)
    code, output = _invoke("data", "list")
    assert code == 70
    assert "Traceback" in output and "ZeroDivisionError: boom" in output and "please report" in output


def test_debug_adds_the_traceback_to_an_expected_error(tmp_path: Path) -> None:
    code, output = _invoke("checkpoint", "inspect", tmp_path / "nope.pth")
    assert code == 2 and "Traceback" not in output and output.startswith("error:")
    code, output = _invoke("--debug", "checkpoint", "inspect", tmp_path / "nope.pth")
    assert code == 2 and "Traceback" in output and "nope.pth" in output


def test_ctrl_c_exits_130_and_says_how_to_resume(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("ovmer.bench.runner.run_bench", interrupted)
    monkeypatch.setattr("ovmer.assets.load_wheel_maps", lambda assets=None: None)
    monkeypatch.setattr("ovmer.llm.run.build_extractor", lambda *args, **kwargs: None)
    code, output = _invoke(
        "bench", "--model", "clues", "--datasets", "mer2023", "--root", tmp_path, "--out", tmp_path / "run"
    )
    assert code == 130 and "interrupted; run the same command again to resume" in output


@pytest.mark.parametrize(
    "args",
    [
        ["prepare", "ROOT", "-d", "mer2023", "--out", "OUT", "--limit", "-1"],
        ["prepare", "ROOT", "-d", "mer2023", "--out", "OUT", "--frames", "0"],
        ["prepare", "ROOT", "-d", "mer2023", "--out", "OUT", "--workers", "0"],
        [
            "bench",
            "--model",
            "clues",
            "--datasets",
            "mer2023",
            "--root",
            "ROOT",
            "--out",
            "OUT",
            "--limit",
            "-1",
        ],
        ["infer", "--out", "OUT", "--model", "m", "--dataset", "mer2023", "--limit", "-1"],
        ["data", "check", "ROOT", "-d", "mer2023", "--workers", "0"],
        [
            "extract",
            "--task",
            "ovlabels",
            "--backend",
            "lexicon",
            "--in",
            "I",
            "--out",
            "OUT",
            "--retries",
            "0",
        ],
    ],
    ids=lambda a: " ".join(a[:1] + a[-2:]),
)
def test_counts_out_of_range_are_usage_errors(args: list[str], tmp_path: Path) -> None:
    code, output = _invoke(*[str(tmp_path / a) if a in ("ROOT", "OUT", "I") else a for a in args])
    assert code == 2 and "Invalid value" in output and "Traceback" not in output
    assert not (tmp_path / "OUT").exists()


def test_unibench_exit_codes(assets_env: Path, published: Path, gt_root: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for results, gt in (
        (tmp_path / "none", gt_root),
        (a_file, gt_root),
        (published, tmp_path / "nogt"),
        (published, a_file),
    ):
        code, output = _invoke("unibench", results, "--gt-root", gt)
        assert code == 2 and "Traceback" not in output, output
        assert str(results if results != published else gt) in output.replace("\n", "")
    # Results for a dataset without labels under --gt-root: nothing scored → 2.
    empty_gt = tmp_path / "empty_gt"
    empty_gt.mkdir()
    code, output = _invoke("unibench", published, "--gt-root", empty_gt, "--protocol", "paper")
    assert code == 2 and "nothing was scored" in output.replace("\n", " ")
    # The only checkpoint is unreadable: the dataset failed → 3, with the reason and the --json written.
    results = tmp_path / "results"
    run = results / "results-mer2023" / RUN
    run.mkdir(parents=True)
    (run / "checkpoint_000010_loss_0.500.npz").write_bytes(b"garbage")
    out = tmp_path / "u.json"
    code, output = _invoke("unibench", results, "--gt-root", gt_root, "--datasets", "mer2023", "--json", out)
    assert code == 3 and "mer2023" in output and out.is_file(), output


def test_paper_protocol_notes_each_failed_checkpoint(
    assets_env: Path, published: Path, gt_root: Path, tmp_path: Path
) -> None:
    results = results_with_broken_checkpoint(published, tmp_path)
    code, output = _invoke(
        "unibench", results, "--gt-root", gt_root, "--protocol", "paper", "--datasets", "mer2023"
    )
    assert code == 0, output
    assert "checkpoint checkpoint_000035_loss_0.597 failed and was left out of the choice" in output.replace(
        "\n", " "
    )


def test_empty_predictions_give_a_warning_line_not_a_runtime_warning(
    assets_env: Path, reference: Path, tmp_path: Path
) -> None:
    pred = tmp_path / "empty.csv"
    pred.write_text("name,openset\nsample_00000000,[]\n")
    code, output = _invoke(
        "score", "-d", "ovmerd", "--gt", reference / "ov_example/check-openset.csv", "--pred", pred,
        "--protocol", "clean",
    )  # fmt: skip
    text = output.replace("\n", " ")
    assert code == 0, output
    assert "RuntimeWarning" not in text and "openset.py" not in text
    assert "F is  undefined" in text or "F is undefined" in text


def test_duplicate_names_get_one_coherent_message(assets_env: Path, reference: Path, tmp_path: Path) -> None:
    pred = tmp_path / "dup.csv"
    pred.write_text("name,openset\nsample_00000000,[happy]\nsample_00000000,[sad]\n")
    gt = reference / "ov_example/check-openset.csv"
    code, output = _invoke("score", "-d", "ovmerd", "--gt", gt, "--pred", pred, "--protocol", "clean")
    text = output.replace("\n", " ")
    assert code == 2 and "refuses to guess" in text and "last occurrence is used" not in text


@pytest.mark.parametrize(
    ("content", "says"), [(b"", "the file is empty"), (b"hello\n", "not a torch checkpoint")]
)
def test_checkpoint_inspect_names_the_file_and_the_problem(content: bytes, says: str, tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pth"
    path.write_bytes(content)
    code, output = _invoke("checkpoint", "inspect", path)
    text = output.replace("\n", "")
    assert code == 2 and str(path) in text and says in text and "Traceback" not in text
