"""The Shipyard server (extra ``server``): one REST API under ``/api/v1`` for a team.

``create_app(client)`` builds the ASGI app (FastAPI, served by uvicorn); there is no
module-level app. ``shipyard server`` runs it.
"""

from shipyard.server.app import create_app

__all__ = ["create_app"]
