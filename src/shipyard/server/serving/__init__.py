"""The model server's HTTP layer (``shipyard serve``): a plain ASGI app over a `ModelHost`.

``create_serving_app(host)`` builds it; ``app_from_settings`` is a uvicorn factory that builds
everything from ``SHIPYARD_*`` (``shipyard serve --workers N`` forks its workers instead, see
``_prefork``; it uses the factory only where there is no ``os.fork``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipyard.server.serving._app import ServingApp
from shipyard.server.serving._metrics import ServingMetrics

if TYPE_CHECKING:
    from shipyard.auth import AuthService
    from shipyard.config import Settings
    from shipyard.serving import DeploymentAgent, ModelHost, PredictionLogger

__all__ = ["ServingApp", "ServingMetrics", "app_from_settings", "build_host",
           "create_serving_app"]


def create_serving_app(host: ModelHost, *, settings: Settings | None = None,
                       logger: PredictionLogger | None = None,
                       metrics: ServingMetrics | None = None,
                       agent: DeploymentAgent | None = None, auth: AuthService | None = None,
                       load_in_background: bool = True,
                       on_close: Callable[[], None] | None = None,
                       freeze_gc: bool = False,
                       on_reload: Callable[[], None] | None = None) -> ServingApp:
    """The ASGI app serving ``host``'s models. ``metrics`` must be the observer the host
    reports to (`build_host` wires both); limits come from ``settings`` (default: the
    defaults of every serve_* setting). ``on_close`` runs at shutdown (close the client).
    ``freeze_gc`` (for a process of its own, as ``shipyard serve``) moves everything loaded
    by then out of the garbage collector's sight. ``on_reload`` runs after each
    ``POST /admin/reload`` (forked workers: tell the others)."""
    if settings is None:
        from shipyard.config import Settings

        settings = Settings()
    s = settings
    return ServingApp(host, logger=logger, metrics=metrics, agent=agent, auth=auth,
                      max_body_bytes=s.serve_max_body_bytes,
                      request_timeout=s.serve_request_timeout,
                      access_log=s.serve_access_log, load_in_background=load_in_background,
                      on_close=on_close, freeze_gc=freeze_gc, on_reload=on_reload)


def build_host(client: Any, targets: list[str], *, settings: Settings | None = None,
               log_predictions: bool | None = None, url: str = "",
               ) -> tuple[ModelHost, PredictionLogger | None, ServingMetrics, DeploymentAgent]:
    """Wire a host, its prediction logger, metrics and deployment agent from ``settings``
    (default: the client's); nothing is loaded yet."""
    from shipyard.serving import (
        DeploymentAgent,
        ModelHost,
        PredictionLogger,
        ServeOptions,
        ServingService,
    )

    s = settings or client.settings
    metrics = ServingMetrics()
    enabled = s.serve_log_predictions if log_predictions is None else log_predictions
    logger = PredictionLogger(client.artifacts, queue_size=s.serve_log_queue_size,
                              flush_interval=s.serve_log_flush_interval,
                              flush_rows=s.serve_log_flush_rows,
                              on_drop=metrics.on_dropped) if enabled else None
    host = ModelHost(client.models, client.registry, targets,
                     options=ServeOptions.from_settings(s), logger=logger, observer=metrics)
    service: ServingService = client.serving
    agent = DeploymentAgent(host, service, url=url, reload_interval=s.serve_reload_interval,
                            heartbeat_interval=s.serve_heartbeat_interval,
                            history_retention=s.serve_history_retention,
                            stats=lambda: _stats(metrics))
    return host, logger, metrics, agent


def _stats(metrics: ServingMetrics) -> dict[str, Any]:
    """Request and error totals for the deployment heartbeat, and the latency histogram
    (every model and route together) from which the agent estimates percentiles."""
    totals: dict[str, float] = {"requests": 0.0, "errors": 0.0, "rows": 0.0}
    for family, key in ((metrics.requests, "requests"), (metrics.errors, "errors"),
                        (metrics.rows, "rows")):
        for metric in family.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    totals[key] += sample.value
    buckets: dict[float, float] = {}
    for metric in metrics.latency.collect():
        for sample in metric.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return {**{k: int(v) for k, v in totals.items()},
            "latency_buckets": sorted(buckets.items())}


def app_from_settings() -> ServingApp:
    """A uvicorn factory (``uvicorn --factory``, or ``shipyard serve --workers N`` without
    ``os.fork``): models from ``serve_models``."""
    from shipyard.client import Client

    client = Client()
    s = client.settings
    url = f"http://{s.serve_host}:{s.serve_port}"
    host, logger, metrics, agent = build_host(client, list(s.serve_models), url=url)
    auth = client.auth if s.auth else None
    # each worker loads before it accepts connections (the supervisor holds the port), so no
    # request reaches a worker that is still loading while another one answers
    return create_serving_app(host, settings=s, logger=logger, metrics=metrics, agent=agent,
                              auth=auth, on_close=client.close, load_in_background=False,
                              freeze_gc=True)
