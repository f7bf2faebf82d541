"""Decoding: batched greedy equals one-at-a-time greedy; stop rule; seeded paper sampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ovmer.inference.engine import AffectGPTEngine
from ovmer.media.inputs import ModelInputs
from ovmer.models.generation import DecodingSettings, StopRule
from ovmer.models.loading import load_model


@pytest.fixture(scope="module")
def engine(tiny_frame_dir: Path) -> AffectGPTEngine:
    return AffectGPTEngine(load_model(tiny_frame_dir))


def _inputs(n: int, seed: int = 0) -> list[ModelInputs]:
    rng = np.random.default_rng(seed)
    return [
        ModelInputs(
            frames=rng.integers(0, 255, (8, 224, 224, 3), dtype=np.uint8),
            audio=rng.standard_normal((8, 32000)).astype(np.float32),
        )
        for _ in range(n)
    ]


def test_batched_greedy_equals_single(engine: AffectGPTEngine) -> None:
    inputs = _inputs(3)
    subtitles = ["Fine.", "", "I don't know! I, I, I don't have experience in this area, really, truly."]
    settings = DecodingSettings(max_new_tokens=24)
    batched = engine.respond(inputs, subtitles, "description", settings)
    single = [
        engine.respond([x], [s], "description", settings)[0] for x, s in zip(inputs, subtitles, strict=True)
    ]
    assert [r.token_ids for r in batched] == [r.token_ids for r in single]
    assert [r.text for r in batched] == [r.text for r in single]
    assert all(len(r.token_ids) > 0 for r in batched)
    assert len({tuple(r.token_ids) for r in batched}) > 1  # inputs matter


def test_greedy_is_deterministic_and_paper_is_seeded(engine: AffectGPTEngine) -> None:
    inputs = _inputs(1, seed=5)
    greedy = DecodingSettings(max_new_tokens=8)
    assert (
        engine.respond(inputs, ["a"], "ovlabels", greedy)[0].token_ids
        == engine.respond(inputs, ["a"], "ovlabels", greedy)[0].token_ids
    )
    paper = [DecodingSettings(mode="paper", max_new_tokens=8, seed=s) for s in (1, 1, 2)]
    runs = [engine.respond(inputs, ["a"], "ovlabels", p)[0].token_ids for p in paper]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_stop_rule() -> None:
    rule = StopRule(eos_ids=(2, 0), hash3_id=9, hash2_id=7, hash1_id=5)
    tokens = torch.tensor([[4, 2], [4, 9], [7, 5], [5, 7], [5, 5], [4, 4]])
    assert rule.finished(tokens).tolist() == [True, True, True, True, False, False]
    assert rule.finished(torch.tensor([[0]])).tolist() == [True]


def test_first_token_is_never_eos(engine: AffectGPTEngine) -> None:
    """The clean setting bans EOS at the first step (upstream does not: see test_fidelity.py)."""
    llm = engine.model.llm
    with torch.no_grad():
        llm.lm_head.bias = torch.nn.Parameter(torch.zeros(llm.lm_head.out_features))
        eos = engine.processor.eos_ids[0]
        llm.lm_head.bias[eos] = 1e4  # EOS wins every argmax
        try:
            out = engine.respond(_inputs(1), ["x"], "ovlabels", DecodingSettings(max_new_tokens=5))[0]
        finally:
            llm.lm_head.bias = None
    assert out.token_ids[0] != eos and out.token_ids[1] == eos and len(out.token_ids) == 2
