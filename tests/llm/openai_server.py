"""A real OpenAI-compatible HTTP server on 127.0.0.1 that answers with the tiny HF model.

Standard library only (``http.server``). It serves ``/v1/chat/completions`` and ``/v1/completions``,
can fail the first N requests with HTTP 503 (to exercise retries) or sleep before answering (to
exercise timeouts), and records the largest number of requests it handled at once.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from ovmer.llm.backends import HFChatBackend
from ovmer.llm.settings import SamplingSettings

from ..http_server import CountingJSONHandler, serve_handler


@dataclass
class ServerState:
    backend: HFChatBackend
    fail_first: int = 0
    delay_s: float = 0.0
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    model_lock: threading.Lock = field(default_factory=threading.Lock)


def _sampling(body: dict[str, Any]) -> SamplingSettings:
    return SamplingSettings(
        temperature=float(body.get("temperature", 0.0)),
        top_p=float(body.get("top_p", 1.0)),
        repetition_penalty=float(body.get("repetition_penalty", 1.0)),
        max_tokens=int(body.get("max_tokens", 16)),
        seed=body.get("seed"),
    )


def make_handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(CountingJSONHandler):
        def record(self, body: dict[str, Any]) -> None:
            state.bodies.append(body)

        def answer(self, body: dict[str, Any], number: int) -> tuple[int, dict[str, Any]]:
            if number <= state.fail_first:
                return 503, {"error": {"message": "warming up"}}
            with state.model_lock:
                backend = state.backend
                saved = backend.sampling
                backend.sampling = _sampling(body)
                try:
                    if self.path == "/v1/chat/completions":
                        prompt = body["messages"][-1]["content"]
                        text = backend.generate([prompt])[0]
                        assert isinstance(text, str)
                        choices = [{"index": 0, "message": {"role": "assistant", "content": text}}]
                    elif self.path == "/v1/completions":
                        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
                        texts = backend._generate_batch(list(prompts), None)
                        choices = [{"index": i, "text": t} for i, t in enumerate(texts)]
                    else:
                        return 404, {"error": {"message": f"no route {self.path}"}}
                finally:
                    backend.sampling = saved
            return 200, {"object": "chat.completion", "model": body.get("model"), "choices": choices}

    Handler.state = state
    return Handler


def serve(state: ServerState) -> AbstractContextManager[str]:
    """Run the server in a thread on a free port; yields the ``http://127.0.0.1:PORT/v1`` base URL."""
    return serve_handler(make_handler(state))
