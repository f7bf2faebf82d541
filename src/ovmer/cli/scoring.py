"""``ovmer score``, ``ovmer unibench`` and ``ovmer convert`` (being written)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the scoring commands to the main app."""
