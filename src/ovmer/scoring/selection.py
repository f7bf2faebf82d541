"""Choosing a checkpoint without looking at test scores (clean protocol)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ovmer.errors import DatasetError

_EPOCH = re.compile(r"checkpoint_0*(\d+)")


def match_checkpoint(requested: str, names: Sequence[str]) -> str:
    """Resolve ``requested`` against the available checkpoint names.

    Accepts an exact name, an epoch number (``50`` matches ``checkpoint_000050_loss_0.527``),
    ``first`` or ``last`` (in file-name order).
    """
    if not names:
        raise DatasetError("no checkpoints to choose from")
    ordered = sorted(names)
    if requested in ("first", "last"):
        return ordered[0] if requested == "first" else ordered[-1]
    if requested in names:
        return requested
    if requested.isdigit():
        hits = [n for n in ordered if (m := _EPOCH.match(n)) and int(m.group(1)) == int(requested)]
        if len(hits) == 1:
            return hits[0]
    prefixed = [n for n in ordered if n.startswith(requested)]
    if len(prefixed) == 1:
        return prefixed[0]
    raise DatasetError(
        f"checkpoint {requested!r} matches {len(prefixed)} of {ordered}; give an exact name or epoch"
    )
