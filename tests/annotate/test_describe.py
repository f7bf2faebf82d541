"""``annotate describe``: the four merge branches, the LLM merge, resume, the folder guard."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ovmer.annotate.describe import describe_corpus
from ovmer.annotate.prompts import INSTRUCTION, MERGE_TEMPLATES, merge_branch, merge_by_rules, merge_values
from ovmer.data.registry import load_samples
from ovmer.errors import DatasetError
from ovmer.llm.prompts import UNABLE_TO_JUDGE
from ovmer.results.jsonl import read_json_lines, read_records
from tests.annotate.conftest import CLIPS, write_manifest


@pytest.mark.parametrize(
    ("audio", "visual", "branch", "fields"),
    [
        ("loud voice", "smiles", "video_audio", ("VIDEO", "AUDIO", "SUBTITLE")),
        ("loud voice", None, "audio", ("AUDIO", "SUBTITLE")),
        (None, "smiles", "video", ("VIDEO", "SUBTITLE")),
        (None, None, "subtitle", ("SUBTITLE",)),
    ],
)
def test_four_branches(audio: str | None, visual: str | None, branch: str, fields: tuple[str, ...]) -> None:
    assert merge_branch(audio, visual) == branch
    template = MERGE_TEMPLATES[branch]
    assert template.fields == fields and template.template.startswith(INSTRUCTION)
    prompt = template.render(**merge_values(audio, visual, "I {SUBTITLE} won"))
    assert prompt.endswith('Subtitle: "I {SUBTITLE} won" Output:')  # braces in a subtitle stay verbatim
    assert ("Acoustic clues: loud voice" in prompt.split("Input: ")[-1]) == (audio is not None)


def test_rules_merge_follows_the_branches() -> None:
    assert merge_by_rules("Loud voice", "Smiles", "Hi!") == (
        'Visual clues: Smiles. Acoustic clues: Loud voice. The character says: "Hi!"'
    )
    assert merge_by_rules(None, None, "Hi!") == 'The character says: "Hi!"'
    assert merge_by_rules(None, None, " ") == UNABLE_TO_JUDGE


@pytest.fixture()
def one_clip(talking_clips: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    video = shutil.copy(talking_clips["talk_a"], tmp_path / "talk_a.mp4")
    manifest = write_manifest(
        tmp_path / "clips.csv",
        [
            {"name": "talk_a", "video": str(video), "subtitle": CLIPS["talk_a"][1]},
            {"name": "late", "video": str(tmp_path / "late.mp4"), "subtitle": "Here I am."},
        ],
    )
    return manifest, tmp_path / "corpus"


@pytest.mark.slow
def test_resume_retries_only_what_failed(one_clip: tuple[Path, Path], talking_clips: dict[str, Path]) -> None:
    manifest, corpus = one_clip
    samples = load_samples(None, f"csv:{manifest}")
    first = describe_corpus(samples, corpus, audio_model="clues", video_model="clues", show_progress=False)
    assert (first.described, list(first.partial)) == (2, ["late"])  # subtitle-only branch, clue errors kept
    late = {r["name"]: r for r in read_json_lines(corpus / "clips.jsonl")}["late"]
    assert late["branch"] == "subtitle" and set(late["clue_errors"]) == {"audio", "video"}
    shutil.copy(talking_clips["talk_b"], manifest.parent / "late.mp4")
    second = describe_corpus(samples, corpus, audio_model="clues", video_model="clues", show_progress=False)
    assert (second.already_done, second.described, second.partial) == (1, 1, {})
    answers = read_records(corpus / "clue_answers" / "shared" / "answers.jsonl")
    assert sorted(r.name for r in answers) == ["late", "talk_a"]  # talk_a answered once
    third = describe_corpus(samples, corpus, audio_model="clues", video_model="clues", show_progress=False)
    assert (third.already_done, third.described) == (2, 0)
    with pytest.raises(DatasetError, match="different run"):
        describe_corpus(samples, corpus, audio_model="clues", video_model="clues", merge="cache:x")


@pytest.mark.slow
def test_llm_merge_through_the_extractor(
    one_clip: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    pytest.importorskip("transformers")
    from tests.llm.tiny_model import build_tiny_chat_model

    model = build_tiny_chat_model(tmp_path_factory.mktemp("tiny-qwen"))
    manifest, corpus = one_clip
    samples = load_samples(None, f"csv:{manifest}")[:1]
    summary = describe_corpus(
        samples, corpus, audio_model="clues", video_model="clues", merge=f"hf:{model}", merge_max_tokens=8,
        show_progress=False,
    )  # fmt: skip
    assert summary.described == 1
    [row] = read_json_lines(corpus / "clips.jsonl")
    assert row["description"] and row["provenance"]["merge"].startswith("hf:")
    assert row["provenance"]["merge_prompt_sha256"] == MERGE_TEMPLATES["video_audio"].sha256


def test_clue_text_per_role() -> None:
    from ovmer.annotate.describe import clue_text
    from ovmer.results.record import AnswerRecord

    voice = {"speech": True, "pitch_level": "high", "pitch_hz": 250.0, "pitch_contour": "lively",
             "loudness_level": "loud", "speaking_rate": "fast", "pauses": []}  # fmt: skip
    engine = AnswerRecord(
        "a", text="…", details={"clues": {"face": {"frames": 0}, "voice": voice, "speech": {}}}
    )
    assert clue_text(engine, "video") is None  # an audio-only file has no visual clue
    audio = clue_text(engine, "audio")
    assert audio is not None and audio.startswith("The voice has high pitch (250 Hz)") and "excited" in audio
    other = AnswerRecord("a", text=" She smiles.\nShe is happy.</s> ")
    assert clue_text(other, "video") == "She smiles. She is happy."  # upstream's saving rule
    assert clue_text(AnswerRecord("a", error="boom"), "audio") is None
