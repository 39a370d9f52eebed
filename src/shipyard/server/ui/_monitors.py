"""The monitoring pages: monitors, and per monitor drift share and per-feature drift over
time, reference vs current distributions of a chosen window, data-quality findings,
performance over time with label coverage, the alert history, and the window's HTML report.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from shipyard.entities._ids import from_ms, to_ms
from shipyard.entities.monitoring import MonitorResult, MonitorValue
from shipyard.server.routes.monitors import REPORT_HEADERS
from shipyard.server.ui._core import PageDep, UiRoute

router = APIRouter(route_class=UiRoute, include_in_schema=False)

WINDOWS = 168  # windows charted (a week of hourly windows)
MAX_FEATURES = 20
ALERTS = 100
LATEST_MS = 253_370_764_800_000  # 9999-01-01: later epoch milliseconds are no datetime
# Value keys that are not model-performance metrics (the rest of a window's values are).
NOT_PERFORMANCE = ("drift", "prediction_drift", "missing.", "type_errors.", "out_of_range.",
                   "unseen.", "constant.", "quality.", "validation.", "delta.")
NOT_PERFORMANCE_KEYS = {"rows", "volume_ratio", "label_coverage", "labelled", "predictions",
                        "drift_share", "prediction_drift_share"}


def _is_performance(key: str) -> bool:
    return key not in NOT_PERFORMANCE_KEYS and not key.startswith(NOT_PERFORMANCE)


@router.get("/monitors")
def monitors(p: PageDep) -> Response:
    service = p.client.monitoring
    items = service.list_monitors()
    latest = {m.name: service.latest_values(m.name) for m in items}
    firing: defaultdict[str, int] = defaultdict(int)
    for alert in service.list_alerts(state="firing", max_results=1000):
        firing[alert.monitor] += 1
    return p.render("monitors.html", section="monitors", monitors=items, latest=latest,
                    firing=firing, twin="/api/v1/monitors")


def _series(values: list[MonitorValue], keys: list[str],
            labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Aligned columns for a chart: x (epoch seconds of window starts) and one series a key."""
    by_key: dict[str, dict[int, float | None]] = defaultdict(dict)
    for v in values:
        if v.key in keys:
            by_key[v.key][to_ms(v.window_start)] = v.value
    xs = sorted({ms for k in keys for ms in by_key.get(k, {})})
    return {"x": [ms / 1000 for ms in xs], "series": [
        {"label": (labels or {}).get(k, k), "values": [by_key[k].get(ms) for ms in xs]}
        for k in keys if by_key.get(k)]}


def _features(latest: dict[str, MonitorValue]) -> list[str]:
    """The features charted: those with a drift score (``drift.<feature>.score``)."""
    return sorted({k[len("drift."):-len(".score")] for k in latest
                   if k.startswith("drift.") and k.endswith(".score")},
                  key=str.lower)[:MAX_FEATURES]


def _charts(features: list[str], latest: dict[str, MonitorValue],
            values: list[MonitorValue]) -> dict[str, Any]:
    perf = sorted(k for k in latest if _is_performance(k))
    charts: dict[str, Any] = {}
    if "drift_share" in latest:
        charts["drift share"] = _series(values, ["drift_share"])
    if features:
        keys = [f"drift.{f}.score" for f in features]
        charts["per-feature drift score"] = _series(values, keys, dict(zip(keys, features,
                                                                           strict=True)))
    if perf:
        charts["performance"] = _series(values, perf)
    if "label_coverage" in latest:
        charts["label coverage"] = _series(values, ["label_coverage"])
    if "rows" in latest:
        charts["rows per window"] = _series(values, ["rows"])
    return {k: v for k, v in charts.items() if v["series"]}


def _window(raw: str | None) -> datetime | None:
    """A ``?window=`` value (epoch ms of a window start, as the page links it), or None for
    the latest window."""
    if raw and raw.isdigit() and len(raw) <= len(str(LATEST_MS)) and int(raw) < LATEST_MS:
        return from_ms(int(raw))
    return None


def _chosen(results: list[MonitorResult], raw: str | None) -> MonitorResult | None:
    """The result of the ``?window=`` window, else the latest."""
    if not results:
        return None
    start = _window(raw)
    return next((r for r in results if r.window_start == start), results[-1])


@router.get("/monitors/{name}")
def monitor(name: str, p: PageDep) -> Response:
    from shipyard.monitoring import MonitoringReport

    service = p.client.monitoring
    found = service.get_monitor(name)
    results = service.list_results(name, max_results=WINDOWS)
    results.sort(key=lambda r: r.window_start)
    latest = service.latest_values(name)
    start = results[0].window_start if results else None
    features = _features(latest)
    keys = [k for k in latest if k in ("drift_share", "rows", "label_coverage")
            or _is_performance(k)] + [f"drift.{f}.score" for f in features]
    values = service.get_values(name, keys, start=start) if keys else []
    chosen = _chosen(results, p.request.query_params.get("window"))
    # the sections of the window's report, from the result in hand (`report` would read the
    # monitor, the window and its history again)
    rep = MonitoringReport.from_summary(chosen.summary, title=name).to_dict() if chosen else {}
    return p.render(
        "monitor.html", section="monitors", monitor=found, results=results, latest=latest,
        charts=_charts(features, latest, values), chosen=chosen,
        summary=chosen.summary if chosen else {}, drift=rep.get("drift") or {},
        quality=rep.get("quality") or {}, performance=rep.get("performance") or {},
        alerts=service.list_alerts(name, max_results=ALERTS), to_ms=to_ms,
        twin=f"/api/v1/monitors/{quote(name)}",
        report_twin=f"/api/v1/monitors/{quote(name)}/report"
        + (f"?window={to_ms(chosen.window_start)}" if chosen else ""))


@router.get("/monitors/{name}/report")
def report(name: str, p: PageDep) -> Response:
    """The window's self-contained HTML report (`MonitoringService.report`); its JSON twin
    is ``/api/v1/monitors/{name}/report``."""
    rep = p.client.monitoring.report(name, _window(p.request.query_params.get("window")))
    response = HTMLResponse(rep.to_html(), headers=REPORT_HEADERS)
    p.finish(response)
    return response
