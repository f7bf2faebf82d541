"""``ovmer data list|info|check|export`` and ``ovmer prepare``: thin wrappers over :mod:`ovmer.data`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ovmer.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_INTERRUPTED,
    EXIT_SOME_FAILED,
    RayOption,
    console,
    err_console,
)
from ovmer.progress import RateColumn

data_app = typer.Typer(
    help="Dataset registry: list, describe, check and export MER-UniBench / MER2025 / CSV datasets.",
    no_args_is_help=True,
)

DatasetOption = Annotated[
    str,
    typer.Option(
        "--dataset",
        "-d",
        help="Dataset id (see `ovmer data list`) or csv:PATH for a manifest with columns "
        "name,video[,audio,subtitle,labels].",
    ),
]
SplitOption = Annotated[str, typer.Option("--split", help="Split: test (what MER-UniBench scores) or val.")]


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


@data_app.command("list")
def list_command() -> None:
    """List the registered datasets with their test sizes."""
    from ovmer.data.registry import list_datasets

    table = Table(title="ovmer datasets (plus csv:PATH for your own)")
    for column in ("id", "title", "family", "size", "folder"):
        table.add_column(column, no_wrap=column in ("id", "size"))
    for info in list_datasets():
        size = f"{info.test_size:,}" + ("" if info.scored else " train")
        table.add_row(info.id, info.title, info.family, size, info.folder)
    console.print(table)


@data_app.command("info")
def info_command(name: Annotated[str, typer.Argument(help="Dataset id, e.g. mer2023.")]) -> None:
    """Describe one dataset: files, layout, splits, subtitle column."""
    from ovmer.data.registry import dataset_info

    info = dataset_info(name)
    table = Table(show_header=False, title=f"{info.id}: {info.title}")
    table.add_column(style="bold")
    table.add_column()
    for key, value in (
        ("family", info.family),
        ("folder", info.folder),
        ("labels", info.label_file),
        ("splits", ", ".join(info.splits)),
        ("test size", f"{info.test_size:,}"),
        ("subtitles", info.subtitle),
        ("media", info.media),
        ("scored on MER-UniBench/OV-MER", "yes" if info.scored else "no (training data)"),
    ):
        table.add_row(key, value)
    console.print(table)


@data_app.command("check")
def check_command(
    root: Annotated[Path, typer.Argument(help="Dataset root (the *-process folder or its parent).")],
    dataset: DatasetOption,
    split: SplitOption = "test",
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON.")] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Only check that files exist and are non-empty (no decoding).")
    ] = False,
    show: Annotated[int, typer.Option("--show", min=0, help="List at most this many problems.")] = 50,
    require_faces: Annotated[
        bool,
        typer.Option(
            "--require-faces",
            help="A missing official OpenFace array is an error (fidelity runs of the face model).",
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option("--workers", "-j", min=1, help="Processes for the media checks.")
    ] = 1,
) -> None:
    """Verify a local copy: media, labels, subtitles, counts. Exit 1 when errors are found."""
    from ovmer.atomic import check_writable_file, write_json_atomic
    from ovmer.data.check import check_dataset

    if json_out is not None:
        check_writable_file(json_out, "--json")

    with _progress() as progress:
        task = progress.add_task("checking", total=None, status="")
        report = check_dataset(
            root,
            dataset,
            split,
            deep=not quick,
            require_faces=require_faces,
            workers=workers,
            progress=lambda n: progress.advance(task, n),
            on_total=lambda total: progress.update(task, total=total),
        )
    counts = report.counts()
    expected = f" (expected {report.expected_samples:,})" if report.expected_samples is not None else ""
    console.print(
        f"[bold]{report.dataset}[/] {report.split}: {report.num_samples:,} samples{expected} in {report.root}"
    )
    if counts:
        table = Table(title="problems by kind")
        table.add_column("kind")
        table.add_column("severity")
        table.add_column("count", justify="right")
        severity = {p.kind: p.severity for p in report.problems}
        for kind, count in sorted(counts.items()):
            table.add_row(kind, severity[kind], str(count))
        console.print(table)
        ordered = report.errors + report.warnings
        for problem in ordered[:show]:
            where = " ".join(x for x in (problem.sample, problem.path) if x)
            colour = "red" if problem.severity == "error" else "yellow"
            console.print(
                f"[{colour}]{problem.severity}[/] {problem.kind}: {where}: {problem.message}", highlight=False
            )
        if len(ordered) > show:
            console.print(f"… {len(ordered) - show} more (use --json OUT for the full list)")
    console.print(
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s): "
        + ("[green]OK[/]" if report.ok else "[red]FAILED[/]")
    )
    if json_out is not None:
        write_json_atomic(json_out, report.to_dict())
    if not report.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


@data_app.command("export")
def export_command(
    root: Annotated[Path, typer.Argument(help="Dataset root.")],
    dataset: DatasetOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (or folder for --format hf).")],
    split: SplitOption = "test",
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="parquet, jsonl or hf (Hugging Face datasets).")
    ] = "parquet",
) -> None:
    """Write the dataset's sample list (paths, subtitles, labels) as Parquet, JSONL or a HF dataset."""
    from ovmer.atomic import check_writable_dir, check_writable_file
    from ovmer.data.export import export_samples
    from ovmer.data.registry import load_samples

    if fmt == "hf":
        check_writable_dir(out, "--out")
    else:
        check_writable_file(out, "--out")

    samples = load_samples(root, dataset, split)
    export_samples(samples, dataset, out, fmt)
    console.print(f"wrote {len(samples):,} samples to {out} ({fmt})")


