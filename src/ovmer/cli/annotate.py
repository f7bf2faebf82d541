"""``ovmer annotate describe|filter|export``: build a MER-Caption+-style corpus (docs/annotate.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ovmer.cli.common import EXIT_SOME_FAILED, AssetsOption, RayOption, console, err_console, print_error

annotate_app = typer.Typer(
    help="Build a training corpus from unlabelled clips: describe, filter, review, export (docs/annotate.md).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Attach ``ovmer annotate …`` to the main app."""
    app.add_typer(annotate_app, name="annotate")


@annotate_app.command("describe")
def describe_command(
    source: Annotated[
        str, typer.Argument(help="A dataset id (with --root), csv:PATH, or a CSV manifest path.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Corpus folder (resumed when it exists).")],
    audio_model: Annotated[
        str,
        typer.Option(
            "--audio-model", help="Audio clue model spec: clues, hf:…, openai:… (ovmer bench specs)."
        ),
    ] = "clues",
    video_model: Annotated[str, typer.Option("--video-model", help="Visual clue model spec.")] = "clues",
    merge: Annotated[
        str,
        typer.Option("--merge", help="rules (offline), or an LLM: hf:ID, openai:URL#MODEL, cache:IDENTITY."),
    ] = "rules",
    root: Annotated[Path | None, typer.Option("--root", help="Dataset root folder (registered ids).")] = None,
    split: Annotated[str, typer.Option("--split", help="Split of a registered dataset.")] = "test",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N clips (smoke runs).")] = None,
    merge_max_tokens: Annotated[
        int | None, typer.Option("--merge-max-tokens", min=1, help="Answer budget of an LLM merge.")
    ] = None,
    ray: RayOption = None,
) -> None:
    """Describe every clip: an audio clue, a visual clue, and the merged description (clips.jsonl).

    Example: ovmer annotate describe clips.csv --out corpus --audio-model clues --video-model clues --merge rules
    """
    from ovmer.annotate.describe import describe_corpus
    from ovmer.atomic import check_writable_dir
    from ovmer.data.registry import load_samples

    dataset = source if ":" in source or not source.endswith(".csv") else f"csv:{source}"
    check_writable_dir(out, "--out")
    samples = load_samples(root, dataset, split)[:limit]
    summary = describe_corpus(
        samples,
        out,
        audio_model=audio_model,
        video_model=video_model,
        merge=merge,
        merge_max_tokens=merge_max_tokens,
        source=dataset,
        ray=ray,
    )
    console.print(
        f"{summary.total} clips: {summary.already_done} already done, {summary.described} described, "
        f"{len(summary.failed)} failed, {len(summary.partial)} with a missing clue (retried on rerun) "
        f"in {summary.seconds:.1f} s → {escape(str(out / 'clips.jsonl'))}"
    )
    if summary.failed or summary.partial:
        for name, error in list(summary.failed.items())[:10]:
            print_error(f"{name}: {error}")
        raise typer.Exit(EXIT_SOME_FAILED)


@annotate_app.command("filter")
def filter_command(
    corpus: Annotated[Path, typer.Argument(help="The corpus folder `annotate describe` wrote.")],
    more_votes: Annotated[
        list[Path] | None,
        typer.Argument(
            help="More votes files: --votes A.csv B.csv C.csv reads all three.", show_default=False
        ),
    ] = None,
    votes: Annotated[
        list[Path] | None,
        typer.Option(
            "--votes",
            help="Votes CSV of each voting classifier, or a folder of them (`ovmer classifier predict --out`).",
        ),
    ] = None,
    speaker: Annotated[bool, typer.Option("--speaker/--no-speaker", help="Active-speaker check.")] = True,
    length: Annotated[bool, typer.Option("--length/--no-length", help="Description-length tails.")] = True,
    vote: Annotated[bool, typer.Option("--vote/--no-vote", help="Both classifier-vote stages.")] = True,
    emotion_vote: Annotated[bool, typer.Option("--emotion-vote/--no-emotion-vote")] = True,
    sentiment_vote: Annotated[bool, typer.Option("--sentiment-vote/--no-sentiment-vote")] = True,
    length_quantiles: Annotated[
        str, typer.Option("--length-quantiles", help="LOW,HIGH quantiles of description length kept.")
    ] = "0.05,0.95",
    speaker_threshold: Annotated[
        float, typer.Option("--speaker-threshold", help="Least lip-sync score of a speaking face.")
    ] = 0.54,
    undecided: Annotated[
        str, typer.Option("--undecided", help="A vote without majority: remove or keep the clip.")
    ] = "remove",
    extractor: Annotated[
        str, typer.Option(help="Label extractor: lexicon (offline), hf:ID, openai:URL#MODEL, cache:IDENTITY.")
    ] = "lexicon",
    name: Annotated[str | None, typer.Option("--name", help="Corpus name (track2_train_<name>.csv).")] = None,
    assets: AssetsOption = None,
) -> None:
    """Filter the described clips (speaker, length, emotion vote, sentiment vote) and write the corpus.

    Example: ovmer annotate filter corpus --votes a.csv --votes b.csv --votes c.csv
    """
    from ovmer.annotate.corpus import write_corpus
    from ovmer.annotate.filter import FilterSettings, filter_corpus
    from ovmer.annotate.speaker import LipSyncCheck
    from ovmer.assets import load_wheel_maps
    from ovmer.labels.mapping import LabelMapper
    from ovmer.llm.run import build_extractor

    try:
        low, high = (float(x) for x in length_quantiles.split(","))
    except ValueError:
        raise typer.BadParameter("give two numbers like 0.05,0.95", param_hint="--length-quantiles") from None
    settings = FilterSettings(
        speaker=speaker,
        length=length,
        emotion_vote=vote and emotion_vote,
        sentiment_vote=vote and sentiment_vote,
        length_quantiles=(low, high),
        undecided=undecided,
    )
    maps = load_wheel_maps(assets)
    result = filter_corpus(
        corpus,
        votes=vote_files(votes or [], more_votes or []),
        settings=settings,
        extractor=build_extractor(extractor, assets=assets),
        speaker_check=LipSyncCheck(threshold=speaker_threshold),
        mapper=LabelMapper(maps),
    )
    files = write_corpus(corpus, name)
    console.print((corpus / "funnel.md").read_text(encoding="utf-8"), markup=False)
    console.print(f"corpus: {files.clips} clips → {escape(str(files.track2))}, {escape(str(files.track3))}")
    del result


