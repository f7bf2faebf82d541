"""The offline clue engine on the real reference clip, the synthesised demo clip and a made-up clip."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.clues import ClueResult, describe_with_clues, rules
from ovmer.clues.lexical import lexical_cues
from ovmer.media import load_audio, read_frames_at_rate

pytest.importorskip("mediapipe")
pytest.importorskip("opensmile")
DEMO = Path(__file__).resolve().parents[2] / "src" / "ovmer" / "clues" / "demo" / "demo_clip.mp4"


@pytest.fixture(scope="module")
def reference_result(reference: Path) -> ClueResult:
    return describe_with_clues(reference / "media" / "sample_00000000.mp4")


@pytest.fixture(scope="module")
def demo_result() -> ClueResult:
    return describe_with_clues(DEMO)


def test_frames_by_time_and_audio_of_the_reference_clip(reference: Path) -> None:
    """The engine's decoding (ovmer.media): frames at 5 per second with their times, 16 kHz mono audio."""
    video = read_frames_at_rate(reference / "media" / "sample_00000000.mp4", fps=5)
    assert video.frames[0].shape == (404, 720, 3) and video.has_audio
    assert len(video.frames) == 18  # 3.52 s at 5 frames/s
    assert video.times[:3] == pytest.approx([0.0, 0.2, 0.4])
    assert video.duration_s == pytest.approx(3.52, abs=0.05)
    audio = load_audio(reference / "media" / "sample_00000000.mp4")
    wav = load_audio(reference / "media" / "sample_00000000.wav")
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(wav) == 55357  # the 16 kHz reference file, unchanged
    assert abs(len(audio) - len(wav)) < 1600  # the AAC track resampled to 16 kHz: same length ±0.1 s


@pytest.mark.slow
def test_reference_clip(reference_result: ClueResult) -> None:
    clues = reference_result.clues
    assert clues["face"]["face_frames"] == clues["face"]["frames"] == 18
    assert 0.0 < clues["face"]["smiling"]["fraction"] < 0.5  # she smiles towards the end
    assert clues["face"]["smiling"]["segments"][-1][1] >= 3.0
    voice = clues["voice"]
    assert voice["speech"] and 100 < voice["pitch_hz"] < 250
    assert clues["speech"]["source"] == "whisper-tiny.en" and clues["speech"]["text"]
    assert reference_result.description.startswith("In the video, the person")
    assert json.loads(json.dumps(reference_result.to_json()))["ov_labels"] == reference_result.ov_labels


@pytest.mark.slow
def test_demo_clip(demo_result: ClueResult) -> None:
    clues = demo_result.clues
    assert "smiling" in clues["face"]["active"]
    assert "frowning" not in clues["face"]["active"]
    assert "happy" in clues["speech"]["text"].lower()
    assert "joy" in clues["speech"]["lexical"]["dominant"]
    assert demo_result.ov_labels[0] == "happy"
    assert "smiles" in demo_result.description and "happy" in demo_result.description
    # The smile widens in the second half of the clip (the generator animates it).
    assert clues["face"]["means"]["mouth_width"] > 0.7


