"""Serving entities: a running model server (`Deployment`) and what it serves.

Plain frozen dataclasses with no I/O. A `Deployment` is one server process that registered
itself when it started and sends heartbeats while it runs (``shipyard serve``); ``stats`` holds
its latest request/error/latency counters as plain JSON values, and every heartbeat also adds a
`DeploymentSample` (what happened since the previous one) to a bounded history, from which
request rate, error rate and latency percentiles are drawn over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployedModel:
    """One model a server answers for: the URI it follows and the version it serves now."""

    name: str
    version: int | None
    uri: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment:
    """A model server process: where it listens, what it serves, and when it last said so."""

    id: str
    url: str
    models: tuple[DeployedModel, ...] = ()
    host: str | None = None
    pid: int | None = None
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def is_live(self, now: datetime, *, stale_after: timedelta) -> bool:
        """Running and heard from within ``stale_after``."""
        return self.stopped_at is None and now - self.heartbeat_at <= stale_after


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentSample:
    """One heartbeat interval of a model server: what it answered since the previous beat.

    Counts are per interval, not running totals, so a server restart (a new deployment)
    never shows as a negative rate. Percentiles are estimated from the server's latency
    histogram for the requests of this interval; None when there were none.
    """

    at: datetime  # the heartbeat that closed the interval
    seconds: float  # length of the interval
    requests: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None

    @property
    def request_rate(self) -> float:
        """Requests per second over the interval."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate(self) -> float | None:
        """Errors per request over the interval (None without requests)."""
        return self.errors / self.requests if self.requests else None
