"""Text-generation backends for the extractor LLM, behind one small interface.

A backend turns user prompts into raw completions (before upstream's post-processing,
docs/extraction.md). Three kinds:

* :class:`HFChatBackend` — a local Hugging Face ``transformers`` causal LM (any hub id or folder;
  the paper used ``Qwen/Qwen2.5-7B-Instruct``);
* :class:`OpenAIBackend` — any OpenAI-compatible HTTP endpoint (vLLM's server, Ollama, hosted APIs),
  with retries, timeouts, a concurrency limit and batching, using only the standard library;
* :class:`CacheOnlyBackend` — answers nothing; used to re-run from the result cache with no model.

Each backend has an ``identity`` string (model id + revision) that goes into the cache key and the
result metadata (docs/extraction.md, 'Determinism and the cache'), so replies of different models
or settings never mix.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ovmer.errors import BackendError, CacheMissError
from ovmer.hub import dtype_kwarg, hub_from_pretrained
from ovmer.llm.chat import chat_messages, render_qwen_chat
from ovmer.llm.local_model import derive_seed, model_identity, render_prompt, stop_token_ids
from ovmer.llm.settings import DETERMINISTIC, SamplingSettings

logger = logging.getLogger(__name__)


@runtime_checkable
class Backend(Protocol):
    """What the extractor needs from an LLM."""

    identity: str
    sampling: SamplingSettings

    def generate(self, prompts: Sequence[str]) -> list[str | Exception]:
        """Raw completions for user prompts, one per prompt, in order. A failure of one prompt is
        returned as its exception so the others are kept (one bad sample never kills a run)."""
        ...


# --------------------------------------------------------------------------------------------------
# Local transformers model


def _ready_for_batches(tokenizer: Any) -> None:
    """Left padding (every row continues from its own last token), a pad token where there is none."""
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"


class HFChatBackend:
    """A local ``transformers`` chat model.

    The prompt is rendered with the tokenizer's own chat template when it has one (for Qwen2.5 that
    is exactly the text of docs/extraction.md, 'Reference settings'), otherwise with the Qwen2.5
    rendering of :func:`render_qwen_chat`.
    Greedy prompts are generated in batches (left padding); sampled prompts one at a time with a
    per-prompt seed so that results are reproducible whatever the batching.

    Args:
        model: hub id or local folder (``Qwen/Qwen2.5-7B-Instruct``, ``/models/qwen``).
        sampling: decoding settings (default: deterministic).
        batch_size: prompts per ``generate`` call (upstream uses 8: docs/extraction.md, 'Reference settings').
        device: ``cpu``, ``cuda``…; default: CUDA when available.
        revision: hub revision; recorded in the identity.
    """

    def __init__(
        self,
        model: str | Path,
        sampling: SamplingSettings = DETERMINISTIC,
        *,
        batch_size: int = 8,
        device: str | None = None,
        revision: str | None = None,
        dtype: str = "auto",
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise BackendError(
                "the hf: backend needs torch and transformers: pip install 'ovmer[model]'"
            ) from exc
        self._torch = torch
        self.sampling = sampling
        self.batch_size = max(1, batch_size)
        source = str(model)
        try:
            self.tokenizer = hub_from_pretrained(AutoTokenizer, source, revision)
            # "auto" keeps a 7B model in its stored bf16 instead of widening it to fp32.
            self.model = hub_from_pretrained(AutoModelForCausalLM, source, revision, **dtype_kwarg(dtype))
        except (OSError, ValueError) as exc:
            raise BackendError(
                f"cannot load the extractor model {source!r} ({exc}). Give a local folder with config, "
                "tokenizer and weights, or a hub id that is in the Hugging Face cache."
            ) from exc
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)
        self.model.eval()
        _ready_for_batches(self.tokenizer)
        self.identity = model_identity(
            "hf", source, revision, getattr(self.model.config, "_commit_hash", None)
        )

    @classmethod
    def from_objects(
        cls,
        model: Any,
        tokenizer: Any,
        sampling: SamplingSettings = DETERMINISTIC,
        *,
        batch_size: int = 8,
        identity: str,
    ) -> HFChatBackend:
        """A backend around a model already in memory, on its device (random full-size weights in
        ``benchmarks/extractor.py``, a model the caller loaded its own way). ``identity`` keys the cache."""
        import torch

        backend = cls.__new__(cls)
        backend._torch = torch
        backend.sampling = sampling
        backend.batch_size = max(1, batch_size)
        backend.tokenizer = tokenizer
        backend.model = model.eval()
        backend.device = str(model.device)
        _ready_for_batches(tokenizer)
        backend.identity = identity
        return backend

    def render(self, prompt: str) -> str:
        """The exact engine input for one user prompt (:func:`~ovmer.llm.local_model.render_prompt`)."""
        return render_prompt(self.tokenizer, prompt)

    def _eos_ids(self) -> list[int]:
        return stop_token_ids(self.tokenizer, getattr(self.model.generation_config, "eos_token_id", None))

    def _generate_batch(self, texts: list[str], seed: int | None) -> list[str]:
        torch = self._torch
        encoded = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        encoded = {k: v.to(self.device) for k, v in encoded.items()}
        options: dict[str, Any] = {
            "max_new_tokens": self.sampling.max_tokens,
            "repetition_penalty": self.sampling.repetition_penalty,
            "eos_token_id": self._eos_ids(),
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if self.sampling.greedy:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            options.update(do_sample=True, temperature=self.sampling.temperature, top_p=self.sampling.top_p)
            options["top_k"] = None  # upstream: no top-k (docs/extraction.md, 'Reference settings')
            if seed is not None:
                torch.manual_seed(seed)
        with torch.no_grad():
            output = self.model.generate(**encoded, **options)
        new_tokens = output[:, encoded["input_ids"].shape[1] :]  # (B, T_new)
        return [str(self.tokenizer.decode(row, skip_special_tokens=True)) for row in new_tokens]

    def generate(self, prompts: Sequence[str]) -> list[str | Exception]:
        results: list[str | Exception] = []
        if self.sampling.greedy:
            for start in range(0, len(prompts), self.batch_size):
                chunk = [self.render(p) for p in prompts[start : start + self.batch_size]]
                try:
                    results.extend(self._generate_batch(chunk, None))
                except (RuntimeError, ValueError) as exc:  # e.g. out of memory: retry one by one
                    for text in chunk:
                        try:
                            results.extend(self._generate_batch([text], None))
                        except (RuntimeError, ValueError) as single:
                            results.append(single)
                    logger.debug("batch failed (%s); fell back to single prompts", exc)
            return results
        for prompt in prompts:
            seed = None if self.sampling.seed is None else derive_seed(self.sampling.seed, prompt)
            try:
                results.extend(self._generate_batch([self.render(prompt)], seed))
            except (RuntimeError, ValueError) as exc:
                results.append(exc)
        return results


# --------------------------------------------------------------------------------------------------
# OpenAI-compatible HTTP endpoint


@dataclass
class HTTPSettings:
    """Robustness knobs of the HTTP backend.

    ``mode='chat'`` posts ``/chat/completions`` with one user message (the server applies the chat
    template; for a vLLM server with Qwen2.5 that is the text of docs/extraction.md, 'Reference
    settings'). ``mode='completions'`` posts
    ``/completions`` with the text rendered here (:func:`render_qwen_chat`), batching ``batch_size``
    prompts per request, for servers whose chat template differs from the paper's.
    """

    mode: str = "chat"
    timeout_s: float = 120.0
    max_retries: int = 4  # attempts in total, as the reference GPT caller (docs/extraction.md)
    backoff_s: float = 1.0  # doubled after each failed attempt
    concurrency: int = 4  # requests in flight at once
    batch_size: int = 8  # prompts per /completions request
    api_key: str | None = None  # default: OVMER_LLM_API_KEY, then OPENAI_API_KEY
    send_repetition_penalty: bool = True  # vLLM accepts it; strict hosted APIs may reject it
    extra_headers: dict[str, str] = field(default_factory=dict)


_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def post_json_with_retries(
    url: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str],
    timeout_s: float,
    max_attempts: int,
    backoff_s: float,
    gate: threading.Semaphore | None = None,
    on_send: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], int]:
    """POST ``body`` as JSON to an OpenAI-compatible ``url``; the reply and the attempts it took.

    The one HTTP client of ovmer (the extractor's :class:`OpenAIBackend` and the ``openai:`` answer
    model use it): standard library only, each attempt limited to ``timeout_s`` seconds, retried on
    timeouts, dropped connections and HTTP 408/409/425/429/5xx with exponential backoff (``backoff_s``,
    doubled after each failure) up to ``max_attempts`` in total; any other HTTP status fails at once.
    ``gate`` bounds the requests in flight (held only while one is on the wire, not while backing
    off); ``on_send`` is called for each attempt. A reply must be a JSON object with ``choices``.

    Raises:
        BackendError: naming the URL, the last HTTP status or error, and the attempts made.
    """
    data = json.dumps(body).encode()
    attempts = max(1, max_attempts)
    delay = backoff_s
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with gate if gate is not None else contextlib.nullcontext():
                if on_send is not None:
                    on_send()
                with urllib.request.urlopen(request, timeout=timeout_s) as response:
                    payload = json.loads(response.read().decode("utf-8"))
            if not isinstance(payload, dict) or not payload.get("choices"):
                raise BackendError(f"{url}: reply without choices: {str(payload)[:200]}")
            return payload, attempt
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            last = BackendError(f"{url}: HTTP {exc.code}: {detail}")
            if exc.code not in _RETRY_STATUS:
                raise last from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as exc:
            last = BackendError(f"{url}: {exc}")
        except BackendError as exc:
            last = exc
        if attempt < attempts:
            logger.debug("attempt %d failed (%s); retrying in %.1fs", attempt, last, delay)
            time.sleep(delay)
            delay *= 2
    assert last is not None
    raise BackendError(f"{last} (gave up after {attempts} attempts)")


class OpenAIBackend:
    """A client for any OpenAI-compatible server.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1`` (``/v1`` is appended when absent).
        model: the served model name.
        sampling: decoding settings; ``seed`` is sent, which vLLM and OpenAI honour.
        http: retries, timeouts, concurrency and batching.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        sampling: SamplingSettings = DETERMINISTIC,
        http: HTTPSettings | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise BackendError(f"openai backend needs an http(s) URL, got {base_url!r}")
        base = base_url.rstrip("/")
        if not base.endswith("/v1"):
            base += "/v1"
        self.base_url = base
        self.model = model
        self.sampling = sampling
        self.http = http or HTTPSettings()
        if self.http.mode not in ("chat", "completions"):
            raise BackendError(f"HTTP mode must be 'chat' or 'completions', got {self.http.mode!r}")
        self.identity = f"openai:{base}#{model}"
        self._key = (
            self.http.api_key or os.environ.get("OVMER_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
        )
        self._semaphore = threading.Semaphore(max(1, self.http.concurrency))
        self.requests_sent = 0  # for tests and progress reports

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "temperature": self.sampling.temperature,
            "top_p": self.sampling.top_p,
            "max_tokens": self.sampling.max_tokens,
        }
        if self.sampling.seed is not None:
            body["seed"] = self.sampling.seed
        if self.http.send_repetition_penalty:
            body["repetition_penalty"] = self.sampling.repetition_penalty
        return body

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", **self.http.extra_headers}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"

        def count() -> None:
            self.requests_sent += 1

        payload, _ = post_json_with_retries(
            self.base_url + path,
            body,
            headers=headers,
            timeout_s=self.http.timeout_s,
            max_attempts=self.http.max_retries,
            backoff_s=self.http.backoff_s,
            gate=self._semaphore,
            on_send=count,
        )
        return payload

    def _chat_one(self, prompt: str) -> str | Exception:
        try:
            payload = self._post("/chat/completions", {**self._body(), "messages": chat_messages(prompt)})
            content = payload["choices"][0]["message"]["content"]
            if not isinstance(content, str):
                return BackendError(f"{self.base_url}: empty message content")
            return content
        except (BackendError, KeyError, IndexError, TypeError) as exc:
            return (
                exc if isinstance(exc, BackendError) else BackendError(f"{self.base_url}: bad reply ({exc})")
            )

    def _completions_batch(self, prompts: Sequence[str]) -> list[str | Exception]:
        try:
            payload = self._post(
                "/completions", {**self._body(), "prompt": [render_qwen_chat(p) for p in prompts]}
            )
            texts: list[str | Exception] = [BackendError("no choice returned")] * len(prompts)
            for position, choice in enumerate(payload["choices"]):
                index = choice.get("index", position)
                if 0 <= index < len(prompts):
                    texts[index] = str(choice["text"])
            return texts
        except (BackendError, KeyError, TypeError) as exc:
            error = (
                exc if isinstance(exc, BackendError) else BackendError(f"{self.base_url}: bad reply ({exc})")
            )
            return [error] * len(prompts)

    def generate(self, prompts: Sequence[str]) -> list[str | Exception]:
        workers = max(1, self.http.concurrency)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            if self.http.mode == "chat":
                return list(pool.map(self._chat_one, prompts))
            size = max(1, self.http.batch_size)
            chunks = [prompts[i : i + size] for i in range(0, len(prompts), size)]
            return [text for chunk in pool.map(self._completions_batch, chunks) for text in chunk]


# --------------------------------------------------------------------------------------------------
# Cache only


class CacheOnlyBackend:
    """Answers only from the result cache: ``generate`` fails for every prompt.

    ``identity`` and ``sampling`` must be those of the backend that filled the cache, so the cache
    keys match (``cache:hf:Qwen/Qwen2.5-7B-Instruct@<rev>``).
    """

    def __init__(self, identity: str, sampling: SamplingSettings = DETERMINISTIC) -> None:
        self.identity = identity
        self.sampling = sampling

    def generate(self, prompts: Sequence[str]) -> list[str | Exception]:
        return [
            CacheMissError(f"no cached reply of {self.identity} for this prompt; run with the real backend")
            for _ in prompts
        ]


def parse_backend(spec: str, sampling: SamplingSettings = DETERMINISTIC, **options: Any) -> Backend:
    """Build an LLM backend from a CLI spec.

    * ``hf:ID_OR_PATH`` — local transformers model;
    * ``openai:URL#MODEL`` — OpenAI-compatible server (``openai:http://127.0.0.1:8000/v1#qwen``);
    * ``cache:IDENTITY`` — cache only (the identity printed by an earlier run);
    * ``vllm:ID_OR_PATH[?key=value&…]`` — in-process vLLM (:mod:`ovmer.llm.vllm_backend`).

    ``options`` go to the backend: ``batch_size``/``device`` for hf, an :class:`HTTPSettings` as
    ``http`` for openai.
    """
    kind, _, rest = spec.partition(":")
    if not rest:
        raise BackendError(f"backend spec {spec!r} must look like hf:ID, openai:URL#MODEL or cache:IDENTITY")
    if kind == "hf":
        return HFChatBackend(rest, sampling, **options)
    if kind == "openai":
        url, _, model = rest.partition("#")
        if not model:
            raise BackendError(f"backend spec {spec!r}: give the served model after '#' (openai:URL#MODEL)")
        return OpenAIBackend(url, model, sampling, **options)
    if kind == "cache":
        return CacheOnlyBackend(rest, sampling)
    if kind == "vllm":
        from ovmer.llm.vllm_backend import VLLMBackend, parse_vllm_spec

        source, vllm_options = parse_vllm_spec(rest)
        return VLLMBackend(source, sampling, options=vllm_options)
    raise BackendError(
        f"unknown backend kind {kind!r} in {spec!r}; use hf:, vllm:, openai:, cache: or lexicon"
    )