def prepare_command(
    root: Annotated[Path, typer.Argument(help="Dataset root (the *-process folder or its parent).")],
    dataset: DatasetOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Cache folder (created; reused to resume).")],
    split: SplitOption = "test",
    workers: Annotated[int, typer.Option("--workers", "-j", min=1, help="Worker processes.")] = 1,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N samples.")] = None,
    n_frames: Annotated[int, typer.Option("--frames", min=1, help="Frames sampled per clip.")] = 8,
    faces: Annotated[
        str,
        typer.Option(
            "--faces", help="auto (official OpenFace arrays when present, else detect), detect or official."
        ),
    ] = "auto",
    no_frames: Annotated[bool, typer.Option("--no-frames", help="Do not store the 224×224 frames.")] = False,
    asr: Annotated[bool, typer.Option("--asr", help="Transcribe samples that have no subtitle.")] = False,
    asr_model: Annotated[
        str | None,
        typer.Option("--asr-model", help="Whisper model folder or name (default: bundled tiny.en)."),
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="ASR language code (en, zh…); default: detect.")
    ] = None,
    ray: RayOption = None,
) -> None:
    """Preprocess a dataset into CACHE (frames, faces, audio clips, subtitles, manifest).

    Resumable; one bad sample is recorded in CACHE/errors.jsonl and the run goes on.
    Exit 0 when every sample succeeded, 3 when some failed. With --ray the samples are prepared by
    Ray actors (one CPU each; --workers is then unused) into CACHE, which every node must mount.
    """
    from ovmer.atomic import check_writable_dir
    from ovmer.data.prepare import PrepareConfig, prepare_dataset
    from ovmer.data.registry import load_samples

    check_writable_dir(out, "--out")
    samples = load_samples(root, dataset, split)
    if limit is not None:
        samples = samples[:limit]
    config = PrepareConfig(
        n_frames=n_frames,
        faces=faces,
        save_frames=not no_frames,
        asr=asr,
        asr_model=asr_model,
        language=language,
    )
    failed = 0
    interrupted = False
    with _progress() as progress:
        task = progress.add_task("preparing", total=None, status="")

        def on_total(todo: int, skipped: int) -> None:
            progress.update(task, total=todo, status=f"{skipped} cached")

        def on_result(name: str, ok: bool) -> None:
            nonlocal failed
            failed += not ok
            progress.update(task, advance=1, status=f"[red]{failed} failed[/]" if failed else "")

        # csv:PATH is recorded with an absolute path so a resume from another folder is recognised.
        key = f"csv:{Path(dataset[4:]).resolve()}" if dataset.startswith("csv:") else dataset
        try:
            summary = prepare_dataset(
                samples,
                out,
                dataset=key,
                config=config,
                workers=workers,
                on_total=on_total,
                on_result=on_result,
                executor=None if ray is None else _ray_executor(ray),
            )
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:  # printed after the progress display has stopped, so the line is not re-wrapped
        err_console.print(
            f"interrupted: finished samples are kept in {out}; run the same command to resume", soft_wrap=True
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    console.print(
        f"{summary.total:,} samples: {summary.done:,} prepared, {summary.skipped:,} already cached, "
        f"{summary.failed:,} failed in {summary.seconds:.1f} s → {out}",
        soft_wrap=True,
    )
    if summary.failed:
        for error in summary.errors[:10]:
            console.print(
                f"[red]failed[/] {error['name']} ({error['stage']}): {error['message']}", highlight=False
            )
        console.print(f"all failures: {json.dumps(str(Path(out) / 'errors.jsonl'))}")
        raise typer.Exit(EXIT_SOME_FAILED)


def _ray_executor(address: str) -> Any:
    from ovmer.cluster.prepare import ray_prepare_executor

    return ray_prepare_executor(address)


def register(app: typer.Typer) -> None:
    """Attach ``ovmer data …`` and ``ovmer prepare`` to the main app."""
    app.add_typer(data_app, name="data")
    app.command("prepare")(prepare_command)
