"""The clue-merge instruction of ``annotate describe``: four branches for the clues a clip has.

The paper (AffectGPT, App. G) gives the merge instruction in English; upstream's code
(``AffectGPT/toolkit/utils/chatgpt.py``, ``update_text_reason``) has it in Chinese with four branches
by which clues exist — video + audio + subtitle, audio + subtitle, video + subtitle, subtitle only —
an input block ``video clue; audio clue; subtitle`` and one worked example. ovmer's English version
keeps the paper's instruction, the branches and the input layout, with its own example
(docs/annotate.md, 'Merge'). Templates are :class:`~ovmer.llm.prompts.PromptTemplate` so the LLM
path runs through :meth:`ovmer.llm.extractor.LLMExtractor.complete` (cache, post-processing) and
their SHA-256 goes into each clip's provenance.

:func:`merge_by_rules` is the offline backend: the same branches, the clues concatenated.
"""

from __future__ import annotations

from typing import Final

from ovmer.llm.prompts import UNABLE_TO_JUDGE, PromptTemplate

#: The paper's merge instruction (AffectGPT App. G), verbatim.
INSTRUCTION: Final = (
    "Please act as an expert in the field of emotions. We provide acoustic and visual clues that may be "
    "related to the character's emotional state, along with the original subtitle of the video. Please "
    "analyze which parts can infer the emotional state and explain the reasons. During the analysis, "
    "please integrate the textual, audio, and visual clues."
)

# Our worked example (upstream's is a Chinese clip we do not copy): one per branch, so the model sees
# the layout it gets. Clues in the example are invented.
_EXAMPLE_VIDEO = "The man frowns, glances away and crosses his arms."
_EXAMPLE_AUDIO = "He speaks slowly in a low, flat voice with a long pause before the last words."
_EXAMPLE_SUBTITLE = "Fine. Do whatever you want, I don't care anymore."
_EXAMPLE_OUTPUT = {
    "video_audio": (
        "The frown, the averted gaze and the crossed arms show displeasure and withdrawal; the slow, flat "
        "voice and the pause suggest resignation. Together with the words, which dismiss the other "
        "person, the character is disappointed and frustrated, and gives up the argument."
    ),
    "audio": (
        "The slow, flat voice and the long pause suggest resignation; the words dismiss the other "
        "person. The character is disappointed and frustrated, and gives up the argument."
    ),
    "video": (
        "The frown, the averted gaze and the crossed arms show displeasure and withdrawal; the words "
        "dismiss the other person. The character is disappointed and frustrated."
    ),
    "subtitle": (
        "The words dismiss the other person and give up the discussion, which suggests the character is "
        "disappointed and frustrated."
    ),
}

#: branch → the clue fields its input block carries (upstream's order: video, audio, subtitle).
BRANCH_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "video_audio": ("VIDEO", "AUDIO", "SUBTITLE"),
    "audio": ("AUDIO", "SUBTITLE"),
    "video": ("VIDEO", "SUBTITLE"),
    "subtitle": ("SUBTITLE",),
}
_LABELS: Final = {"VIDEO": "Visual clues", "AUDIO": "Acoustic clues", "SUBTITLE": "Subtitle"}
_EXAMPLE_VALUES: Final = {"VIDEO": _EXAMPLE_VIDEO, "AUDIO": _EXAMPLE_AUDIO, "SUBTITLE": _EXAMPLE_SUBTITLE}


def _input_block(fields: tuple[str, ...], values: dict[str, str]) -> str:
    return "; ".join(f"{_LABELS[f]}: {values[f]}" for f in fields)


def _template(branch: str) -> PromptTemplate:
    fields = BRANCH_FIELDS[branch]
    placeholders = {f: "{" + f + "}" for f in fields}
    text = " ".join(
        [
            INSTRUCTION,
            "Example. Input: "
            + _input_block(fields, _EXAMPLE_VALUES)
            + " Output: "
            + _EXAMPLE_OUTPUT[branch],
            "Input: " + _input_block(fields, placeholders) + " Output:",
        ]
    )
    return PromptTemplate(name=f"annotate_merge_{branch}", template=text, fields=fields)


#: branch → its template (``annotate_merge_video_audio`` …).
MERGE_TEMPLATES: Final[dict[str, PromptTemplate]] = {b: _template(b) for b in BRANCH_FIELDS}


def merge_branch(audio_clue: str | None, visual_clue: str | None) -> str:
    """Which of the four branches applies: ``video_audio``, ``audio``, ``video`` or ``subtitle``."""
    if audio_clue and visual_clue:
        return "video_audio"
    if audio_clue:
        return "audio"
    return "video" if visual_clue else "subtitle"


def merge_values(audio_clue: str | None, visual_clue: str | None, subtitle: str | None) -> dict[str, str]:
    """The placeholder values of the clip's branch (an absent subtitle is written as empty quotes)."""
    values = {"VIDEO": visual_clue or "", "AUDIO": audio_clue or "", "SUBTITLE": f'"{subtitle or ""}"'}
    return {f: values[f] for f in BRANCH_FIELDS[merge_branch(audio_clue, visual_clue)]}


def merge_by_rules(audio_clue: str | None, visual_clue: str | None, subtitle: str | None) -> str:
    """The offline merge: the branch's clues in upstream's order, each as one sentence, then what
    is said. No clue and no subtitle gives upstream's "Unable to judge" sentence."""
    parts = []
    if visual_clue:
        parts.append("Visual clues: " + visual_clue.strip())
    if audio_clue:
        parts.append("Acoustic clues: " + audio_clue.strip())
    if subtitle and subtitle.strip():
        parts.append(f'The character says: "{subtitle.strip()}"')
    if not parts:
        return UNABLE_TO_JUDGE
    return " ".join(p if p.endswith((".", "!", "?", '"')) else p + "." for p in parts)
