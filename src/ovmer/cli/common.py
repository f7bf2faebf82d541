"""Shared pieces of the command line: the console, the one error contract and common options.

The error contract (docs/cli.md) is enforced in one place, :class:`OvmerGroup`: every command of the
``ovmer`` app runs inside its ``invoke``, which turns expected failures into one ``error: …`` line and
a documented exit code, and a bug into a traceback with a request to report it.
"""

from __future__ import annotations

import logging
import shlex
import sys
import traceback
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from typer.core import TyperGroup
from typer.exceptions import TyperException

from ovmer.errors import OvmerError

console = Console(stderr=False)
err_console = Console(stderr=True)

# Exit codes, the table in docs/cli.md.
#: A check (``data check``, ``assets verify``) found problems.
EXIT_CHECK_FAILED = 1
#: Bad input or misuse detected by ovmer itself (Typer uses 2 for usage errors too).
EXIT_BAD_INPUT = 2
#: The run finished but some samples failed (they are recorded; a rerun retries them).
EXIT_SOME_FAILED = 3
#: An unexpected exception: a bug in ovmer (``EX_SOFTWARE`` of BSD's sysexits.h).
EXIT_BUG = 70
#: Interrupted with Ctrl-C (the shell convention 128 + SIGINT).
EXIT_INTERRUPTED = 130

#: Where a bug is reported (pyproject.toml, ``[project.urls]``).
ISSUES_URL = "https://github.com/ovmer/ovmer/issues"
#: Commands that keep finished work and resume it when run again (docs/cli.md, "Interrupting a run").
RESUMABLE_COMMANDS = frozenset(
    {"bench", "prepare", "infer", "extract", "train", "features", "annotate", "classifier"}
)
#: ``ctx.meta`` key set by the global ``--debug`` option.
DEBUG_KEY = "ovmer.debug"

AssetsOption = Annotated[
    Path | None,
    typer.Option(
        "--assets",
        help="Folder with the seven emotion-wheel files (default: OVMER_ASSETS_DIR, then the verified cache/download).",
        envvar="OVMER_ASSETS_DIR",
        show_envvar=True,
    ),
]
RayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="auto|ADDRESS",
        help="Run on a Ray cluster: auto (join RAY_ADDRESS or a cluster on this machine, else start one) "
        "or HOST:PORT; the same files as a local run (docs/scale.md). Needs pip install 'ovmer[ray]'.",
    ),
]


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A Python warning as one ``warning: …`` line, without the source path and line (docs/cli.md)."""
    err_console.print(f"[yellow]warning:[/] {_escape(str(message))}", highlight=False, soft_wrap=True)


def setup_logging(verbose: bool = False) -> None:
    """Route ovmer's log records (warnings about data) and Python warnings to stderr through rich.

    With ``--verbose`` Python warnings keep their usual form (with the file and line that raised them).
    """
    if not verbose:
        warnings.showwarning = _show_warning
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_time=False, show_path=False)],
        force=True,
    )


def command_line() -> str:
    """The command being run, shell-quoted, as reports record it (``ovmer score --dataset …``)."""
    return "ovmer " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def print_error(message: str) -> None:
    """Print ``error: message`` on stderr, unwrapped so that paths stay whole."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)


def _os_error_message(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else "file system"
    reason = exc.strerror or str(exc)
    return f"{where}: {reason} (check the path, its permissions and the free space)"


class OvmerGroup(TyperGroup):
    """The ``ovmer`` app: runs a command and applies the error contract of docs/cli.md to what it raises.

    - :class:`~ovmer.errors.OvmerError` (bad input, named file and fix): ``error: message``, exit 2.
    - ``OSError`` (a file that cannot be read or written): ``error: PATH: reason (…)``, exit 2.
    - ``KeyboardInterrupt``: a line saying whether the same command resumes, exit 130.
    - anything else is a bug: the traceback and a request to report it, exit 70 (never 0).

    ``--debug`` adds the traceback to the first two. Click's own exits and usage errors pass through.
    """

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context (not public API)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):  # exits, usage errors: typer prints them
            raise
        except KeyboardInterrupt:
            command = ctx.invoked_subcommand
            hint = "; run the same command again to resume" if command in RESUMABLE_COMMANDS else ""
            err_console.print(f"interrupted{hint}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except OvmerError as exc:
            self._show_traceback(ctx)
            print_error(_escape(str(exc)))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except OSError as exc:
            self._show_traceback(ctx)
            print_error(_escape(_os_error_message(exc)))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except Exception as exc:  # a bug: say so, show where, never exit 0
            _print_traceback()
            print_error(
                _escape(f"unexpected {type(exc).__name__}: {exc}")
                + f" (this is a bug in ovmer: please report it with the traceback above at {ISSUES_URL})"
            )
            raise typer.Exit(EXIT_BUG) from None

    @staticmethod
    def _show_traceback(ctx: typer.Context) -> None:
        if ctx.meta.get(DEBUG_KEY):
            _print_traceback()


def _print_traceback() -> None:
    """The plain Python traceback of the exception being handled, on stderr (easy to paste in a report)."""
    sys.stderr.write(traceback.format_exc())
    sys.stderr.flush()


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
