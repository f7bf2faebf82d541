"""The zero-shot baselines' questions, byte for byte (docs/baselines.md, 'Prompts').

Upstream (zeroQiaoba/AffectGPT at d961cab, ``OV-MER/<Model>/main-video.py`` / ``main-audio.py``)
asks each baseline one fixed question per clip, with or without the clip's subtitle. The published
OV-MER / MER-UniBench baseline numbers come from these exact strings, so they are assembled here
once and pinned by SHA-256 in the tests. The subtitle is inserted verbatim by plain concatenation
(never ``str.format``: subtitles contain braces).

Question families (one per row of upstream's table; :func:`question` builds the full question):

* ``video`` — Video-LLaVA, LLaMA-VID, Otter, mPLUG-Owl: ``Subtitle content of this video: {s}; `` + V.
  The transformers-native video adapters (:mod:`ovmer.baselines.hf`) use this family.
* ``videochat`` — VideoChat: ``Subtitle content of the video: {s}; `` + V + one space.
* ``videochat2`` — VideoChat2: ``Subtitle content of the video: {s} `` + V + one space (no semicolon).
* ``chat-univi`` — Chat-UniVi: ``Subtitle content of this video: {s}; `` + C.
* ``video-chatgpt`` — Video-ChatGPT: G + ``Subtitle content of the video: {s}`` (subtitle last);
  without subtitle G + one space.
* ``audio`` — Qwen-Audio: ``Subtitle content of the audio: {s}; `` + A. Audio-only native adapters
  use this family.
* ``salmonn`` — SALMONN: ``Subtitle content of the video: {s} `` + the SALMONN question.
"""

from __future__ import annotations

import hashlib
from typing import Final

from ovmer.errors import BaselineSpecError

#: V — the video question of Video-LLaVA, LLaMA-VID, Otter and mPLUG-Owl (and VideoChat, VideoChat2).
VIDEO_QUESTION: Final = (
    "As an expert in the field of emotions, please focus on the facial expressions, body movements, "
    "environment, subtitle content, etc., in the video to discern clues related to the emotions of the "
    "individual. Please provide a detailed description and ultimately predict the emotional state of the "
    "individual in the video."
)

#: C — Chat-UniVi's question: recognise all possible states rather than describe.
CHAT_UNIVI_QUESTION: Final = (
    "As an expert in the field of emotions, please focus on the facial expressions, body movements, "
    "environment, subtitle content, etc., in the video and recognize all possible emotional states of "
    "the individual."
)

#: G — Video-ChatGPT's question: V with "acoustic information" added, and one trailing space.
VIDEO_CHATGPT_QUESTION: Final = (
    VIDEO_QUESTION.replace(
        "environment, subtitle content", "environment, acoustic information, subtitle content"
    )
    + " "
)

#: A — Qwen-Audio's question for audio-only input.
AUDIO_QUESTION: Final = (
    "As an expert in the field of emotions, please focus on the acoustic information and subtitle "
    "content in the audio to discern clues related to the emotions of the individual. Please provide a "
    "detailed description and ultimately predict the emotional state of the individual in the audio."
)

#: SALMONN's question (note the trailing space upstream keeps).
SALMONN_QUESTION: Final = "Please predict the emotional state of the individual in the audio. "

#: The question families :func:`question` knows (see the module docstring).
QUESTION_FAMILIES: Final = (
    "video",
    "videochat",
    "videochat2",
    "chat-univi",
    "video-chatgpt",
    "audio",
    "salmonn",
)


def question(family: str, subtitle: str | None) -> str:
    """The exact question upstream asks a baseline of ``family``, with ``subtitle`` or without (None).

    An empty subtitle string is still a subtitle (upstream inserts whatever the dataset holds);
    pass None for the ``nosubtitle`` variant. Raises :class:`~ovmer.errors.BaselineSpecError` for an
    unknown family.
    """
    if family == "video":
        return (
            VIDEO_QUESTION
            if subtitle is None
            else f"Subtitle content of this video: {subtitle}; " + VIDEO_QUESTION
        )
    if family == "videochat":
        prefix = "" if subtitle is None else f"Subtitle content of the video: {subtitle}; "
        return prefix + VIDEO_QUESTION + " "
    if family == "videochat2":
        prefix = "" if subtitle is None else f"Subtitle content of the video: {subtitle} "
        return prefix + VIDEO_QUESTION + " "
    if family == "chat-univi":
        prefix = "" if subtitle is None else f"Subtitle content of this video: {subtitle}; "
        return prefix + CHAT_UNIVI_QUESTION
    if family == "video-chatgpt":
        suffix = " " if subtitle is None else f"Subtitle content of the video: {subtitle}"
        return VIDEO_CHATGPT_QUESTION + suffix
    if family == "audio":
        prefix = "" if subtitle is None else f"Subtitle content of the audio: {subtitle}; "
        return prefix + AUDIO_QUESTION
    if family == "salmonn":
        prefix = "" if subtitle is None else f"Subtitle content of the video: {subtitle} "
        return prefix + SALMONN_QUESTION
    raise BaselineSpecError(
        f"unknown baseline question family {family!r}; known: {', '.join(QUESTION_FAMILIES)}"
    )


def prompt_sha256(text: str) -> str:
    """SHA-256 (hex) of a question's UTF-8 bytes, recorded with every baseline answer."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean_answer(text: str) -> str:
    """Upstream's saving rule for baseline answers (docs/baselines.md): stripped, newlines and tabs
    as spaces (one line, as in upstream's ``name2reason`` files), a trailing ``</s>`` dropped."""
    text = text.strip()
    if text.endswith("</s>"):
        text = text[: -len("</s>")].rstrip()
    return text.replace("\n", " ").replace("\t", " ")
