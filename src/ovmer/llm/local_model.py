"""What every local (in-process) extractor LLM shares, whichever engine generates: the transformers
backend (:class:`ovmer.llm.backends.HFChatBackend`) and the vLLM one
(:class:`ovmer.llm.vllm_backend.VLLMBackend`) render prompts, stop and seed exactly alike, so under
greedy decoding they are asked the same question in the same bytes (docs/extraction.md,
'Backends').
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ovmer.llm.chat import chat_messages, render_qwen_chat

#: Qwen's turn and document ends; every local engine stops at these as well as the configured EOS.
QWEN_STOP_TOKENS = ("<|im_end|>", "<|endoftext|>")


def derive_seed(seed: int, prompt: str) -> int:
    """A per-prompt seed, so sampled replies do not depend on batch composition or order."""
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def folder_fingerprint(path: Path) -> str:
    """Cheap identity of a local model folder: names, sizes and mtimes of its files, plus config."""
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")):
        if item.is_file():
            stat = item.stat()
            digest.update(f"{item.relative_to(path)}\x00{stat.st_size}\x00{int(stat.st_mtime)}\n".encode())
    config = path / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    return digest.hexdigest()[:16]


def model_identity(scheme: str, source: str, revision: str | None, commit: str | None) -> str:
    """``<scheme>:<source>@<version>``: a folder's fingerprint, else the revision or the hub commit."""
    local = Path(source)
    version = folder_fingerprint(local) if local.is_dir() else (revision or commit or "unknown")
    return f"{scheme}:{source}@{version}"


def render_prompt(tokenizer: Any, prompt: str) -> str:
    """The exact engine input for one user prompt: the tokenizer's chat template when it has one
    (for Qwen2.5 exactly docs/extraction.md's text), else :func:`~ovmer.llm.chat.render_qwen_chat`."""
    if getattr(tokenizer, "chat_template", None):
        return str(
            tokenizer.apply_chat_template(chat_messages(prompt), tokenize=False, add_generation_prompt=True)
        )
    return render_qwen_chat(prompt)


def stop_token_ids(tokenizer: Any, configured: int | list[int] | None) -> list[int]:
    """Token ids generation stops at: the generation config's EOS (``configured``), Qwen's turn and
    document ends when the vocabulary has them, and the tokenizer's EOS; sorted, no repeats."""
    ids: list[int] = []
    if isinstance(configured, int):
        ids.append(configured)
    elif configured:
        ids.extend(configured)
    for token in QWEN_STOP_TOKENS:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id and token_id >= 0:
            ids.append(token_id)
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return sorted(set(ids))
