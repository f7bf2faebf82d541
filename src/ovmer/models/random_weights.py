"""The released AffectGPT architecture with random weights, built directly on a device.

Why: speed and memory benchmarks at full size (Qwen2.5-7B, CLIP ViT-L/14, HuBERT-large) must run on
a GPU machine with no model hub. Building on the target device, with the base LLM created in its
final dtype, avoids a 30 GB fp32 copy of the LLM in host memory and minutes of CPU initialisation.

The tokenizer is the base LLM's own (Qwen2.5's, at the config's pinned revision) when the local
Hugging Face cache holds it, so prompt lengths are the real ones; otherwise
:func:`ovmer.models.tiny.tiny_tokenizer`, whose ids (< 400) index the full vocabulary, so every code
path runs, but whose prompts are longer in tokens than Qwen's. Benchmarks therefore report the
tokens they actually processed. Never use this for anything but timing.
"""

from __future__ import annotations

from typing import Any

import torch

from ovmer.models.configuration_affectgpt import AffectGPTConfig
from ovmer.models.modeling_affectgpt import AffectGPTModel
from ovmer.models.prompts import PLACEHOLDER_TOKENS


def cached_tokenizer(config: AffectGPTConfig) -> Any | None:
    """The base LLM's tokenizer at its pinned revision, set up as upstream, if the local Hugging Face
    cache has it; ``None`` otherwise. Never downloads."""
    from transformers import AutoTokenizer

    from ovmer.models.processing_affectgpt import setup_tokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            config.llm_id, revision=config.llm_revision, local_files_only=True
        )
    except (OSError, ValueError):
        return None
    return setup_tokenizer(tokenizer, expected_ids=None)


def random_weight_model(
    config: AffectGPTConfig,
    device: torch.device | str,
    llm_dtype: torch.dtype,
    *,
    llm_layers: int | None = None,
) -> tuple[AffectGPTModel, Any]:
    """``(model, tokenizer)``: ``config``'s architecture with random weights on ``device``.

    The base LLM is created in ``llm_dtype``; encoders, LoRA and heads in fp32 (docs/model.md, 'LoRA,
    freezing and precision'). ``config`` is updated in place with the tokenizer's placeholder and
    end-of-sequence ids (the cached real tokenizer if any, else the tiny one: see the module docstring).
    ``llm_layers`` keeps only the first N decoder layers: a full-width smoke test of this path on a
    CPU (the full 28 layers need about 15 GB in fp16).
    """
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from ovmer.models.tiny import tiny_tokenizer

    tokenizer = cached_tokenizer(config)
    if tokenizer is None:
        tokenizer = tiny_tokenizer()
    config.placeholder_token_ids = [tokenizer.convert_tokens_to_ids(t) for t in PLACEHOLDER_TOKENS]
    config.eos_token_ids = [
        tokenizer.convert_tokens_to_ids("<|im_end|>"),
        tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    ]
    config.pad_token_id = config.eos_token_ids[1]
    if llm_layers is not None:
        config.text_config = {**config.text_config, "num_hidden_layers": llm_layers}
        if "layer_types" in config.text_config:
            config.text_config["layer_types"] = config.text_config["layer_types"][:llm_layers]
    with torch.device(device):
        previous = torch.get_default_dtype()
        torch.set_default_dtype(llm_dtype)
        try:
            llm = Qwen2ForCausalLM(Qwen2Config(**config.text_config))
        finally:
            torch.set_default_dtype(previous)
        model = AffectGPTModel(config, llm_base=llm)
    return model, tokenizer
