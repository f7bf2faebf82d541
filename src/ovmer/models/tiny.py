"""Tiny random-weight AffectGPT configs and a tokenizer trained on the fly.

Why: tests, benchmarks and demos must run on a CPU with no downloads. The tiny model keeps every
structural feature of the real one (distinct Dv/Da/H widths, 4 HuBERT layers so that "mean of the
last four" is meaningful, grouped-query attention, the five placeholder tokens, the ``###`` stop
rule), only the widths are small.
"""

from __future__ import annotations

from typing import Any

from ovmer.models.configuration_affectgpt import AffectGPTConfig, VisualInput
from ovmer.models.processing_affectgpt import setup_tokenizer
from ovmer.models.prompts import DESCRIPTION_QUESTION, OV_QUESTION, build_prompt

_CORPUS = [
    build_prompt(
        "multiface_audio_face_text", "I don't know! I, I, I don't have experience in this area.", OV_QUESTION
    ),
    build_prompt("multiframe_audio_frame_text", "Well, that is great news.", DESCRIPTION_QUESTION),
    "In the text, the caption reads: the character is happy, excited and a little nervous.",
    "The character's emotional state is happy, surprised, worried, angry, sad, neutral.",
    "a## a# ### ## # Assistant: Human: 0123456789 .,!?'\"",
]


def tiny_tokenizer(vocab_size: int = 400) -> Any:
    """A byte-level BPE tokenizer with Qwen's special tokens, set up as upstream.

    See docs/model.md, 'Tokenizer, prompts and placeholders'.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(_CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|im_end|>", bos_token="<|im_start|>"
    )
    return setup_tokenizer(tokenizer, expected_ids=None)


def tiny_config(visual_input: VisualInput = "frame", tokenizer: Any | None = None) -> AffectGPTConfig:
    """A tiny AffectGPT config matching ``tokenizer`` (built with :func:`tiny_tokenizer` if omitted)."""
    tokenizer = tokenizer if tokenizer is not None else tiny_tokenizer()
    placeholder_ids = [
        tokenizer.convert_tokens_to_ids(t)
        for t in ("<ImageHere>", "<AudioHere>", "<FrameHere>", "<FaceHere>", "<MultiHere>")
    ]
    eos_ids = [
        tokenizer.convert_tokens_to_ids("<|im_end|>"),
        tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    ]
    text = {
        "hidden_size": 48,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": len(tokenizer) + 8,  # like Qwen: more rows than tokens
        "max_position_embeddings": 2048,
        "tie_word_embeddings": False,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        # Wider than Qwen's 0.02 so that random tiny models' answers visibly depend on their inputs.
        "initializer_range": 0.1,
    }
    vision = {
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 224,
        "patch_size": 32,
        "projection_dim": 24,
        "hidden_act": "quick_gelu",
    }
    audio = {
        "hidden_size": 32,
        "num_hidden_layers": 4,
        "num_attention_heads": 2,
        "intermediate_size": 37,
        "feat_extract_norm": "layer",
        "do_stable_layer_norm": True,
        "conv_bias": True,
        "conv_dim": [16, 16, 16],
        "conv_kernel": [10, 8, 4],
        "conv_stride": [5, 4, 4],
        "num_conv_pos_embeddings": 16,
        "num_conv_pos_embedding_groups": 2,
        "mask_time_prob": 0.05,
        "vocab_size": 32,
    }
    mode = "multiface_audio_face_text" if visual_input == "face" else "multiframe_audio_frame_text"
    return AffectGPTConfig(
        name=f"tiny-{visual_input}",
        prompt_mode=mode,  # type: ignore[arg-type]
        visual_input=visual_input,
        llm_id="tiny/random-qwen2",
        vision_id="tiny/random-clip",
        audio_id="tiny/random-hubert",
        text_config=text,
        vision_config=vision,
        audio_config=audio,
        placeholder_token_ids=placeholder_ids,
        eos_token_ids=eos_ids,
        pad_token_id=eos_ids[1],
    )
