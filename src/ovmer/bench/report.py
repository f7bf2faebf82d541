"""The Markdown report of a bench run, with one matplotlib bar chart per dataset."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ovmer.atomic import atomic_open, write_text_atomic
from ovmer.bench.result import BenchResult
from ovmer.data.benchmarks import Family
from ovmer.scoring.dataset import DatasetScore
from ovmer.scoring.protocol import Protocol
from ovmer.scoring.report import METRIC_TITLES, dataset_markdown, pct


def chart_values(score: DatasetScore) -> dict[str, float]:
    """The bars of a dataset's chart (×100): main metric, secondary metrics, and the per-wheel view."""
    values = {METRIC_TITLES.get(score.metric, score.metric): score.main}
    values.update({METRIC_TITLES.get(k, k): v for k, v in score.secondary.items()})
    if score.family is Family.DISCRETE:
        for name, wheel in score.details.get("per_wheel", {}).items():
            values[name.replace("M3-", "").replace("-L1", "")] = wheel["hit_rate"]
    elif score.family is Family.OPENSET:
        for key in ("W1L1", "W2L1", "W3L1", "W4L1", "W5L1"):
            if key in score.details:
                values[f"F {key}"] = score.details[key]
    return {k: v * 100 for k, v in values.items() if v is not None and not math.isnan(v)}


def plot_dataset(score: DatasetScore, title: str, path: Path) -> Path | None:
    """A bar chart of :func:`chart_values`; ``None`` without matplotlib (extra ``[plot]``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    values = chart_values(score)
    figure, axis = plt.subplots(figsize=(max(4.0, 1.0 + 0.8 * len(values)), 3.2))
    bars = axis.bar(list(values), list(values.values()), color=["#DD8452"] + ["#4C72B0"] * (len(values) - 1))
    axis.bar_label(bars, labels=[f"{v:.1f}" for v in values.values()], fontsize=8)
    axis.set_ylim(0, 100)
    axis.set_ylabel("score (×100)")
    axis.set_title(title, fontsize=10)
    axis.tick_params(axis="x", rotation=30)
    figure.tight_layout()
    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=110)
    plt.close(figure)
    return path


def report_markdown(result: BenchResult, charts: dict[str, Path]) -> str:
    config = result.config
    extractor: dict[str, Any] = config["extractor"]
    lines = [
        f"# ovmer bench: {config['model_spec']}",
        "",
        f"- model: `{config['model']}`",
        f"- extractor: `{extractor.get('extractor')}`"
        + (f", sampling `{extractor['sampling']}`" if extractor.get("sampling") else ""),
        f"- data root: `{config['root']}`"
        + (f" (first {config['limit']} samples per dataset)" if config.get("limit") else ""),
    ]
    if config.get("command"):
        lines.append(f"- command: `{config['command']}`")
    lines += [
        "",
        "One answer per sample, so no checkpoint is selected: the protocols differ in how missing "
        "predictions count (paper: the dataset is not scored, as upstream; clean: they count as empty).",
        "",
        "| dataset | metric | paper | clean | answered | notes |",
        "|---|---|---|---|---|---|",
    ]
    for run in result.datasets.values():
        any_score = next(iter(run.scores.values()), None)
        metric = METRIC_TITLES.get(any_score.metric, any_score.metric) if any_score else "–"
        cells = [pct(run.scores[p.value].main) if p.value in run.scores else "–" for p in Protocol]
        notes = []
        if run.failures:
            notes.append(f"{len(run.failures)} inference failure(s)")
        if run.extraction_failures:
            notes.append(f"{len(run.extraction_failures)} extraction failure(s)")
        notes += [f"{p}: not scored" for p in run.errors]
        lines.append(
            f"| {run.dataset.title} | {metric} | {cells[0]} | {cells[1]} | {run.answered}/{run.samples} | {'; '.join(notes)} |"
        )
    cells = []
    for protocol in Protocol:
        scored = sum(1 for run in result.datasets.values() if protocol.value in run.scores)
        mean = pct(result.mean(protocol.value))
        cells.append(
            mean if scored == len(result.datasets) else f"{mean} ({scored} of {len(result.datasets)})"
        )
    lines.append(f"| **mean** | | {cells[0]} | {cells[1]} | | |")
    for run in result.datasets.values():
        score = run.scores.get("clean") or run.scores.get("paper")
        lines += ["", f"## {run.dataset.title}", ""]
        if run.dataset.id in charts:
            lines += [f"![{run.dataset.id}](charts/{charts[run.dataset.id].name})", ""]
        if score is not None:
            lines.append(dataset_markdown(score, heading="###"))
        for protocol_name, error in run.errors.items():
            lines.append(f"- {protocol_name} protocol not scored: {error}")
        for name, error in list(run.failures.items())[:5]:
            lines.append(f"- inference failed for `{name}`: {error}")
    return "\n".join(lines) + "\n"


def write_report(result: BenchResult) -> Path:
    """Write ``report.md`` and ``charts/<dataset>.png`` into the run folder."""
    charts: dict[str, Path] = {}
    for run in result.datasets.values():
        score = run.scores.get("clean") or run.scores.get("paper")
        if score is None:
            continue
        chart = plot_dataset(
            score,
            f"{run.dataset.title} — {result.config['model_spec']}",
            result.out / "charts" / f"{run.dataset.id}.png",
        )
        if chart is not None:
            charts[run.dataset.id] = chart
    path = result.out / "report.md"
    write_text_atomic(path, report_markdown(result, charts))
    return path
