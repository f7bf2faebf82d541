"""A tiny random-weight Qwen2 chat model and tokenizer, built on the fly (no hub downloads).

The tokenizer is a byte-level BPE trained in a few milliseconds on the prompts themselves, with
Qwen's three special tokens; the model is ``Qwen2ForCausalLM`` with hidden size 32 and 2 layers.
Its replies are gibberish but deterministic, which is what the backend tests need.
"""

from __future__ import annotations

from pathlib import Path

from ovmer.llm.prompts import PROMPTS

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

#: A minimal Jinja chat template that renders like Qwen2.5's for one user message.
QWEN_LIKE_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. "
    "You are a helpful assistant.<|im_end|>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_chat_model(folder: Path, *, chat_template: bool = False, seed: int = 0) -> Path:
    """Write tokenizer + config + safetensors weights into ``folder`` and return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    corpus = [p.template for p in PROMPTS.values()] + ["happy sad angry worried [concern, worry] positive"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    if chat_template:
        fast.chat_template = QWEN_LIKE_TEMPLATE
    fast.save_pretrained(folder)
    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        eos_token_id=fast.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=fast.pad_token_id,
        bos_token_id=None,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[config.eos_token_id, fast.convert_tokens_to_ids("<|endoftext|>")],
        pad_token_id=fast.pad_token_id,
    )
    model.save_pretrained(folder)
    return folder
