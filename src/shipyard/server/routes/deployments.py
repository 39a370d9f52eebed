"""``/api/v1/deployments``: the model servers (``shipyard serve``) that registered themselves,
live, stale or stopped (the JSON twin of the UI's deployments page). Read-only."""

from __future__ import annotations

from fastapi import Request, Response

from shipyard.entities.serving import Deployment
from shipyard.server.deps import Caller, state
from shipyard.server.routes._common import api_router, respond

router = api_router("deployments")


@router.get("/deployments", response_model=list[Deployment])
def list_deployments(request: Request, _: Caller, live: bool | None = None,
                     include_stopped: bool = False) -> Response:
    """Model servers, newest first. ``live=true``: heard from within 3 heartbeat intervals;
    ``live=false``: stale (silent, probably dead). Stopped ones only with
    ``include_stopped``. ``stats`` holds each server's latest request counters."""
    serving = state(request).client.serving
    return respond(serving.list_deployments(live=live, include_stopped=include_stopped))


@router.get("/deployments/{deployment_id}", response_model=Deployment)
def get_deployment(deployment_id: str, request: Request, _: Caller) -> Response:
    """One model server."""
    return respond(state(request).client.serving.get_deployment(deployment_id))
