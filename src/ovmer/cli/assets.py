"""``ovmer assets fetch|path|verify``: the emotion-wheel files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ovmer import assets as asset_api
from ovmer.cli.common import console, err_console

app = typer.Typer(
    help="Emotion-wheel files (wheel1-5.xlsx, synonym.xlsx, format.csv): fetch, locate, verify.",
    no_args_is_help=True,
)


@app.command("fetch")
def fetch(
    dest: Annotated[
        Path | None, typer.Option(help="Folder to download into (default: the user cache).")
    ] = None,
    url: Annotated[
        list[str] | None,
        typer.Option(
            "--url", help="Base URL to download from instead of the pinned upstream commits (repeatable)."
        ),
    ] = None,
) -> None:
    """Download the seven files from the pinned upstream commits and verify their SHA-256.

    Example: ovmer assets fetch
    """
    directory = asset_api.fetch_assets(dest, sources=url or None)
    console.print(f"emotion-wheel files verified in {directory}")


@app.command("path")
def path(
    assets: Annotated[
        Path | None, typer.Option(help="A folder to check instead of the default.", envvar="OVMER_ASSETS_DIR")
    ] = None,
) -> None:
    """Print the folder ovmer reads the files from (downloading them if needed).

    Example: ovmer assets path
    """
    console.print(str(asset_api.resolve_asset_dir(assets)), highlight=False, soft_wrap=True)


@app.command("verify")
def verify(
    directory: Annotated[Path | None, typer.Argument(help="Folder to verify (default: the cache).")] = None,
) -> None:
    """Check every file's SHA-256 against the pinned values; exit 1 when any is missing or differs.

    Example: ovmer assets verify ~/emotion_wheel
    """
    directory = directory or asset_api.default_asset_dir()
    problems = asset_api.verify_assets(directory)
    for name in asset_api.ASSET_SHA256:
        problem = next((p.problem for p in problems if p.name == name), None)
        status = "[green]ok[/]" if problem is None else f"[red]{problem}[/]"
        console.print(f"{name:14s} {status}", highlight=False)
    if problems:
        err_console.print(
            f"{len(problems)} of {len(asset_api.ASSET_SHA256)} files are not usable in {directory}"
        )
        raise typer.Exit(1)
