"""Every error as one JSON shape, ``{"error": {"code": ..., "message": ...}}`` (docs/serve.md).

Bad input is never a 500: ovmer's own errors (:class:`~ovmer.errors.OvmerError`) are the client's
422 unless they carry their own status (:class:`~ovmer.errors.ServeError`); FastAPI's field checks
become 422 ``invalid_request``; unknown routes 404 and wrong methods 405 keep their status. Only a
bug in the server is a 500 ``internal_error``, logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ovmer.errors import OvmerError, ServeError

logger = logging.getLogger(__name__)

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def serve_error_response(exc: ServeError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return error_response(exc.status, exc.code, str(exc), headers)


def _field_problems(errors: Any) -> str:
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request's fields are not valid"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every failure the one JSON shape."""

    @app.exception_handler(ServeError)
    async def _serve(request: Request, exc: ServeError) -> JSONResponse:
        return serve_error_response(exc)

    @app.exception_handler(OvmerError)
    async def _ovmer(request: Request, exc: OvmerError) -> JSONResponse:
        return error_response(422, "bad_input", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _field_problems(exc.errors()))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error answering %s %s", request.method, request.url.path)
        return error_response(
            500, "internal_error", f"the server failed unexpectedly ({type(exc).__name__}); please report it"
        )
