"""Deployments (running model servers) and the background loops of a server process.

`ServingService` is what the library, CLI and UI use: list the model servers that registered
themselves, live or stale, and each one's history over time. `DeploymentAgent` is what a
server runs: register on start, heartbeat with its served versions and request stats (and a
`DeploymentSample` of the interval, see ``_history``), mark itself stopped on exit, and
(``reload_interval`` > 0) poll the registry for moved aliases.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shipyard.entities._ids import new_id, utc_now
from shipyard.entities.serving import DeployedModel, Deployment, DeploymentSample
from shipyard.errors import ConfigError, ShipyardError, invalid
from shipyard.serving._history import Totals, interval_sample, percentiles_ms
from shipyard.stores.serving import DeploymentStore

if TYPE_CHECKING:
    from shipyard.serving._host import ModelHost

log = logging.getLogger("shipyard.serving")
STALE_AFTER_HEARTBEATS = 3
HISTORY_RETENTION = 7 * 24 * 3600.0


class ServingService:
    """The registry of running model servers (the ``deployments`` table)."""

    def __init__(self, store: DeploymentStore | None, *, heartbeat_interval: float = 15.0) -> None:
        self._store = store
        self.heartbeat_interval = heartbeat_interval

    @property
    def store(self) -> DeploymentStore:
        if self._store is None:
            msg = "This client's metadata backend keeps no deployments."
            raise ConfigError(msg, hint="use a SQLite or PostgreSQL metadata store (not "
                                        "client mode) to list model servers")
        return self._store

    @property
    def supported(self) -> bool:
        return self._store is not None

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.heartbeat_interval * STALE_AFTER_HEARTBEATS)

    def list_deployments(self, *, live: bool | None = None,
                         include_stopped: bool = False) -> list[Deployment]:
        """Model servers, newest first. ``live=True``: running and heard from within 3
        heartbeat intervals; ``live=False``: stale (running but silent, probably dead);
        None: both. Stopped servers only with ``include_stopped``."""
        if live is not None and not isinstance(live, bool):
            err = invalid("live", live, "True, False or None", where="list_deployments")
            raise err
        items = self.store.list_deployments(include_stopped=include_stopped)
        if live is None:
            return items
        now = utc_now()
        return [d for d in items if d.stopped_at is None
                and d.is_live(now, stale_after=self.stale_after) is live]

    def get_deployment(self, deployment_id: str) -> Deployment:
        return self.store.get_deployment(deployment_id)

    def deployment_history(
        self, deployment_id: str, *, since: datetime | None = None,
        until: datetime | None = None, max_points: int | None = None,
    ) -> list[DeploymentSample]:
        """A server's heartbeat samples (requests, errors, latency percentiles per interval),
        oldest first, within ``since``..``until``. ``max_points`` merges neighbours so a chart
        gets at most that many (see `DeploymentStore.deployment_history`).
        Raises `DeploymentNotFoundError`."""
        for name, value in (("since", since), ("until", until)):
            if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
                raise invalid(name, value, "a timezone-aware datetime or None",
                              where="deployment_history")
        if max_points is not None and (isinstance(max_points, bool) or not isinstance(
                max_points, int) or max_points < 1):
            msg = "max_points"
            raise invalid(msg, max_points, "an integer >= 1 or None",
                          where="deployment_history")
        return self.store.deployment_history(deployment_id, since=since, until=until,
                                             max_points=max_points)

    def is_live(self, deployment: Deployment, now: datetime | None = None) -> bool:
        return deployment.is_live(now or utc_now(), stale_after=self.stale_after)

    def purge_deployments(self, *, older_than: timedelta = timedelta(days=7)) -> int:
        """Forget servers stopped more than ``older_than`` ago."""
        return self.store.delete_deployments(stopped_before=utc_now() - older_than)


def served_models(host: ModelHost) -> list[DeployedModel]:
    return [DeployedModel(name=m.name, uri=m.uri,
                          version=m.current.version if m.current is not None else None)
            for m in host.models.values()]


class DeploymentAgent:
    """A server's background duties: deployment record + heartbeats, and alias polling.

    One daemon thread; ``stats`` is called on every heartbeat for the latest running
    totals: ``requests``, ``errors`` and, optionally, ``latency_buckets`` (the request
    latency histogram as ``[[upper bound in seconds, cumulative count], ...]``). Each
    heartbeat stores the totals (with lifetime ``latency_ms`` percentiles instead of the
    buckets) and a sample of the interval since the previous heartbeat; samples older than
    ``history_retention`` seconds are dropped."""

    def __init__(self, host: ModelHost, service: ServingService, *, url: str,
                 reload_interval: float = 10.0, heartbeat_interval: float | None = None,
                 stats: Callable[[], dict[str, Any]] | None = None,
                 history_retention: float = HISTORY_RETENTION) -> None:
        self.host = host
        self.service = service
        self.url = url
        self.reload_interval = reload_interval
        self.heartbeat_interval = heartbeat_interval or service.heartbeat_interval
        self.stats = stats or dict
        self.history_retention = timedelta(seconds=history_retention)
        self.deployment_id = new_id()
        self._previous: tuple[datetime, Totals] | None = None
        self.registered = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_fork(self, deployment_id: str | None = None) -> None:
        """In a worker forked from the process that built this agent (``shipyard serve
        --workers N``): each worker is a deployment of its own, so it needs its own id
        (``deployment_id``, chosen by the parent so it can `mark_stopped` a dead worker)."""
        self.deployment_id = deployment_id or new_id()
        self._previous = None
        self.registered = False
        self._stop = threading.Event()
        self._thread = None

    def mark_stopped(self, deployment_id: str) -> None:
        """Record another process's deployment as stopped now: the supervising parent does
        this for a worker that died without doing it itself (a worker that never
        registered has no record: nothing to do)."""
        if not self.service.supported:
            return
        with contextlib.suppress(ShipyardError):
            self.service.store.stop_deployment(deployment_id, at=utc_now())

    def start(self) -> None:
        self._register()
        follows = any(m.follows for m in self.host.models.values())
        if self._thread is None and (self.registered or (follows and self.reload_interval)):
            self._thread = threading.Thread(target=self._loop, name="shipyard-serving-agent",
                                            daemon=True)
            self._thread.start()

    def _register(self) -> None:
        if not self.service.supported:
            log.info("deployment registry unavailable (client mode): not registering")
            return
        now = utc_now()
        try:
            self.service.store.create_deployment(Deployment(
                id=self.deployment_id, url=self.url, models=tuple(served_models(self.host)),
                host=socket.gethostname(), pid=os.getpid(), started_at=now, heartbeat_at=now,
                stats={}))
            self.registered = True
            self._previous = (now, Totals())  # a new process: its counters start at 0
        except ShipyardError as exc:
            log.warning("could not register this server as a deployment: %s", exc.message)

    def _loop(self) -> None:
        beat = self.heartbeat_interval
        poll = self.reload_interval if any(m.follows for m in self.host.models.values()) \
            else 0.0
        clock = time.monotonic()
        next_beat, next_poll = clock + beat, clock + (poll or float("inf"))
        while not self._stop.is_set():
            wait = max(0.0, min(next_beat, next_poll) - time.monotonic())
            if self._stop.wait(wait):
                break
            now = time.monotonic()
            if poll and now >= next_poll:
                next_poll = now + poll
                try:
                    self.host.reload()
                except Exception:
                    log.exception("alias check failed")
            if now >= next_beat:
                next_beat = now + beat
                self.heartbeat()

    def heartbeat(self) -> None:
        if not self.registered:
            return
        at = utc_now()
        stats = dict(self.stats())
        totals = Totals.from_stats(stats)
        if stats.pop("latency_buckets", None) is not None:
            stats["latency_ms"] = percentiles_ms(totals.buckets)
        sample = None
        if self._previous is not None and at > self._previous[0]:
            since, before = self._previous
            sample = interval_sample(before, totals, at=at,
                                     seconds=(at - since).total_seconds())
        try:
            self.service.store.heartbeat_deployment(
                self.deployment_id, at=at, models=served_models(self.host), stats=stats,
                sample=sample, keep_since=at - self.history_retention)
        except ShipyardError as exc:  # the next sample covers this interval too
            log.warning("deployment heartbeat failed: %s", exc.message)
            return
        self._previous = (at, totals)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self.registered:
            try:
                self.heartbeat()
                self.service.store.stop_deployment(self.deployment_id, at=utc_now())
            except ShipyardError as exc:
                log.warning("could not mark the deployment stopped: %s", exc.message)
