"""string_to_list (upstream ``AffectGPT/toolkit/utils/functions.py``): quirks, plus properties.

The quirks are listed in docs/scoring.md, 'Label mapping (M1, M2, M3)' and 'Quirks kept on purpose'.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ovmer.errors import InputFormatError
from ovmer.labels.parse import string_to_list


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("[concern, worry]", ["concern", "worry"]),
        ("['happy', 'excited']", ["happy", "excited"]),
        ('["a", "b"]', ["a", "b"]),
        ("[]", []),
        ("", []),
        (math.nan, []),
        (None, []),
        ("happy", ["happy"]),
        ("]", []),
        ("[don't care, happy]", ["don", "t care", "happy"]),
        ("[don’t care, happy]", ["don’t care", "happy"]),
        ("[happy, sad].", ["happy", "sad]."]),
        ("The character is happy, and sad.", ["The character is happy", "and sad."]),
        (" [a, b]", ["[a", "b"]),
        ("[ , ,happy]", ["happy"]),
    ],
)
def test_quirk_table(cell: object, expected: list[str]) -> None:
    assert string_to_list(cell) == expected


def test_lists_pass_through_unchanged() -> None:
    items = [" Happy ", "SAD"]
    assert string_to_list(items) is items


def test_numpy_inputs_are_converted_first() -> None:
    assert string_to_list(np.array("[a, b]")) == ["a", "b"]
    assert string_to_list(np.array(["x", "y"])) == ["x", "y"]
    assert string_to_list(np.str_("[a]")) == ["a"]


def test_lone_open_bracket_returns_empty_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert string_to_list("[") == []
    assert "IndexError" in caplog.text


def test_non_string_cell_is_a_clear_error() -> None:
    with pytest.raises(InputFormatError, match="expected a string"):
        string_to_list(3)


_word = (
    st.text(alphabet=st.characters(blacklist_characters="'\",[]", blacklist_categories=("Cs",)), min_size=1)
    .map(str.strip)
    .filter(bool)
)


@given(st.lists(_word, max_size=8))
def test_bracketed_lists_round_trip(items: list[str]) -> None:
    assert string_to_list("[" + ", ".join(items) + "]") == items
    assert string_to_list("[" + ", ".join(f"'{w}'" for w in items) + "]") == items


@given(st.text())
def test_output_items_are_clean(text: str) -> None:
    if text == "[":
        return
    for item in string_to_list(text):
        assert item == item.strip() and item
        assert not set(item) & {"'", '"', ","}
