"""The offline extractor: emotion labels and sentiment from text by rules, with no LLM.

Why: step A and B of the benchmark need a 7B LLM (docs/scoring.md, 'Pipeline'); this extractor needs
nothing but the emotion-wheel tables, runs in milliseconds and is deterministic. How close it comes
to the Qwen extractor on real model answers is measured in ``benchmarks/lexicon_extractor.py`` and
reported in ``docs/extraction.md``.

Rules, in order:

1. **Vocabulary.** Every word form of ``format_mapping`` (7,386 forms of the 1,255 base words,
   one to five words long, e.g. ``worried``, ``worry``, ``at a loss for words``) is an emotion term.
   The text is lower-cased, tokenised into words (apostrophes and hyphens kept) and scanned
   left to right with the longest matching form winning.
2. **Lists.** When the text states a list (``... emotional state is concern, worry.`` or a
   bracketed ``[a, b]``), each list item is taken as written when it is itself a word form
   (after dropping hedges such as ``possibly`` and intensity words such as ``slightly``:
   ``possibly frustrated`` → ``frustrated``); a short non-negated item is kept as written, as Qwen
   does; otherwise its terms are scanned as in 1.
3. **Negation.** A term within four words after ``not``, ``no``, ``never``, ``without``, ``n't``,
   ``lack of`` … in the same clause (clauses end at punctuation and at ``but``/``however``/
   ``although``/``while``) is dropped: ``shows no anger`` yields nothing.
4. **Ambiguous words** that are usually not emotions in running prose (``content``, ``like``,
   ``important`` …) are only accepted inside an explicit list.
5. **No emotion.** An answer whose only labels state the absence of an emotion (``neutral``,
   ``none``, ``unknown``, ``unclear``) gives ``[]``: step A's prompt asks for "clearly identifiable
   emotional categories" and an empty list when there are none (Qwen: ``neutral.`` → ``[]`` in all
   184 such answers of the released run).
6. **Cap.** Terms keep their first-seen order, without duplicates, at most ``max_labels`` of them
   (default 4, like the reference extractor). When a longer list must be cut, emotion-wheel word
   forms are kept before other stated items (``under pressure``, ``criticism``, ``humorous``), each
   group in stated order, and the kept labels stay in stated order: the prompt asks for emotion
   categories, and Qwen, cutting a 5+ item list to four, keeps a wheel form stated after the fourth
   place three times as often as another item (MER2023: 23 % vs 7 %). The reply is ``[a, b, c]``
   (``[]`` if none), the format of stored step-A replies.

Sentiment (step B replacement):

- **B1 valence.** Each label's base words are looked up on the five wheels; a wheel label under a
  positive root (``happy``, ``joyful``, ``joy``, ``peaceful``, ``powerful``, ``genius``) votes +1,
  under a negative root (``mad``, ``angry``, ``anger``, ``sad``, ``scared``, ``fearful``, ``fear``,
  ``disgusted``, ``disgust``, ``bad``) −1, ``surprised`` 0; ``positive``/``negative`` vote directly.
  A label that is not a word form takes the sign of its words' votes (``negative emotions`` −1,
  ``positive_attitude`` +1; words that only say "emotion", e.g. ``emotions``, do not vote),
  reversed after a negator (``lack of interest`` −1).
- **B2 a named answer.** Step B asks Qwen to choose among ``positive``, ``negative`` and
  ``neutral``. A list that names exactly one of these words gets it (``[calm, neutral]`` →
  neutral), except that ``positive`` does not outvote labels that are net negative
  (``[ironic, sarcastic, positive]`` → negative).
- **B3 majority, ties to the last label.** Otherwise the sign of the sum of the votes decides; a
  tie between positive and negative labels goes to the last one stated (``[excited, anxious]`` →
  negative, ``[anxious, excited]`` → positive); no vote at all gives ``neutral``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ovmer.labels.parse import string_to_list
from ovmer.labels.wheel import WheelMaps
from ovmer.llm.extractor import Outcome, ProgressCallback
from ovmer.llm.prompts import merge_without_llm

POSITIVE_ROOTS = frozenset({"happy", "joyful", "joy", "peaceful", "powerful", "genius"})
NEGATIVE_ROOTS = frozenset(
    {"mad", "angry", "anger", "sad", "scared", "fearful", "fear", "disgusted", "disgust", "bad"}
)
NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "without",
        "nor",
        "neither",
        "hardly",
        "barely",
        "lack",
        "lacks",
        "lacking",
        "absence",
        "cannot",
        "free",  # "free of anger"
    }
)
CLAUSE_BREAKS = frozenset({"but", "however", "although", "though", "while", "whereas", "yet", "instead"})
NEGATION_SCOPE = 4  # words after a negator that it covers
#: Words that are emotion forms in the tables but usually something else in running prose.
AMBIGUOUS = frozenset(
    {
        "content",
        "like",
        "important",
        "support",
        "interest",
        "interesting",
        "close",
        "open",
        "mean",
        "down",
        "high",
        "low",
        "cool",
        "hot",
        "fine",
        "well",
        "sure",
        "positive",
        "negative",
        "present",
        "attention",
        "engaging",
        "moved",
        "touching",
        "serious",
        "emotion",
        "emotions",
        "emotional",
        "emotionally",
        "feeling",
        "feelings",
    }
)
#: The reference Qwen extractor mostly keeps the first four labels of a longer list (MER2023 epoch 50:
#: 5+ stated labels → exactly 4 kept in 42 of 73 answers); keeping four brings the lexicon's scores
#: closest to Qwen's (benchmarks/lexicon_extractor.py). ``None`` keeps every label.
DEFAULT_MAX_LABELS = 4
LIST_ITEM_WORDS = 3  # longer list items are prose and are scanned for terms instead
#: Labels that state the absence of an emotion: an answer with nothing else gives ``[]`` (step A's
#: "If none are identified, please output an empty list").
NO_EMOTION = frozenset({"neutral", "none", "no emotion", "unknown", "unclear"})
#: Words that name emotion in general: no vote inside a multi-word label (``positive emotions`` is +1).
GENERIC_WORDS = frozenset({"emotion", "emotions", "emotional", "emotionally", "feeling", "feelings"})
#: Step B's answer words; a list that names exactly one of them gets it (rule B2).
SENTIMENT_WORDS = ("positive", "negative", "neutral")
#: Hedges before a stated item: the label is the rest (``possibly frustrated`` → ``frustrated``).
HEDGES = ("possibly ", "perhaps ", "maybe ", "probably ", "likely ", "seemingly ", "apparently ")
INTENSIFIERS = (
    "very ",
    "mildly ",
    "extremely ",
    "quite ",
    "rather ",
    "highly ",
    "slightly ",
    "somewhat ",
    "a bit ",
    "a little ",
    "a sense of ",
    "some ",
    "mild ",
    "deeply ",
)

_WORD = re.compile(r"[a-z]+(?:['’][a-z]+)*(?:-[a-z]+)*|[.,;:!?()\[\]]")
_LIST_LEAD = re.compile(
    r"(?:emotional states?|emotions?|feelings?|sentiments?)\s*(?:of [^.,;:]*?)?\s*"
    r"(?:(?:is|are|was|were|include|includes)\s*:?|:)\s*(?:likely\s+|mainly\s+|primarily\s+)?([^.;]*)",
    re.IGNORECASE,
)


class LexiconExtractor:
    """Rule-based :class:`~ovmer.llm.extractor.LabelExtractor` over the emotion-wheel vocabulary.

    Args:
        maps: the emotion-wheel tables (:func:`ovmer.assets.load_wheel_maps`).
        max_labels: keep at most this many labels per answer (``None``: all).
    """

    def __init__(self, maps: WheelMaps, max_labels: int | None = DEFAULT_MAX_LABELS) -> None:
        self.max_labels = max_labels
        self.identity = f"lexicon:v2:max{max_labels or 'all'}"
        self.forms: frozenset[str] = frozenset(k.lower().strip() for k in maps.format_mapping)
        self.max_words = max(len(form.split()) for form in self.forms)
        self.valence: dict[str, int] = {}
        roots_of: dict[str, set[str]] = {}
        for wheel in maps.wheels.values():
            for level1, level2s in wheel.items():
                for level2, level3s in level2s.items():
                    for label in (level1, level2, *level3s):
                        roots_of.setdefault(label, set()).add(level1)
        for form, bases in maps.format_mapping.items():
            votes = 0
            for base in set(bases):
                for wheel_label in set(maps.raw_mapping.get(base, [])):
                    roots = roots_of.get(wheel_label, set())
                    votes += len(roots & POSITIVE_ROOTS) - len(roots & NEGATIVE_ROOTS)
            self.valence[form.lower().strip()] = (votes > 0) - (votes < 0)
        self.valence["positive"] = 1
        self.valence["negative"] = -1

    def metadata(self) -> dict[str, Any]:
        return {"extractor": self.identity, "sampling": None, "prompt_sha256": None}

    # ------------------------------------------------------------------ step A
    def _scan(self, text: str, *, allow_ambiguous: bool) -> list[str]:
        tokens = _WORD.findall(text.lower().replace("n't", " not"))
        found: list[str] = []
        negated_until = -1
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if not token[0].isalpha() or token in CLAUSE_BREAKS:
                negated_until = -1
                index += 1
                continue
            if token in NEGATORS:
                negated_until = index + NEGATION_SCOPE
                index += 1
                continue
            match = None
            for size in range(min(self.max_words, len(tokens) - index), 0, -1):
                candidate = " ".join(tokens[index : index + size])
                if candidate in self.forms:
                    match = candidate
                    break
            if match is None:
                index += 1
                continue
            size = len(match.split())
            if index <= negated_until:
                negated_until = index + size + NEGATION_SCOPE  # "no anger or frustration"
            elif allow_ambiguous or match not in AMBIGUOUS:
                found.append(match)
            index += size
        return found

    def _list_items(self, text: str) -> list[str] | None:
        stripped = text.strip()
        if stripped.startswith("[") and stripped.rstrip(".").endswith("]"):
            return [item for item in string_to_list(stripped.rstrip(".")) if item.strip()]
        match = _LIST_LEAD.search(stripped)
        if match is None:
            return None
        body = match.group(1)
        items = re.split(r",|\band\b|\bor\b|/|&", body)
        return [item.strip() for item in items if item.strip()]

    def labels(self, text: str) -> list[str]:
        """The emotion labels of one answer, in first-seen order."""
        found: list[str] = []
        items = self._list_items(text)
        if items is not None:
            for item in items:
                normalised = " ".join(_WORD.findall(item.lower()))
                for prefix in (*HEDGES, *INTENSIFIERS):
                    if normalised.startswith(prefix):
                        normalised = normalised[len(prefix) :]
                words = normalised.split()
                if normalised in self.forms:
                    found.append(normalised)
                elif 0 < len(words) <= LIST_ITEM_WORDS and not NEGATORS.intersection(words):
                    found.append(normalised)  # a short stated item is kept as written, as Qwen does
                else:
                    found.extend(self._scan(item, allow_ambiguous=True))
        else:
            found = self._scan(text, allow_ambiguous=False)
        unique = list(dict.fromkeys(found))
        if all(label in NO_EMOTION for label in unique):
            return []
        return self._cap(unique)

    def _cap(self, labels: list[str]) -> list[str]:
        """At most ``max_labels`` labels: emotion-wheel word forms first, then the other stated items,
        each group in stated order; the kept labels stay in stated order."""
        if self.max_labels is None or len(labels) <= self.max_labels:
            return labels
        ranked = sorted(range(len(labels)), key=lambda i: (labels[i] not in self.forms, i))
        keep = sorted(ranked[: self.max_labels])
        return [labels[i] for i in keep]

    def ovlabels(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> list[Outcome]:
        results: list[Outcome] = []
        for text in texts:
            results.append("[" + ", ".join(self.labels(text)) + "]")
            if progress:
                progress(1)
        return results

    # ------------------------------------------------------------------ step B
    def item_valence(self, item: str) -> int:
        """+1 / −1 / 0 for one OV label: its wheel valence when it is a word form, else the sign of
        its words' valences (``negative emotions``, ``positive_attitude``; words that only say
        "emotion", such as ``emotional``, do not vote), flipped after a negator (``lack of interest``)."""
        label = item.lower().strip()
        if label in self.valence:
            return self.valence[label]
        words = re.findall(r"[a-z]+(?:-[a-z]+)*", label)
        voters = [word for word in words if word not in GENERIC_WORDS | NEGATORS]
        votes = sum(self.valence.get(word, 0) for word in voters)
        sign = (votes > 0) - (votes < 0)
        return -sign if NEGATORS.intersection(words) else sign

    def polarity(self, ov_list: str) -> str:
        """``positive`` / ``negative`` / ``neutral`` for one OV list string (rules B1–B3)."""
        items = [item.lower().strip() for item in string_to_list(ov_list) if item.strip()]
        signs = [sign for sign in map(self.item_valence, items) if sign]  # B1, in stated order
        named = [word for word in SENTIMENT_WORDS if word in items]
        if len(named) == 1 and (named[0] != "positive" or sum(signs) > 0):
            return named[0]  # B2: the list already names one of the answers
        score = sum(signs)
        if score == 0 and signs:
            return "positive" if signs[-1] > 0 else "negative"  # B3: a tie goes to the last label
        return "positive" if score > 0 else "negative" if score < 0 else "neutral"

    def sentiment(self, ov_lists: Sequence[str], progress: ProgressCallback | None = None) -> list[Outcome]:
        results: list[Outcome] = []
        for ov_list in ov_lists:
            results.append(self.polarity(ov_list))
            if progress:
                progress(1)
        return results

    # ------------------------------------------------------------------ merge
    def merge(
        self, clues: Sequence[str], subtitles: Sequence[str], progress: ProgressCallback | None = None
    ) -> list[Outcome]:
        """Without an LLM the merge is a concatenation: the clue, then the subtitle as quoted speech
        (the no-call cases of docs/extraction.md, 'Clue merge', are kept as they are)."""
        results: list[Outcome] = []
        for clue, subtitle in zip(clues, subtitles, strict=True):
            fixed = merge_without_llm(clue, subtitle)
            results.append(fixed if fixed is not None else f'{clue} The character says: "{subtitle}"'.strip())
            if progress:
                progress(1)
        return results
