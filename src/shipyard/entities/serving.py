"""Serving entities: a running model server (`Deployment`) and what it serves.

Plain frozen dataclasses with no I/O. A `Deployment` is one server process that registered
itself when it started and sends heartbeats while it runs (``shipyard serve``); ``stats`` holds
its latest request/error/latency counters as plain JSON values.
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