def _write_clip(path: Path, *, tone_hz: float = 220.0, seconds: float = 2.0) -> None:
    """A grey 64x64 video with a pure tone: no face, no words."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width = video.height = 64
        video.pix_fmt = "yuv420p"
        sound = container.add_stream("aac", rate=16000)
        sound.layout = "mono"
        for _ in range(int(seconds * 10)):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 128, np.uint8), format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        t = np.arange(int(seconds * 16000)) / 16000
        signal = (0.3 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
        for start in range(0, len(signal), 1024):
            chunk = av.AudioFrame.from_ndarray(
                signal[start : start + 1024].reshape(1, -1), format="flt", layout="mono"
            )
            chunk.sample_rate = 16000
            chunk.pts = start
            chunk.time_base = Fraction(1, 16000)
            for packet in sound.encode(chunk):
                container.mux(packet)
        for packet in sound.encode():
            container.mux(packet)


def test_clip_without_face_or_words(tmp_path: Path) -> None:
    clip = tmp_path / "tone.mp4"
    _write_clip(clip)
    result = describe_with_clues(clip, transcribe_speech=False)
    assert result.clues["face"]["face_frames"] == 0
    assert result.clues["voice"]["speech"]  # a steady tone is voiced...
    assert result.clues["voice"]["pitch_contour"] == "flat"  # ...and perfectly flat
    assert result.clues["voice"]["pitch_hz"] == pytest.approx(220, rel=0.05)
    assert result.ov_labels == []
    assert "No face is visible" in result.description and "No clear emotional cue" in result.description


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    result = CliRunner().invoke(app, ["describe", str(bad), "--engine", "clues"])
    assert result.exit_code == 2
    assert "bad.mp4: not a readable media file" in result.output


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["describe", str(tmp_path / "nope.mp4"), "--engine", "clues"])
    assert result.exit_code == 2
    assert "nope.mp4" in result.output and "not found" in result.output


@pytest.mark.slow
def test_cli_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["describe", str(DEMO), "--engine", "clues", "--json", "--no-asr", "--subtitle", "I am so happy!"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)  # the one answer record, as infer and bench write it
    assert {"name", "text", "ov_labels", "model", "inputs", "details"} <= set(payload)
    assert payload["name"] == DEMO.stem and payload["model"] == "clues:v1"
    assert payload["details"]["clues"]["speech"]["source"] == "subtitle"
    assert payload["inputs"]["subtitle_source"] == "dataset"
    assert payload["ov_labels"][0] == "happy" and payload["text"].strip()


# ---------------------------------------------------------------------------------- the rules


def clues(face: list[str] = (), voice: dict[str, Any] | None = None, text: str = "") -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "face": {"frames": 10, "face_frames": 10, "active": list(face)},
        "voice": voice or {},
        "speech": {"text": text, "lexical": lexical_cues(text)},
    }


LOUD_FAST = {"speech": True, "loudness_level": "loud", "pitch_contour": "lively", "speaking_rate": "fast"}
SOFT_SLOW = {"speech": True, "loudness_level": "soft", "pitch_contour": "flat", "speaking_rate": "slow"}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (clues(["smiling"]), ["happy"]),
        (clues(["frowning"], LOUD_FAST), ["angry"]),
        (clues(["frowning"], text="I am so afraid and scared"), ["worried"]),
        (clues(["frowning"]), ["tense"]),
        (clues(["raised_brows", "eyes_wide"]), ["surprised"]),
        (clues(["raised_brows"]), []),
        (clues([], LOUD_FAST), ["excited"]),
        (clues([], SOFT_SLOW), ["calm"]),
        (clues([], SOFT_SLOW, "I feel so sad and lonely"), ["sad"]),
        (clues([], text="I am so angry"), ["angry"]),
        (clues([], text="I am not happy"), []),  # negation
        (clues([]), []),
    ],
)
def test_label_rules(case: dict[str, Any], expected: list[str]) -> None:
    assert rules.ov_labels(case) == expected


def test_description_reads_well() -> None:
    case = clues(["smiling", "head_movement"], text="What a wonderful day")
    case["face"]["smiling"] = {"fraction": 0.5, "segments": [[1.0, 2.5]]}
    text = rules.describe(case, rules.ov_labels(case))
    assert text.startswith(
        "In the video, the person smiles (from 1.0 s to 2.5 s) and moves the head noticeably."
    )
    assert 'The person says: "What a wonderful day"' in text
    assert "Emotion words: wonderful (mostly joy)." in text
    assert text.endswith("Overall, the character's emotional state is happy.")


def test_nrc_lexicon_offline() -> None:
    cues = lexical_cues("I am furious and angry, but not afraid.")
    assert cues["dominant"] == ["anger"]
    assert cues["counts"]["fear"] == 0  # "afraid" is negated
    assert cues["polarity"] == "negative"
