"""Helpers shared by the routers: JSON responses of entities, router defaults."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from shipyard._internal import wire
from shipyard.server.errors import ERROR_RESPONSES


def respond(value: Any, status_code: int = 200) -> Response:
    """Entities as JSON (NaN/inf as strings), without re-validating them."""
    return Response(wire.dumps(value), status_code=status_code, media_type="application/json")


def no_content() -> Response:
    return Response(status_code=204)


API_PREFIX = "/api/v1"


def api_router(tag: str) -> APIRouter:
    """A router under `API_PREFIX` whose routes all document the error responses (the
    prefix is part of each route's path, so metrics label routes by their full template)."""
    return APIRouter(prefix=API_PREFIX, tags=[tag], responses=ERROR_RESPONSES)
