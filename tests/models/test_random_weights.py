"""The random-weight model that GPU benchmarks build on the device (no hub), on a tiny config."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from ovmer.errors import ModelError
from ovmer.inference.engine import AffectGPTEngine
from ovmer.inference.media_inputs import VideoInputs
from ovmer.models.configuration_affectgpt import AffectGPTConfig
from ovmer.models.generation import DecodingSettings
from ovmer.models.loading import TRAINABLE_FILE, LoadedModel, save_pretrained
from ovmer.models.processing_affectgpt import AffectGPTProcessor
from ovmer.models.prompts import PLACEHOLDER_TOKENS
from ovmer.models.random_weights import random_weight_model
from ovmer.models.tiny import tiny_config, tiny_tokenizer
from tests.fake_hub import FakeHub
from tests.models.helpers import make_tiny


def test_llm_is_built_in_its_dtype_with_fp32_adapters_and_the_tiny_tokenizer() -> None:
    config = tiny_config("frame")
    config.placeholder_token_ids = None  # must be filled from the tokenizer
    model, tokenizer = random_weight_model(config, "cpu", torch.bfloat16, llm_layers=1)
    assert config.placeholder_token_ids == [tokenizer.convert_tokens_to_ids(t) for t in PLACEHOLDER_TOKENS]
    assert config.eos_token_ids == [
        tokenizer.convert_tokens_to_ids("<|im_end|>"),
        tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    ]
    base = model.llm.get_base_model()
    assert len(base.model.layers) == 1
    frozen = {p.dtype for p in model.llm.parameters() if not p.requires_grad}
    trainable = {p.dtype for _, p in model.trainable_named_parameters()}
    assert frozen == {torch.bfloat16}
    assert trainable == {torch.float32}  # LoRA and heads stay fp32 (spec §8)
    assert {p.dtype for p in model.vision.parameters()} == {torch.float32}
    assert torch.get_default_dtype() == torch.float32  # restored after building


def test_random_model_generates_through_the_engine() -> None:
    config = tiny_config("face")
    model, tokenizer = random_weight_model(config, "cpu", torch.float32)
    model.eval()
    model.merge_lora()
    engine = AffectGPTEngine(LoadedModel(model, AffectGPTProcessor(tokenizer, config), "random"))
    rng = torch.Generator().manual_seed(0)
    inputs = VideoInputs(
        torch.randint(0, 255, (8, 224, 224, 3), generator=rng, dtype=torch.uint8).numpy(),
        (0.1 * torch.randn(8, 32000, generator=rng)).numpy(),
        "face",
        8,
        3.5,
    )
    out = engine.respond([inputs], ["Hello there."], "ovlabels", DecodingSettings(max_new_tokens=3))
    assert 1 <= len(out[0].token_ids) <= 3


def test_gathered_state_is_saved_instead_of_the_parameters(tmp_path: Path) -> None:
    """FSDP2 shards parameters in place: checkpoints write the state accelerate gathered."""
    model, processor = make_tiny("frame")
    full = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    name = next(n for n, _ in model.trainable_named_parameters())
    full[name] = torch.full_like(full[name], 0.25)
    save_pretrained(model, tmp_path / "gathered", processor, include_backbones=True, full_state=full)
    written = load_file(str(tmp_path / "gathered" / TRAINABLE_FILE))
    assert any(bool((t == 0.25).all()) for t in written.values())
    own = load_file(str(save_pretrained(model, tmp_path / "own", processor) / TRAINABLE_FILE))
    assert not any(bool((t == 0.25).all()) for t in own.values())
    del full[name]
    with pytest.raises(ModelError, match="lacks 1 trainable tensor"):
        save_pretrained(model, tmp_path / "broken", processor, full_state=full)


@pytest.mark.network
def test_the_real_tokenizer_is_used_when_cached_and_never_downloaded(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prompt lengths are the real ones where the pinned base-LLM tokenizer is in the local cache."""
    from transformers import AutoTokenizer

    shipped = AffectGPTConfig.from_pretrained("affectgpt-face")
    hub_tokenizer = tiny_tokenizer(vocab_size=300)  # tells itself apart from the default tiny one
    hub_tokenizer.save_pretrained(tmp_path / "qwen")
    fake_hub.add_folder(shipped.llm_id, tmp_path / "qwen", sha=shipped.llm_revision)

    def build() -> Any:
        config = dataclasses.replace(
            tiny_config("face"), llm_id=shipped.llm_id, llm_revision=shipped.llm_revision
        )
        return random_weight_model(config, "cpu", torch.float32)[1]

    assert len(build()) == len(tiny_tokenizer())  # not in the cache yet, and nothing is fetched
    assert not fake_hub.resolve_requests(shipped.llm_id)
    AutoTokenizer.from_pretrained(shipped.llm_id, revision=shipped.llm_revision)  # the user's cache
    fake_hub.stop()
    cached = build()
    assert len(cached) == len(hub_tokenizer) != len(tiny_tokenizer())
    assert cached.name_or_path
