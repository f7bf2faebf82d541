"""Entry point of the ``ovmer`` command. Sub-command groups live in sibling modules."""

from __future__ import annotations

from typing import Annotated

import typer

from ovmer._version import __version__
from ovmer.cli import annotate as annotate_cli
from ovmer.cli import assets as assets_cli
from ovmer.cli import bench as bench_cli
from ovmer.cli import classifier as classifier_cli
from ovmer.cli import data as data_cli
from ovmer.cli import extract as extract_cli
from ovmer.cli import leaderboard as leaderboard_cli
from ovmer.cli import model as model_cli
from ovmer.cli import scoring as scoring_cli
from ovmer.cli import serve as serve_cli
from ovmer.cli import train as train_cli
from ovmer.cli.common import DEBUG_KEY, OvmerGroup, console, setup_logging

app = typer.Typer(
    name="ovmer",
    help="Open-vocabulary multimodal emotion recognition: faithful MER-UniBench / OV-MER scoring, "
    "AffectGPT inference and training.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OvmerGroup,  # the one error contract of docs/cli.md
)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"ovmer {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug messages.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an error, not only its message.")
    ] = False,
) -> None:
    """ovmer command line. Exit codes: 0 ok, 1 a check found problems, 2 bad input, 3 some samples
    failed, 70 a bug, 130 interrupted (docs/cli.md)."""
    ctx.meta[DEBUG_KEY] = debug
    setup_logging(verbose)


app.add_typer(assets_cli.app, name="assets")
scoring_cli.register(app)
data_cli.register(app)
model_cli.register(app)
extract_cli.register(app)
bench_cli.register(app)
annotate_cli.register(app)
classifier_cli.register(app)
leaderboard_cli.register(app)
train_cli.register(app)
serve_cli.register(app)
