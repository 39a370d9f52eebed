"""The one place where errors become HTTP: status codes and the wire shape.

Every error leaves the server as ``{"error": {"code", "message", "hint"}}``; the client
rebuilds the same `ShipyardError` subclass from ``code``. Request validation errors are 422,
unknown routes 404, and an unexpected exception a 500 whose message says to look at the log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shipyard.errors import (
    AlreadyExistsError,
    AuthenticationError,
    BackendUnavailableError,
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RangeNotSatisfiableError,
    SchemaVersionError,
    ShipyardError,
)
from shipyard.server.schemas import ErrorBody

log = logging.getLogger("shipyard.server")

STATUS: dict[type[ShipyardError], int] = {
    InvalidArgumentError: 400,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    AlreadyExistsError: 409,
    ConflictError: 409,
    RangeNotSatisfiableError: 416,
    BackendUnavailableError: 503,
    SchemaVersionError: 503,
}
CHALLENGE = 'Bearer realm="shipyard", Basic realm="shipyard"'
_HTTP_CODES = {400: "invalid-argument", 401: "unauthenticated", 403: "permission-denied",
               404: "not-found", 405: "method-not-allowed", 409: "conflict",
               413: "too-large", 415: "unsupported-media-type"}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in (
        (400, "Invalid argument"), (401, "No or wrong credentials"),
        (403, "The caller's role or experiment permission forbids it"), (404, "Not found"),
        (409, "Already exists, or conflicts with the stored state"),
        (422, "The request does not match the schema"),
        (503, "The server's database or artifact store is unavailable"))
}
"""Documented on every API route, so clients and fuzzers know the error shape."""


def status_for(error: ShipyardError) -> int:
    """The HTTP status of an error: the entry of its nearest class in `STATUS`, else 500."""
    for klass in type(error).__mro__:
        if klass in STATUS:
            return STATUS[klass]
    return 500


def error_body(code: str, message: str, hint: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "hint": hint}}


def error_response(error: ShipyardError) -> JSONResponse:
    status = status_for(error)
    headers = {"WWW-Authenticate": CHALLENGE} if status == 401 else None
    if status >= 500:
        log.warning("%s: %s", type(error).__name__, error.message)
    return JSONResponse(error_body(error.code, error.message, error.hint), status_code=status,
                        headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    async def on_shipyard(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ShipyardError)
        return error_response(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        msg = f"The request is invalid: {_validation_message(exc)}."
        body = error_body("invalid-argument", msg, "see the schema at /api/v1/openapi.json")
        return JSONResponse(body, status_code=422)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, f"http-{exc.status_code}")
        hint = "the API lives under /api/v1; see /api/v1/docs" if exc.status_code == 404 else None
        body = error_body(code, str(exc.detail), hint)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    async def on_crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        msg = f"The server failed unexpectedly ({type(exc).__name__})."
        return JSONResponse(error_body("internal-error", msg, "see the server's log"),
                            status_code=500)

    app.add_exception_handler(ShipyardError, on_shipyard)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
