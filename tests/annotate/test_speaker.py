"""The offline active-speaker check on real decoded clips: talking, still, faceless, silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovmer.annotate.speaker import DEFAULT_THRESHOLD, LipSyncCheck, correlation
from ovmer.errors import MediaError
from tests.synth import write_clip

pytestmark = pytest.mark.slow


def test_lips_that_follow_the_voice_pass_and_still_lips_do_not(talking_clips: dict[str, Path]) -> None:
    check = LipSyncCheck()
    talking = check.check(talking_clips["talk_a"])
    still = check.check(talking_clips["still_a"])
    assert talking.speaking is True and talking.score is not None and talking.score > DEFAULT_THRESHOLD
    assert still.speaking is False and still.score is not None and still.score < DEFAULT_THRESHOLD
    assert still.details["face_fraction"] == 1.0 and still.details["speech_fraction"] > 0.5


def test_no_face_or_no_speech(tmp_path: Path) -> None:
    pytest.importorskip("silero_vad")
    tone = write_clip(tmp_path / "grey.mp4", seconds=2.0, width=96, height=96, tone_hz=440.0)
    verdict = LipSyncCheck().check(tone)
    assert verdict.speaking is None and "no speech" in verdict.reason  # a steady tone is not speech
    silent = write_clip(tmp_path / "silent.mp4", seconds=2.0, width=96, height=96, audio=False)
    with pytest.raises(MediaError, match="audio"):
        LipSyncCheck().check(silent)


def test_correlation_of_a_still_signal_is_zero() -> None:
    import numpy as np

    assert correlation(np.ones(10), np.arange(10.0)) == 0.0
    assert correlation(np.arange(10.0), np.arange(10.0)) == pytest.approx(1.0)


def test_the_real_reference_clip_speaks(reference: Path) -> None:
    """A real person speaking on screen (the demo clip of upstream's repository) passes the check."""
    verdict = LipSyncCheck().check(reference / "media" / "sample_00000000.mp4")
    assert verdict.speaking is True, verdict
    assert verdict.details["activity_correlation"] > verdict.details["correlation"]  # talk/pause carries it
