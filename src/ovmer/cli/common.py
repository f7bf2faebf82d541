"""Shared pieces of the command line: the console, error handling and common options."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from ovmer.errors import OvmerError

console = Console(stderr=False)
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

#: Exit code for bad input or misuse detected by ovmer itself (Typer uses 2 for usage errors too).
EXIT_BAD_INPUT = 2

AssetsOption = Annotated[
    Path | None,
    typer.Option(
        "--assets",
        help="Folder with the seven emotion-wheel files (default: OVMER_ASSETS_DIR, then the verified cache/download).",
        envvar="OVMER_ASSETS_DIR",
        show_envvar=True,
    ),
]


def setup_logging(verbose: bool = False) -> None:
    """Route ovmer's log records (warnings about data) to stderr through rich."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_time=False, show_path=False)],
        force=True,
    )


def handle_errors(func: F) -> F:
    """Turn :class:`OvmerError` into a one-paragraph message and exit code 2 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OvmerError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from exc

    return wrapper  # type: ignore[return-value]
