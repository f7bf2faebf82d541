"""``ovmer classifier train|predict``: the voting classifiers of ``ovmer annotate filter``.

Thin over :mod:`ovmer.classifier` (docs/classifier.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ovmer.cli.common import EXIT_SOME_FAILED, console, err_console

classifier_app = typer.Typer(
    help="Voting classifiers (emotion + sentiment) trained on labelled features (docs/classifier.md).",
    no_args_is_help=True,
)

FeaturesOption = Annotated[
    list[Path],
    typer.Option(
        "--features",
        help="Feature folder: an `ovmer features extract` cache or a folder of <name>.safetensors "
        "(visual, audio, optional text). Repeat to merge folders.",
    ),
]


def register(app: typer.Typer) -> None:
    """Add ``ovmer classifier`` to the ``ovmer`` app."""
    app.add_typer(classifier_app, name="classifier")


def _csv_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@classifier_app.command("train")
def train_command(
    dataset: Annotated[
        list[str],
        typer.Option(
            "--dataset",
            help="Registered id (mer2023, mer2024, meld, iemocap, cmumosi, cmumosei, sims, simsv2) or "
            "csv:PATH with name,emotion[,sentiment|valence]. Repeat for members from several datasets.",
        ),
    ],
    features: FeaturesOption,
    out: Annotated[Path, typer.Option("--out", help="Folder for the members and the report.")],
    data_root: Annotated[
        Path | None,
        typer.Option("--data-root", help="Folder holding the registered datasets' *-process folders."),
    ] = None,
    splits: Annotated[
        str | None,
        typer.Option(
            "--splits", help="Label-file splits to train on (default: train*), e.g. train_corpus,val_corpus."
        ),
    ] = None,
    members: Annotated[
        int, typer.Option("--members", min=1, help="Members per dataset (seeds S, S+1, …).")
    ] = 1,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the first member.")] = 0,
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 100,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 32,
    learning_rate: Annotated[float, typer.Option("--learning-rate", min=0.0, max=1.0)] = 1e-3,
    hidden_dim: Annotated[int, typer.Option("--hidden-dim", min=1)] = 128,
    dropout: Annotated[float, typer.Option("--dropout", min=0.0, max=0.99)] = 0.3,
    held_out: Annotated[
        float, typer.Option("--held-out", min=0.01, max=0.99, help="Held-out fraction per class.")
    ] = 0.2,
    modalities: Annotated[
        str, typer.Option("--modalities", help="Comma-separated: audio, visual, text.")
    ] = "audio,visual",
    neutral_band: Annotated[
        float, typer.Option("--neutral-band", min=0.0, help="|valence| ≤ this is neutral sentiment.")
    ] = 0.0,
) -> None:
    """Train K members per dataset, each scored on its own held-out split (resumable)."""
    from ovmer.atomic import check_writable_dir
    from ovmer.classifier.report import REPORT_MD
    from ovmer.classifier.training import TrainSettings, train_members

    check_writable_dir(out, "--out")
    settings = TrainSettings(
        members=members,
        seed=seed,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        hidden_dim=hidden_dim,
        dropout=dropout,
        held_out=held_out,
        modalities=_csv_list(modalities),
        neutral_band=neutral_band,
    )
    report = train_members(
        dataset, features, out, settings, data_root=data_root, splits=_csv_list(splits) if splits else None
    )
    for row in report["members"]:
        scores = row["held_out"] or {}
        parts = [
            f"{task} acc {s['accuracy']:.3f} wF1 {s['weighted_f1']:.3f} (n={s['clips']})"
            for task in ("emotion", "sentiment")
            if (s := scores.get(task))
        ]
        console.print(f"{escape(row['name'])}: " + "; ".join(parts), highlight=False)
    if report["skipped"]:
        err_console.print(
            f"[yellow]warning:[/] {len(report['skipped'])} labelled clip(s) skipped (no usable features); "
            f"see {escape(str(out / 'train_report.json'))}",
            highlight=False,
        )
    console.print(f"report: {escape(str(out / REPORT_MD))}", highlight=False)


@classifier_app.command("predict")
def predict_command(
    members: Annotated[
        Path, typer.Option("--members", help="A member folder or a folder of members (train --out).")
    ],
    features: FeaturesOption,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for <member>.csv votes and predict_report.json.")
    ],
    names: Annotated[
        Path | None,
        typer.Option(
            "--names", help="CSV with a name column: predict these clips (default: all with features)."
        ),
    ] = None,
) -> None:
    """Write one votes CSV per member: name,emotion,sentiment,emotion_prob,sentiment_prob.

    Exit code 3 when some clips were skipped (missing or broken features; see predict_report.json).
    """
    from ovmer.atomic import check_writable_dir
    from ovmer.classifier.predict import PREDICT_REPORT, predict_members, read_names

    check_writable_dir(out, "--out")
    report = predict_members(members, features, out, names=read_names(names) if names is not None else None)
    for row in report["members"]:
        console.print(
            f"{escape(row['csv'])}: {row['predicted']} clip(s), {row['skipped']} skipped", highlight=False
        )
    if report["skipped"]:
        err_console.print(
            f"[yellow]warning:[/] {len(report['skipped'])} clip prediction(s) skipped (no usable features); "
            f"see {escape(str(out / PREDICT_REPORT))}",
            highlight=False,
        )
        raise typer.Exit(EXIT_SOME_FAILED)
