"""Readable outputs of scoring: a rich table for the terminal, Markdown, and an optional bar chart.

Numbers are printed ×100 with two decimals, as in the papers; the JSON keeps full precision.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.table import Table

from ovmer.data.benchmarks import Family
from ovmer.scoring.dataset import DatasetScore
from ovmer.scoring.unibench import UnibenchResult

METRIC_TITLES = {
    "hit_rate": "hit rate",
    "mscore": "mscore",
    "waf": "WAF",
    "acc": "ACC",
    "unibench_l1_f": "mean F (L1, 5 wheels)",
    "unibench_l2_f": "mean F (L2, 5 wheels)",
    "ovmer_m_avg": "M-avg (12 F)",
    "mer2025_score": "(L1F+L2F)/2",
}


def pct(value: float | None) -> str:
    """A fraction as the papers print it: ×100, two decimals; ``–`` for missing/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.2f}"


def unibench_table(result: UnibenchResult) -> Table:
    """The headline table: one row per dataset plus the mean (reasons and warnings: see the report)."""
    table = Table(title=f"MER-UniBench — {result.protocol.label}", title_justify="left")
    for column in ("dataset", "metric", "score", "checkpoint", "scored"):
        table.add_column(column, justify="right" if column in ("score", "scored") else "left")
    for outcome in result.datasets.values():
        score = outcome.selected_score
        if score is None:
            table.add_row(outcome.dataset.id, f"[yellow]{outcome.status}[/]", "–", "", "")
            continue
        flag = " [yellow]![/]" if score.inputs.warnings() else ""
        table.add_row(outcome.dataset.id, METRIC_TITLES.get(score.metric, score.metric), pct(score.main) + flag,
                      outcome.selected or "", str(score.n_scored))  # fmt: skip
    table.add_row(
        "[bold]mean[/]", f"{len(result.scored)} of 9 datasets", f"[bold]{pct(result.mean)}[/]", "", ""
    )
    return table


def unibench_notes(result: UnibenchResult) -> list[str]:
    """One line per skipped/failed dataset, per input warning of a selected checkpoint and per failed checkpoint."""
    notes = []
    for outcome in result.datasets.values():
        score = outcome.selected_score
        if score is None:
            notes.append(f"{outcome.dataset.id}: {outcome.status}: {outcome.reason}")
        else:
            notes += [f"{outcome.dataset.id}: {w}" for w in score.inputs.warnings()]
            # Paper protocol: a failed checkpoint silently left the best-of-N choice; say which and why.
            notes += [
                f"{outcome.dataset.id}: checkpoint {c.name} failed and was left out of the choice: {c.error}"
                for c in outcome.checkpoints
                if c.error
            ]
    return notes


def dataset_table(score: DatasetScore) -> Table:
    """Details of one dataset score (``ovmer score``)."""
    table = Table(title=f"{score.dataset} — {score.protocol.label}", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("kept", justify="right")
    table.add_row(
        f"[bold]{METRIC_TITLES.get(score.metric, score.metric)}[/]",
        f"[bold]{pct(score.main)}[/]",
        str(score.n_scored),
    )
    for name, value in score.secondary.items():
        table.add_row(METRIC_TITLES.get(name, name), pct(value), "")
    for name, row in _detail_rows(score):
        table.add_row(name, *row)
    return table


def _detail_rows(score: DatasetScore) -> list[tuple[str, tuple[str, str]]]:
    rows: list[tuple[str, tuple[str, str]]] = []
    if score.family is Family.DISCRETE:
        for wheel, d in score.details["per_wheel"].items():
            rows.append((f"{wheel} hit rate ({d['hits']}/{d['kept']})", (pct(d["hit_rate"]), str(d["kept"]))))
    elif score.family is Family.OPENSET:
        for key, d in score.details["set_scores"].items():
            rows.append(
                (f"{key} F (P {pct(d['precision'])}, R {pct(d['recall'])})", (pct(d["f"]), str(d["kept"])))
            )
        rows.append(("M-avg", (pct(score.details["M_avg"]), "")))
        for level in ("L1", "L2"):
            d = score.details["unibench"][level]
            rows.append(
                (
                    f"MER-UniBench {level} mean F (P {pct(d['precision'])}, R {pct(d['recall'])})",
                    (pct(d["f"]), ""),
                )
            )
        rows.append(("MER2025 (L1F+L2F)/2", (pct(score.details["mer2025"]["score"]), "")))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in score.details["prediction_counts"].items())
        rows.append((f"step-B replies: {counts}", ("", "")))
    return rows


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def dataset_markdown(score: DatasetScore, heading: str = "##") -> str:
    """Markdown section for one dataset score."""
    parts = [f"{heading} {score.dataset}", "", f"*{score.protocol.label}*", ""]
    rows = [[METRIC_TITLES.get(score.metric, score.metric), pct(score.main), str(score.n_scored)]]
    rows += [[METRIC_TITLES.get(k, k), pct(v), ""] for k, v in score.secondary.items()]
    rows += [[name, *row] for name, row in _detail_rows(score)]
    parts.append(_md_table(["metric", "value (×100)", "kept samples"], rows))
    warnings = score.inputs.warnings()
    if warnings:
        parts += ["", "Input warnings:", "", *[f"- {w}" for w in warnings]]
    return "\n".join(parts) + "\n"


