"""Readable leaderboard outputs: a rich table, a Markdown report and a PNG chart.

Measured rows and the paper's published rows are shown in separate tables, each with its own label,
so a published figure is never read as a number measured under this run's protocol.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from rich.table import Table

from ovmer.atomic import atomic_open
from ovmer.data.benchmarks import get_benchmark
from ovmer.leaderboard.table import PROTOCOL_LABELS, Leaderboard, Row
from ovmer.scoring.report import METRIC_TITLES


def _fmt(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.2f}"


def ranked(rows: list[Row]) -> list[Row]:
    """Rows by mean, best first; rows with fewer datasets after those with more (their means are not
    comparable), rows without a mean last."""
    return sorted(rows, key=lambda r: (-len(r.datasets), -r.mean if r.mean is not None else math.inf))


def _row_cells(row: Row, datasets: list[str]) -> list[str]:
    cells = [_fmt(row.score(d)) if d not in row.errors or d in row.cells else "failed" for d in datasets]
    n = len(row.datasets)
    mean = _fmt(row.mean) + ("" if n == len(datasets) else f" ({n} of {len(datasets)})")
    return [row.key.model, row.key.inputs or "–", row.key.variant, *cells, mean]


def _metric_header(board: Leaderboard) -> list[str]:
    """Column titles: dataset id and its main metric (as the rows report it)."""
    titles = []
    for dataset in board.datasets:
        metric = next((r.cells[dataset].score["metric"] for r in board.rows if dataset in r.cells), "")
        titles.append(f"{dataset} ({METRIC_TITLES.get(metric, metric)})")
    return titles


def leaderboard_table(board: Leaderboard) -> Table:
    """The measured rows for the terminal, best mean first."""
    table = Table(title=f"Leaderboard — {PROTOCOL_LABELS[board.protocol]}", title_justify="left")
    for column in ("model", "inputs", "variant", *board.datasets, "mean"):
        table.add_column(column, justify="left" if column in ("model", "inputs", "variant") else "right")
    for row in ranked(board.rows):
        table.add_row(*_row_cells(row, board.datasets))
    return table


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]


def leaderboard_markdown(board: Leaderboard, command: str | None = None, chart: Path | None = None) -> str:
    """The full report: measured table, failed files, notes, and the published rows apart."""
    lines = ["# Leaderboard", "", f"**Measured: {PROTOCOL_LABELS[board.protocol]}.**", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    lines += [
        "Scores ×100; the mean is the plain mean of the datasets a row has (how many, when not all).",
        "",
    ]
    header = ["model", "inputs", "variant", *_metric_header(board), "mean"]
    lines += _md_table(header, [_row_cells(r, board.datasets) for r in ranked(board.rows)])
    if chart is not None:
        lines += ["", f"![leaderboard]({chart.name})"]
    if board.failed:
        lines += ["", "## Files that could not be scored", ""]
        lines += [f"- {r.key.model} / {r.key.variant} / {d}: {e}" for r, d, e in board.failed]
    grouped = Counter(c.note for r in board.rows for c in r.cells.values() if c.note)
    notes = board.notes + [f"{note}: {count} file(s)" for note, count in grouped.items()]
    if notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    if board.paper_rows:
        ids = list(board.paper_rows[0].paper_scores)
        lines += ["", "## Published figures (not measured here)", "", f"Source: {board.citation}.", "",
                  "Paper protocol as published (AffectGPT: best checkpoint on the test set; baselines with the "
                  "subtitle). Hit rate for the discrete sets, WAF for the sentiment sets, EW-based F for OV-MERD+.", ""]  # fmt: skip
        titles = [get_benchmark(d).title for d in ids]
        lines += _md_table(["model", "inputs", *titles, "mean"],
                           [[r.key.model, r.key.inputs, *(_fmt(r.score(d)) for d in ids), _fmt(r.mean)]
                            for r in board.paper_rows])  # fmt: skip
    return "\n".join(lines) + "\n"


def leaderboard_plot(board: Leaderboard, path: Path) -> Path | None:
    """A models × datasets heatmap and a bar chart of the means (measured rows only; needs the
    ``[plot]`` extra). Returns None without matplotlib or without a scored row."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        return None
    rows = [r for r in ranked(board.rows) if r.mean is not None]
    if not rows or not board.datasets:
        return None
    labels = [f"{r.key.model} · {r.key.variant}" for r in rows]
    grid = np.array([[np.nan if (v := r.score(d)) is None else v for d in board.datasets] for r in rows])
    height = max(3.0, 0.32 * len(rows) + 1.6)
    width = 4.0 + 0.9 * len(board.datasets)
    figure, (heat, bars) = plt.subplots(1, 2, figsize=(width + 4.0, height),
                                        gridspec_kw={"width_ratios": [width, 3.0]})  # fmt: skip
    image = heat.imshow(grid, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    heat.set_xticks(range(len(board.datasets)), board.datasets, rotation=30, ha="right", fontsize=8)
    heat.set_yticks(range(len(rows)), labels, fontsize=7)
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            heat.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=6,
                      color="white" if value < 60 else "black")  # fmt: skip
    for i, row in enumerate(rows):
        for j, dataset in enumerate(board.datasets):
            if dataset in row.errors and dataset not in row.cells:
                heat.text(j, i, "failed", ha="center", va="center", fontsize=6, color="red")
    figure.colorbar(image, ax=heat, fraction=0.04, label="score (×100)")
    heat.set_title(f"Leaderboard ({board.protocol.value} protocol)", fontsize=10)
    means = [r.mean or 0.0 for r in rows]
    bars.barh(range(len(rows)), means, color="#4C72B0")
    bars.set_yticks(range(len(rows)), [""] * len(rows))
    bars.set_ylim(len(rows) - 0.5, -0.5)  # the heatmap's rows: index 0 at the top
    bars.set_xlim(0, 100)
    bars.set_xlabel("mean (×100)")
    for i, value in enumerate(means):
        bars.text(value + 1, i, f"{value:.2f}", va="center", fontsize=6)
    figure.tight_layout()
    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=110)
    plt.close(figure)
    return path
