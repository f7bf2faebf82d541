"""``ovmer extract``: free text → OV labels → sentiment (and the clue merge) for any model's output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ovmer.atomic import check_writable_file
from ovmer.cli.common import EXIT_SOME_FAILED, AssetsOption, console, err_console
from ovmer.llm.backends import HTTPSettings
from ovmer.llm.run import build_extractor, extract_file
from ovmer.progress import progress_bar
from ovmer.results import read_predictions


def register(app: typer.Typer) -> None:
    """Attach ``ovmer extract`` to the main app."""
    app.command("extract")(extract)


def extract(
    task: Annotated[
        str, typer.Option("--task", help="ovlabels (step A), sentiment (step B) or merge (clue + subtitle).")
    ],
    backend: Annotated[
        str,
        typer.Option(
            "--backend", help="lexicon | hf:ID_OR_PATH | vllm:ID_OR_PATH | openai:URL#MODEL | cache:IDENTITY"
        ),
    ],
    in_path: Annotated[Path, typer.Option("--in", help="Predictions: official .npz, ovmer .jsonl or .csv.")],
    out_path: Annotated[
        Path, typer.Option("--out", help="Output: .jsonl, or official .npz (x-openset.npz or base x.npz).")
    ],
    subtitles: Annotated[
        Path | None,
        typer.Option("--subtitles", help="For merge: CSV name, english (or JSONL name, subtitle)."),
    ] = None,
    decoding: Annotated[
        str, typer.Option(help="deterministic (greedy) or paper (T=0.7, top-p 0.8, seeded).")
    ] = "deterministic",
    seed: Annotated[int | None, typer.Option(help="Seed for --decoding paper.")] = None,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, help="Longest reply in tokens (default 512, as the paper).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Prompts per model call / HTTP request.")] = 8,
    concurrency: Annotated[int, typer.Option(min=1, help="HTTP requests in flight at once.")] = 4,
    timeout: Annotated[float, typer.Option(min=0.001, help="HTTP timeout per request, seconds.")] = 120.0,
    retries: Annotated[int, typer.Option(min=1, help="HTTP attempts per request.")] = 4,
    http_mode: Annotated[
        str, typer.Option(help="chat (/chat/completions) or completions (raw Qwen text).")
    ] = "chat",
    device: Annotated[str | None, typer.Option(help="Device of an hf: model (cpu, cuda).")] = None,
    max_labels: Annotated[int, typer.Option(min=0, help="lexicon: labels kept per answer (0 = all).")] = 4,
    overwrite: Annotated[bool, typer.Option(help="Re-extract samples that already have the output.")] = False,
    assets: AssetsOption = None,
) -> None:
    """Answers → OV labels (step A), OV labels → sentiment (step B), or clue + subtitle merge.

    Uses the paper's prompts. Replies are cached: a rerun is free and an interrupted run resumes.
    A failing sample is reported and skipped; the exit code is then 3 (docs/cli.md).

    Example: ovmer extract --task ovlabels --backend lexicon --in ckpt.npz --out ckpt-openset.npz
    """
    check_writable_file(out_path, "--out")
    extractor = build_extractor(
        backend,
        decoding=decoding,
        seed=seed,
        max_tokens=max_tokens,
        assets=assets,
        max_labels=max_labels or None,
        batch_size=batch_size,
        device=device,
        http=HTTPSettings(
            mode=http_mode,
            timeout_s=timeout,
            max_retries=retries,
            concurrency=concurrency,
            batch_size=batch_size,
        ),
    )
    total = len(read_predictions(in_path).records)
    with progress_bar(f"[bold]{task}[/]", console=err_console, transient=False) as progress:
        bar = progress.add_task(task, total=total)
        report = extract_file(
            task,
            extractor,
            in_path,
            out_path,
            subtitles_path=subtitles,
            overwrite=overwrite,
            progress=lambda n: progress.advance(bar, n),
        )
        progress.update(bar, completed=total)
    console.print(
        f"{task}: {report.extracted} extracted, {report.kept} kept as stored, "
        f"{len(report.missing_input)} without input, {len(report.failures)} failed "
        f"(extractor {report.metadata.get('extractor')})"
    )
    for path in report.outputs:
        console.print(f"wrote {path}")
    if report.failures:
        for name, error in list(report.failures.items())[:5]:
            err_console.print(f"[red]failed[/] {name}: {error}", highlight=False)
        err_console.print(
            "Rerun the same command to retry the failed samples; finished ones come from the cache."
        )
        raise typer.Exit(EXIT_SOME_FAILED)
