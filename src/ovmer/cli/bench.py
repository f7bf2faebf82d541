"""``ovmer bench``: a model on MER-UniBench datasets, from videos to a report."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ovmer.cli.common import (
    EXIT_SOME_FAILED,
    AssetsOption,
    RayOption,
    console,
    err_console,
    print_error,
)
from ovmer.progress import RateColumn, progress_bar


def register(app: typer.Typer) -> None:
    """Attach ``ovmer bench`` to the main app."""
    app.command("bench")(bench)


def bench(
    model: Annotated[
        str,
        typer.Option("--model", help="Model spec: clues, or affectgpt:<model>[?config=…&max_new_tokens=…]."),
    ],
    datasets: Annotated[
        str, typer.Option("--datasets", help="Comma-separated dataset ids, e.g. mer2023,cmumosi.")
    ],
    root: Annotated[Path, typer.Option("--root", help="Folder with the official *-process dataset folders.")],
    out: Annotated[
        Path, typer.Option("--out", help="Run folder (resumed, or only re-scored, when it exists).")
    ],
    extractor: Annotated[
        str, typer.Option(help="Label extractor: lexicon (offline), hf:ID, openai:URL#MODEL, cache:IDENTITY.")
    ] = "lexicon",
    decoding: Annotated[
        str, typer.Option(help="LLM extractor decoding: deterministic or paper.")
    ] = "deterministic",
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N samples per dataset (smoke runs).")
    ] = None,
    assets: AssetsOption = None,
    ray: RayOption = None,
) -> None:
    """Run a model on a benchmark end to end: inference, extraction, scoring, report.

    Inference is resumable; scores are computed under both protocols; the run folder gets
    results.json, samples.jsonl, report.md and one bar chart per dataset.

    Example: ovmer bench --model clues --datasets mer2023,cmumosi --root DATA --out runs/clues
    """
    from ovmer.assets import load_wheel_maps
    from ovmer.atomic import check_writable_dir
    from ovmer.bench.runner import run_bench
    from ovmer.llm.run import build_extractor

    check_writable_dir(out, "--out")
    maps = load_wheel_maps(assets)
    label_extractor = None
    if ray is not None:  # an LLM that runs in-process (hf:, vllm:) goes to GPU actors of the cluster
        from ovmer.cluster.extract import extractor_for_cluster

        label_extractor = extractor_for_cluster(extractor, decoding=decoding, assets=assets)
    label_extractor = label_extractor or build_extractor(extractor, decoding=decoding, assets=assets)
    ids = [d.strip() for d in datasets.split(",") if d.strip()]
    with progress_bar("[bold]{task.description}[/]", RateColumn(), console=err_console) as progress:
        result = run_bench(
            model,
            ids,
            root,
            out,
            label_extractor,
            maps,
            command=shlex.join(
                [
                    "ovmer",
                    "bench",
                    "--model",
                    model,
                    "--datasets",
                    datasets,
                    "--root",
                    str(root),
                    "--out",
                    str(out),
                    "--extractor",
                    extractor,
                    "--decoding",
                    decoding,
                ]
                + (["--limit", str(limit)] if limit else [])
            ),
            progress=progress,
            limit=limit,
            ray_address=ray,
        )
    for run in result.datasets.values():
        scores = ", ".join(f"{p} {s.main * 100:.2f}" for p, s in run.scores.items()) or "not scored"
        console.print(f"{run.dataset.id}: {scores} ({run.answered}/{run.samples} answered)")
        for protocol, error in run.errors.items():
            err_console.print(f"[yellow]{run.dataset.id} {protocol}:[/] {error}", highlight=False)
    console.print(f"report: {result.out / 'report.md'}")
    failed = {d: len(run.failures) for d, run in result.datasets.items() if run.failures}
    if failed:
        where = ", ".join(f"{n} in {result.out / d / 'errors.jsonl'}" for d, n in failed.items())
        print_error(
            f"some samples failed inference ({escape(where)}); run the same command again to retry them"
        )
        raise typer.Exit(EXIT_SOME_FAILED)
