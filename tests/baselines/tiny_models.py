"""Tiny random-weight transformers-native video models for the baseline adapter tests (no downloads).

Each builder writes a folder ``from_pretrained`` reads: a byte-level BPE tokenizer trained in
milliseconds (with the model's special tokens), a Jinja chat template shaped like the released
checkpoint's, the model's PIL image processor at a tiny size, and a model with hidden size 32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ovmer.baselines.prompts import AUDIO_QUESTION, VIDEO_QUESTION

#: Video-LLaVA-7B-hf's chat template, shortened to what one user turn needs ("USER: <video>\nQ ASSISTANT:").
VIDEO_LLAVA_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}USER: "
    "{% for item in message['content'] %}{% if item['type'] == 'video' %}<video>\n{% endif %}{% endfor %}"
    "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}"
    " {% endif %}{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)

#: LLaVA-OneVision's (Qwen2 chat) template for one user turn with a video.
ONEVISION_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% for item in message['content'] %}{% if item['type'] == 'video' %}<video>\n{% endif %}{% endfor %}"
    "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_tokenizer(special: list[str], eos: str, pad: str, chat_template: str) -> Any:
    """A byte-level BPE over the questions, with ``special`` tokens, as a PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    corpus = [VIDEO_QUESTION, AUDIO_QUESTION, "Subtitle content of this video: I am happy. USER ASSISTANT"]
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=eos, pad_token=pad)
    fast.chat_template = chat_template
    return fast


#: The small CLIP/SigLIP vision tower every LLaVA-style builder uses: 28 px frames, patch 14.
_VISION = {
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "image_size": 28,
    "patch_size": 14,
}


def _text_config(
    tok: Any, *, max_position_embeddings: int = 2048, bos_token_id: int | None = None, **extra: Any
) -> dict[str, Any]:
    """The hidden-32 decoder (Llama or Qwen2) every builder uses, sized to ``tok``."""
    return {
        "vocab_size": len(tok),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": max_position_embeddings,
        "pad_token_id": tok.pad_token_id,
        "eos_token_id": tok.eos_token_id,
        "bos_token_id": bos_token_id,
        **extra,
    }


def _llava_tokens(tok: Any) -> dict[str, Any]:
    """The LLaVA-style config's ``<image>``/``<video>`` placeholder ids and last-layer vision features."""
    return {
        "image_token_index": tok.convert_tokens_to_ids("<image>"),
        "video_token_index": tok.convert_tokens_to_ids("<video>"),
        "vision_feature_layer": -1,
    }


def _save_model(model_class: Any, config: Any, tok: Any, folder: Path, seed: int) -> Path:
    """Seeds torch, builds ``model_class(config)`` with ``tok``'s eos/pad generation config, saves it to ``folder``."""
    import torch
    from transformers import GenerationConfig

    torch.manual_seed(seed)
    model = model_class(config)
    model.generation_config = GenerationConfig(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model.save_pretrained(folder)
    return folder


def build_video_llava(folder: Path, seed: int = 0) -> Path:
    """``VideoLlavaForConditionalGeneration``: CLIP vision 28 px / patch 14 (4 patches + CLS per frame),
    Llama text of hidden 32."""
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        VideoLlavaConfig,
        VideoLlavaForConditionalGeneration,
        VideoLlavaImageProcessor,
    )

    tok = tiny_tokenizer(
        ["<unk>", "<s>", "</s>", "<image>", "<video>"], "</s>", "<unk>", VIDEO_LLAVA_TEMPLATE
    )
    tok.save_pretrained(folder)
    size = {"shortest_edge": 28}
    VideoLlavaImageProcessor(size=size, crop_size={"height": 28, "width": 28}).save_pretrained(folder)
    vision = CLIPVisionConfig(**_VISION, projection_dim=16)
    text = LlamaConfig(**_text_config(tok, bos_token_id=tok.convert_tokens_to_ids("<s>")))
    config = VideoLlavaConfig(vision_config=vision, text_config=text, **_llava_tokens(tok))
    return _save_model(VideoLlavaForConditionalGeneration, config, tok, folder, seed)


