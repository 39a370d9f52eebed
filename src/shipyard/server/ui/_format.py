"""Jinja filters: numbers, times and durations as people read them."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from shipyard.entities._ids import utc_now


def num(value: Any) -> str:
    """A metric or param value: 4 significant digits for floats, digits grouped for ints."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value == 0 or 1e-3 <= abs(value) < 1e6:
            return f"{value:.4g}"
        return f"{value:.3e}"
    return str(value)


def when(value: datetime | None) -> str:
    """``2026-11-26 19:12:04`` (UTC)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat()


def duration(seconds: float | None) -> str:
    """``850 ms``, ``12.3 s``, ``4m 05s``, ``2h 03m``, ``3d 4h``."""
    if seconds is None or seconds != seconds:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """``5 s ago``, ``3m 10s ago`` ..."""
    if value is None:
        return ""
    delta = ((now or utc_now()) - value).total_seconds()
    return "just now" if delta < 1 else f"{duration(delta)} ago"


def run_duration(run: Any, now: datetime | None = None) -> float | None:
    """Seconds a run took (or has been running)."""
    end = run.end_time or (now or utc_now())
    return (end - run.start_time).total_seconds()


def size(n: int | None) -> str:
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # pragma: no cover - unreachable


def query(params: dict[str, Any], **changes: Any) -> str:
    """``?a=1&b=2`` from the current parameters with some changed (None drops one)."""
    merged = {**params, **changes}
    items = [(k, v) for k, v in merged.items() if v not in (None, "", [])]
    flat: list[tuple[str, Any]] = []
    for k, v in items:
        if isinstance(v, list | tuple):
            flat.extend((k, x) for x in v)
        else:
            flat.append((k, v))
    return "?" + urlencode(flat) if flat else "?"


FILTERS = {"num": num, "when": when, "iso": iso, "duration": duration, "ago": ago,
           "size": size}
