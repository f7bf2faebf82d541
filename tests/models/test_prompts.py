"""Prompt templates are byte-identical to upstream (docs/model.md, 'Tokenizer, prompts and placeholders')."""

from __future__ import annotations

import hashlib

import pytest

from ovmer.models.prompts import (
    DESCRIPTION_QUESTION,
    OV_QUESTION,
    build_prompt,
    expand_placeholders,
    task_question,
)

SUBTITLE = "I don't know! I, I, I don't have experience in this area."


@pytest.mark.parametrize(
    ("mode", "question", "length", "sha"),
    [
        (
            "multiface_audio_face_text",
            OV_QUESTION,
            516,
            "a8ae6500d00722fee9d9ab335de6bdb33628f320802c415e1fa9d2fba1a9eeec",
        ),
        (
            "multiface_audio_face_text",
            DESCRIPTION_QUESTION,
            529,
            "e5dd61e0d765513f7b21d221621fdcfc7a58df877c5cad103ab0670f84177d0e",
        ),
        (
            "multiframe_audio_frame_text",
            OV_QUESTION,
            481,
            "d030fc2d82b135b9f2c3aacc455d293c952a2c68b4fe26f7c2a967b721dccb8b",
        ),
        (
            "multiframe_audio_frame_text",
            DESCRIPTION_QUESTION,
            494,
            "c015085729e0bf8ea99e81f5574cb4fe1aeb36023c8d331235fb9a514d9daa77",
        ),
    ],
)
def test_prompt_hashes(mode: str, question: str, length: int, sha: str) -> None:
    prompt = build_prompt(mode, SUBTITLE, question)  # type: ignore[arg-type]
    assert len(prompt) == length
    assert hashlib.sha256(prompt.encode("utf-8")).hexdigest() == sha
    assert prompt.endswith("###Assistant: ") and not prompt.endswith("  ")


def test_modality_order_and_missing_subtitle() -> None:
    prompt = build_prompt("multiface_audio_face_text", None, OV_QUESTION)
    assert "<Subtitle></Subtitle>" in prompt
    assert (
        prompt.index("<MultiHere>")
        < prompt.index("<AudioHere>")
        < prompt.index("<FaceHere>")
        < prompt.index("<Subtitle>")
    )
    assert "<FrameHere>" not in prompt


def test_subtitle_with_braces_is_verbatim() -> None:
    prompt = build_prompt("multiframe_audio_frame_text", "{user_message} {x}", OV_QUESTION)
    assert "<Subtitle>{user_message} {x}</Subtitle>" in prompt


def test_expand_placeholders_and_questions() -> None:
    assert expand_placeholders("a<AudioHere>b", {"<AudioHere>": 3}) == "a<AudioHere><AudioHere><AudioHere>b"
    assert task_question("ovlabels") == "Please recognize all possible emotional states of the character."
    with pytest.raises(ValueError, match="unknown task"):
        task_question("sentiment")
