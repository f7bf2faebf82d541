"""Fixtures for ``ovmer annotate``: talking-face clips, a manifest of them, the wheel maps."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ovmer.annotate.synthetic import write_talking_clip

#: name → (kind of clip, subtitle, start of the demo stretch in seconds)
CLIPS = {
    "talk_a": ("speech", "I am so happy to see you again!", 0.3),
    "talk_b": ("speech", "This is wonderful news, thank you so much.", 1.8),
    "still_a": ("still", "Oh, I am so happy to see you.", 1.0),
}


@pytest.fixture(scope="session")
def talking_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three 3 s clips made from the demo clip: two with lips that follow the speech, one still."""
    pytest.importorskip("mediapipe")
    pytest.importorskip("silero_vad")
    folder = tmp_path_factory.mktemp("talking")
    return {
        name: write_talking_clip(folder / f"{name}.mp4", kind, start=start)
        for name, (kind, _, start) in CLIPS.items()
    }


def write_manifest(path: Path, rows: list[dict[str, str]]) -> Path:
    """A registry manifest (``name, video, subtitle``) of ``rows``."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["name", "video", "subtitle"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_votes(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A classifier's predictions CSV: ``(name, emotion, sentiment)`` rows ("" abstains)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "emotion", "sentiment", "emotion_prob", "sentiment_prob"])
        for name, emotion, sentiment in rows:
            writer.writerow([name, emotion, sentiment, "0.9" if emotion else "", "0.8" if sentiment else ""])
    return path
