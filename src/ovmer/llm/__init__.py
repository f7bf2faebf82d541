"""Label extraction with an LLM or without one (docs/extraction.md).

* :mod:`~ovmer.llm.prompts` — the reference prompts, byte for byte;
* :mod:`~ovmer.llm.chat` — the Qwen2.5 chat rendering the reference engine saw;
* :mod:`~ovmer.llm.postprocess` — upstream's clean-up of every reply (docs/extraction.md,
  'Reply post-processing');
* :mod:`~ovmer.llm.backends` — transformers, OpenAI-compatible HTTP, cache-only;
* :mod:`~ovmer.llm.extractor` — the three tasks with the reply cache;
* :mod:`~ovmer.llm.lexicon` — the offline, rule-based extractor.
"""

from ovmer.errors import BackendError
from ovmer.llm.backends import (
    Backend,
    CacheOnlyBackend,
    HFChatBackend,
    HTTPSettings,
    OpenAIBackend,
    parse_backend,
)
from ovmer.llm.cache import ReplyCache, cache_key
from ovmer.llm.chat import render_qwen_chat
from ovmer.llm.extractor import TASKS, LabelExtractor, LLMExtractor
from ovmer.llm.postprocess import postprocess_reply
from ovmer.llm.prompts import PROMPTS, PromptTemplate
from ovmer.llm.settings import DETERMINISTIC, PAPER, SamplingSettings, decoding_preset

__all__ = [
    "DETERMINISTIC",
    "PAPER",
    "PROMPTS",
    "TASKS",
    "Backend",
    "BackendError",
    "CacheOnlyBackend",
    "HFChatBackend",
    "HTTPSettings",
    "LLMExtractor",
    "LabelExtractor",
    "OpenAIBackend",
    "PromptTemplate",
    "ReplyCache",
    "SamplingSettings",
    "cache_key",
    "decoding_preset",
    "parse_backend",
    "postprocess_reply",
    "render_qwen_chat",
]
