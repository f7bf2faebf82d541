"""A real OpenAI-compatible HTTP server on 127.0.0.1 that answers with the tiny HF model.

Standard library only (``http.server``). It serves ``/v1/chat/completions`` and ``/v1/completions``,
can fail the first N requests with HTTP 503 (to exercise retries) or sleep before answering (to
exercise timeouts), and records the largest number of requests it handled at once.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ovmer.llm.backends import HFChatBackend
from ovmer.llm.settings import SamplingSettings


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
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, code: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client timed out
                self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            with state.lock:
                state.requests += 1
                state.bodies.append(body)
                number = state.requests
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                status, payload = self._answer(body, number)
            finally:
                # Before the reply goes out: once the client has it, it may send its next request,
                # which must not find this one still counted (the count would exceed the client's limit).
                with state.lock:
                    state.in_flight -= 1
            self._send(status, payload)

        def _answer(self, body: dict[str, Any], number: int) -> tuple[int, dict[str, Any]]:
            if state.delay_s:
                time.sleep(state.delay_s)
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

    return Handler


@contextmanager
def serve(state: ServerState) -> Iterator[str]:
    """Run the server in a thread on a free port; yields the ``http://127.0.0.1:PORT/v1`` base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
