"""Zero-shot ``hf:`` baselines: speed and peak memory at full size with random weights, batch 1..N.

For every model family the ``hf:`` adapters support (read from the family tables of
``ovmer.baselines``, so a new adapter is picked up once its released config is written out below),
the model is built at full size from that config with random weights, directly on the device in the
final dtype (no download: the GPU machine has no hub), and synthetic clips (8 RGB frames of 224 x 224,
8 x 2 s of 16 kHz audio, a subtitle) go through the same code as ``ovmer bench``:
``build_answer_model("hf:FOLDER?…")`` (:func:`ovmer.baselines.hf.hf_from_spec`) on a folder holding the
config, tokenizer, image processor and chat template, then ``answer_batch``. Only the weights are not
read from the folder: ``ovmer.hub.hub_from_pretrained`` is replaced, for model classes only, by a
builder that makes random weights on the device.

Run (CPU, every layer of the vision towers at full width, one LLM layer; minutes):

    .venv/bin/python benchmarks/baselines.py --llm-layers 1 --max-batch 2 --new-tokens 2 --repeats 1

The tiny configs (hidden size 32; seconds, for the smoke test):

    .venv/bin/python benchmarks/baselines.py --tiny --max-batch 4 --new-tokens 4

Full size on one GPU (the figures docs/baselines.md, 'Throughput', waits for):

    python benchmarks/baselines.py --device cuda --dtype fp16 --max-batch 64 --new-tokens 32 --repeats 2

The tokenizer is the released one when the local Hugging Face cache holds it (prompt lengths are then
the real ones), else a byte-level BPE trained on the fly on the baseline questions, with the
model's special tokens (its ids index the full vocabulary; its prompts are longer in tokens than the
real ones, but the video placeholders, thousands of tokens, dominate). The table says which.

The stop rule is off (``min_new_tokens`` = ``max_new_tokens`` = ``--new-tokens``, the pad token
suppressed), so every clip generates exactly ``--new-tokens`` tokens and tokens/s = clips/s x new
tokens. Media decoding is excluded (the runner decodes the next batch while this one generates).
Never use these models for anything but timing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach the hub: the GPU machine has none

import numpy as np
import torch

from _common import SUBTITLE, UNIBENCH_CLIPS, best_of
from ovmer.atomic import write_json_atomic
from ovmer.baselines.prompts import AUDIO_QUESTION, VIDEO_QUESTION
from ovmer.media.inputs import ModelInputs

DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}

# --- released configs, written out by hand (architecture values of each hub id's config.json) ----------

#: Video-LLaVA-7B: LanguageBind/Video-LLaVA-7B-hf, config.json.
VIDEO_LLAVA_7B: dict[str, Any] = {
    "model_type": "video_llava",
    "image_token_index": 32000,
    "video_token_index": 32001,
    "projector_hidden_act": "gelu",
    "vision_feature_layer": -2,
    "vision_feature_select_strategy": "default",
    "text_config": {
        "model_type": "llama",
        "vocab_size": 32064,
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
    },
    "vision_config": {
        "model_type": "clip_vision_model",
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "image_size": 224,
        "patch_size": 14,
        "projection_dim": 768,
        "hidden_act": "quick_gelu",
        "layer_norm_eps": 1e-05,
    },
}

#: The Qwen2-7B decoder shape LLaVA-OneVision-7B, Qwen2.5-VL-7B and Qwen2.5-Omni-7B's thinker share.
_QWEN2_7B_LLM: dict[str, Any] = {
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
}

#: LLaVA-OneVision-Qwen2-7B: llava-hf/llava-onevision-qwen2-7b-ov-hf, config.json (the 36 anyres
#: grid points are 384 x {1..6} by 384 x {1..6}).
LLAVA_ONEVISION_7B: dict[str, Any] = {
    "model_type": "llava_onevision",
    "image_token_index": 151646,
    "video_token_index": 151647,
    "projector_hidden_act": "gelu",
    "vision_feature_layer": -1,
    "vision_feature_select_strategy": "full",
    "vision_aspect_ratio": "anyres_max_9",
    "image_grid_pinpoints": [[384 * i, 384 * j] for i in range(1, 7) for j in range(1, 7)],
    "text_config": {
        "model_type": "qwen2",
        "vocab_size": 152128,
        **_QWEN2_7B_LLM,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
    },
    "vision_config": {
        "model_type": "siglip_vision_model",
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_hidden_layers": 26,
        "num_attention_heads": 16,
        "image_size": 384,
        "patch_size": 14,
        "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": 1e-06,
    },
}

#: LLaVA-NeXT-Video-7B: llava-hf/LLaVA-NeXT-Video-7B-hf, config.json.
LLAVA_NEXT_VIDEO_7B: dict[str, Any] = {
    "model_type": "llava_next_video",
    "image_token_index": 32001,
    "video_token_index": 32000,
    "projector_hidden_act": "gelu",
    "vision_feature_layer": -2,
    "vision_feature_select_strategy": "default",
    "spatial_pool_mode": "average",
    "spatial_pool_stride": 2,
    "image_grid_pinpoints": [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]],
    "text_config": {**VIDEO_LLAVA_7B["text_config"]},
    "vision_config": {**VIDEO_LLAVA_7B["vision_config"], "image_size": 336},
}

#: The window-attention ViT that Qwen2.5-VL-7B and Qwen2.5-Omni-7B's thinker share.
_QWEN2_5_VIT: dict[str, Any] = {
    "depth": 32,
    "hidden_size": 1280,
    "intermediate_size": 3420,
    "num_heads": 16,
    "out_hidden_size": 3584,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [7, 15, 23, 31],
    "hidden_act": "silu",
}

#: Qwen2.5-VL-7B-Instruct: Qwen/Qwen2.5-VL-7B-Instruct, config.json.
QWEN2_5_VL_7B: dict[str, Any] = {
    "model_type": "qwen2_5_vl",
    "image_token_id": 151655,
    "video_token_id": 151656,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "text_config": {
        "model_type": "qwen2_5_vl_text",
        "vocab_size": 152064,
        **_QWEN2_7B_LLM,
        "max_position_embeddings": 128000,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
    },
    "vision_config": {"model_type": "qwen2_5_vl", **_QWEN2_5_VIT, "in_chans": 3, "tokens_per_second": 2},
}

_WHISPER_LARGE_ENCODER: dict[str, Any] = {
    "d_model": 1280,
    "encoder_layers": 32,
    "encoder_attention_heads": 20,
    "encoder_ffn_dim": 5120,
    "num_mel_bins": 128,
    "max_source_positions": 1500,
    "activation_function": "gelu",
}

#: Qwen2-Audio-7B-Instruct: Qwen/Qwen2-Audio-7B-Instruct, config.json.
QWEN2_AUDIO_7B: dict[str, Any] = {
    "model_type": "qwen2_audio",
    "audio_token_index": 151646,
    "audio_config": {"model_type": "qwen2_audio_encoder", **_WHISPER_LARGE_ENCODER},
    "text_config": {
        "model_type": "qwen2",
        "vocab_size": 156032,
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
    },
}

#: Qwen2.5-Omni-7B: Qwen/Qwen2.5-Omni-7B, config.json, its thinker (the part that answers in text);
#: ``enable_audio_output`` false, so the talker and token2wav are not built.
QWEN2_5_OMNI_7B: dict[str, Any] = {
    "model_type": "qwen2_5_omni",
    "enable_audio_output": False,
    "thinker_config": {
        "model_type": "qwen2_5_omni_thinker",
        "audio_token_index": 151646,
        "image_token_index": 151655,
        "video_token_index": 151656,
        "audio_start_token_id": 151647,
        "audio_end_token_id": 151648,
        "vision_start_token_id": 151652,
        "vision_end_token_id": 151653,
        "position_id_per_seconds": 25,
        "seconds_per_chunk": 2,
        "audio_config": {
            "model_type": "qwen2_5_omni_audio_encoder",
            **_WHISPER_LARGE_ENCODER,
            "n_window": 100,
            "output_dim": 3584,
        },
        "vision_config": {
            "model_type": "qwen2_5_omni_vision_encoder",
            **_QWEN2_5_VIT,
            "in_channels": 3,
            "tokens_per_second": 25,
        },
        "text_config": {
            "model_type": "qwen2_5_omni_text",
            "vocab_size": 152064,
            **_QWEN2_7B_LLM,
            "max_position_embeddings": 32768,
            "rms_norm_eps": 1e-06,
            "rope_theta": 1000000.0,
            "rope_scaling": {"rope_type": "default", "mrope_section": [16, 24, 24]},
            "hidden_act": "silu",
            "tie_word_embeddings": False,
        },
    },
}

# Chat templates: one user turn shaped as each released checkpoint's template renders it.
_USER_ASSISTANT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}USER: "
    "{% for item in message['content'] %}{% if item['type'] == 'video' %}<video>\n{% endif %}{% endfor %}"
    "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}"
    " {% endif %}{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def _chatml_template(video: str, audio: str) -> str:
    return (
        "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
        "{% for item in message['content'] %}{% if item['type'] == 'video' %}" + video + "{% endif %}"
        "{% if item['type'] == 'audio' %}" + audio + "{% endif %}{% endfor %}"
        "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}"
        "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )


_QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_QWEN_VISION = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
_QWEN_AUDIO = ["<|audio_bos|>", "<|audio_eos|>", "<|AUDIO|>"]
_OMNI_TOKENS = [*_QWEN_AUDIO, "<|vision_bos|>", "<|vision_eos|>", "<|IMAGE|>", "<|VIDEO|>"]


@dataclass(frozen=True)
class Released:
    """One released checkpoint: its hub id, config, and what the benchmark folder needs besides.

    Attributes:
        name: the ``--models`` name.
        hub_id: the hub id whose config.json :attr:`config` copies (and whose tokenizer is used when
            the local cache holds it).
        config: the architecture values of that config.json.
        specials: the special tokens of the on-the-fly tokenizer (eos first, then pad).
        token_ids: config key path (dots) → the special token it holds, set to the on-the-fly
            tokenizer's id of that token.
        chat_template: the one-user-turn chat template.
        processors: (folder, tiny) → writes the image processor / feature extractor configs.
        tiny: dotted key → value overrides that make the tiny test config.
    """

    name: str
    hub_id: str
    config: dict[str, Any]
    specials: list[str]
    eos: str
    pad: str
    token_ids: dict[str, str]
    chat_template: str
    processors: Callable[[Path, bool], None]
    tiny: dict[str, Any] = field(default_factory=dict)


def _video_llava_processors(folder: Path, tiny: bool) -> None:
    from transformers import VideoLlavaImageProcessor

    side = 28 if tiny else 224  # the released preprocessor: CLIP's, resize 224, center crop 224
    VideoLlavaImageProcessor(
        size={"shortest_edge": side}, crop_size={"height": side, "width": side}
    ).save_pretrained(folder)


def _onevision_processors(folder: Path, tiny: bool) -> None:
    from transformers import LlavaOnevisionImageProcessorPil

    if tiny:
        LlavaOnevisionImageProcessorPil(
            size={"height": 28, "width": 28}, image_grid_pinpoints=[[28, 28]]
        ).save_pretrained(folder)
        return
    LlavaOnevisionImageProcessorPil(
        size={"height": 384, "width": 384},
        image_grid_pinpoints=LLAVA_ONEVISION_7B["image_grid_pinpoints"],
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    ).save_pretrained(folder)


def _next_video_processors(folder: Path, tiny: bool) -> None:
    from transformers import LlavaNextImageProcessorPil

    side = 28 if tiny else 336
    pinpoints = [[28, 28]] if tiny else LLAVA_NEXT_VIDEO_7B["image_grid_pinpoints"]
    LlavaNextImageProcessorPil(
        size={"shortest_edge": side},
        crop_size={"height": side, "width": side},
        image_grid_pinpoints=pinpoints,
    ).save_pretrained(folder)


def _qwen_vl_processors(folder: Path, tiny: bool) -> None:
    from transformers import Qwen2VLImageProcessorPil

    pixels = (
        {"min_pixels": 28 * 28, "max_pixels": 56 * 56}
        if tiny
        else {"min_pixels": 3136, "max_pixels": 12845056}
    )
    Qwen2VLImageProcessorPil(patch_size=14, temporal_patch_size=2, merge_size=2, **pixels).save_pretrained(
        folder
    )


def _whisper_processors(folder: Path, tiny: bool) -> None:
    from transformers import WhisperFeatureExtractor

    WhisperFeatureExtractor(feature_size=128).save_pretrained(folder)


def _omni_processors(folder: Path, tiny: bool) -> None:
    _qwen_vl_processors(folder, tiny)
    _whisper_processors(folder, tiny)


_TINY_LLM = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2}
_TINY_CLIP = {
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "image_size": 28,
    "projection_dim": 16,
}

_TINY_WHISPER = {"d_model": 16, "encoder_layers": 2, "encoder_attention_heads": 2, "encoder_ffn_dim": 32}
_TINY_QWEN_VISION = {
    "depth": 2,
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_heads": 2,
    "out_hidden_size": 32,
    "fullatt_block_indexes": [1],
}

RELEASED: dict[str, Released] = {
    r.name: r
    for r in [
        Released(
            "video-llava-7b",
            "LanguageBind/Video-LLaVA-7B-hf",
            VIDEO_LLAVA_7B,
            ["</s>", "<unk>", "<s>", "<image>", "<video>"],
            "</s>",
            "<unk>",
            {"image_token_index": "<image>", "video_token_index": "<video>"},
            _USER_ASSISTANT_TEMPLATE,
            _video_llava_processors,
            {"text_config": _TINY_LLM, "vision_config": _TINY_CLIP},
        ),
        Released(
            "llava-onevision-7b",
            "llava-hf/llava-onevision-qwen2-7b-ov-hf",
            LLAVA_ONEVISION_7B,
            [*_QWEN_SPECIALS, "<image>", "<video>"],
            "<|im_end|>",
            "<|endoftext|>",
            {"image_token_index": "<image>", "video_token_index": "<video>"},
            _chatml_template("<video>\n", ""),
            _onevision_processors,
            {
                "text_config": _TINY_LLM,
                "vision_config": {k: v for k, v in _TINY_CLIP.items() if k != "projection_dim"},
                "image_grid_pinpoints": [[28, 28]],
            },
        ),
        Released(
            "llava-next-video-7b",
            "llava-hf/LLaVA-NeXT-Video-7B-hf",
            LLAVA_NEXT_VIDEO_7B,
            ["</s>", "<unk>", "<s>", "<image>", "<video>"],
            "</s>",
            "<unk>",
            {"image_token_index": "<image>", "video_token_index": "<video>"},
            _USER_ASSISTANT_TEMPLATE,
            _next_video_processors,
            {"text_config": _TINY_LLM, "vision_config": _TINY_CLIP, "image_grid_pinpoints": [[28, 28]]},
        ),
        Released(
            "qwen2.5-vl-7b",
            "Qwen/Qwen2.5-VL-7B-Instruct",
            QWEN2_5_VL_7B,
            [*_QWEN_SPECIALS, *_QWEN_VISION],
            "<|im_end|>",
            "<|endoftext|>",
            {
                "image_token_id": "<|image_pad|>",
                "video_token_id": "<|video_pad|>",
                "vision_start_token_id": "<|vision_start|>",
                "vision_end_token_id": "<|vision_end|>",
            },
            _chatml_template("<|vision_start|><|video_pad|><|vision_end|>", ""),
            _qwen_vl_processors,
            {
                "vision_config": _TINY_QWEN_VISION,
                "text_config": {
                    **_TINY_LLM,
                    "rope_scaling": {"rope_type": "default", "mrope_section": [1, 1, 2]},
                },
            },
        ),
        Released(
            "qwen2-audio-7b",
            "Qwen/Qwen2-Audio-7B-Instruct",
            QWEN2_AUDIO_7B,
            [*_QWEN_SPECIALS, *_QWEN_AUDIO],
            "<|im_end|>",
            "<|endoftext|>",
            {"audio_token_index": "<|AUDIO|>"},
            _chatml_template("", "Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\n"),
            _whisper_processors,
            {"audio_config": _TINY_WHISPER, "text_config": _TINY_LLM},
        ),
        Released(
            "qwen2.5-omni-7b",
            "Qwen/Qwen2.5-Omni-7B",
            QWEN2_5_OMNI_7B,
            [*_QWEN_SPECIALS, *_OMNI_TOKENS],
            "<|im_end|>",
            "<|endoftext|>",
            {
                "thinker_config.audio_token_index": "<|AUDIO|>",
                "thinker_config.image_token_index": "<|IMAGE|>",
                "thinker_config.video_token_index": "<|VIDEO|>",
                "thinker_config.audio_start_token_id": "<|audio_bos|>",
                "thinker_config.audio_end_token_id": "<|audio_eos|>",
                "thinker_config.vision_start_token_id": "<|vision_bos|>",
                "thinker_config.vision_end_token_id": "<|vision_eos|>",
            },
            _chatml_template("<|vision_bos|><|VIDEO|><|vision_eos|>", "<|audio_bos|><|AUDIO|><|audio_eos|>"),
            _omni_processors,
            {
                "thinker_config.audio_config": {**_TINY_WHISPER, "output_dim": 32},
                "thinker_config.vision_config": _TINY_QWEN_VISION,
                "thinker_config.text_config": {
                    **_TINY_LLM,
                    "rope_scaling": {"rope_type": "default", "mrope_section": [1, 1, 2]},
                },
            },
        ),
    ]
}


# --- the adapters' family tables ----------------------------------------------------------------------


def supported_families() -> dict[str, Any]:
    """``model_type`` → family entry, from every ``*_FAMILIES`` table of the ``hf:`` adapter modules
    (``ovmer.baselines.hf`` and, where present, ``ovmer.baselines.hf_audio``)."""
    import importlib

    families: dict[str, Any] = {}
    for module_name in ("ovmer.baselines.hf", "ovmer.baselines.hf_audio"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        for attribute, table in vars(module).items():
            if attribute.endswith("_FAMILIES") and isinstance(table, dict):
                families.update(table)
    return families


def _llm_config(config: dict[str, Any]) -> dict[str, Any]:
    return config["thinker_config"]["text_config"] if "thinker_config" in config else config["text_config"]


def _set_path(config: dict[str, Any], path: str, value: Any) -> None:
    *parents, key = path.split(".")
    for parent in parents:
        config = config[parent]
    config[key] = value


def model_config(released: Released, tokenizer: Any | None, llm_layers: int | None, tiny: bool) -> Any:
    """The transformers config: the released values (or the tiny ones), the on-the-fly tokenizer's
    special-token ids where that tokenizer is used, ``llm_layers`` LLM layers when given."""
    import copy

    from transformers import AutoConfig

    values = copy.deepcopy(released.config)
    if tiny:
        for path, override in released.tiny.items():
            *parents, key = path.split(".")
            target = values
            for parent in parents:
                target = target[parent]
            if isinstance(override, dict):
                target[key].update(override)
            else:
                target[key] = override
    if tokenizer is not None:
        for path, token in released.token_ids.items():
            _set_path(values, path, tokenizer.convert_tokens_to_ids(token))
        llm = _llm_config(values)
        llm.update(
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
        )
        if tiny:
            llm["vocab_size"] = len(tokenizer)
    if llm_layers is not None:
        _llm_config(values)["num_hidden_layers"] = llm_layers
    return AutoConfig.for_model(**values)


def _tiny_tokenizer(released: Released) -> Any:
    """A byte-level BPE over the baseline questions with the model's special tokens (milliseconds)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    corpus = [VIDEO_QUESTION, AUDIO_QUESTION, f"Subtitle content of this video: {SUBTITLE} USER ASSISTANT"]
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=released.specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=released.eos, pad_token=released.pad)
    fast.chat_template = released.chat_template
    return fast


