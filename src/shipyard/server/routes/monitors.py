"""``/api/v1/monitors``: monitors, their windowed results and time series, and alerts (the
JSON twins of the UI's monitoring pages). Read-only: monitors are created and run with
``shipyard monitor`` or the library."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Query, Request, Response

from shipyard.entities.monitoring import Alert, AlertState, Monitor, MonitorResult, MonitorValue
from shipyard.server.deps import Caller, state
from shipyard.server.routes._common import api_router, respond

if TYPE_CHECKING:
    from shipyard.monitoring import MonitoringService

router = api_router("monitoring")
Keys = Annotated[list[Annotated[str, Query(max_length=250)]] | None,
                 Query(max_length=1000, description="Only these series (default: all).")]


def monitoring(request: Request) -> MonitoringService:
    return state(request).client.monitoring  # type: ignore[no-any-return]


@router.get("/monitors", response_model=list[Monitor])
def list_monitors(request: Request, _: Caller) -> Response:
    """Every monitor."""
    return respond(monitoring(request).list_monitors())


@router.get("/monitors/{name}", response_model=Monitor)
def get_monitor(name: str, request: Request, _: Caller) -> Response:
    """One monitor: model, window, rules, options."""
    return respond(monitoring(request).get_monitor(name))


@router.get("/monitors/{name}/results", response_model=list[MonitorResult])
def list_results(name: str, request: Request, _: Caller, start: datetime | None = None,
                 end: datetime | None = None,
                 max_results: Annotated[int, Query(ge=1, le=10_000)] = 168) -> Response:
    """Evaluated windows, oldest first: each window's summary (drift per feature with the
    reference and current distributions, data quality, performance with label coverage)."""
    return respond(monitoring(request).list_results(name, start=start, end=end,
                                                    max_results=max_results))


@router.get("/monitors/{name}/values", response_model=list[MonitorValue])
def get_values(name: str, request: Request, _: Caller, key: Keys = None,
               start: datetime | None = None, end: datetime | None = None,
               max_results: Annotated[int, Query(ge=1, le=100_000)] = 10_000) -> Response:
    """The monitor's time series (``drift_share``, ``drift.<feature>.score``, ``auc``,
    ``label_coverage``...), by window then key."""
    return respond(monitoring(request).get_values(name, key, start=start, end=end,
                                                  max_results=max_results))


@router.get("/monitors/{name}/alerts", response_model=list[Alert])
def list_alerts(name: str, request: Request, _: Caller,
                state_: Annotated[AlertState | None, Query(alias="state")] = None,
                max_results: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
    """The monitor's alert history, newest first."""
    return respond(monitoring(request).list_alerts(name, state=state_,
                                                   max_results=max_results))
