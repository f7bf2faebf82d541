"""One progress-bar layout for every long job (rich): label, bar, done/total, ETA."""

from __future__ import annotations

from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


def progress_bar(label: str = "{task.description}", *extra: ProgressColumn, **kwargs: Any) -> Progress:
    """``label | bar | done/total | *extra | elapsed | remaining``; ``kwargs`` go to :class:`Progress`
    (``console``, ``transient``, ``disable``)."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        *extra,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        **kwargs,
    )


class RateColumn(ProgressColumn):
    """Throughput of a bar, ``12.3/s`` (rich's smoothed speed; blank until it is known). Long runs on a
    cluster show it next to done/total, so a slow stage is seen while it runs."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:.2f}/s", style="progress.data.speed")
