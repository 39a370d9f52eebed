"""The deployments page: every ``shipyard serve`` process that registered itself, live,
stale or stopped, with what it serves, its request statistics and charts over time. The
workers of one ``--workers N`` server (same host and URL) are listed each on its own, with
their sums in a line per server above the table.

A heartbeat's ``stats`` carries running totals (``requests``, ``errors``, ``rows``) and the
lifetime latency percentiles (``latency_ms``); every heartbeat also stores a
`DeploymentSample` of its interval. The charts (request rate, error rate, p50/p95/p99) are
drawn from those samples (`ServingService.deployment_history`) over a chosen window, merged
down to at most `MAX_POINTS` points a chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.responses import Response

from shipyard.entities._ids import utc_now
from shipyard.server.ui._core import PageDep, UiRoute

if TYPE_CHECKING:
    from shipyard.entities.serving import Deployment, DeploymentSample

router = APIRouter(route_class=UiRoute, include_in_schema=False)
PERCENTILES = ("p50", "p95", "p99")
WINDOWS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "6h": timedelta(hours=6),
           "24h": timedelta(hours=24), "7d": timedelta(days=7)}
DEFAULT_WINDOW = "1h"
MAX_POINTS = 360


@dataclass
class Row:
    deployment: Deployment
    state: str  # live | stale | stopped
    uptime_s: float
    requests: float | None
    errors: float | None
    error_rate: float | None
    request_rate: float | None
    latency: dict[str, float]
    recent_rate: float | None = None  # requests per second in the latest heartbeat interval
    samples: int = 0
    charts: dict[str, Any] = field(default_factory=dict)
    history_twin: str = ""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def summarize(dep: Deployment, state: str, now: datetime) -> Row:
    stats = dep.stats or {}
    end = dep.stopped_at or now
    uptime = max((end - dep.started_at).total_seconds(), 0.0)
    requests, errors = _number(stats.get("requests")), _number(stats.get("errors"))
    latency = {p: v for p in PERCENTILES
               if (v := _number((stats.get("latency_ms") or {}).get(p))) is not None}
    return Row(dep, state, uptime, requests, errors,
               error_rate=errors / requests if requests and errors is not None else None,
               request_rate=requests / uptime if requests is not None and uptime > 0 else None,
               latency=latency)


def history_charts(samples: list[DeploymentSample], *,
                   until: datetime | None = None) -> dict[str, Any]:
    """uPlot series (see static/charts.js) from heartbeat samples: request rate, error rate
    (%) and latency percentiles, x in epoch seconds. ``until`` (a stale server: now) adds an
    empty point so the silence since the last heartbeat shows as blank time."""
    if not samples:
        return {}
    xs = [s.at.timestamp() for s in samples]
    rate: list[float | None] = [round(s.request_rate, 4) for s in samples]
    errors: list[float | None] = [None if s.error_rate is None else round(
        100 * s.error_rate, 3) for s in samples]
    lat: dict[str, list[float | None]] = {
        q: [getattr(s, f"{q}_ms") for s in samples] for q in PERCENTILES}
    if until is not None and until.timestamp() > xs[-1]:
        xs.append(until.timestamp())
        rate.append(None)
        errors.append(None)
        for values in lat.values():
            values.append(None)
    out: dict[str, Any] = {
        "requests per second": {"x": xs, "series": [{"label": "req/s", "values": rate}]},
        "error rate": {"x": xs, "unit": "%", "series": [{"label": "errors per 100 requests",
                                                         "values": errors}]},
    }
    if any(v is not None for values in lat.values() for v in values):
        out["latency"] = {"x": xs, "unit": "ms", "series": [
            {"label": q, "values": lat[q]} for q in PERCENTILES]}
    return out


@dataclass
class Server:
    """The running workers of one ``shipyard serve --workers N`` (same host and URL), each a
    deployment of its own: their totals added up."""

    url: str
    host: str
    rows: list[Row]

    @property
    def requests(self) -> float:
        return sum(r.requests or 0.0 for r in self.rows)

    @property
    def recent_rate(self) -> float:
        return sum(r.recent_rate or 0.0 for r in self.rows)

    @property
    def errors(self) -> float:
        return sum(r.errors or 0.0 for r in self.rows)


def servers_of(rows: list[Row]) -> list[Server]:
    """Groups of two or more live or stale rows sharing host and URL (forked workers)."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if row.state != "stopped":
            dep = row.deployment
            groups.setdefault((dep.host or "", dep.url), []).append(row)
    return [Server(url=url, host=host, rows=members)
            for (host, url), members in groups.items() if len(members) > 1]


@router.get("/deployments")
def deployments(p: PageDep) -> Response:
    serving = p.client.serving
    q = p.request.query_params
    show_stopped = q.get("stopped") == "1"
    window = q.get("window", DEFAULT_WINDOW)
    window = window if window in WINDOWS else DEFAULT_WINDOW
    now = utc_now()
    since = now - WINDOWS[window]
    rows = []
    for dep in serving.list_deployments(include_stopped=show_stopped):
        state = "stopped" if dep.stopped_at else (
            "live" if serving.is_live(dep, now) else "stale")
        row = summarize(dep, state, now)
        samples = serving.deployment_history(dep.id, since=since, max_points=MAX_POINTS)
        row.samples = len(samples)
        if samples:
            row.recent_rate = samples[-1].request_rate
        row.charts = history_charts(samples, until=now if state == "stale" else None)
        row.history_twin = f"/api/v1/deployments/{dep.id}/history?" + urlencode(
            {"since": since.isoformat(timespec="seconds"), "max_points": MAX_POINTS})
        rows.append(row)
    return p.render("deployments.html", section="deployments", rows=rows,
                    servers=servers_of(rows),
                    show_stopped=show_stopped, stale_after=serving.stale_after,
                    window=window, windows=list(WINDOWS),
                    live=sum(r.state == "live" for r in rows),
                    stale=sum(r.state == "stale" for r in rows),
                    twin="/api/v1/deployments" + ("?include_stopped=true" if show_stopped
                                                  else ""))
