"""A real OpenAI-compatible multimodal chat server on 127.0.0.1 for the ``openai:`` answer model.

Standard library + Pillow only (``http.server``), the sibling of ``tests/llm/openai_server.py`` (both
on ``tests/http_server.py``). It serves ``/v1/chat/completions`` and *checks* each request the way a
strict server would: one user message whose parts are ``image_url`` data URLs that decode as images,
at most one ``input_audio`` part holding a mono 16-bit WAV, and exactly one ``text`` part, last. A malformed request gets
HTTP 400 (not retried), so a client bug fails the test. It records what it decoded
(:class:`SeenRequest`), can fail the first N requests with a chosen status (retries) or sleep
before answering (timeouts, concurrency), and counts the requests in flight.

The answer is a deterministic function of the request: what the server saw, then (after a newline,
which the client turns into a space) a sentence the lexicon extractor maps to ``happy``.
"""

from __future__ import annotations

import base64
import io
import threading
import wave
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from PIL import Image

from ..http_server import CountingJSONHandler, serve_handler


@dataclass
class SeenRequest:
    """What the server decoded from one valid request."""

    model: str
    question: str
    image_sizes: list[tuple[int, int]]  # (width, height) of each image, in order
    image_formats: list[str]  # PIL's format names: JPEG, PNG
    audio_seconds: float | None  # None: no audio part
    part_types: list[str]
    max_tokens: int
    temperature: float
    seed: int | None
    authorization: str | None


@dataclass
class ServerState:
    fail_first: int = 0
    fail_status: int = 500
    delay_s: float = 0.0
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    seen: list[SeenRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class BadRequest(ValueError):
    """The request is not what an OpenAI-compatible multimodal server accepts."""


def _decode_image(url: str) -> tuple[tuple[int, int], str]:
    prefix, sep, data = url.partition(";base64,")
    if not sep or prefix not in ("data:image/jpeg", "data:image/png"):
        raise BadRequest(f"image_url must be a JPEG or PNG data URL, got {url[:40]!r}")
    with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as image:
        image.load()
        if prefix.removeprefix("data:image/").upper() != image.format:
            raise BadRequest(f"data URL says {prefix} but the bytes are {image.format}")
        if image.mode != "RGB":
            raise BadRequest(f"image mode {image.mode}, expected RGB")
        return image.size, str(image.format)


def _decode_wav(part: dict[str, Any]) -> float:
    if part.get("format") != "wav":
        raise BadRequest(f"input_audio format must be wav, got {part.get('format')!r}")
    with wave.open(io.BytesIO(base64.b64decode(part["data"], validate=True)), "rb") as handle:
        if (handle.getnchannels(), handle.getsampwidth(), handle.getframerate()) != (1, 2, 16000):
            raise BadRequest("audio must be mono 16-bit PCM at 16 kHz")
        return handle.getnframes() / handle.getframerate()


def inspect_request(body: dict[str, Any], authorization: str | None) -> SeenRequest:
    """Check a chat request's parts and decode its media; :class:`BadRequest` names what is wrong."""
    messages = body.get("messages")
    if not isinstance(messages, list) or len(messages) != 1 or messages[0].get("role") != "user":
        raise BadRequest("expected exactly one user message")
    parts = messages[0].get("content")
    if not isinstance(parts, list) or not parts:
        raise BadRequest("the user message's content must be a list of parts")
    types = [part.get("type") for part in parts]
    if types.count("text") != 1 or types[-1] != "text" or types.count("input_audio") > 1:
        raise BadRequest(f"parts must be media then one text part, got {types}")
    sizes: list[tuple[int, int]] = []
    formats: list[str] = []
    audio = None
    for part in parts[:-1]:
        if part["type"] == "image_url":
            size, kind = _decode_image(part["image_url"]["url"])
            sizes.append(size)
            formats.append(kind)
        elif part["type"] == "input_audio":
            audio = _decode_wav(part["input_audio"])
        else:
            raise BadRequest(f"unknown part type {part['type']!r}")
    return SeenRequest(
        model=str(body["model"]),
        question=parts[-1]["text"],
        image_sizes=sizes,
        image_formats=formats,
        audio_seconds=audio,
        part_types=[str(t) for t in types],
        max_tokens=int(body["max_tokens"]),
        temperature=float(body["temperature"]),
        seed=body.get("seed"),
        authorization=authorization,
    )


def answer_for(seen: SeenRequest) -> str:
    """The server's deterministic reply to a valid request."""
    audio = "no audio" if seen.audio_seconds is None else f"{seen.audio_seconds:.2f} s of audio"
    return f"Saw {len(seen.image_sizes)} frames and {audio}.\nThe person seems happy.\t"


def make_handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(CountingJSONHandler):
        def answer(self, body: dict[str, Any], number: int) -> tuple[int, dict[str, Any]]:
            if self.path != "/v1/chat/completions":
                return 404, {"error": {"message": f"no route {self.path}"}}
            if number <= state.fail_first:
                return state.fail_status, {"error": {"message": "try again later"}}
            try:
                seen = inspect_request(body, self.headers.get("Authorization"))
            except (BadRequest, KeyError, TypeError, ValueError, OSError, EOFError, wave.Error) as exc:
                return 400, {"error": {"message": f"bad request: {exc}"}}
            with state.lock:
                state.seen.append(seen)
            message = {"role": "assistant", "content": answer_for(seen)}
            usage = {"prompt_tokens": 10, "completion_tokens": 12, "total_tokens": 22}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return 200, {
                "object": "chat.completion",
                "model": seen.model,
                "choices": [choice],
                "usage": usage,
            }

    Handler.state = state
    return Handler


def serve(state: ServerState) -> AbstractContextManager[str]:
    """Run the server in a thread on a free port; yields the ``http://127.0.0.1:PORT/v1`` base URL and
    stops the server on exit."""
    return serve_handler(make_handler(state))
