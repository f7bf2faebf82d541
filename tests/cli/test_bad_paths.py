"""Every ``ovmer`` command against bad paths: a message, the documented exit code, nothing half-written.

The contract is docs/cli.md. Commands are enumerated from the Typer app, so a new command is covered
as soon as it is registered. Tests run as root, so a file without read permission cannot be made;
"cannot be read or written" is a directory, a path under a regular file, a FIFO (as an output only:
opening one for reading would block) or a /proc path instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from ovmer.cli.main import app

runner = CliRunner()

#: Values of required parameters that are not paths (the path ones get the bad path under test).
NOT_PATHS = {"dataset": "mer2023", "datasets": "mer2023", "task": "ovlabels", "backend": "lexicon"}
#: Extra options that make a command reach its paths (``describe`` would otherwise ask for --model).
EXTRA = {
    "describe": ["--engine", "clues", "--no-asr"],
    "bench": ["--model", "clues"],
    "infer": ["--root", "{bad}"],
    "assets path": ["--assets", "{bad}"],
    "assets verify": ["{bad}"],
    "assets fetch": ["--dest", "{bad}"],
    "data check": ["--quick"],
    "serve": ["--assets", "{bad}"],  # checked before the server starts (it would otherwise serve forever)
}
#: Commands that need no path at all: nothing to test here.
NO_PATHS = {"data list", "data info"}
#: Checks may also report "problems found" (1) for a folder that is there but wrong.
CHECKS = {"assets verify", "data check"}


def _leaf_commands() -> dict[str, list[object]]:
    """``"data check"`` → its click parameters, for every command of the app."""
    found: dict[str, list[object]] = {}

    def walk(command: object, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        else:
            found[" ".join(path)] = list(getattr(command, "params", []))

    walk(typer.main.get_command(app), [])
    return found


def _args(command: str, params: list[object], bad: Path) -> list[str]:
    args = command.split()
    for param in params:
        name = getattr(param, "name", "")
        if not getattr(param, "required", False) or name in ("bench_model",):
            continue
        if command == "bench" and name == "model":
            continue  # given in EXTRA
        value = NOT_PATHS.get(name, str(bad))
        opts = getattr(param, "opts", [])
        if getattr(param, "param_type_name", "") == "option":
            args += [opts[0], value]
        else:
            args.append(value)
    args += [a.replace("{bad}", str(bad)) for a in EXTRA.get(command, [])]
    return args


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def bad_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("OVMER_ASSETS_DIR", str(tmp_path / "no-assets"))  # never download
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("not a folder\n")
    folder = tmp_path / "a_folder"
    folder.mkdir()
    empty = tmp_path / "empty.npz"
    empty.touch()
    huge = tmp_path / "huge.npz"
    # 1 GiB of holes: no disk used, but a reader that loads it whole takes seconds (model and train
    # configs still do: about 4 s each, which is what bounds this size).
    with open(huge, "wb") as handle:
        handle.truncate(1 << 30)
    return {
        "missing": tmp_path / "missing" / "nothing.npz",
        "directory": folder,
        "under a file": a_file / "sub.npz",
        "proc": Path("/proc/ovmer-no-such/x.npz"),
        "empty file": empty,
        "huge sparse file": huge,
    }


def test_every_command_refuses_bad_paths_cleanly(bad_paths: dict[str, Path], tmp_path: Path) -> None:
    started = time.monotonic()
    commands = {c: p for c, p in _leaf_commands().items() if c not in NO_PATHS}
    assert {"score", "unibench", "prepare", "bench", "checkpoint inspect", "data check"} <= set(commands)
    before = _snapshot(tmp_path)
    failures = []
    for command, params in sorted(commands.items()):
        for kind, bad in bad_paths.items():
            args = _args(command, params, bad)
            result = runner.invoke(app, args)
            output = result.output
            allowed = {1, 2} if command in CHECKS else {2}
            said = "error:" in output or (command in CHECKS and result.exit_code == 1)  # a check's report
            if "Traceback" in output or result.exit_code not in allowed or not said:
                failures.append(f"ovmer {' '.join(args)} [{kind}] → {result.exit_code}:\n{output[-800:]}")
            left = _snapshot(tmp_path) - before
            if left:
                failures.append(f"ovmer {' '.join(args)} [{kind}] left {sorted(left)}")
                for extra in sorted(left, key=len, reverse=True):
                    path = tmp_path / extra
                    path.unlink() if path.is_file() else path.rmdir()
    assert not failures, "\n\n".join(
        f.splitlines()[0] + "\n" + "\n".join(f.splitlines()[-3:]) for f in failures
    )
    assert time.monotonic() - started < 60


OUTPUT_OPTIONS = [
    ["score", "-d", "mer2023", "--gt", "{missing}", "--pred", "{missing}", "--json", "{out}"],
    ["score", "-d", "mer2023", "--gt", "{missing}", "--pred", "{missing}", "--report", "{out}"],
    ["unibench", "{missing}", "--gt-root", "{missing}", "--json", "{out}"],
    ["unibench", "{missing}", "--gt-root", "{missing}", "--report", "{out}"],
    ["leaderboard", "{missing}", "--json", "{out}"],
    ["data", "check", "{missing}", "-d", "mer2023", "--json", "{out}"],
    ["model", "summary", "affectgpt-face", "--meta", "--json", "{out}"],
    ["convert", "{missing}", "{out}"],
    ["extract", "--task", "ovlabels", "--backend", "lexicon", "--in", "{missing}", "--out", "{out}"],
]


@pytest.mark.parametrize("args", OUTPUT_OPTIONS, ids=lambda a: " ".join(a[:2]))
def test_unwritable_output_files_are_refused_before_the_work(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVMER_ASSETS_DIR", str(tmp_path / "no-assets"))
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    fifo = tmp_path / "a_fifo.jsonl"  # .jsonl: convert and extract choose the format by the suffix
    os.mkfifo(fifo)
    folder = tmp_path / "a_folder.jsonl"
    folder.mkdir()
    for out in (folder, a_file / "sub.jsonl", Path("/proc/x.jsonl"), fifo):
        shown = str(out)
        filled = [a.replace("{missing}", str(tmp_path / "missing")).replace("{out}", str(out)) for a in args]
        result = runner.invoke(app, filled)
        assert result.exit_code == 2, (filled, result.output)
        text = result.output.replace("\n", "")
        assert "error:" in text and shown in text and "Traceback" not in text, (filled, result.output)
        assert str(tmp_path / "missing") not in text  # refused before the inputs were even read


@pytest.mark.parametrize("command", ["prepare", "bench"])
def test_an_out_folder_that_is_a_file_or_under_one_is_refused(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVMER_ASSETS_DIR", str(tmp_path / "no-assets"))
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for out in (a_file, a_file / "sub"):
        args = [command, "--out", str(out)]
        args += (
            [str(tmp_path), "--dataset", "mer2023"]
            if command == "prepare"
            else ["--model", "clues", "--datasets", "mer2023", "--root", str(tmp_path)]
        )
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert str(out) in result.output.replace("\n", "") and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
