"""The extractor prompts of the reference evaluator, byte for byte (docs/extraction.md, 'Prompt sources').

Every published MER-UniBench / OV-MER number was produced with these exact strings, spaces included
(step B's 13-space gaps come from a backslash-continued triple-quoted string upstream). They are
assembled here from their segments so the whitespace is visible and checked by the tests against
the spec's lengths and SHA-256 values. Upstream names are kept where users will search for them
(``reason_to_openset``, M1/M2 of the clue merge).

Each prompt is a :class:`PromptTemplate`: a fixed text with one or two ``{FIELD}`` slots filled by
plain string replacement (never ``str.format``: model answers contain braces).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class PromptTemplate:
    """A named prompt with ``{FIELD}`` placeholders.

    Attributes:
        name: stable id used in caches and result metadata (``ovlabels``, ``sentiment``, ...).
        template: the text with placeholders such as ``{DESCRIPTION}``.
        fields: the placeholder names, in the order they appear.
    """

    name: str
    template: str
    fields: tuple[str, ...]

    @property
    def sha256(self) -> str:
        """SHA-256 of the template text (UTF-8), recorded with every result (docs/extraction.md)."""
        return hashlib.sha256(self.template.encode("utf-8")).hexdigest()

    def render(self, **values: str) -> str:
        """Fill every placeholder verbatim; raises ``KeyError`` naming a missing field."""
        missing = [f for f in self.fields if f not in values]
        if missing:
            raise KeyError(f"prompt {self.name!r} needs {missing}")
        extra = set(values) - set(self.fields)
        if extra:
            raise KeyError(f"prompt {self.name!r} has no field(s) {sorted(extra)}")
        # Replace in one left-to-right pass so a value that itself contains "{SUBTITLE}" is not re-expanded.
        text = self.template
        out: list[str] = []
        position = 0
        while True:
            hits = [(text.find("{" + f + "}", position), f) for f in self.fields]
            hits = [(i, f) for i, f in hits if i >= 0]
            if not hits:
                out.append(text[position:])
                break
            index, field_name = min(hits)
            out.append(text[position:index])
            out.append(values[field_name])
            position = index + len(field_name) + 2
        return "".join(out)


#: Step A: free-text description → OV label list (upstream ``reason_to_openset_qwen``,
#: ``toolkit/utils/qwen.py``).
OVLABELS = PromptTemplate(
    name="ovlabels",
    template=" ".join(
        [
            "Please assume the role of an expert in the field of emotions.",
            "We provide clues that may be related to the emotions of the characters. Based on the provided "
            "clues, please identify the emotional states of the main character.",
            "The main character is the one with the most detailed clues.",
            "Please separate different emotional categories with commas and output only the clearly "
            "identifiable emotional categories in a list format.",
            "If none are identified, please output an empty list.",
            "Input: We cannot recognize his emotional state; Output: []",
            "Input: His emotional state is happy, sad, and angry; Output: [happy, sad, angry]",
            "Input: {DESCRIPTION}; Output: ",
        ]
    ),
    fields=("DESCRIPTION",),
)

#: Step B: OV list string → positive / negative / neutral (upstream ``openset_to_sentiment_qwen``,
#: same file).
#: The 13-space gaps are upstream's line continuation (one space + a 12-space indent).
SENTIMENT = PromptTemplate(
    name="sentiment",
    template=(" " * 13).join(
        [
            "Please act as an expert in the field of emotions.",
            "We provide a few words to describe the emotions of a character.",
            "Please choose the most likely sentiment from the given candidates: [positive, negative, neutral]",
            "Please direct output answer without analyzing process.",
            "Input: [joyful]; Output: positive",
            "Input: []; Output: neutral",
            "Input: {OVLIST}; Output: ",
        ]
    ),
    fields=("OVLIST",),
)

#: Clue merge M1: clue and subtitle both present (docs/extraction.md, 'Clue merge'). ``；`` is U+FF1B,
#: as upstream.
MERGE_CLUE_SUBTITLE = PromptTemplate(
    name="merge-m1",
    template=(" " * 5).join(
        [
            "Please assume the role of an expert in the field of emotions.",
            "We have provided clues from the video that may be related to the characters' emotional states.",
            "In addition, we have also provided the subtitle content of the video.",
            "Please merge all these information to infer the emotional states of the characters, and "
            "provide reasoning for your inferences.",
            "Input: Clue: {CLUE}\uff1bSubtitle: {SUBTITLE}",
        ]
    )
    + " " * 4
    + "Output:",
    fields=("CLUE", "SUBTITLE"),
)

#: Clue merge M2: subtitle only, no clue (docs/extraction.md, 'Clue merge').
MERGE_SUBTITLE_ONLY = PromptTemplate(
    name="merge-m2",
    template=(" " * 4).join(
        [
            "Please assume the role of an expert in the field of emotions.",
            "We have provided the subtitle content of the video.",
            "Please infer the emotional states of the characters, and provide reasoning process for "
            "your inferences.",
            "Input: Subtitle: {SUBTITLE}",
            "Output:",
        ]
    ),
    fields=("SUBTITLE",),
)

#: GPT grouping of the MER2024 OV metric (MERTools ``get_openset_synonym``,
#: ``MER2024/toolkit/utils/chatgpt.py``).
#: ``{MERGED}`` is the Python ``repr`` of a list of strings.
GROUPING = PromptTemplate(
    name="grouping",
    template=" ".join(
        [
            "Please assume the role of an expert in the field of emotions. We provide a set of emotions.",
            "Please group the emotions, with each group containing emotions with the same meaning.",
            "Directly output the results. The output format should be a list containing multiple lists.",
            "Input: ['Agree', 'agreement', 'Relaxed', 'acceptance', 'pleasant', 'relaxed', 'Accept', "
            "'positive', 'Happy'] Output: [['Agree', 'agreement', 'Accept', 'acceptance'], "
            "['Relaxed', 'relaxed'],['pleasant', 'positive', 'Happy']]",
            "Input: {MERGED} Output:",
        ]
    ),
    fields=("MERGED",),
)

#: Reply used when neither clue nor subtitle is available (no LLM call; docs/extraction.md, 'Clue merge').
UNABLE_TO_JUDGE = "Unable to judge the emotional state."

PROMPTS: dict[str, PromptTemplate] = {
    p.name: p for p in (OVLABELS, SENTIMENT, MERGE_CLUE_SUBTITLE, MERGE_SUBTITLE_ONLY, GROUPING)
}


def ovlabels_prompt(description: str) -> str:
    """Step A prompt for one model answer."""
    return OVLABELS.render(DESCRIPTION=description)


def sentiment_prompt(ov_list: str) -> str:
    """Step B prompt for one stored step-A string (e.g. ``[concern, worry]``)."""
    return SENTIMENT.render(OVLIST=ov_list)


def merge_prompt(clue: str, subtitle: str) -> PromptTemplate | None:
    """Which clue-merge prompt applies (docs/extraction.md, 'Clue merge'); ``None`` when no LLM call
    is made."""
    if not subtitle:
        return None
    return MERGE_CLUE_SUBTITLE if clue else MERGE_SUBTITLE_ONLY


def merge_without_llm(clue: str, subtitle: str) -> str | None:
    """The merge result when the table says no LLM call is needed, else ``None``."""
    if not subtitle:
        return clue if clue else UNABLE_TO_JUDGE
    return None


def grouping_prompt(merged: list[str]) -> str:
    """GPT-grouping prompt; ``merged`` is rendered with Python ``repr`` as upstream."""
    return GROUPING.render(MERGED=repr(merged))
