"""The random-weight model that GPU benchmarks build on the device (no hub).

Shapes and counts are checked against the released architecture (``affectgpt-face``'s config, the
figures of docs/model.md) with a hand-written account of Qwen2 (tests/qwen2_shapes.py), not against
the model code; decoding against a step-by-step argmax with no cache.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from ovmer.errors import ModelError
from ovmer.models.configuration_affectgpt import AffectGPTConfig
from ovmer.models.generation import DecodingSettings, StopRule, generate
from ovmer.models.loading import TRAINABLE_FILE, save_pretrained
from ovmer.models.processing_affectgpt import AffectGPTProcessor
from ovmer.models.prompts import PLACEHOLDER_TOKENS
from ovmer.models.random_weights import random_weight_model
from ovmer.models.tiny import tiny_config, tiny_tokenizer
from tests.fake_hub import FakeHub
from tests.models.helpers import make_tiny
from tests.qwen2_shapes import count, lora_shapes, qwen2_shapes

# The released model's parts (docs/model.md): the encoders are full size whatever the LLM depth.
CLIP_VISION = 303_966_208  # CLIP ViT-L/14 vision tower + visual_projection
HUBERT_LARGE = 315_438_720
HEADS = 16_798_468
QWEN25_7B = 7_615_616_512
LORA_RANK = 16


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
    assert trainable == {torch.float32}  # LoRA and heads stay fp32 (docs/model.md)
    assert {p.dtype for p in model.vision.parameters()} == {torch.float32}
    assert torch.get_default_dtype() == torch.float32  # restored after building


def _without_adapter_names(name: str) -> str:
    """peft's name of a base or LoRA tensor -> the plain Qwen2 / LoRA name of tests/qwen2_shapes.py."""
    return name.replace(".base_layer", "").replace(".default", "")


def test_full_size_build_has_the_released_shapes_with_the_layers_asked_for() -> None:
    """On the meta device (no memory): every LLM tensor of the released config, 2 decoder layers kept."""
    config = AffectGPTConfig.from_pretrained("affectgpt-face")
    released = dict(config.text_config)
    assert count(qwen2_shapes(released)) == QWEN25_7B  # the hand-written account, at 28 layers
    model, _ = random_weight_model(config, "meta", torch.bfloat16, llm_layers=2)
    kept = {**released, "num_hidden_layers": 2}
    assert config.text_config == kept  # the config describes the model that was built

    base, lora = {}, {}
    for name, param in model.llm.get_base_model().named_parameters():
        (lora if ".lora_" in name else base)[_without_adapter_names(name)] = param
    assert {name: tuple(p.shape) for name, p in base.items()} == qwen2_shapes(kept)
    assert {name: tuple(p.shape) for name, p in lora.items()} == lora_shapes(kept, LORA_RANK)
    assert {(p.dtype, p.requires_grad) for p in base.values()} == {(torch.bfloat16, False)}
    assert {(p.dtype, p.requires_grad) for p in lora.values()} == {(torch.float32, True)}

    for encoder, size in ((model.vision, CLIP_VISION), (model.audio, HUBERT_LARGE)):
        assert sum(p.numel() for p in encoder.parameters()) == size
        assert {(p.dtype, p.requires_grad) for p in encoder.parameters()} == {(torch.float32, False)}
    assert sum(p.numel() for p in model.heads.parameters()) == HEADS
    assert {(p.dtype, p.requires_grad) for p in model.heads.parameters()} == {(torch.float32, True)}


