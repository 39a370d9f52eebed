"""``/api/v1/monitors``: monitors, their windowed results, time series, reports and alerts
(the JSON twins of the UI's monitoring pages), and the writes a team needs to run monitors on
the server: create (editor), run the due windows (editor) and delete (admin). Each handler
is one call to `MonitoringService`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.responses import HTMLResponse

from shipyard.entities.identity import Role
from shipyard.entities.monitoring import Alert, AlertState, Monitor, MonitorResult, MonitorValue
from shipyard.errors import invalid
from shipyard.server.deps import Caller, State, audit, state
from shipyard.server.routes._common import api_router, respond

if TYPE_CHECKING:
    from shipyard.monitoring import MonitoringService, WindowOutcome

router = api_router("monitoring")
Keys = Annotated[list[Annotated[str, Query(max_length=250)]] | None,
                 Query(max_length=1000, description="Only these series (default: all).")]
REPORT_CSP = ("sandbox allow-scripts; default-src 'none'; style-src 'unsafe-inline'; "
              "script-src 'unsafe-inline'; img-src data:")
REPORT_HEADERS = {"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff",
                  "Cache-Control": "no-store"}
"""Headers of a self-contained HTML report (the API's ``format=html`` and the UI's page)."""
MAX_RUN_WINDOWS = 168
"""`MonitoringService.run`'s own default (``MAX_WINDOWS_PER_RUN``; the package is imported
lazily, so the number is repeated here)."""

Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
Key = Annotated[str, Field(max_length=250)]


def monitoring(request: Request) -> MonitoringService:
    return state(request).client.monitoring  # type: ignore[no-any-return]


# -- bodies ---------------------------------------------------------------------------------
class MonitorOptions(BaseModel):
    """`MonitorConfig` options a client may set (stored profiles are the server's own)."""

    model_config = ConfigDict(extra="forbid")

    drift_method: Annotated[str, Field(max_length=32)] | dict[Key, Annotated[
        str, Field(max_length=32)]] | None = None
    drift_thresholds: dict[Key, NonNegative] | None = Field(default=None, max_length=1000)
    small_sample: Annotated[int, Field(ge=0, le=10**9)] | None = None
    fdr: bool | None = None
    share_threshold: Annotated[float, Field(gt=0, le=1)] | None = None
    categorical: list[Key] | None = Field(default=None, max_length=1000)
    quality_thresholds: dict[Key, NonNegative] | None = Field(default=None, max_length=100)
    expected_rows: Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)] | None = None
    task: Literal["classification", "regression"] | None = None
    positive_label: Annotated[str, Field(max_length=250)] | int | None = None
    min_labels: Annotated[int, Field(ge=0, le=10**9)] | None = None
    label_horizon_seconds: NonNegative | None = None
    cooldown_seconds: NonNegative | None = None


class MonitorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=250, description="1-250 letters, digits, _ - .")]
    model: Annotated[str, Field(max_length=1000, description="models:/NAME@ALIAS or "
                                                             "models:/NAME/VERSION")]
    window: Annotated[str, Field(max_length=32)] | Annotated[
        float, Field(gt=0, le=1e12, allow_inf_nan=False)] = Field(
        default="1h", description="Window length: seconds, or 30s, 15m, 1h, 1d, 1w.")
    rules: list[Annotated[str, Field(max_length=1000)]] = Field(default_factory=list,
                                                                 max_length=100)
    webhooks: list[Annotated[str, Field(max_length=2000)]] = Field(default_factory=list,
                                                                    max_length=20)
    start: AwareDatetime | None = Field(default=None, description=(
        "Where the first window starts (default: the start of the current window)."))
    options: MonitorOptions = Field(default_factory=MonitorOptions)


class WindowOut(BaseModel):
    start: datetime
    end: datetime


class RuleOut(BaseModel):
    rule: str
    firing: bool | None = Field(description="None when the rule could not be evaluated.")
    value: Any = None
    threshold: Any = None
    detail: str = ""


class RunOut(BaseModel):
    monitor: str
    windows: list[WindowOut] = Field(description="Windows evaluated by this run.")
    refreshed: list[datetime] = Field(description="Windows whose performance was "
                                                  "recomputed as labels arrived.")
    rules: list[RuleOut]
    alerts: list[Alert] = Field(description="Incidents opened, updated or resolved.")
    error: str | None = None


