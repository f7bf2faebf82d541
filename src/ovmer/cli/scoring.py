"""``ovmer score``, ``ovmer unibench`` and ``ovmer convert``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ovmer.assets import load_wheel_maps
from ovmer.atomic import check_writable_file, write_json_atomic, write_text_atomic
from ovmer.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_SOME_FAILED,
    AssetsOption,
    command_line,
    console,
    err_console,
    print_error,
)
from ovmer.data.benchmarks import BENCHMARKS, UNIBENCH_IDS
from ovmer.errors import InputFormatError
from ovmer.labels.mapping import LabelMapper
from ovmer.metrics.grouping import grouping_metric, read_grouping_replies
from ovmer.progress import progress_bar
from ovmer.results import Predictions, read_predictions, write_official, write_records
from ovmer.scoring.dataset import score_file
from ovmer.scoring.protocol import Protocol
from ovmer.scoring.report import (
    dataset_markdown,
    dataset_table,
    unibench_markdown,
    unibench_notes,
    unibench_plot,
    unibench_table,
)
from ovmer.scoring.unibench import plan, run_unibench

DATASET_HELP = "Dataset id: " + ", ".join(BENCHMARKS)


def _check_outputs(**options: Path | None) -> None:
    """Refuse unwritable ``--json``/``--report`` files before scoring (docs/cli.md)."""
    for option, path in options.items():
        if path is not None:
            check_writable_file(path, f"--{option}")


def score(
    dataset: Annotated[str, typer.Option("--dataset", "-d", help=DATASET_HELP)],
    gt: Annotated[
        Path,
        typer.Option(
            help="Ground-truth file (label-6way.npz, label.npz, ovlabel.csv, track2_*.csv, check-openset.csv)."
        ),
    ],
    pred: Annotated[
        Path,
        typer.Option(
            help="Predictions: -openset.npz, -openset-sentiment.npz, a base .npz (siblings are read too), ovmer .jsonl or a name,openset .csv."
        ),
    ],
    protocol: Annotated[
        Protocol,
        typer.Option(
            help="paper: behave as upstream (missing predictions are an error); clean: missing ones count as empty."
        ),
    ] = Protocol.PAPER,
    metric: Annotated[
        str | None,
        typer.Option(
            help="Main metric (default per dataset): hit_rate|mscore, waf|acc, unibench_l1_f|ovmer_m_avg|mer2025_score|M1|..."
        ),
    ] = None,
    grouping: Annotated[
        Path | None,
        typer.Option(
            help="OV sets: stored GPT-grouping replies (folder or zip of <name>.npy) for the MER2024 GPT metric."
        ),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the full result as JSON (0-100 scale, full precision)."),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write a Markdown report.")] = None,
    assets: AssetsOption = None,
) -> None:
    """Score one prediction file on one dataset.

    Example: ovmer score --dataset mer2023 --gt mer2023-dataset-process/label-6way.npz --pred checkpoint_000050_loss_0.527-openset.npz --json out.json
    """
    _check_outputs(json=json_out, report=report)
    maps = load_wheel_maps(assets)
    result = score_file(dataset, gt, pred, maps=LabelMapper(maps), protocol=protocol, metric=metric)
    data = result.to_json()
    if grouping is not None:
        from ovmer.data.groundtruth import read_ground_truth

        ground_truth = read_ground_truth(dataset, gt)
        predictions = read_predictions(pred).field_map("ov_labels")
        g = grouping_metric(ground_truth, predictions, read_grouping_replies(grouping))
        data["gpt_grouping"] = {"samples": g.samples, "accuracy": g.accuracy * 100, "recall": g.recall * 100,
                                "avg": g.avg * 100, "f": g.f * 100}  # fmt: skip
    console.print(dataset_table(result))
    for warning in result.inputs.warnings():
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if "gpt_grouping" in data:
        g_json = data["gpt_grouping"]
        console.print(f"GPT-grouping metric: accuracy {g_json['accuracy']:.2f}, recall {g_json['recall']:.2f}, "
                      f"avg {g_json['avg']:.2f}, F {g_json['f']:.2f} over {g_json['samples']} samples")  # fmt: skip
    if json_out:
        write_json_atomic(json_out, data)
    if report:
        write_text_atomic(
            report, f"# ovmer score\n\nCommand: `{command_line()}`\n\n" + dataset_markdown(result)
        )


def unibench(
    results_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder with results-<dataset>/<run>/checkpoint_*.npz (official) or <dataset>/<run>/*.jsonl."
        ),
    ],
    gt_root: Annotated[
        Path,
        typer.Option(
            help="Folder with the official *-process label folders; datasets without labels are skipped."
        ),
    ],
    protocol: Annotated[
        Protocol,
        typer.Option(
            help="clean: one checkpoint fixed in advance; paper: best checkpoint per dataset on the test set (as published)."
        ),
    ] = Protocol.CLEAN,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            help="Clean protocol: checkpoint for every dataset (exact name, epoch number, first or last)."
        ),
    ] = None,
    select_on_val: Annotated[
        Path | None,
        typer.Option(
            help="Clean protocol: results on validation splits (same layout) used to choose the checkpoint."
        ),
    ] = None,
    val_gt_root: Annotated[
        Path | None, typer.Option(help="Label folders for --select-on-val (default: --gt-root).")
    ] = None,
    run: Annotated[
        str | None, typer.Option(help="Run folder name when a dataset folder holds several.")
    ] = None,
    datasets: Annotated[str, typer.Option(help="Comma-separated dataset ids.")] = ",".join(UNIBENCH_IDS),
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results JSON here.")] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write the Markdown report here (and a bar chart beside it, .png).")
    ] = None,
    assets: AssetsOption = None,
) -> None:
    """Score every dataset and checkpoint of a results folder and aggregate the nine-dataset mean.

    Exit 0 when every dataset that has results was scored, 3 when a dataset's checkpoints all failed,
    2 when there was nothing to score (docs/cli.md).

    Example: ovmer unibench output/ --gt-root dataset/ --protocol paper --json unibench.json --report unibench.md
    """
    _check_outputs(json=json_out, report=report)
    maps = load_wheel_maps(assets)
    ids = [d.strip() for d in datasets.split(",") if d.strip()]
    located = plan(results_dir, gt_root, ids, run)
    total = sum(len(v[2]) for v in located.values() if not isinstance(v, str))
    if protocol is Protocol.CLEAN:
        total = sum(1 for v in located.values() if not isinstance(v, str))
    with progress_bar(console=console, transient=True) as progress:
        task = progress.add_task("scoring checkpoints", total=total)
        result = run_unibench(
            results_dir, gt_root, LabelMapper(maps), protocol=protocol, datasets=ids, run=run, checkpoint=checkpoint,
            val_results=select_on_val, val_gt_root=val_gt_root, located=located,
            progress=lambda dataset, name: progress.update(task, advance=1, description=f"{dataset} {name}"),
        )  # fmt: skip
    console.print(unibench_table(result))
    for note in unibench_notes(result):
        console.print(f"  [dim]{escape(note)}[/]", highlight=False, soft_wrap=True)
    if json_out:
        write_json_atomic(json_out, result.to_json())
        console.print(f"results: {json_out}")
    if report:
        write_text_atomic(report, unibench_markdown(result, command_line()))
        plot = unibench_plot(result, report.with_suffix(".png"))
        console.print(f"report: {report}" + (f" (chart: {plot})" if plot else ""))
    failed = [d.dataset.id for d in result.datasets.values() if d.status == "failed"]
    if failed:
        print_error(
            f"{results_dir}: {', '.join(failed)} could not be scored, see the notes above "
            "(fix or remove the failing files and run again)"
        )
        raise typer.Exit(EXIT_SOME_FAILED)
    if not result.scored:
        print_error(
            f"{results_dir}: nothing was scored, see the notes above (check the results folder layout, "
            "--gt-root, --datasets and --run)"
        )
        raise typer.Exit(EXIT_BAD_INPUT)


def convert(
    source: Annotated[
        Path,
        typer.Argument(
            help="Input: a base .npz (with its -openset/-sentiment siblings), any official .npz, .jsonl or .csv."
        ),
    ],
    dest: Annotated[
        Path,
        typer.Argument(
            help="Output: .jsonl (ovmer format) or .npz (official layout: base, -openset, -openset-sentiment)."
        ),
    ],
    model: Annotated[str | None, typer.Option(help="Model name to record in JSONL records.")] = None,
    run: Annotated[str | None, typer.Option(help="Run name to record.")] = None,
    checkpoint: Annotated[
        str | None, typer.Option(help="Checkpoint name to record (default: the source file's base name).")
    ] = None,
) -> None:
    """Convert predictions between the official .npz formats and ovmer JSONL.

    Example: ovmer convert checkpoint_000050_loss_0.527.npz epoch50.jsonl --model affectgpt
    """
    if dest.suffix not in (".jsonl", ".npz"):
        raise InputFormatError(f"{dest}: output must end in .jsonl (ovmer) or .npz (official base name)")
    check_writable_file(dest, "DEST")
    predictions = read_predictions(source)
    if predictions.duplicates:
        names = ", ".join(list(predictions.duplicates)[:3])
        err_console.print(
            f"[yellow]warning:[/] {source}: {len(predictions.duplicates)} sample name(s) appear more than "
            f"once; the last occurrence is written (e.g. {names})",
            highlight=False,
            soft_wrap=True,
        )
    if dest.suffix == ".jsonl":
        base = (
            source.name.removesuffix(".npz")
            .removesuffix(".jsonl")
            .removesuffix("-openset-sentiment")
            .removesuffix("-openset")
        )
        records = [
            dataclasses.replace(
                r, model=model or r.model, run=run or r.run, checkpoint=checkpoint or r.checkpoint or base
            )
            for r in predictions.records.values()
        ]
        write_records(dest, records)
        console.print(f"wrote {len(records)} records to {dest}")
    elif dest.suffix == ".npz":
        written = write_official(Predictions(str(source), predictions.records), dest)
        console.print("wrote " + ", ".join(str(p) for p in written))
    else:
        raise InputFormatError(f"{dest}: output must end in .jsonl (ovmer) or .npz (official base name)")


def register(app: typer.Typer) -> None:
    """Attach the scoring commands to the main app."""
    app.command("score")(score)
    app.command("unibench")(unibench)
    app.command("convert")(convert)
