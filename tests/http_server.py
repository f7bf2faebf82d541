"""The plumbing shared by the local OpenAI-compatible test servers (``tests/llm/openai_server.py``,
``tests/baselines/multimodal_server.py``): a quiet JSON POST handler that counts the requests it has
seen and the ones in flight, optionally sleeps before answering, and a context manager that runs a
handler on a free port of 127.0.0.1 in a thread.

Standard library only (``http.server``).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class CountingJSONHandler(BaseHTTPRequestHandler):
    """Answers each JSON POST with :meth:`answer`; a subclass sets ``state``, an object with ``lock``,
    ``requests``, ``in_flight``, ``max_in_flight`` and ``delay_s`` attributes."""

    state: Any

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

    def record(self, body: dict[str, Any]) -> None:
        """Called under ``state.lock`` with each request's body, before it is answered."""

    def answer(self, body: dict[str, Any], number: int) -> tuple[int, dict[str, Any]]:
        """The status and JSON payload for the ``number``-th request (from 1)."""
        raise NotImplementedError

    def do_POST(self) -> None:
        state = self.state
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        with state.lock:
            state.requests += 1
            self.record(body)
            number = state.requests
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            if state.delay_s:
                time.sleep(state.delay_s)
            status, payload = self.answer(body, number)
        finally:
            # Before the reply goes out: once the client has it, it may send its next request,
            # which must not find this one still counted (the count would exceed the client's limit).
            with state.lock:
                state.in_flight -= 1
        self._send(status, payload)


@contextmanager
def serve_handler(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run ``handler`` in a thread on a free port; yields the ``http://127.0.0.1:PORT/v1`` base URL and
    stops the server on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
