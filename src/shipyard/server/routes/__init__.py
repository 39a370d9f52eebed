"""The API's routers, mounted under ``/api/v1`` by ``create_app``.

One module per subsystem. The registry, deployments, monitoring and A/B tests add a module
here (``models.py``, ``deployments.py``, ...) and an entry in `API_ROUTERS`; each router's
handlers stay thin: parse, check access, call one service method, serialize.
"""

from __future__ import annotations

from shipyard.server.routes import (
    access,
    artifacts,
    deployments,
    experiments,
    model_changes,
    models,
    monitors,
    runs,
    system,
)
from shipyard.server.routes._common import API_PREFIX

API_ROUTERS = [experiments.router, runs.router, artifacts.router, access.router, models.router,
               model_changes.router, deployments.router, monitors.router]
ROOT_ROUTERS = [system.router]

__all__ = ["API_PREFIX", "API_ROUTERS", "ROOT_ROUTERS"]