def _cached_tokenizer(released: Released) -> Any | None:
    """The released tokenizer, when the local Hugging Face cache holds it (never downloads)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(released.hub_id, local_files_only=True)
    except (OSError, ValueError):
        return None


def write_folder(released: Released, folder: Path, llm_layers: int | None, tiny: bool) -> str:
    """Config, tokenizer, processors and chat template into ``folder`` (no weights). Returns which
    tokenizer was used."""
    tokenizer = None if tiny else _cached_tokenizer(released)
    if tokenizer is not None:
        which = f"the released one ({released.hub_id}, from the local cache)"
        config = model_config(released, None, llm_layers, tiny)
        if not getattr(tokenizer, "chat_template", None):
            tokenizer.chat_template = released.chat_template
    else:
        tokenizer = _tiny_tokenizer(released)
        which = "tiny, trained on the fly"
        config = model_config(released, tokenizer, llm_layers, tiny)
    config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    released.processors(folder, tiny)
    return which


# --- random weights on the device instead of the folder's (absent) weights -------------------------------


@contextlib.contextmanager
def random_weights(device: str, new_tokens: int) -> Iterator[list[Any]]:
    """Within the block, ``ovmer.hub.hub_from_pretrained`` of a model class builds it from the folder's
    config with random weights, on ``device`` in the requested dtype; tokenizers and processors load
    as usual. The generation config never stops early (see the module docstring). Yields the models
    built."""
    from transformers import AutoConfig, PreTrainedModel

    import ovmer.hub

    original = ovmer.hub.hub_from_pretrained
    built: list[Any] = []

    def load(loader: Any, repo_id: str, revision: str | None = None, **kwargs: Any) -> Any:
        if not (isinstance(loader, type) and issubclass(loader, PreTrainedModel)):
            return original(loader, repo_id, revision, **kwargs)
        config = AutoConfig.from_pretrained(repo_id)
        if not isinstance(config, loader.config_class):  # e.g. the Omni thinker of a qwen2_5_omni config
            subs = [v for v in vars(config).values() if isinstance(v, loader.config_class)]
            if len(subs) != 1:
                raise TypeError(
                    f"{loader.__name__} takes a {loader.config_class.__name__}; {repo_id} has none"
                )
            config = subs[0]
        dtype = kwargs.get("dtype", kwargs.get("torch_dtype", torch.float32))
        with torch.device(device):
            model = loader._from_config(config, dtype=dtype)
        generation = model.generation_config
        text = config.get_text_config()
        eos, pad = text.eos_token_id, text.pad_token_id
        generation.eos_token_id, generation.pad_token_id = eos, pad
        generation.min_new_tokens = new_tokens
        if pad is not None and pad != eos:
            generation.suppress_tokens = [pad]  # so every generated token counts (the adapters count non-pad)
        built.append(model)
        return model

    # ovmer.hub's attribute (the adapters import it when they load), and any module that bound it at import
    patched = [ovmer.hub] + [
        m
        for n, m in list(sys.modules.items())
        if n.startswith("ovmer.") and getattr(m, "hub_from_pretrained", None) is original
    ]
    for module in patched:
        module.hub_from_pretrained = load  # type: ignore[attr-defined]
    try:
        yield built
    finally:
        for module in patched:
            module.hub_from_pretrained = original  # type: ignore[attr-defined]


# --- measuring ----------------------------------------------------------------------------------------


def synthetic_inputs(n: int) -> list[ModelInputs]:
    """Clips as the inputs builder makes them: 8 RGB frames of 224 x 224, a 16-s mono 16-kHz track
    (whole, where ``ModelInputs`` carries it, and cut into the 8 x 2-s clips), and a subtitle."""
    import dataclasses

    from ovmer.media.inputs import InputProvenance

    rng = np.random.default_rng(0)
    has_waveform = "waveform" in {f.name for f in dataclasses.fields(ModelInputs)}
    items = []
    for _ in range(n):
        waveform = (0.1 * rng.standard_normal(8 * 32000)).astype(np.float32)
        extra = {"waveform": waveform} if has_waveform else {}
        provenance = InputProvenance(audio_seconds=16.0, subtitle_source="dataset", num_source_frames=80)
        items.append(
            ModelInputs(
                audio=waveform.reshape(8, 32000),
                frames=rng.integers(0, 255, (8, 224, 224, 3), dtype=np.uint8),
                subtitle=SUBTITLE,
                provenance=provenance,
                **extra,
            )
        )
    return items


def _answer(model: Any, items: list[ModelInputs]) -> int:
    """One ``answer_batch`` (as the runner calls it); the tokens generated. Any failed clip is fatal."""
    records = model.answer_batch(items)
    failed = [r for r in records if isinstance(r, Exception)]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(items)} clips failed: {failed[0]!r}")
    return sum(int(r.details["generated_tokens"]) for r in records)


def measure(model: Any, batch: int, repeats: int, cuda: bool) -> dict[str, Any]:
    items = synthetic_inputs(batch)
    _answer(model, items)  # warm-up
    best, generated, peak = best_of(lambda: _answer(model, items), repeats, cuda)
    return {
        "batch": batch,
        "clips_per_s": batch / best,
        "tokens_per_s": generated / best,
        "generated_tokens": generated,
        "seconds": best,
        "peak_mib": peak / 2**20,
        "unibench_hours": UNIBENCH_CLIPS / (batch / best) / 3600,
    }


def run_model(released: Released, args: argparse.Namespace) -> dict[str, Any]:
    from ovmer.inference.model_table import build_answer_model

    cuda = torch.device(args.device).type == "cuda"
    dtype = DTYPES[args.dtype] if args.dtype != "auto" else ("float16" if cuda else "float32")
    with tempfile.TemporaryDirectory(prefix="ovmer-baseline-") as tmp:
        folder = Path(tmp)
        tokenizer = write_folder(released, folder, args.llm_layers, args.tiny)
        spec = (
            f"hf:{folder}?device={args.device}&dtype={dtype}&max_new_tokens={args.new_tokens}"
            f"&batch_size={args.max_batch}"
        )
        start = time.perf_counter()
        with random_weights(args.device, args.new_tokens) as built:
            model = build_answer_model(spec)
        build_s = time.perf_counter() - start
        params = sum(p.numel() for p in built[0].parameters()) if built else 0
        layers = _llm_config(released.config)["num_hidden_layers"]
        kept = "tiny config" if args.tiny else f"LLM layers {args.llm_layers or layers} of {layers}"
        print(
            f"model: {released.name} ({released.hub_id}, random weights, {kept}, {params / 1e9:.2f} B "
            f"parameters, built in {build_s:.0f} s); tokenizer: {tokenizer}",
            flush=True,
        )
        print(
            f"{'batch':>5} {'clips/s':>10} {'tokens/s':>10} {'peak MiB':>10} {'UniBench h':>11}", flush=True
        )
        rows = []
        batch = 1
        while batch <= args.max_batch:
            try:
                row = measure(model, batch, args.repeats, cuda)
            except torch.OutOfMemoryError:
                print(f"{batch:>5} out of memory: larger batches not tried", flush=True)
                rows.append({"batch": batch, "out_of_memory": True})
                break
            rows.append(row)
            print(
                f"{row['batch']:>5} {row['clips_per_s']:>10.2f} {row['tokens_per_s']:>10.1f} "
                f"{row['peak_mib']:>10.0f} {row['unibench_hours']:>11.2f}",
                flush=True,
            )
            batch *= 2
        model.close()
        del model, built
    if cuda:
        torch.cuda.empty_cache()
    return {
        "name": released.name,
        "hub_id": released.hub_id,
        "model_type": released.config["model_type"],
        "tokenizer": tokenizer,
        "parameters": params,
        "llm_layers": "tiny" if args.tiny else (args.llm_layers or layers),
        "build_s": build_s,
        "dtype": dtype,
        "rows": rows,
    }


def select(names: str | None) -> tuple[list[Released], list[str]]:
    """The models to run and notes on those left out; exits 2 naming the choices for an unknown one."""
    families = supported_families()
    runnable = {n: r for n, r in RELEASED.items() if r.config["model_type"] in families}
    notes = [
        f"{r.name} ({r.config['model_type']}): config written out, no hf: adapter yet"
        for n, r in RELEASED.items()
        if n not in runnable
    ]
    covered = {id(families[r.config["model_type"]]) for r in runnable.values()}  # aliases share a family
    notes += [
        f"{t}: an hf: adapter family with no released config in benchmarks/baselines.py yet (add one)"
        for t in sorted(families)
        if id(families[t]) not in covered
    ]
    if names is None:
        return list(runnable.values()), notes
    chosen = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        by_type = [r for r in RELEASED.values() if r.config["model_type"] == name]
        released = RELEASED.get(name) or (by_type[0] if by_type else None)
        if released is None or released.name not in runnable:
            why = "no hf: adapter runs it yet" if released is not None else "unknown model"
            print(
                f"baselines.py: --models {name}: {why}; runnable here: "
                f"{', '.join(sorted(runnable)) or 'none'} (model_type also accepted: "
                f"{', '.join(sorted(r.config['model_type'] for r in runnable.values()))})",
                file=sys.stderr,
            )
            sys.exit(2)
        chosen.append(released)
    return chosen, notes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", help="comma-separated names or model_types (default: every runnable one)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--dtype", choices=["auto", *DTYPES], default="auto", help="auto: fp16 on CUDA, fp32 on CPU"
    )
    parser.add_argument("--max-batch", type=int, default=4, help="measure batch sizes 1, 2, 4, … up to this")
    parser.add_argument(
        "--new-tokens", type=int, default=16, help="tokens generated per clip (stop rule off)"
    )
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per batch size (the best is kept)")
    parser.add_argument(
        "--llm-layers", type=int, help="keep only N LLM decoder layers (full-width CPU smoke run)"
    )
    parser.add_argument(
        "--tiny", action="store_true", help="tiny configs (hidden size 32) instead of the released"
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the figures here as JSON")
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    args = parser.parse_args(argv)
    if args.max_batch < 1 or args.new_tokens < 1 or args.repeats < 1 or (args.llm_layers or 1) < 1:
        parser.error("--max-batch, --new-tokens, --repeats and --llm-layers must be positive")
    if args.tiny and args.llm_layers is not None:
        parser.error("--tiny and --llm-layers exclude each other")
    models, notes = select(args.models)
    if args.list:
        for released in models:
            print(f"{released.name}\t{released.config['model_type']}\t{released.hub_id}")
        for note in notes:
            print(f"not run: {note}")
        return
    command = " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]]) if argv is None else " ".join(argv)
    torch.set_grad_enabled(False)
    cuda = torch.device(args.device).type == "cuda"
    device = (
        torch.cuda.get_device_name(torch.device(args.device)) if cuda else f"CPU ({os.cpu_count()} cores)"
    )
    print(f"command: {command}")
    import transformers

    print(
        f"device: {device}; dtype: {args.dtype}; new tokens per clip: {args.new_tokens}; "
        f"torch {torch.__version__}, transformers {transformers.__version__}"
    )
    for note in notes:
        print(f"not run: {note}")
    results: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    for released in models:  # one model failing (a missing class, memory) does not stop the others
        try:
            results.append(run_model(released, args))
        except Exception as exc:  # reported; the exit status says so
            print(f"model: {released.name} failed: {type(exc).__name__}: {exc}", flush=True)
            failed.append({"name": released.name, "error": f"{type(exc).__name__}: {exc}"})
        if cuda:
            torch.cuda.empty_cache()
        if args.json:  # after every model, so a run stopped by a time limit keeps what it measured
            report = {
                "command": command,
                "device": device,
                "host": platform.node(),
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "dtype": args.dtype,
                "new_tokens": args.new_tokens,
                "repeats": args.repeats,
                "unibench_clips": UNIBENCH_CLIPS,
                "not_run": notes,
                "models": results,
                "failed": failed,
            }
            write_json_atomic(args.json, report)
    if args.json:
        print(f"wrote {args.json}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
