"""The web UI: server-rendered pages over the same services as the API.

``install_ui(app)`` (called by ``create_app``) mounts the pages at ``/`` and the packaged
static files (CSS, small scripts, vendored uPlot and htmx; no CDN, no node) at ``/static``.
Every page names its JSON twin in the API (``<link rel="alternate">``), and views call
``client.tracking``, ``client.registry``, ``client.serving`` and ``client.monitoring`` directly,
never the HTTP API. With auth on, pages need a signed-in user (``/login``: a signed,
HttpOnly session cookie), every form carries a CSRF token, and the API's role and
experiment rules apply to every page and action.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.staticfiles import StaticFiles

from shipyard.server.ui._core import STATIC, UiState
from shipyard.server.ui._session import SessionCodec, load_secret_key

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shipyard.config import Settings


class _Static(StaticFiles):
    """Static files with a long cache for versioned names (``vendor/uPlot-1.6.32...``)."""

    def file_response(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = "public, max-age=3600"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install_ui(app: FastAPI, settings: Settings) -> None:
    """Add the UI's routes and static files to ``app``."""
    from shipyard.server.ui import _deployments, _login, _models, _monitors, _run, _runs

    app.state.ui = UiState(SessionCodec(load_secret_key(settings), settings.session_max_age))
    for module in (_login, _runs, _run, _models, _deployments, _monitors):
        app.include_router(module.router)
    app.mount("/static", _Static(directory=STATIC), name="static")


__all__ = ["install_ui"]
