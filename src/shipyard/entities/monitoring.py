"""Monitoring entities: monitors, their windowed results and values, and alerts.

Plain frozen dataclasses with no I/O. A monitor's ``config`` is a JSON object (drift method
and thresholds, cool-down, minimum labels, expected volume, ...; see
``shipyard.monitoring.MonitorConfig``) so new options need no schema change.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Monitor:
    """Watches one model's prediction log in fixed windows and evaluates rules on each."""

    name: str
    model_uri: str
    """``models:/NAME@ALIAS``, ``models:/NAME/VERSION`` or ``models:/NAME/latest``."""
    window_seconds: int
    rules: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    last_window_end: datetime | None = None
    """End of the latest window evaluated; the next window starts there."""
    created_at: datetime
    created_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorResult:
    """Everything computed for one window (``summary`` is the JSON of the reports)."""

    monitor: str
    window_start: datetime
    window_end: datetime
    computed_at: datetime
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorValue:
    """One point of a monitor's time series, e.g. ``drift_share`` of one window."""

    monitor: str
    key: str
    window_start: datetime
    value: float | None


class AlertState(enum.StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One incident of a rule: it opens when the rule starts to hold and resolves when it
    stops. ``notifications`` counts the webhook messages sent for it (firing + resolved);
    ``detail`` keeps delivery outcomes and whether it was suppressed by the cool-down."""

    id: int
    monitor: str
    rule: str
    state: AlertState
    value: float | None
    window_start: datetime
    window_end: datetime
    fired_at: datetime
    resolved_at: datetime | None = None
    last_notified_at: datetime | None = None
    notifications: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
