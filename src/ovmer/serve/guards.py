"""What stands in front of every route: the API key, the request-size limit, the security headers.

* The key is compared with :func:`hmac.compare_digest` (constant time: how long a wrong key takes
  tells nothing about how much of it was right).
* The size limit is checked on ``Content-Length`` before anything is stored, and on the bytes actually
  received (a chunked body without a length), so no request can make the server store more than
  ``--max-upload-mb`` plus 1 MiB of form fields (the rest is read into nothing, see
  :data:`DRAIN_BYTES`, so the client gets the 413 rather than a reset connection).
* The page gets a Content-Security-Policy that allows only this server's own files: the page can
  load nothing from a CDN or any other host. ``/docs`` (FastAPI's Swagger UI, which loads its
  script from a CDN) is left without it.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request

from ovmer.errors import ServeError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The page's policy: its own scripts, styles and images; frames and crops arrive as data: URLs and
#: the dropped clip plays from a blob: URL.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_UNGUARDED_PAGES = ("/docs", "/redoc")

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def given_api_key(request: Request) -> str | None:
    """The key a request carries: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``."""
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def check_api_key(expected: str | None, given: str | None) -> None:
    """Raise 401 ``unauthorized`` unless ``given`` equals ``expected`` (no key set: all pass)."""
    if expected is None:
        return
    if given is None:
        raise ServeError(
            401, "unauthorized", "this server needs an API key: send 'Authorization: Bearer KEY'"
        )
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise ServeError(401, "unauthorized", "the API key is wrong")


def error_body(status: int, code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")


#: Bytes of an over-long body read and dropped before the 413 goes out. A client still sending when
#: the server answers and closes sees a reset connection instead of the 413 (a browser shows a network
#: error), so a moderately oversized upload is read to its end, into nothing; a body larger still is
#: cut off with the 413 at this point.
DRAIN_BYTES = 64 * 1024 * 1024


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop the rest of the request body, up to ``budget`` bytes."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class BodyLimit:
    """ASGI middleware: 413 for a request body above ``max_bytes`` (declared or received)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _drain(receive, DRAIN_BYTES)
            await self._refuse(send)
            return
        state = {"received": 0, "over": False, "started": False}

        async def counting_receive() -> Message:
            message = await receive()
            state["received"] += len(message.get("body", b""))
            if state["received"] > self.max_bytes:
                state["over"] = True
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["over"]:
                return  # the 413 below replaces whatever the app says about a cut-off body
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await _drain(receive, DRAIN_BYTES)
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        megabytes = self.max_bytes / 1024 / 1024
        body = error_body(
            413, "too_large", f"the request is larger than this server accepts ({megabytes:g} MiB)"
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    *_SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """ASGI middleware: ``nosniff``, no referrer, no framing, and :data:`PAGE_CSP` outside ``/docs``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = list(_SECURITY_HEADERS)
        if not path.startswith(_UNGUARDED_PAGES):
            extra.append((b"content-security-policy", PAGE_CSP.encode()))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
