"""``/health`` (the process is up), ``/ready`` (the stores answer, the schema is current) and
``/metrics`` (Prometheus). None of them needs credentials."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from shipyard.errors import ShipyardError
from shipyard.server.errors import ERROR_RESPONSES, error_response
from shipyard.server.routes._common import respond
from shipyard.server.schemas import Health

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health)
async def health() -> Response:
    """200 whenever the process answers (liveness)."""
    return respond({"status": "ok"})


@router.get("/ready", response_model=Health, responses={503: ERROR_RESPONSES[503]})
async def ready(request: Request) -> Response:
    """200 when the metadata database answers at the current schema revision; 503 with the
    error otherwise (readiness: keep traffic away until it is 200)."""
    client = request.app.state.shipyard.client
    try:
        await run_in_threadpool(client.metadata.check)
    except ShipyardError as exc:
        response = error_response(exc)
        response.status_code = 503
        return response
    return respond({"status": "ready"})


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                             "description": "Prometheus text format"}})
async def metrics(request: Request) -> Response:
    """Request counts and latency histograms by route template, method and status."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
