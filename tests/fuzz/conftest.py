"""Fuzzing every reader of user files: arbitrary bytes, mutated valid files and structurally odd but
valid files must give a result or an :class:`ovmer.errors.OvmerError`, never another exception.

Examples per test are bounded (``max_examples``), so the whole folder runs in well under a minute.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from ovmer.errors import OvmerError

#: One profile for the folder: few examples (``OVMER_FUZZ_EXAMPLES=500`` for a deeper local run), no
#: deadline (the 2-core CI box is slow and noisy).
FUZZ = settings(
    max_examples=int(os.environ.get("OVMER_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

#: Values a JSON file, a pickled dict or a torch file may hold: nested plain data.
plain_data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` with a few bytes overwritten, a slice deleted, or truncated: gets past magic numbers."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(0, 6))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if data and draw(st.booleans()):
        start = draw(st.integers(0, len(data) - 1))
        del data[start : start + draw(st.integers(1, 64))]
    if data and draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def reads_or_refuses(read: Callable[[], Any]) -> Any:
    """Call a reader: its result, or None when it raised one of ovmer's own errors."""
    try:
        return read()
    except OvmerError:
        return None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder reused across examples (hypothesis runs many inside one test call)."""
    return tmp_path_factory.mktemp("fuzz")
