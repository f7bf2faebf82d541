"""Post-processing (docs/extraction.md, 'Reply post-processing') on replies chat models really produce."""

from __future__ import annotations

import pytest

from ovmer.llm.postprocess import postprocess_reply


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[concern, worry]", "[concern, worry]"),
        ("  [happy]\n", "[happy]"),
        ("Output: [happy, sad]", "[happy, sad]"),
        ("output:[happy]", "[happy]"),
        ("Output： [happy]", "[happy]"),  # full-width colon
        ("输出：[开心]", "[开心]"),
        ("输入输出: [a]", "[a]"),  # both Chinese prefixes, in order
        ("Input: Output: [a]", "Output: [a]"),  # Output is checked before Input: kept
        ("Output: Input: [a]", "Input: [a]"),  # ": Input" does not start with Input; the colon goes later
        ("::[a]", ":[a]"),  # only one colon removed
        ("[a,\nb]\r\n", "[a,b]"),  # newlines deleted, the trailing \r stripped
        ("[a,\r\nb]", "[a,\rb]"),  # an inner \r is kept
        ("让我们来翻译一下：positive", "positive"),
        ("翻译: neutral", "neutral"),
        ("", ""),
        ("\n\n", ""),
        ("Outputs: [a]", "s: [a]"),  # prefix removal is literal, as upstream
    ],
)
def test_postprocess(raw: str, expected: str) -> None:
    assert postprocess_reply(raw) == expected
