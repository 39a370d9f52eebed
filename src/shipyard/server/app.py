"""The app factory. There is no module-level app: ``create_app(client)`` builds one from the
same `Client` (and so the same services and stores) the library uses.

``uvicorn --factory shipyard.server.app:app_from_settings`` builds one from the settings
(``SHIPYARD_*``), as ``shipyard server --workers N`` does in every worker process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shipyard._version import __version__
from shipyard.errors import ConfigError
from shipyard.server._metrics import MetricsMiddleware, ServerMetrics
from shipyard.server.deps import ServerState
from shipyard.server.errors import install_error_handlers
from shipyard.server.routes import API_PREFIX, API_ROUTERS, ROOT_ROUTERS
from shipyard.server.ui import install_ui

if TYPE_CHECKING:
    from shipyard.client import Client

OPENAPI_URL = f"{API_PREFIX}/openapi.json"
DESCRIPTION = """\
One REST API for a team's Shipyard: experiments, runs, params, metrics, artifacts, datasets,
search. Errors are `{"error": {"code", "message", "hint"}}`. With auth on, send an API token
(`Authorization: Bearer shp_...`) or HTTP basic credentials.
"""


def _openapi(app: FastAPI, *, auth: bool) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=DESCRIPTION,
                             routes=app.routes)
        if auth:
            components = schema.setdefault("components", {})
            components["securitySchemes"] = {
                "token": {"type": "http", "scheme": "bearer",
                          "description": "An API token (`shipyard tokens create`)."},
                "password": {"type": "http", "scheme": "basic"},
            }
            for path, ops in schema["paths"].items():
                if path.startswith(API_PREFIX):
                    for op in ops.values():
                        op["security"] = [{"token": []}, {"password": []}]
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(client: Client | None = None, *, auth: bool | None = None) -> FastAPI:
    """The ASGI app over ``client`` (default: ``Client()`` from the settings, closed when the
    app shuts down). ``auth`` overrides the ``auth`` setting (``SHIPYARD_AUTH``)."""
    owned = client is None
    if client is None:
        from shipyard.client import Client

        client = Client()
    if client.settings.is_remote:
        msg = (f"A server cannot run in client mode (tracking_uri="
               f"{client.settings.tracking_uri!r}); it needs the database itself.")
        raise ConfigError(msg, hint="unset SHIPYARD_TRACKING_URI on the server host and set "
                                    "SHIPYARD_METADATA_URI / SHIPYARD_ARTIFACT_URI")
    enabled = client.settings.auth if auth is None else auth
    service = client.auth if enabled else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            client.close()

    app = FastAPI(title="Shipyard", version=__version__, openapi_url=OPENAPI_URL,
                  docs_url=f"{API_PREFIX}/docs", redoc_url=None, lifespan=lifespan)
    app.state.shipyard = ServerState(client, service)
    app.state.metrics = ServerMetrics()
    install_error_handlers(app)
    for router in (*ROOT_ROUTERS, *API_ROUTERS):
        app.include_router(router)
    install_ui(app, client.settings)  # the web UI at /, over the same client
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.openapi = lambda: _openapi(app, auth=enabled)  # type: ignore[method-assign]
    return app


def app_from_settings() -> FastAPI:
    """The uvicorn factory for multi-worker servers: everything comes from ``SHIPYARD_*``."""
    return create_app()