def check_full_width_forward(device: str, dtype: torch.dtype, llm_layers: int | None) -> None:
    """Build the released architecture for real and run it: logits over the whole Qwen2.5 vocabulary,
    soft tokens spliced at the placeholders, weights drawn as Qwen2 draws them, no fp32 copy of the LLM.

    On a CPU one decoder layer takes about 2 min and 5 GB (bf16 matrix products are slow there), too
    much for the unit run; the GPU test below runs all 28 layers.
    """
    config = AffectGPTConfig.from_pretrained("affectgpt-face")
    torch.manual_seed(0)
    if device == "cuda":
        already = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    model, tokenizer = random_weight_model(config, device, dtype, llm_layers=llm_layers)
    model.eval()
    model.autocast_dtype = dtype if device == "cuda" else None  # as benchmarks/inference.py runs it
    layers = len(model.llm.get_base_model().model.layers)
    assert layers == (llm_layers or 28)
    text = {**config.text_config, "num_hidden_layers": layers}
    llm_bytes = count(qwen2_shapes(text)) * torch.finfo(dtype).bits // 8
    fp32_bytes = 4 * (CLIP_VISION + HUBERT_LARGE + HEADS + count(lora_shapes(text, LORA_RANK)))
    if device == "cuda":  # built in place, in its final dtype (ovmer.models.random_weights)
        assert torch.cuda.max_memory_allocated() - already < 1.05 * (llm_bytes + fp32_bytes)
    base = model.llm.get_base_model()
    # Qwen2's initialisation: normal(0, initializer_range = 0.02, transformers' Qwen2Config default)
    assert float(base.model.embed_tokens.weight.float().std()) == pytest.approx(0.02, rel=0.02)
    lora_b = [p for name, p in model.llm.named_parameters() if ".lora_B." in name]
    assert lora_b and all(not p.any() for p in lora_b)  # LoRA starts as the identity (B = 0)

    processor = AffectGPTProcessor(tokenizer, config)
    prompt = processor.tokenize_prompt(processor.prompt("Hello there.", "ovlabels"))
    input_ids = torch.tensor([prompt], device=device)
    mask = torch.ones_like(input_ids)
    first_soft = int(
        torch.isin(input_ids[0].cpu(), torch.tensor(config.placeholder_token_ids)).nonzero()[0, 0]
    )
    rng = torch.Generator().manual_seed(0)
    audio = torch.randn(1, 8, 1024, generator=rng).to(device)  # (B, K, Da): HuBERT-large width
    logits = []
    for _ in range(2):  # two different visual inputs, same prompt and audio
        visual = torch.randn(1, 8, 768, generator=rng).to(device)  # (B, T, Dv): CLIP's projection width
        with torch.no_grad():
            out = model(input_ids, mask, None, None, visual_features=visual, audio_features=audio)
        logits.append(out.logits.float().cpu())
    assert logits[0].shape == (1, len(prompt), 152_064) and out.logits.dtype == dtype
    assert bool(torch.isfinite(logits[0]).all())
    # causal: what comes before the first soft token cannot see the visual input; what follows does
    before = (logits[0][:, :first_soft] - logits[1][:, :first_soft]).abs().max()
    after = (logits[0][:, first_soft:] - logits[1][:, first_soft:]).abs().max()
    assert after > 0 and before <= 1e-3 * after


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device with about 20 GB free")
def test_full_size_model_runs_forward_on_the_gpu() -> None:
    check_full_width_forward("cuda", torch.float16, llm_layers=None)


def test_random_model_decodes_like_a_step_by_step_argmax() -> None:
    """Greedy decoding with the KV cache gives the tokens an uncached argmax loop picks."""
    config = tiny_config("face")
    torch.manual_seed(0)
    model, tokenizer = random_weight_model(config, "cpu", torch.float32)
    model.eval()
    model.merge_lora()
    processor = AffectGPTProcessor(tokenizer, config)
    rng = torch.Generator().manual_seed(0)
    faces = torch.randint(0, 255, (8, 224, 224, 3), generator=rng, dtype=torch.uint8).numpy()
    audio = (0.1 * torch.randn(8, 32000, generator=rng)).numpy()
    batch = processor([processor.prompt("Hello there.", "ovlabels")], [faces], [audio])
    with torch.no_grad():
        embeds = model.build_inputs_embeds(batch.input_ids, batch.pixel_values, batch.audio_values)
        stop = StopRule(tuple(processor.eos_ids), processor.hash3_id, processor.hash2_id, processor.hash1_id)
        settings = DecodingSettings(max_new_tokens=4, ban_first_step_eos=True)
        (generated,) = generate(model.llm, embeds, batch.attention_mask, stop, settings, processor.pad_id)

        expected: list[int] = []
        sequence = embeds
        for step in range(len(generated)):
            logits = model.llm(inputs_embeds=sequence, use_cache=False).logits[0, -1].float()
            if step == 0:
                logits[list(processor.eos_ids)] = float("-inf")
            expected.append(int(logits.argmax()))
            next_embed = model.llm.get_input_embeddings()(torch.tensor([[expected[-1]]]))
            sequence = torch.cat([sequence, next_embed], dim=1)
    assert generated == expected
    assert len(generated) == 4 or generated[-1] in (
        *processor.eos_ids,
        processor.hash3_id,
        processor.hash1_id,
        processor.hash2_id,
    )
    assert all(0 <= token < len(tokenizer) for token in generated)


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
