"""``ovmer leaderboard``: bench runs and upstream baseline result roots scored into one table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ovmer.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_SOME_FAILED,
    AssetsOption,
    command_line,
    console,
    err_console,
    print_error,
)
from ovmer.errors import DatasetError, OutputPathError
from ovmer.scoring.protocol import Protocol


def register(app: typer.Typer) -> None:
    """Attach ``ovmer leaderboard`` to the main app."""
    app.command("leaderboard")(leaderboard)


def _parse_gt(values: list[str]) -> dict[str, Path]:
    parsed: dict[str, Path] = {}
    for value in values:
        dataset, sep, file = value.partition("=")
        if not sep or not dataset.strip() or not file.strip():
            raise DatasetError(f"--gt {value!r}: expected ID=FILE, e.g. --gt ovmerd=check-openset.csv")
        parsed[dataset.strip()] = Path(file.strip())
    return parsed


def leaderboard(
    results: Annotated[
        list[Path],
        typer.Argument(
            help="Bench run folders (RUN/results.json) and/or upstream roots (results-<dataset>/<Model>/*.npz)."
        ),
    ],
    json_out: Annotated[Path, typer.Option("--json", help="Write the leaderboard JSON here.")],
    gt_root: Annotated[
        Path | None, typer.Option(help="Folder with the official *-process label folders.")
    ] = None,
    gt: Annotated[
        list[str] | None,
        typer.Option(
            help="ID=FILE: a ground-truth file for one dataset (any file `ovmer score --gt` reads); wins over --gt-root."
        ),
    ] = None,
    protocol: Annotated[
        Protocol,
        typer.Option(
            help="paper: a file with missing predictions fails, as upstream; clean: they count as empty."
        ),
    ] = Protocol.PAPER,
    extractor: Annotated[
        str,
        typer.Option(
            help="For raw answers without a step-A file: lexicon, hf:ID, openai:URL#MODEL, cache:IDENTITY."
        ),
    ] = "lexicon",
    paper_table: Annotated[
        bool, typer.Option("--paper-table", help="Add the paper's Table 2 rows, marked as published figures.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option(help="Write a Markdown report here (and the chart beside it, .png).")
    ] = None,
    assets: AssetsOption = None,
) -> None:
    """Score many models' results into one table: one row per model × inputs × subtitle variant.

    Exit 0 when every file was scored, 3 when some failed (each is named in its row and the report),
    2 when nothing could be scored (docs/cli.md).

    Example: ovmer leaderboard OV-MER/output --gt ovmerd=track2_train_ovmerd.csv runs/clues --json board.json --report board.md
    """
    from ovmer.assets import load_wheel_maps
    from ovmer.atomic import check_writable_file, write_json_atomic, write_text_atomic
    from ovmer.labels.mapping import LabelMapper
    from ovmer.leaderboard.report import leaderboard_markdown, leaderboard_plot, leaderboard_table
    from ovmer.leaderboard.table import build_leaderboard
    from ovmer.llm.run import build_extractor

    check_writable_file(json_out, "--json")
    if report is not None:
        if report.suffix.lower() == ".png":
            raise OutputPathError(
                f"{report}: the chart is written beside the report as .png (give --report a .md name)"
            )
        check_writable_file(report, "--report")
        check_writable_file(report.with_suffix(".png"), "--report (its .png chart)")
    gt_files = _parse_gt(gt or [])
    if gt_root is not None and not gt_root.is_dir():
        raise DatasetError(
            f"{gt_root}: --gt-root is not a folder (give the folder with the *-process label folders)"
        )
    maps = load_wheel_maps(assets)
    with console.status("scoring") as status:
        board = build_leaderboard(
            results, LabelMapper(maps), lambda: build_extractor(extractor, assets=assets),
            protocol=protocol, gt_root=gt_root, gt_files=gt_files, paper=paper_table,
            progress=lambda what: status.update(f"scoring {what}"),
        )  # fmt: skip
    console.print(leaderboard_table(board))
    for note in board.notes:
        console.print(f"  [dim]{escape(note)}[/]", highlight=False, soft_wrap=True)
    write_json_atomic(json_out, board.to_json())
    console.print(f"results: {json_out}")
    if report is not None:
        chart = leaderboard_plot(board, report.with_suffix(".png"))
        write_text_atomic(report, leaderboard_markdown(board, command_line(), chart))
        console.print(f"report: {report}" + (f" (chart: {chart})" if chart else ""))
    if board.failed:
        for row, dataset, error in board.failed:
            err_console.print(f"[red]failed[/] {escape(row.key.model)} / {row.key.variant} / {dataset}: "
                              f"{escape(error)}", highlight=False, soft_wrap=True)  # fmt: skip
        print_error(
            f"{len(board.failed)} file(s) could not be scored, see above (fix or remove them and run again)"
        )
        raise typer.Exit(EXIT_SOME_FAILED)
    if not any(row.cells for row in board.rows):
        print_error("nothing was scored (check the RESULTS layout, --gt-root and --gt; see the notes above)")
        raise typer.Exit(EXIT_BAD_INPUT)