def _scalar(value: Any) -> Any:
    """A rule's value or threshold as JSON: numbers, strings and None as they are."""
    return value if isinstance(value, int | float | str | None) else str(value)


def _outcome(o: WindowOutcome) -> dict[str, Any]:
    return {"monitor": o.monitor,
            "windows": [{"start": s, "end": e} for s, e in o.windows],
            "refreshed": list(o.refreshed),
            "rules": [{"rule": r.rule, "firing": r.firing, "value": _scalar(r.value),
                       "threshold": _scalar(r.threshold), "detail": r.detail}
                      for r in o.rules],
            "alerts": list(o.alerts), "error": o.error}


# -- reads ----------------------------------------------------------------------------------
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


@router.get("/monitors/{name}/report", response_model=dict[str, Any], responses={
    200: {"content": {"text/html": {"schema": {"type": "string"}}},
          "description": "The report as JSON, or as one self-contained HTML page "
                         "(format=html)."}})
def get_report(name: str, request: Request, _: Caller,
               window: Annotated[AwareDatetime | None, Query(description=(
                   "The window's start: ISO-8601 with a zone, or epoch seconds or "
                   "milliseconds (default: the latest window)."))] = None,
               back: Annotated[int | None, Query(ge=0, le=99_999, description=(
                   "Instead of window: how many windows back from the latest (0 = "
                   "latest)."))] = None,
               format: Literal["json", "html"] = "json") -> Response:
    """One evaluated window's report (`MonitoringService.report`): drift, data quality,
    prediction drift and performance with its history; the UI's HTML report with
    ``format=html``."""
    if window is not None and back is not None:
        err = invalid("back", back, "left out when 'window' is given (pass one of them)",
                      where="GET /monitors/{name}/report")
        raise err
    chosen: datetime | int | None = window if window is not None else back
    report = monitoring(request).report(name, chosen)
    if format == "html":
        return HTMLResponse(report.to_html(), headers=REPORT_HEADERS)
    return respond(report.to_dict())


@router.get("/monitors/{name}/alerts", response_model=list[Alert])
def list_alerts(name: str, request: Request, _: Caller,
                state_: Annotated[AlertState | None, Query(alias="state")] = None,
                max_results: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Response:
    """The monitor's alert history, newest first."""
    return respond(monitoring(request).list_alerts(name, state=state_,
                                                   max_results=max_results))


# -- writes ---------------------------------------------------------------------------------
@router.post("/monitors", response_model=Monitor, status_code=201)
def create_monitor(body: MonitorCreate, request: Request, policy: Caller,
                   st: State) -> Response:
    """Create a monitor of a registered model's prediction log (editor). Its first window
    starts at ``start`` (default: the start of the window containing now)."""
    policy.require_role(Role.EDITOR, "create monitors")
    options = body.options.model_dump(exclude_none=True)
    found = monitoring(request).create_monitor(
        body.name, model=body.model, window=body.window, rules=body.rules,
        webhooks=body.webhooks, start=body.start, created_by=policy.actor, **options)
    audit(st, policy, "monitor.create", "monitor", found.name, model=found.model_uri)
    return respond(found, 201)


@router.post("/monitors/{name}/run", response_model=RunOut)
def run_monitor(name: str, request: Request, policy: Caller, st: State,
                max_windows: Annotated[int, Query(ge=1, le=MAX_RUN_WINDOWS, description=(
                    "Evaluate at most this many due windows (the oldest first)."))
                ] = MAX_RUN_WINDOWS) -> Response:
    """Evaluate the monitor's windows that have ended since the last run, refresh recent
    performance as labels arrived, evaluate its rules and send alerts (editor)."""
    policy.require_role(Role.EDITOR, "run monitors")
    outcomes = monitoring(request).run(name, max_windows=max_windows)
    outcome = outcomes[0]
    audit(st, policy, "monitor.run", "monitor", name, windows=len(outcome.windows))
    return respond(_outcome(outcome))


@router.delete("/monitors/{name}", response_model=Monitor)
def delete_monitor(name: str, request: Request, policy: Caller, st: State) -> Response:
    """Delete a monitor with its results, alerts and stored profiles (admin); answers the
    deleted monitor."""
    policy.require_role(Role.ADMIN, "delete monitors")
    service = monitoring(request)
    found = service.get_monitor(name)
    service.delete_monitor(name)
    audit(st, policy, "monitor.delete", "monitor", name)
    return respond(found)
