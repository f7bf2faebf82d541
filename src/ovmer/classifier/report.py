"""``train_report.json`` and ``train_report.md``: each member's held-out scores and the skipped clips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ovmer.atomic import write_json_atomic, write_text_atomic

REPORT_JSON = "train_report.json"
REPORT_MD = "train_report.md"


def _cell(scores: dict[str, Any] | None, key: str) -> str:
    return "—" if not scores else f"{scores[key]:.3f}"


def render_train_markdown(report: dict[str, Any]) -> str:
    """One table row per member: held-out accuracy, weighted F1 and majority-class accuracy per head."""
    lines = [
        "# Voting classifiers: held-out scores",
        "",
        "| member | dataset | seed | train | held out | emotion acc | emotion WF1 | emotion chance "
        "| sentiment acc | sentiment WF1 | sentiment chance |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in report["members"]:
        emotion, sentiment = (row["held_out"] or {}).get("emotion"), (row["held_out"] or {}).get("sentiment")
        lines.append(
            f"| {row['name']} | {row['dataset']} | {row['seed']} | {row['train_clips']} | {row['held_out_clips']} "
            f"| {_cell(emotion, 'accuracy')} | {_cell(emotion, 'weighted_f1')} | {_cell(emotion, 'chance')} "
            f"| {_cell(sentiment, 'accuracy')} | {_cell(sentiment, 'weighted_f1')} | {_cell(sentiment, 'chance')} |"
        )
    lines += ["", "— : the member has no head for that task (no such labels in its dataset).", ""]
    for entry in report["datasets"]:
        lines.append(
            f"- {entry['dataset']} ({entry['labels']}): {entry['labelled']} labelled clips, "
            f"{entry['with_features']} with features, {entry['skipped']} skipped"
        )
    if report["skipped"]:
        lines += ["", f"Skipped clips: {len(report['skipped'])} (listed in {REPORT_JSON})."]
    return "\n".join(lines) + "\n"


def write_train_report(out: Path, report: dict[str, Any]) -> None:
    """Write both report files into ``out`` atomically."""
    write_json_atomic(out / REPORT_JSON, report)
    write_text_atomic(out / REPORT_MD, render_train_markdown(report))