def build_llava_onevision(folder: Path, seed: int = 0) -> Path:
    """``LlavaOnevisionForConditionalGeneration``: SigLIP vision 28 px / patch 14 (2×2 patches, pooled to
    1 per frame, + 1 newline per video), Qwen2 text of hidden 32."""
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        LlavaOnevisionImageProcessorPil,
        Qwen2Config,
        SiglipVisionConfig,
    )

    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"]
    tok = tiny_tokenizer(special, "<|im_end|>", "<|endoftext|>", ONEVISION_TEMPLATE)
    tok.save_pretrained(folder)
    LlavaOnevisionImageProcessorPil(
        size={"height": 28, "width": 28}, image_grid_pinpoints=[[28, 28]]
    ).save_pretrained(folder)
    vision = SiglipVisionConfig(**_VISION)
    text = Qwen2Config(**_text_config(tok))
    config = LlavaOnevisionConfig(
        vision_config=vision, text_config=text, **_llava_tokens(tok), image_grid_pinpoints=[[28, 28]]
    )
    return _save_model(LlavaOnevisionForConditionalGeneration, config, tok, folder, seed)


#: Qwen2.5-VL-7B-Instruct's chat template for one user turn with a video, with its default system turn.
QWEN2_5_VL_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% for item in message['content'] %}{% if item['type'] == 'video' %}"
    "<|vision_start|><|video_pad|><|vision_end|>{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

#: LLaVA-NeXT-Video-7B-hf's chat template for one user turn ("USER: <video>\nQ ASSISTANT:").
LLAVA_NEXT_VIDEO_TEMPLATE = (
    "{% for message in messages %}{{ message['role'].upper() + ': ' }}"
    "{% for item in message['content'] %}{% if item['type'] == 'video' %}<video>\n{% endif %}{% endfor %}"
    "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ item['text'] + ' ' }}{% endif %}"
    "{% endfor %}{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def build_qwen2_5_vl(folder: Path, seed: int = 0) -> Path:
    """``Qwen2_5_VLForConditionalGeneration``: frames resized to 56 × 56 (``max_pixels`` 56²), patch 14,
    2 frames per temporal patch, merge 2 → 8 frames = 4 × 4 × 4 patches, 16 placeholders; text hidden 32."""
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
    )

    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>"]
    tok = tiny_tokenizer(
        [*special, "<|image_pad|>", "<|video_pad|>"], "<|im_end|>", "<|endoftext|>", QWEN2_5_VL_TEMPLATE
    )
    tok.save_pretrained(folder)
    Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=56 * 56).save_pretrained(folder)
    vision = {
        "depth": 2,
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_heads": 2,
        "out_hidden_size": 32,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 56,
        "fullatt_block_indexes": [1],
        "tokens_per_second": 2,
    }
    # head_dim 8: the 3-D rotary sections (temporal, height, width) split its 4 frequencies.
    text = _text_config(
        tok, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 1, 1]}
    )
    ids = {
        name: tok.convert_tokens_to_ids(token)
        for name, token in (
            ("image_token_id", "<|image_pad|>"),
            ("video_token_id", "<|video_pad|>"),
            ("vision_start_token_id", "<|vision_start|>"),
            ("vision_end_token_id", "<|vision_end|>"),
        )
    }
    config = Qwen2_5_VLConfig(vision_config=vision, text_config=text, **ids)
    return _save_model(Qwen2_5_VLForConditionalGeneration, config, tok, folder, seed)


def build_llava_next_video(folder: Path, seed: int = 0) -> Path:
    """``LlavaNextVideoForConditionalGeneration``: CLIP vision 28 px / patch 14 (2 × 2 patches, average
    pooled by 2 → 1 placeholder per frame), Llama text of hidden 32."""
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaNextImageProcessorPil,
        LlavaNextVideoConfig,
        LlavaNextVideoForConditionalGeneration,
    )

    special = ["<unk>", "<s>", "</s>", "<image>", "<video>"]
    tok = tiny_tokenizer(special, "</s>", "<unk>", LLAVA_NEXT_VIDEO_TEMPLATE)
    tok.save_pretrained(folder)
    LlavaNextImageProcessorPil(
        size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28}, image_grid_pinpoints=[[28, 28]]
    ).save_pretrained(folder)
    vision = CLIPVisionConfig(**_VISION, projection_dim=16)
    text = LlamaConfig(**_text_config(tok, bos_token_id=tok.convert_tokens_to_ids("<s>")))
    config = LlavaNextVideoConfig(
        vision_config=vision, text_config=text, **_llava_tokens(tok), image_grid_pinpoints=[[28, 28]]
    )
    return _save_model(LlavaNextVideoForConditionalGeneration, config, tok, folder, seed)


