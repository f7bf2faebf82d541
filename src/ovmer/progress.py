"""One progress-bar layout for every long job (rich): label, bar, done/total, ETA."""

from __future__ import annotations

from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


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
