"""Parameter shapes of Qwen2.5 and of AffectGPT's LoRA on it, written out by hand from the config.

An independent account to test model builders against: it follows transformers' ``modeling_qwen2.py``
(bias on the q/k/v projections only, RMSNorm weights without bias, an output head of its own unless
``tie_word_embeddings``) and peft's LoRA (``lora_A`` ``(r, in)``, ``lora_B`` ``(out, r)``), and never
asks the model code. At the released Qwen2.5-7B config it gives 7,615,616,512 parameters and a LoRA of
40,370,176 (docs/model.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def _widths(text_config: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """(hidden, MLP inner, query width, key/value width)."""
    hidden, inner = int(text_config["hidden_size"]), int(text_config["intermediate_size"])
    head_dim = int(text_config.get("head_dim") or hidden // int(text_config["num_attention_heads"]))
    return (
        hidden,
        inner,
        int(text_config["num_attention_heads"]) * head_dim,
        int(text_config["num_key_value_heads"]) * head_dim,
    )


def linear_in_out(text_config: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """(in, out) features of each linear layer type of one decoder layer."""
    hidden, inner, query, kv = _widths(text_config)
    return {
        "self_attn.q_proj": (hidden, query),
        "self_attn.k_proj": (hidden, kv),
        "self_attn.v_proj": (hidden, kv),
        "self_attn.o_proj": (query, hidden),
        "mlp.gate_proj": (hidden, inner),
        "mlp.up_proj": (hidden, inner),
        "mlp.down_proj": (inner, hidden),
    }


def qwen2_shapes(text_config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every parameter of ``Qwen2ForCausalLM(Qwen2Config(**text_config))``."""
    hidden, vocab = int(text_config["hidden_size"]), int(text_config["vocab_size"])
    shapes: dict[str, tuple[int, ...]] = {
        "model.embed_tokens.weight": (vocab, hidden),
        "model.norm.weight": (hidden,),
    }
    if not text_config.get("tie_word_embeddings", False):  # Qwen2Config's default: untied
        shapes["lm_head.weight"] = (vocab, hidden)
    for layer in range(int(text_config["num_hidden_layers"])):
        prefix = f"model.layers.{layer}."
        for name, (fan_in, fan_out) in linear_in_out(text_config).items():
            shapes[f"{prefix}{name}.weight"] = (fan_out, fan_in)
            if name in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                shapes[f"{prefix}{name}.bias"] = (fan_out,)
        shapes[f"{prefix}input_layernorm.weight"] = (hidden,)
        shapes[f"{prefix}post_attention_layernorm.weight"] = (hidden,)
    return shapes


def lora_shapes(text_config: Mapping[str, Any], rank: int) -> dict[str, tuple[int, ...]]:
    """Name -> shape of the LoRA tensors on all seven linear types of every layer (docs/model.md)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(int(text_config["num_hidden_layers"])):
        for name, (fan_in, fan_out) in linear_in_out(text_config).items():
            shapes[f"model.layers.{layer}.{name}.lora_A.weight"] = (rank, fan_in)
            shapes[f"model.layers.{layer}.{name}.lora_B.weight"] = (fan_out, rank)
    return shapes


def count(shapes: Mapping[str, tuple[int, ...]]) -> int:
    return sum(math.prod(shape) for shape in shapes.values())
