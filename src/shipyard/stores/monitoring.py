"""The monitoring port: monitors, their per-window results and value time series, and
alert incidents. Contract tests: ``shipyard.testing.contracts.monitoring``.

Separate from `MetadataStore` so a backend can add it on its own schedule; the SQL backend
implements it (``backends/metadata/sql/monitoring.py``).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shipyard.entities.monitoring import Alert, AlertState, Monitor, MonitorResult, MonitorValue
from shipyard.stores.metadata import UNSET


class MonitorStore(abc.ABC):
    """Monitors and what they computed. Every write is atomic per call; names and values
    were validated by the service."""

    # -- monitors -----------------------------------------------------------------------
    @abc.abstractmethod
    def create_monitor(self, monitor: Monitor) -> Monitor:
        """Store a new monitor. Raises `MonitorAlreadyExistsError` if the name is taken."""

    @abc.abstractmethod
    def get_monitor(self, name: str) -> Monitor:
        """Raises `MonitorNotFoundError`."""

    @abc.abstractmethod
    def list_monitors(self) -> list[Monitor]:
        """Every monitor, ordered by name."""

    @abc.abstractmethod
    def update_monitor(
        self, name: str, *, last_window_end: datetime | object = UNSET,
        expected_window_end: datetime | object | None = UNSET,
        enabled: bool | object = UNSET, config: Mapping[str, Any] | object = UNSET,
        rules: Sequence[str] | object = UNSET, webhooks: Sequence[str] | object = UNSET,
    ) -> Monitor:
        """Change the given fields. With ``expected_window_end`` the change is a
        compare-and-swap on ``last_window_end`` (two runners never both advance a monitor):
        raises `ConflictError` when it moved. Raises `MonitorNotFoundError`."""

    @abc.abstractmethod
    def delete_monitor(self, name: str) -> None:
        """Remove the monitor with its results, values and alerts. Idempotent."""

    # -- results ------------------------------------------------------------------------
    @abc.abstractmethod
    def log_monitor_result(self, result: MonitorResult,
                           values: Mapping[str, float | None]) -> None:
        """Store one window's result and its values, replacing what that window had (a
        window is recomputed when late labels arrive). Non-finite values are stored as
        None. Raises `MonitorNotFoundError`."""

    @abc.abstractmethod
    def list_monitor_results(self, name: str, *, start: datetime | None = None,
                             end: datetime | None = None, max_results: int = 1000,
                             skip_newest: int = 0) -> list[MonitorResult]:
        """Results with ``start <= window_start < end``, oldest first, at most
        ``max_results`` of the newest after skipping the ``skip_newest`` newest (so a
        report N windows back reads one result, not N + 1)."""

    @abc.abstractmethod
    def get_monitor_values(self, name: str, keys: Sequence[str] | None = None, *,
                           start: datetime | None = None, end: datetime | None = None,
                           max_results: int = 10_000) -> list[MonitorValue]:
        """Points of the time series (all keys, or ``keys``), ordered by window then key."""

    @abc.abstractmethod
    def latest_monitor_values(self, name: str) -> dict[str, MonitorValue]:
        """For every key, its point of the latest window that has it."""

    # -- alerts -------------------------------------------------------------------------
    @abc.abstractmethod
    def create_alert(self, *, monitor: str, rule: str, value: float | None,
                     window_start: datetime, window_end: datetime, fired_at: datetime,
                     detail: Mapping[str, Any] | None = None) -> Alert:
        """Open a firing incident; ids grow with every call."""

    @abc.abstractmethod
    def update_alert(
        self, alert_id: int, *, state: AlertState | object = UNSET,
        value: float | object | None = UNSET, window_start: datetime | object = UNSET,
        window_end: datetime | object = UNSET, resolved_at: datetime | object | None = UNSET,
        last_notified_at: datetime | object | None = UNSET,
        notifications: int | object = UNSET, detail: Mapping[str, Any] | object = UNSET,
    ) -> Alert:
        """Change the given fields of an incident. Raises `NotFoundError`."""

    @abc.abstractmethod
    def list_alerts(self, monitor: str | None = None, *, state: AlertState | None = None,
                    rule: str | None = None, max_results: int = 100) -> list[Alert]:
        """Incidents, newest first (by id)."""
