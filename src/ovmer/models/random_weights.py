"""The released AffectGPT architecture with random weights, built directly on a device.

Why: speed and memory benchmarks at full size (Qwen2.5-7B, CLIP ViT-L/14, HuBERT-large) must run on
a GPU machine with no model hub. Building on the target device, with the base LLM created in its
final dtype, avoids a 30 GB fp32 copy of the LLM in host memory and minutes of CPU initialisation.

The tokenizer is :func:`ovmer.models.tiny.tiny_tokenizer`: its ids (< 400) index the full
vocabulary, so every code path runs, but its prompts are longer in tokens than Qwen's. Benchmarks
therefore report the tokens they actually processed. Never use this for anything but timing.
"""

from __future__ import annotations

from typing import Any

import torch

from ovmer.models.configuration_affectgpt import AffectGPTConfig
from ovmer.models.modeling_affectgpt import AffectGPTModel
from ovmer.models.prompts import PLACEHOLDER_TOKENS


def random_weight_model(
    config: AffectGPTConfig,
    device: torch.device | str,
    llm_dtype: torch.dtype,
    *,
    llm_layers: int | None = None,
) -> tuple[AffectGPTModel, Any]:
    """``(model, tokenizer)``: ``config``'s architecture with random weights on ``device``.

    The base LLM is created in ``llm_dtype``; encoders, LoRA and heads in fp32 (spec §8). ``config``
    is updated in place with the tiny tokenizer's placeholder and end-of-sequence ids.
    ``llm_layers`` keeps only the first N decoder layers: a full-width smoke test of this path on a
    CPU (the full 28 layers need about 15 GB in fp16).
    """
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from ovmer.models.tiny import tiny_tokenizer

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
