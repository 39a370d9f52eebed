"""Prometheus metrics of a model server: requests, errors and latency per model and version,
batch sizes, queue time, model call time, in-flight requests, reloads and dropped prediction
log records.

Each app has its own registry. With several worker processes (``shipyard serve --workers``)
the CLI sets ``PROMETHEUS_MULTIPROC_DIR`` before prometheus_client is first imported, every
process writes its values to a file of its own there (named by pid: a forked worker leaves the
parent's file alone), and ``/metrics`` (answered by any worker) adds up all of them.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from shipyard.serving import ServingObserver

LATENCY = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25,
           0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ROWS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536)
CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class ServingMetrics(ServingObserver):
    """The collectors of one serving app (and the `ServingObserver` the host reports to)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        mv = ["model", "version"]
        self.requests = Counter("shipyard_serving_requests", "Requests answered, by model, "
                                "version, route and HTTP status.", [*mv, "route", "status"],
                                registry=reg)
        self.errors = Counter("shipyard_serving_errors", "Requests answered with an error, "
                              "by error code.", [*mv, "route", "code"], registry=reg)
        self.latency = Histogram("shipyard_serving_request_duration_seconds", "Time from the "
                                 "request's arrival to its response.", [*mv, "route"],
                                 buckets=LATENCY, registry=reg)
        self.rows = Counter("shipyard_serving_rows", "Rows predicted.", mv, registry=reg)
        self.batch_rows = Histogram("shipyard_serving_batch_size_rows", "Rows per model call "
                                    "(micro-batching merges concurrent requests).", mv,
                                    buckets=ROWS, registry=reg)
        self.batch_requests = Histogram("shipyard_serving_batch_size_requests", "Requests per "
                                        "model call.", mv, buckets=ROWS, registry=reg)
        self.queue = Histogram("shipyard_serving_queue_seconds", "Time a request waited for "
                               "the model (queue time).", mv, buckets=LATENCY, registry=reg)
        self.call = Histogram("shipyard_serving_model_call_seconds", "Duration of one model "
                              "call (a whole batch).", mv, buckets=LATENCY, registry=reg)
        self.in_flight = Gauge("shipyard_serving_requests_in_flight", "Requests being "
                               "handled.", ["model"], registry=reg,
                               multiprocess_mode="livesum")
        self.reloads = Counter("shipyard_serving_model_loads", "Model versions loaded "
                               "(outcome: loaded, failed).", ["model", "version", "outcome"],
                               registry=reg)
        self.dropped = Counter("shipyard_serving_prediction_log_dropped", "Prediction or "
                               "feedback log rows dropped (queue full or write failed); never "
                               "silent.", ["kind", "model"], registry=reg)
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    # -- request path -------------------------------------------------------------------
    def request(self, model: str, version: str, route: str, status: int, seconds: float,
                rows: int = 0, code: str | None = None) -> None:
        self._child(self.requests, model, version, route, str(status)).inc()
        self._child(self.latency, model, version, route).observe(seconds)
        if rows:
            self._child(self.rows, model, version).inc(rows)
        if code is not None:
            self._child(self.errors, model, version, route, code).inc()

    def in_flight_add(self, model: str, delta: int) -> None:
        self._child(self.in_flight, model).inc(delta)

    # -- ServingObserver ----------------------------------------------------------------
    def on_batch(self, model: str, version: str, rows: int, requests: int, seconds: float,
                 queue_seconds: list[float]) -> None:
        self._child(self.batch_rows, model, version).observe(rows)
        self._child(self.batch_requests, model, version).observe(requests)
        self._child(self.call, model, version).observe(seconds)
        queue = self._child(self.queue, model, version)
        for wait in queue_seconds:
            queue.observe(wait)

    def on_reload(self, model: str, version: str, outcome: str) -> None:
        self._child(self.reloads, model, version, outcome).inc()

    def on_dropped(self, kind: str, model: str, rows: int) -> None:
        self._child(self.dropped, kind, model).inc(rows)

    # -- exposition ---------------------------------------------------------------------
    def render(self) -> bytes:
        folder = multiprocess_dir()
        if folder:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=folder)
            return generate_latest(registry)
        return generate_latest(self.registry)
