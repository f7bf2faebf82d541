"""AffectGPT prompt templates, questions and placeholder tokens.

Upstream: ``my_affectgpt/datasets/datasets/base_dataset.py``; see docs/model.md, 'Tokenizer, prompts and
placeholders'.

The templates must be byte-identical to upstream: the released LoRA weights were trained on exactly
these strings, and tests pin their SHA-256 (four fixtures). Every part ends with exactly one space, and the
prompt ends with ``"###Assistant: "`` (single trailing space).
"""

from __future__ import annotations

from typing import Final, Literal

#: The five placeholder strings, in the order they are added to the tokenizer (upstream ``tokenizer.py``).
#: Their ids must be consecutive; with the standard Qwen2.5 tokenizer they are 151665 … 151669.
PLACEHOLDER_TOKENS: Final = ("<ImageHere>", "<AudioHere>", "<FrameHere>", "<FaceHere>", "<MultiHere>")
IMAGE_TOKEN, AUDIO_TOKEN, FRAME_TOKEN, FACE_TOKEN, MULTI_TOKEN = PLACEHOLDER_TOKENS

#: Prompt modes of the released models (upstream ``face_or_frame``).
PromptMode = Literal["multiface_audio_face_text", "multiframe_audio_frame_text"]
Task = Literal["ovlabels", "description"]

#: User messages (upstream ``base_dataset.py``; docs/model.md, 'Tokenizer, prompts and placeholders').
#: The OV question is the default ("zero-shot") inference question.
OV_QUESTION: Final = "Please recognize all possible emotional states of the character."
DESCRIPTION_QUESTION: Final = "Please infer the person's emotional state and provide your reasoning process."
QUESTIONS: Final[dict[str, str]] = {"ovlabels": OV_QUESTION, "description": DESCRIPTION_QUESTION}

_MULTI_PART = "###Human: The audio and video merged info is: <Multi><MultiHere></Multi>. "
_AUDIO_PART = "The audio content is as follows: <Audio><AudioHere></Audio>. "
_FACE_PART = (
    "Meanwhile, we uniformly sample raw frames from the video and extract faces from these frames: "
    "<Video><FaceHere></Video>. "
)
_FRAME_PART = "Meanwhile, we uniformly sample raw frames from the video: <Video><FrameHere></Video>. "
_SUBTITLE_PART = "The subtitle of this video is: <Subtitle>{subtitle}</Subtitle>. "
_QUESTION_PART = (
    "Now, please answer my question based on all the provided information. {user_message} ###Assistant: "
)

_VISUAL_PART: Final[dict[str, str]] = {
    "multiface_audio_face_text": _FACE_PART,
    "multiframe_audio_frame_text": _FRAME_PART,
}


def build_prompt(mode: PromptMode, subtitle: str | None, user_message: str) -> str:
    """The prompt for one sample, before placeholder expansion (upstream ``base_dataset.py``).

    ``subtitle`` is inserted verbatim; ``None`` (a NaN cell upstream) becomes the empty string.
    Plain ``str.replace`` would break on subtitles containing braces, so the parts are concatenated.
    """
    if mode not in _VISUAL_PART:
        raise ValueError(f"unknown prompt mode {mode!r}; expected one of {sorted(_VISUAL_PART)}")
    subtitle_part = _SUBTITLE_PART.replace("{subtitle}", subtitle or "")
    question_part = _QUESTION_PART.replace("{user_message}", user_message)
    return _MULTI_PART + _AUDIO_PART + _VISUAL_PART[mode] + subtitle_part + question_part


def task_question(task: str) -> str:
    """The user message of a task name (``ovlabels`` or ``description``)."""
    try:
        return QUESTIONS[task]
    except KeyError:
        raise ValueError(f"unknown task {task!r}; expected 'ovlabels' or 'description'") from None


def expand_placeholders(prompt: str, budgets: dict[str, int]) -> str:
    """Repeat each ``<…Here>`` string ``budgets[token]`` times (all 1 when released).

    See docs/model.md, 'Tokenizer, prompts and placeholders'.
    """
    for token, count in budgets.items():
        prompt = prompt.replace(token, token * count)
    return prompt
