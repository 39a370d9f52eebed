"""``/api/v1/deployments``: the model servers (``shipyard serve``) that registered themselves,
live, stale or stopped, and each one's heartbeat history (the JSON twins of the UI's
deployments page). Read-only."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request, Response

from shipyard.entities.serving import Deployment, DeploymentSample
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


@router.get("/deployments/{deployment_id}/history", response_model=list[DeploymentSample])
def deployment_history(deployment_id: str, request: Request, _: Caller,
                       since: datetime | None = None, until: datetime | None = None,
                       max_points: int | None = None) -> Response:
    """One sample per heartbeat, oldest first: ``requests`` and ``errors`` answered in the
    ``seconds`` before ``at`` and the latency percentiles (ms) of those requests. ``since``
    and ``until`` (ISO 8601 with a timezone) bound ``at``; ``max_points`` merges neighbouring
    samples so that at most that many come back (for charts)."""
    return respond(state(request).client.serving.deployment_history(
        deployment_id, since=since, until=until, max_points=max_points))