def unibench_markdown(result: UnibenchResult, command: str | None = None) -> str:
    """The full MER-UniBench report."""
    lines = ["# MER-UniBench report", "", f"**{result.protocol.label}**", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    if result.selection:
        lines += [f"Checkpoint selection: `{result.selection}`", ""]
    rows = []
    for outcome in result.datasets.values():
        score = outcome.selected_score
        if score is None:
            rows.append([outcome.dataset.title, "", "–", "", "", f"{outcome.status}: {outcome.reason}"])
        else:
            rows.append([outcome.dataset.title, METRIC_TITLES.get(score.metric, score.metric), pct(score.main),
                         outcome.selected or "", str(score.n_scored), "; ".join(score.inputs.warnings())])  # fmt: skip
    rows.append(["**Mean**", f"{len(result.scored)} of 9 datasets", f"**{pct(result.mean)}**", "", "", ""])
    lines.append(_md_table(["dataset", "metric", "score", "checkpoint", "scored samples", "notes"], rows))
    if result.protocol.value == "paper":
        lines += [
            "",
            "## Scores per checkpoint",
            "",
            "Bold: the checkpoint the paper protocol selects (best on the test set).",
            "",
        ]
        names = sorted({c.name for o in result.scored for c in o.checkpoints})
        table_rows = []
        for outcome in result.scored:
            cells = []
            for name in names:
                found = next((c for c in outcome.checkpoints if c.name == name), None)
                if found is None or found.score is None:
                    cells.append("–" if found is None else "error")
                else:
                    value = pct(found.score.main)
                    cells.append(f"**{value}**" if name == outcome.selected else value)
            table_rows.append([outcome.dataset.id, *cells])
        lines.append(_md_table(["dataset", *names], table_rows))
    lines += ["", "## Details of the selected checkpoints", ""]
    for outcome in result.scored:
        score = outcome.selected_score
        if score is not None:
            lines.append(dataset_markdown(score, heading="###"))
    errors = [
        (o.dataset.id, c.name, c.error) for o in result.datasets.values() for c in o.checkpoints if c.error
    ]
    if errors:
        lines += ["## Checkpoints that could not be scored", ""]
        lines += [f"- {d} / {c}: {e}" for d, c, e in errors]
    return "\n".join(lines) + "\n"


def unibench_plot(result: UnibenchResult, path: Path) -> Path | None:
    """Bar chart of the selected score per dataset (needs matplotlib, extra ``[plot]``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    scored: list[Any] = [o for o in result.scored if o.selected_score is not None]
    if not scored:
        return None
    names = [o.dataset.id for o in scored] + ["mean"]
    values = [o.selected_score.main * 100 for o in scored] + [result.mean * 100]
    figure, axis = plt.subplots(figsize=(max(5.0, 1.0 + 0.8 * len(names)), 3.6))
    bars = axis.bar(names, values, color=["#4C72B0"] * (len(names) - 1) + ["#DD8452"])
    axis.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=8)
    axis.set_ylim(0, 100)
    axis.set_ylabel("score (×100)")
    axis.set_title(f"MER-UniBench ({result.protocol.value} protocol)", fontsize=10)
    axis.tick_params(axis="x", rotation=30)
    figure.tight_layout()
    from ovmer.atomic import atomic_open

    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120)
    plt.close(figure)
    return path
