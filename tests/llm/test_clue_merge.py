"""The clue engine with an LLM: description + subtitle merged with prompt M1, then step A."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovmer.llm.backends import HFChatBackend
from ovmer.llm.extractor import LLMExtractor
from ovmer.llm.postprocess import postprocess_reply
from ovmer.llm.prompts import MERGE_CLUE_SUBTITLE, ovlabels_prompt

from .conftest import FAST

DEMO = Path(__file__).resolve().parents[2] / "src" / "ovmer" / "clues" / "demo" / "demo_clip.mp4"


@pytest.mark.slow
def test_describe_with_llm_merge(tiny_model_dir: Path) -> None:
    pytest.importorskip("mediapipe")
    pytest.importorskip("opensmile")
    from ovmer.clues import describe_with_clues

    backend = HFChatBackend(tiny_model_dir, FAST, device="cpu")
    rules_only = describe_with_clues(DEMO, subtitle="I am so happy!", transcribe_speech=False)
    merged = describe_with_clues(
        DEMO, subtitle="I am so happy!", transcribe_speech=False, llm=LLMExtractor(backend)
    )
    clue = rules_only.description
    assert merged.clues["llm"]["clue_description"] == clue
    [raw_merge] = backend.generate([MERGE_CLUE_SUBTITLE.render(CLUE=clue, SUBTITLE="I am so happy!")])
    assert isinstance(raw_merge, str)
    assert merged.description == postprocess_reply(raw_merge)  # the M1 reply is the new description
    [raw_labels] = backend.generate([ovlabels_prompt(merged.description)])
    assert isinstance(raw_labels, str)
    assert merged.clues["llm"]["ov_labels_reply"] == postprocess_reply(raw_labels)
