"""The Shipyard server (extra ``server``): one REST API under ``/api/v1`` for a team.

``create_app(client)`` builds the ASGI app (FastAPI, served by uvicorn); there is no
module-level app. ``shipyard server`` runs it.

``create_app`` is imported on first use, so the model server (``shipyard.server.serving``)
does not load FastAPI and every tracking route when it starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.server.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from shipyard.server.app import create_app

        return create_app
    msg = f"module 'shipyard.server' has no attribute {name!r}"
    raise AttributeError(msg)
