"""The prompts must be byte-identical to upstream's (docs/extraction.md, 'Prompt sources')."""

from __future__ import annotations

import hashlib

import pytest

from ovmer.llm.chat import render_qwen_chat
from ovmer.llm.prompts import (
    GROUPING,
    MERGE_CLUE_SUBTITLE,
    MERGE_SUBTITLE_ONLY,
    OVLABELS,
    SENTIMENT,
    grouping_prompt,
    merge_prompt,
    merge_without_llm,
    ovlabels_prompt,
    sentiment_prompt,
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_step_a_prompt_matches_spec() -> None:
    prefix, suffix = OVLABELS.template.split("{DESCRIPTION}")
    assert len(prefix) == 622
    assert suffix == "; Output: "
    assert "\n" not in OVLABELS.template
    prompt = ovlabels_prompt("The character's emotional state is concern, worry.")
    assert len(prompt) == 682
    assert sha(prompt) == "a85586f6c52f76b0931f80e114a1fc55247ca651448c607e6ac0e38f5b22b2ac"


def test_chat_rendering_matches_spec() -> None:
    rendered = render_qwen_chat(ovlabels_prompt("The character's emotional state is concern, worry."))
    assert len(rendered) == 830
    assert sha(rendered) == "ea3fb1688d2455b3efb9113034d7e3e028c92c1394e47a1e1683d8fa14cdd93e"
    assert rendered.startswith("<|im_start|>system\nYou are Qwen")
    assert rendered.endswith("<|im_end|>\n<|im_start|>assistant\n")


def test_step_b_prompt_matches_spec() -> None:
    prefix, suffix = SENTIMENT.template.split("{OVLIST}")
    assert len(prefix) == 406
    assert suffix == "; Output: "
    assert SENTIMENT.template.count(" " * 13) == 6
    prompt = sentiment_prompt("[concern, worry]")
    assert len(prompt) == 432
    assert sha(prompt) == "17b15e052289b51eab63a9ba272e9c5a8507c953ef47487d211bd0633c776988"


def test_merge_prompts_match_spec() -> None:
    fixed_m1 = MERGE_CLUE_SUBTITLE.template.replace("{CLUE}", "").replace("{SUBTITLE}", "")
    assert len(fixed_m1) == 405
    # 405 characters with one 3-byte "；" are 407 UTF-8 bytes (the full prompt's SHA-256 below
    # pins the text).
    assert len(fixed_m1.encode("utf-8")) == 407
    m1 = MERGE_CLUE_SUBTITLE.render(CLUE="He frowns.", SUBTITLE="I am fine.")
    assert len(m1) == 425
    assert sha(m1) == "c007fa49fc13a3c7878eae8aa7666edadd473c3c9b68d889e526127f95f4a8f7"
    fixed_m2 = MERGE_SUBTITLE_ONLY.template.replace("{SUBTITLE}", "")
    assert len(fixed_m2) == 255
    m2 = MERGE_SUBTITLE_ONLY.render(SUBTITLE="I am fine.")
    assert len(m2) == 265
    assert sha(m2) == "663e08bc98eb3f8aca5757e3c0478875adf8250ae69640603795ff9100fba0a4"


def test_grouping_prompt_matches_spec() -> None:
    prompt = grouping_prompt(["happy", "sad"])
    assert len(prompt) == 524
    assert sha(prompt) == "a8e6d7b23d3d347f63a1f4a1b57c041fb8815e8e1a7850f78efbabd4fdf8b9ad"
    assert not GROUPING.template.endswith(" ")


@pytest.mark.parametrize(
    ("clue", "subtitle", "expected"),
    [
        ("", "", "Unable to judge the emotional state."),
        ("He smiles.", "", "He smiles."),
        ("He smiles.", "Hi", None),
        ("", "Hi", None),
    ],
)
def test_merge_table(clue: str, subtitle: str, expected: str | None) -> None:
    assert merge_without_llm(clue, subtitle) == expected
    template = merge_prompt(clue, subtitle)
    if expected is None:
        assert template is (MERGE_CLUE_SUBTITLE if clue else MERGE_SUBTITLE_ONLY)
    else:
        assert template is None


def test_answers_with_braces_and_placeholders_are_inserted_verbatim() -> None:
    text = "She says {SUBTITLE} and {0} with ； and \n newline"
    assert ovlabels_prompt(text).endswith(f"Input: {text}; Output: ")
    m1 = MERGE_CLUE_SUBTITLE.render(CLUE="{SUBTITLE}", SUBTITLE="x")
    assert "Clue: {SUBTITLE}\uff1bSubtitle: x" in m1
    with pytest.raises(KeyError, match="CLUE"):
        MERGE_CLUE_SUBTITLE.render(SUBTITLE="x")
