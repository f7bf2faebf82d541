"""Rendering a prompt the way the reference evaluator fed it to Qwen2.5 (docs/extraction.md,
'Reference settings').

Upstream passes one ``user`` message, no system message, through Qwen2.5's chat template with
``add_generation_prompt=True`` and gives the *text* to vLLM. Qwen2.5's template then inserts its
default system prompt. We build that text ourselves so every backend (transformers, an HTTP
completion endpoint, a cache) sees the same bytes whatever tokenizer files are at hand; the tests
check it against the spec's 830-character / SHA-256 example.
"""

from __future__ import annotations

QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def render_qwen_chat(prompt: str, system: str = QWEN_DEFAULT_SYSTEM) -> str:
    """The engine input for one user prompt: system turn, user turn, open assistant turn.

    No BOS token is added (Qwen2.5 has none).
    """
    return (
        f"<|im_start|>system\n{system}<|im_end|>\n"
        f"<|im_start|>user\n{prompt}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def chat_messages(prompt: str) -> list[dict[str, str]]:
    """The message list of the reference call: one user turn, no system message."""
    return [{"role": "user", "content": prompt}]
