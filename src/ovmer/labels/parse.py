"""``string_to_list``: the one parser applied to every label string (docs/scoring.md, 'Label
mapping (M1, M2, M3)').

Ground truth, step-A extractor replies, synonym cells and format cells all go through this function,
so its quirks are part of every published score: an ASCII apostrophe splits a word
(``"[don't care]"`` → ``['don', 't care']``), only the very last character is checked for ``]``, and
prose is split on commas. The name is kept from upstream because users search for it.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import numpy as np

from ovmer.errors import InputFormatError

logger = logging.getLogger(__name__)

# Single quote, double quote and comma are all separators (upstream ``toolkit/utils/functions.py``).
_SEPARATORS = re.compile(r"['\",]")


def _is_missing(value: Any) -> bool:
    """True for the values ``pandas.isna`` treats as missing scalars (None, NaN, NaT, pd.NA)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd

        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


def string_to_list(value: Any) -> list[str]:
    """Parse one label cell into a list of label strings, exactly as upstream does.

    Args:
        value: a string such as ``"[concern, worry]"`` or ``"['happy', 'excited']"``, a list (returned
            unchanged), a NumPy array (converted with ``tolist()`` first), ``""`` or NaN (→ ``[]``).

    Returns:
        The stripped, non-empty pieces, in order. Items are *not* lower-cased here; callers do that.

    Upstream raises ``IndexError`` for the one-character string ``"["``; ovmer returns ``[]`` and logs
    a warning instead (docs/scoring.md, 'Quirks kept on purpose'). No stored upstream output contains
    that case.
    """
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value == "":
        return []
    if _is_missing(value):
        return []
    if not isinstance(value, str):
        raise InputFormatError(
            f"label cell {value!r} has type {type(value).__name__}; expected a string such as "
            "'[happy, sad]', a list of strings, an empty string or NaN"
        )
    text = value
    if text[0] == "[":
        text = text[1:]
    if text == "":
        logger.warning("label string '[' cannot be parsed (upstream raises IndexError); treating it as []")
        return []
    if text[-1] == "]":
        text = text[:-1]
    return [piece.strip() for piece in _SEPARATORS.split(text) if piece.strip() not in ("", ",")]
