"""The deployments page: every ``shipyard serve`` process that registered itself, live,
stale or stopped, with what it serves and its request statistics.

A heartbeat's ``stats`` carries counters (``requests``, ``errors``, ``rows``), optionally
latency percentiles (``latency_ms``: ``{"p50", "p95", "p99"}``) and a bounded ``history`` of
earlier heartbeats (``[{"t": epoch seconds, "requests", "errors", "p50_ms", "p95_ms",
"p99_ms"}, ...]``), from which the page draws request rate, error rate and latency over
time. Whatever a server does not report is simply not drawn.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.responses import Response

from shipyard.entities._ids import utc_now
from shipyard.server.ui._core import PageDep, UiRoute

if TYPE_CHECKING:
    from shipyard.entities.serving import Deployment

router = APIRouter(route_class=UiRoute, include_in_schema=False)
PERCENTILES = ("p50", "p95", "p99")


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


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def summarize(dep: Deployment, state: str, now: Any) -> Row:
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


def history_series(dep: Deployment) -> dict[str, Any]:
    """Charts from the heartbeat history: request rate and error rate between heartbeats
    (differences of the counters), and latency percentiles."""
    points = [p for p in (dep.stats or {}).get("history") or [] if isinstance(p, dict)
              and _number(p.get("t")) is not None]
    points.sort(key=lambda p: p["t"])
    if len(points) < 2:
        return {}
    xs, rate, err_rate = [], [], []
    for prev, cur in itertools.pairwise(points):
        dt = cur["t"] - prev["t"]
        req = (_number(cur.get("requests")) or 0) - (_number(prev.get("requests")) or 0)
        err = (_number(cur.get("errors")) or 0) - (_number(prev.get("errors")) or 0)
        if dt <= 0 or req < 0:  # a restart resets the counters
            continue
        xs.append(cur["t"])
        rate.append(req / dt)
        err_rate.append(err / req if req > 0 else None)
    out: dict[str, Any] = {}
    if xs:
        out["requests per second"] = {"x": xs, "series": [{"label": "req/s", "values": rate}]}
        out["error rate"] = {"x": xs, "series": [{"label": "errors / requests",
                                                  "values": err_rate}]}
    lat = [p for p in points if any(_number(p.get(f"{q}_ms")) is not None
                                    for q in PERCENTILES)]
    if lat:
        out["latency"] = {"x": [p["t"] for p in lat], "unit": "ms", "series": [
            {"label": q, "values": [_number(p.get(f"{q}_ms")) for p in lat]}
            for q in PERCENTILES]}
    return out


@router.get("/deployments")
def deployments(p: PageDep) -> Response:
    serving = p.client.serving
    show_stopped = p.request.query_params.get("stopped") == "1"
    now = utc_now()
    rows = []
    for dep in serving.list_deployments(include_stopped=show_stopped):
        state = "stopped" if dep.stopped_at else (
            "live" if serving.is_live(dep, now) else "stale")
        rows.append(summarize(dep, state, now))
    charts = {row.deployment.id: history_series(row.deployment) for row in rows}
    return p.render("deployments.html", section="deployments", rows=rows, charts=charts,
                    show_stopped=show_stopped, stale_after=serving.stale_after,
                    live=sum(r.state == "live" for r in rows),
                    stale=sum(r.state == "stale" for r in rows),
                    twin="/api/v1/deployments" + ("?include_stopped=true" if show_stopped
                                                  else ""))
