"""The baselines' questions are byte-for-byte upstream's (docs/baselines.md, 'Prompts')."""

from __future__ import annotations

import hashlib

import pytest

from ovmer.baselines import prompts
from ovmer.errors import BaselineSpecError

# V as upstream writes it (OV-MER/Video-LLaVA/main-video.py), typed out once more so a change to the
# module's assembly shows up here.
V = (
    "As an expert in the field of emotions, please focus on the facial expressions, body movements, environment, "
    "subtitle content, etc., in the video to discern clues related to the emotions of the individual. Please "
    "provide a detailed description and ultimately predict the emotional state of the individual in the video."
)

#: SHA-256 of each fixed question (UTF-8).
QUESTION_SHA256 = {
    "VIDEO_QUESTION": "d14020767519c92692bcccda53a4829af8ea02f1d22eb2ab24c9dcc02abd22b5",
    "CHAT_UNIVI_QUESTION": "a51c3faf7274c086829049e8e78a963b88cfff6eed352bf08c42db23efdee3a7",
    "VIDEO_CHATGPT_QUESTION": "0c7e357f92fd6d4b509516fac8cb6bf2a90e128cd9305597c07d29bc78065e8a",
    "AUDIO_QUESTION": "b87c2b30b49e827198db26317bb0f6471b6e32de3664a623d5078a294bcc0b99",
    "SALMONN_QUESTION": "a81cd95ffe108f61002d76b66a5b84ceba427f50f83725fdbc439b79bbee8d00",
}

#: (family, with subtitle "I am fine."?) → SHA-256 of the full question.
FULL_SHA256 = {
    ("video", False): "d14020767519c92692bcccda53a4829af8ea02f1d22eb2ab24c9dcc02abd22b5",
    ("video", True): "ed29e7259beedd5e19267cae63da4480233c3b68a6c6aa48e9e670bc7d7c74b4",
    ("videochat", False): "782f1dab60f13e763a761b3764dd298d1726146f9378c4e02d09b5a245f44395",
    ("videochat", True): "dc7ad51debf4c271e4a5c715d6639c35c8534578eabb603185183d1cf677f257",
    ("videochat2", False): "782f1dab60f13e763a761b3764dd298d1726146f9378c4e02d09b5a245f44395",
    ("videochat2", True): "4bdf1c43a499ac624d6459a4d132cd7dec8f077933b86e91d290141af5a2fdc9",
    ("chat-univi", False): "a51c3faf7274c086829049e8e78a963b88cfff6eed352bf08c42db23efdee3a7",
    ("chat-univi", True): "c769d5547d1e97bb228f5494f3ffe70c0bf173cc39ce51b3dcf21421ddb46a2a",
    ("video-chatgpt", False): "ff21939d3dab5684c34cbb979cda5bbef39f64665bf792c825da0bb0f070cd96",
    ("video-chatgpt", True): "f4f95b05b20b3e07a92e81aaa69a8bef9cc938d3295dccdfe9ed94cff834c9f7",
    ("audio", False): "b87c2b30b49e827198db26317bb0f6471b6e32de3664a623d5078a294bcc0b99",
    ("audio", True): "34b9d83987332fa117f104feb6f89c466cb3bca7087a2971e1da1db6658611b8",
    ("salmonn", False): "a81cd95ffe108f61002d76b66a5b84ceba427f50f83725fdbc439b79bbee8d00",
    ("salmonn", True): "10545e0ebab23fdc3be2dbc6ea2545f9c5c93f52b97f182bdd7feab777379f0e",
}


@pytest.mark.parametrize("name", sorted(QUESTION_SHA256))
def test_fixed_questions_are_pinned(name: str) -> None:
    text = getattr(prompts, name)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == QUESTION_SHA256[name]
    assert prompts.prompt_sha256(text) == QUESTION_SHA256[name]


@pytest.mark.parametrize(("family", "with_subtitle"), sorted(FULL_SHA256))
def test_full_questions_are_pinned(family: str, with_subtitle: bool) -> None:
    text = prompts.question(family, "I am fine." if with_subtitle else None)
    assert prompts.prompt_sha256(text) == FULL_SHA256[(family, with_subtitle)]


def test_questions_follow_upstreams_table() -> None:
    assert prompts.VIDEO_QUESTION == V
    assert prompts.question("video", None) == V
    assert prompts.question("video", "Hi.") == "Subtitle content of this video: Hi.; " + V
    assert prompts.question("videochat", "Hi.") == "Subtitle content of the video: Hi.; " + V + " "
    assert prompts.question("videochat2", "Hi.") == "Subtitle content of the video: Hi. " + V + " "
    assert prompts.question("videochat2", None) == V + " "
    assert prompts.question("chat-univi", "Hi.").endswith(
        "recognize all possible emotional states of the individual."
    )
    g = (
        V.replace("environment, subtitle content", "environment, acoustic information, subtitle content")
        + " "
    )
    assert g == prompts.VIDEO_CHATGPT_QUESTION
    assert prompts.question("video-chatgpt", "Hi.") == g + "Subtitle content of the video: Hi."
    assert prompts.question("video-chatgpt", None) == g + " "
    assert prompts.question("audio", "Hi.") == "Subtitle content of the audio: Hi.; " + prompts.AUDIO_QUESTION
    assert prompts.question("salmonn", "Hi.") == (
        "Subtitle content of the video: Hi. Please predict the emotional state of the individual in the audio. "
    )
    assert (
        prompts.question("salmonn", None)
        == "Please predict the emotional state of the individual in the audio. "
    )


def test_subtitle_is_inserted_verbatim() -> None:
    assert prompts.question("video", "{x} 100%").startswith("Subtitle content of this video: {x} 100%; As an")


def test_unknown_family_is_a_typed_error() -> None:
    with pytest.raises(BaselineSpecError, match="unknown baseline question family 'nope'"):
        prompts.question("nope", None)
