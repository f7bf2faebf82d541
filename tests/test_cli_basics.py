from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

import ovmer
from ovmer.cli.main import app


def test_version_flag_prints_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"ovmer {ovmer.__version__}"


def test_every_command_has_help() -> None:
    """Walk the whole command tree and ask each command for --help."""
    import typer.main

    group = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: object, prefix: list[str]) -> None:
        paths.append(prefix)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*prefix, name])

    walk(group, [])
    assert len(paths) > 3
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_console_script_runs_as_module() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "ovmer", "--version"], capture_output=True, text=True, check=True
    )
    assert completed.stdout.startswith("ovmer ")