def vote_files(votes: list[Path], more: list[Path]) -> list[Path]:
    """The votes CSVs of ``--votes A.csv B.csv …`` (the shell's ``votes/*.csv``) or ``--votes FOLDER``."""
    if more and not votes:
        raise typer.BadParameter(
            f"unexpected argument(s) {[str(p) for p in more]}; give vote files after --votes"
        )
    files: list[Path] = []
    for path in [*votes, *more]:
        files.extend(sorted(path.glob("*.csv")) if path.is_dir() else [path])
    return files


@annotate_app.command("export")
def export_command(
    corpus: Annotated[Path, typer.Argument(help="A filtered corpus folder.")],
    name: Annotated[str | None, typer.Option("--name", help="Corpus name (track2_train_<name>.csv).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the written paths as JSON.")] = False,
) -> None:
    """Write the corpus files again, applying the latest review decisions (no filtering)."""
    from ovmer.annotate.corpus import write_corpus

    files = write_corpus(corpus, name)
    if as_json:
        console.print_json(json.dumps({k: str(v) for k, v in vars(files).items()}))
        return
    err_console.print(f"corpus: {files.clips} clips → {escape(str(files.manifest))}")


@annotate_app.command("review")
def review_command(
    corpus: Annotated[Path, typer.Argument(help="A described (and usually filtered) corpus folder.")],
    status: Annotated[
        str, typer.Option("--status", help="all, pending, accepted, edited or rejected.")
    ] = "pending",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per clip (JSON lines).")] = False,
) -> None:
    """List the review queue: each clip's clues, description, labels, filter verdict and decision.

    Example: ovmer annotate review corpus --status pending
    """
    from rich.table import Table

    from ovmer.errors import AnnotationError
    from ovmer.results.review import review_queue

    statuses = ("all", "pending", "accepted", "edited", "rejected")
    if status not in statuses:
        raise AnnotationError(f"--status {status!r}: use one of {', '.join(statuses)}")
    items = review_queue(corpus, None if status == "all" else status)  # type: ignore[arg-type]
    if as_json:
        for item in items:
            typer.echo(json.dumps(item.to_json(), ensure_ascii=False))
        return
    table = Table("clip", "description", "labels", "filter", "status")
    for item in items:
        verdict = "—" if item.kept is None else "kept" if item.kept else f"{item.stage}: {item.reason}"
        labels = item.decision.labels if item.decision and item.decision.labels else item.labels
        table.add_row(
            escape(item.name),
            escape(item.description or ""),
            escape(", ".join(labels)),
            escape(verdict),
            item.status,
        )
    console.print(table)
    err_console.print(f"{len(items)} clips ({status})")


@annotate_app.command("decide")
def decide_command(
    corpus: Annotated[Path, typer.Argument(help="The corpus folder.")],
    name: Annotated[str, typer.Argument(help="The clip.")],
    decision: Annotated[str, typer.Argument(help="accept, edit or reject.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Who decides (recorded with the time).")],
    labels: Annotated[
        str | None, typer.Option("--labels", help="The clip's OV labels for edit, comma-separated.")
    ] = None,
) -> None:
    """Record one review decision (appended to review.jsonl; the latest per clip wins).

    Example: ovmer annotate decide corpus clip_0001 edit --reviewer ann --labels relieved,grateful
    """
    from ovmer.results.review import record_decision

    label_list = None if labels is None else [x.strip() for x in labels.split(",")]
    row = record_decision(corpus, name, decision, reviewer=reviewer, labels=label_list)
    console.print(f"{escape(row.name)}: {row.decision} by {escape(row.reviewer)} at {row.time}")
