"""Post-processing of every extractor reply (docs/extraction.md, 'Reply post-processing').

Upstream ``func_postprocess_qwen`` (identical to the GPT variant) strips a few prefixes that chat
models like to echo (``Output:``, Chinese ``输出`` …), each at most once and in a fixed order, then
deletes newlines. The result is what the official ``-openset.npz`` files store, so the order of the
steps matters: ``Input: Output: x`` keeps ``Output: x`` because ``Output`` is checked before ``Input``.
"""

from __future__ import annotations

#: Prefixes removed in this order, each at most once (step 2 of docs/extraction.md, 'Reply post-processing').
_PREFIXES: tuple[str, ...] = (
    "输入",
    "输出",
    "翻译",
    "让我们来翻译一下：",
    "output",
    "Output",
    "input",
    "Input",
)


def postprocess_reply(text: str) -> str:
    """Clean one raw completion exactly as the reference evaluator does (docs/extraction.md,
    'Reply post-processing')."""
    text = text.strip()
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text.strip()
    if text.startswith(":"):
        text = text[1:]
    if text.startswith("："):
        text = text[1:]
    text = text.strip()
    text = text.replace("\n", "")
    return text.strip()
