"""From structured clues to an English description and OV labels, by fixed, documented rules.

Labels (at most four, first rule first; all are emotion-wheel words so they score):

==========================================  =================
clue                                        label
==========================================  =================
smiling                                     happy
frowning + (loud voice or anger words)      angry
frowning + (sadness or fear words)          worried
frowning otherwise                          tense
raised brows + (eyes wide or mouth open)    surprised
loud + (lively pitch or fast speech)        excited (not when frowning)
soft + (flat pitch or slow speech)          sad if sadness words, else calm
dominant NRC emotion of the speech          joy → happy, anger → angry, sadness → sad,
                                            fear → worried, disgust → disgusted,
                                            surprise → surprised, trust → relaxed,
                                            anticipation → hopeful
==========================================  =================

No rule firing gives ``[]`` and the description says no clear emotional cue was found.
"""

from __future__ import annotations

from typing import Any

MAX_LABELS = 4
NRC_TO_LABEL = {
    "joy": "happy",
    "anger": "angry",
    "sadness": "sad",
    "fear": "worried",
    "disgust": "disgusted",
    "surprise": "surprised",
    "trust": "relaxed",
    "anticipation": "hopeful",
}
_FACE_PHRASES = {
    "smiling": "smiles",
    "frowning": "frowns",
    "raised_brows": "raises the eyebrows",
    "eyes_wide": "opens the eyes wide",
    "eyes_narrowed": "narrows the eyes",
    "mouth_open": "opens the mouth wide",
    "head_movement": "moves the head noticeably",
}


def ov_labels(clues: dict[str, Any]) -> list[str]:
    """Apply the label rules of this module to ``{"face", "voice", "speech"}`` clues."""
    face = set(clues.get("face", {}).get("active", []))
    voice = clues.get("voice", {})
    speech = clues.get("speech", {}).get("lexical", {})
    dominant = set(speech.get("dominant", []))
    loud = voice.get("loudness_level") == "loud"
    soft = voice.get("loudness_level") == "soft"
    lively = voice.get("pitch_contour") == "lively" or voice.get("speaking_rate") == "fast"
    flat = voice.get("pitch_contour") == "flat" or voice.get("speaking_rate") == "slow"
    labels: list[str] = []
    if "smiling" in face:
        labels.append("happy")
    if "frowning" in face:
        if loud or "anger" in dominant:
            labels.append("angry")
        elif dominant & {"sadness", "fear"}:
            labels.append("worried")
        else:
            labels.append("tense")
    if "raised_brows" in face and face & {"eyes_wide", "mouth_open"}:
        labels.append("surprised")
    if loud and lively and "frowning" not in face:
        labels.append("excited")
    if soft and flat:
        labels.append("sad" if "sadness" in dominant else "calm")
    for emotion in sorted(dominant):
        labels.append(NRC_TO_LABEL[emotion])
    return list(dict.fromkeys(labels))[:MAX_LABELS]


def _span_text(cue: dict[str, Any]) -> str:
    segments = cue.get("segments", [])
    if not segments:
        return ""
    start, end = segments[0]
    return f" (from {start:.1f} s to {end:.1f} s)" if end > start else f" (at {start:.1f} s)"


def describe(
    clues: dict[str, Any], labels: list[str], sections: tuple[str, ...] = ("face", "voice", "speech")
) -> str:
    """A readable English paragraph of the clues, ending with the inferred emotional state
    ("Overall, the character's emotional state is happy, relaxed.").

    ``sections`` limits the paragraph to some clues (``ovmer annotate`` asks for the face alone as
    the visual clue, the voice alone as the acoustic clue)."""
    sentences: list[str] = []
    face = clues.get("face", {}) if "face" in sections else None
    if face is None:
        pass
    elif face.get("frames", 0) == 0:
        sentences.append("There is no video to look at.")
    elif face.get("face_frames", 0) == 0:
        sentences.append("No face is visible in the video.")
    else:
        actions = []
        for cue in face.get("active", []):
            detail = "" if cue == "head_movement" else _span_text(face.get(cue, {}))
            actions.append(_FACE_PHRASES[cue] + detail)
        if actions:
            sentences.append(
                "In the video, the person "
                + ", ".join(actions[:-1])
                + (" and " if len(actions) > 1 else "")
                + actions[-1]
                + "."
            )
        else:
            sentences.append("In the video, the person's face stays mostly neutral.")
    voice = clues.get("voice", {}) if "voice" in sections else {}
    if voice.get("speech"):
        parts = [
            f"{voice['pitch_level']} pitch ({voice['pitch_hz']:.0f} Hz) with {voice['pitch_contour']} intonation",
            f"{voice['loudness_level']} loudness",
            f"a {voice['speaking_rate']} speaking rate",
        ]
        pauses = voice.get("pauses", [])
        if pauses:
            parts.append(f"{len(pauses)} long pause{'s' if len(pauses) > 1 else ''}")
        sentences.append("The voice has " + ", ".join(parts[:-1]) + " and " + parts[-1] + ".")
    elif voice:
        sentences.append("There is no clear speech in the audio.")
    speech = clues.get("speech", {}) if "speech" in sections else {}
    text = speech.get("text", "")
    if text:
        sentence = f'The person says: "{text}"'
        lexical = speech.get("lexical", {})
        if lexical.get("emotion_words"):
            words = ", ".join(dict.fromkeys(lexical["emotion_words"]))
            sentence += f" Emotion words: {words}"
            if lexical.get("dominant"):
                sentence += f" (mostly {', '.join(lexical['dominant'])})"
            sentence += "."
        sentences.append(sentence)
    if labels:
        # The wording of AffectGPT's answers, so step A (LLM or lexicon) reads the labels as a list.
        sentences.append("Overall, the character's emotional state is " + ", ".join(labels) + ".")
    else:
        sentences.append("No clear emotional cue is found.")
    return " ".join(sentences)
