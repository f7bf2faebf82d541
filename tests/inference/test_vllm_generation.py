"""AffectGPT's LLM stage through the vLLM seam, without vLLM: the export, the per-row prompt embeddings,
the sampling parameters and the stop-rule truncation, checked against the transformers path.

vLLM needs a CUDA machine. Here a reference engine implements vLLM's documented semantics (one prompt
per request from its ``(L_i, H)`` embeddings, ``stop_token_ids``, ``min_tokens``, ``max_tokens``,
greedy) with transformers on the *exported* folder, so a wrong export (LoRA not folded in), a wrong
row cut or wrong parameters give other ids than :func:`ovmer.models.generation.generate`.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ovmer.errors import ModelError
from ovmer.inference.engine import AffectGPTEngine
from ovmer.inference.vllm_generation import (
    EXPORT_MARKER,
    export_llm,
    rows_of,
    sampling_params,
    truncate_at_stop,
    use_vllm,
)
from ovmer.media.inputs import ModelInputs
from ovmer.models.generation import DecodingSettings, StopRule
from ovmer.models.loading import LoadedModel
from tests.models.helpers import make_tiny


class ReferenceEngine:
    """vLLM's request semantics with transformers on the exported LLM folder, one request at a time."""

    def __init__(self, folder: Path) -> None:
        from transformers import AutoModelForCausalLM

        self.model = AutoModelForCausalLM.from_pretrained(folder).eval()
        params = inspect.signature(self.model.forward).parameters
        self.cache_key = "cache" if "cache" in params else "past_key_values"  # transformers 5.x / 4.x
        self.requests: list[tuple[tuple[int, ...], dict[str, Any]]] = []

    @torch.no_grad()
    def generate(self, prompt_embeds: list[torch.Tensor], params: list[dict[str, Any]]) -> list[list[int]]:
        outputs = []
        for embeds, p in zip(prompt_embeds, params, strict=True):
            self.requests.append((tuple(embeds.shape), p))
            assert p["temperature"] == 0.0 and p["detokenize"] is False
            stops = torch.tensor(p["stop_token_ids"])
            ids: list[int] = []
            cache, current = None, embeds[None]
            positions = torch.arange(embeds.shape[0])[None]
            for step in range(p["max_tokens"]):
                out = self.model(
                    inputs_embeds=current, position_ids=positions, past_key_values=cache, use_cache=True
                )
                cache = out.past_key_values
                logits = out.logits[0, -1].float()
                if step < p["min_tokens"]:
                    logits[stops] = float("-inf")
                token = int(logits.argmax())
                ids.append(token)
                if token in p["stop_token_ids"]:
                    break
                current = self.model.get_input_embeddings()(torch.tensor([[token]]))
                positions = positions[:, -1:] + 1
            outputs.append(ids)
        return outputs


def _engine(seed: int = 0) -> AffectGPTEngine:
    model, processor = make_tiny("frame", seed)
    return AffectGPTEngine(LoadedModel(model.eval(), processor, f"tiny-{seed}"))


def _inputs(count: int) -> list[ModelInputs]:
    rng = np.random.default_rng(0)
    return [
        ModelInputs(
            frames=rng.integers(0, 255, (8, 224, 224, 3), dtype=np.uint8),
            audio=(0.1 * rng.standard_normal((8, 32000))).astype(np.float32),
        )
        for i in range(count)
    ]


def test_vllm_path_equals_the_transformers_path(tmp_path: Path) -> None:
    subtitles = ["I am fine.", None, "What a day, really, what a day!"]
    decoding = DecodingSettings(max_new_tokens=12)
    inputs = _inputs(3)
    expected = _engine().respond(inputs, subtitles, decoding=decoding)
    engine = _engine()
    folder = tmp_path / "llm"
    holder: dict[str, ReferenceEngine] = {}

    def reference(f: Path) -> ReferenceEngine:
        holder["engine"] = ReferenceEngine(f)
        return holder["engine"]

    export_llm(engine.model, engine.processor.tokenizer, folder, engine.source)
    assert use_vllm(engine, folder, embeds_engine=reference(folder)) == folder
    got = engine.respond(inputs, subtitles, decoding=decoding)
    assert [r.token_ids for r in got] == [r.token_ids for r in expected]
    assert [r.text for r in got] == [r.text for r in expected]
    assert engine.generation == "vllm"
    lengths = {shape[0] for shape, _ in holder["engine"].requests}
    assert len(lengths) > 1  # unpadded rows of different lengths, one request each


def test_export_is_reused_for_the_same_source_only(tmp_path: Path) -> None:
    engine = _engine()
    folder = export_llm(engine.model, engine.processor.tokenizer, tmp_path / "llm", "model-a")
    assert json.loads((folder / EXPORT_MARKER).read_text()) == {"source": "model-a"}
    assert (folder / "config.json").is_file() and list(folder.glob("*.safetensors"))
    stamp = (folder / "config.json").stat().st_mtime_ns
    export_llm(engine.model, engine.processor.tokenizer, folder, "model-a")
    assert (folder / "config.json").stat().st_mtime_ns == stamp
    with pytest.raises(ModelError, match="exported from 'model-a'"):
        export_llm(engine.model, engine.processor.tokenizer, folder, "model-b")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(ModelError, match="not an ovmer LLM export"):
        export_llm(engine.model, engine.processor.tokenizer, tmp_path / "other", "model-a")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_sampling_parameters_and_stop_truncation() -> None:
    stop = StopRule(eos_ids=(7, 9), hash3_id=5, hash2_id=4, hash1_id=3)
    clean = sampling_params(DecodingSettings(max_new_tokens=30, ban_first_step_eos=True), stop)
    assert clean == {
        "max_tokens": 30,
        "stop_token_ids": [5, 7, 9],
        "min_tokens": 1,
        "detokenize": False,
        "temperature": 0.0,
    }
    paper = sampling_params(
        DecodingSettings(mode="paper", max_new_tokens=8, seed=3, ban_first_step_eos=False), stop
    )
    assert (paper["min_tokens"], paper["top_k"], paper["top_p"], paper["temperature"], paper["seed"]) == (
        0,
        20,
        0.9,
        1.0,
        3,
    )
    with pytest.raises(ModelError, match="resolved decoding"):
        sampling_params(DecodingSettings(), stop)
    assert truncate_at_stop([11, 4, 3, 12, 13], stop) == [11, 4, 3]  # '##' then '#'
    assert truncate_at_stop([11, 3, 4, 12], stop) == [11, 3, 4]  # '#' then '##'
    assert truncate_at_stop([11, 12, 5], stop) == [11, 12, 5]
    assert truncate_at_stop([11, 3, 12, 4], stop) == [11, 3, 12, 4]  # no adjacent pair: nothing cut
    assert truncate_at_stop([], stop) == []


def test_rows_drop_the_left_padding() -> None:
    embeds = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    first, second = rows_of(embeds, mask)
    assert torch.equal(first, embeds[0, 2:]) and torch.equal(second, embeds[1])


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_without_vllm_the_spec_says_what_to_install(tmp_path: Path) -> None:
    from ovmer.inference.model_table import build_answer_model
    from tests.models.helpers import save_tiny

    folder = save_tiny(tmp_path / "model", "frame")
    with pytest.raises(ModelError, match="pip install vllm"):
        build_answer_model(f"affectgpt:{folder}?generation=vllm&device=cpu&llm_export={tmp_path / 'llm'}")
    with pytest.raises(Exception, match="generation must be transformers or vllm"):
        build_answer_model(f"affectgpt:{folder}?generation=tgi")
