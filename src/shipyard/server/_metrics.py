"""Prometheus metrics of the server itself: requests and latency by route, method and status.

Each app has its own registry (never the global one), so several apps in one process (tests)
do not share counters. Routes are labelled by their template (``/api/v1/runs/{run_id}``),
never by the raw path, so the number of series stays bounded. With ``--workers N`` each worker
process counts its own requests.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServerMetrics:
    """The collectors of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "shipyard_http_requests", "HTTP requests handled.",
            ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "shipyard_http_request_duration_seconds", "Time to answer a request (until the "
            "response starts; streamed bodies are not included).",
            ["method", "route", "status"], buckets=BUCKETS, registry=self.registry)
        self.in_flight = Gauge("shipyard_http_requests_in_flight", "Requests being handled.",
                               registry=self.registry)


def route_label(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else "<unmatched>"


class MetricsMiddleware:
    """Pure ASGI middleware (no body buffering, so streaming is untouched)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                labels = (scope["method"], route_label(scope), str(status))
                self.metrics.requests.labels(*labels).inc()
                self.metrics.latency.labels(*labels).observe(time.perf_counter() - start)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                record()
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            record()