#: Qwen2-Audio's chat template (``processing_qwen2_audio.py``'s default), for one user turn.
QWEN2_AUDIO_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% for content in message['content'] %}"
    "{% if content['type'] == 'audio' %}{% set audio_count.value = audio_count.value + 1 %}"
    "Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

#: Qwen2.5-Omni's chat template (its processor's), shortened to one user turn of video, audio and text.
OMNI_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% for content in message['content'] %}"
    "{% if content['type'] == 'video' %}<|vision_bos|><|VIDEO|><|vision_eos|>"
    "{% elif content['type'] == 'audio' %}<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

QWEN_AUDIO_SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|AUDIO|>",
    "<|audio_bos|>",
    "<|audio_eos|>",
]
OMNI_SPECIAL = [*QWEN_AUDIO_SPECIAL, "<|IMAGE|>", "<|VIDEO|>", "<|vision_bos|>", "<|vision_eos|>"]


def build_qwen2_audio(folder: Path, seed: int = 0) -> Path:
    """``Qwen2AudioForConditionalGeneration``: a 1-layer Whisper-style encoder of width 16 on 128 mel
    bins (the Whisper extractor's, as released), Qwen2 text of hidden 32."""
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioEncoderConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2Config,
        WhisperFeatureExtractor,
    )

    tok = tiny_tokenizer(QWEN_AUDIO_SPECIAL, "<|im_end|>", "<|endoftext|>", QWEN2_AUDIO_TEMPLATE)
    tok.save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=128).save_pretrained(folder)
    audio = Qwen2AudioEncoderConfig(
        num_mel_bins=128, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=32, d_model=16
    )
    config = Qwen2AudioConfig(
        audio_config=audio,
        text_config=Qwen2Config(**_text_config(tok, max_position_embeddings=4096)),
        audio_token_index=tok.convert_tokens_to_ids("<|AUDIO|>"),
    )
    return _save_model(Qwen2AudioForConditionalGeneration, config, tok, folder, seed)


def _jsonable(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else str(value)


def build_qwen2_5_omni(folder: Path, seed: int = 0) -> Path:
    """A ``qwen2_5_omni`` checkpoint as released (``Qwen2_5OmniForConditionalGeneration`` weights under
    ``thinker.``; the talker left out): 1-layer audio encoder of width 16 on 128 mel bins, 1-block
    vision encoder (patch 14, 2 frames per patch, 2×2 merge), Qwen2.5 text of hidden 32 with 3-D rope."""
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2_5OmniConfig,
        Qwen2_5OmniForConditionalGeneration,
        Qwen2VLImageProcessorPil,
        WhisperFeatureExtractor,
    )

    tok = tiny_tokenizer(OMNI_SPECIAL, "<|im_end|>", "<|endoftext|>", OMNI_TEMPLATE)
    tok.save_pretrained(folder)
    # As released, one preprocessor_config.json holds the image processor and the feature extractor.
    image = Qwen2VLImageProcessorPil(patch_size=14, temporal_patch_size=2, merge_size=2).to_dict()
    merged = {**image, **WhisperFeatureExtractor(feature_size=128).to_dict()}
    merged.pop("processor_class", None)
    (folder / "preprocessor_config.json").write_text(json.dumps(merged, default=_jsonable), encoding="utf-8")
    ids = tok.convert_tokens_to_ids
    thinker = {
        "audio_config": {
            "num_mel_bins": 128,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 32,
            "d_model": 16,
            "output_dim": 32,
        },
        "vision_config": {
            "depth": 1,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_heads": 2,
            "out_hidden_size": 32,
            "fullatt_block_indexes": [0],
        },
        "text_config": _text_config(
            tok,
            max_position_embeddings=4096,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 1, 1]},
        ),
        "audio_token_index": ids("<|AUDIO|>"),
        "image_token_index": ids("<|IMAGE|>"),
        "video_token_index": ids("<|VIDEO|>"),
        "audio_start_token_id": ids("<|audio_bos|>"),
        "audio_end_token_id": ids("<|audio_eos|>"),
        "vision_start_token_id": ids("<|vision_bos|>"),
        "user_token_id": ids("<|im_start|>"),
    }
    config = Qwen2_5OmniConfig(thinker_config=thinker, enable_audio_output=False)
    torch.manual_seed(seed)
    model = Qwen2_5OmniForConditionalGeneration(config)
    model.thinker.generation_config = GenerationConfig(
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id
    )
    model.save_pretrained(folder)
    model.thinker.generation_config.save_pretrained(folder)
    return folder
