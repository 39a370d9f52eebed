"""Monitor options (kept in the monitor's ``config`` JSON) and duration parsing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from shipyard.errors import InvalidArgumentError
from shipyard.monitoring._drift import SHARE_THRESHOLD, SMALL_SAMPLE, check_options

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str | float | int, *, what: str = "duration") -> float:
    """Seconds from ``90``, ``"30s"``, ``"5m"``, ``"1h"``, ``"1d"`` or ``"1w"``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if m is None:
            msg = (f"The {what} {value!r} is not a duration; write a number of seconds or "
                   "a number with a unit: 30s, 5m, 1h, 1d, 1w.")
            raise InvalidArgumentError(msg)
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        msg = f"The {what} must be positive. Got {value!r}."
        raise InvalidArgumentError(msg)
    return seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorConfig:
    """Everything a monitor can be told besides its model, window, rules and webhooks.

    Drift: ``drift_method`` (``auto`` or a method for every column, or ``{column: method}``),
    ``drift_thresholds`` (``{column or method: value}``), ``small_sample``, ``fdr`` and
    ``share_threshold`` mean what they mean for `drift_report`. Quality:
    ``quality_thresholds`` and ``expected_rows`` (None: the median row count of the previous
    24 windows). Performance: ``task`` (None: inferred), ``positive_label``, ``min_labels``
    (metrics are recorded only from this many labelled predictions; coverage always is) and
    ``label_horizon_seconds``. Alerts: ``cooldown_seconds``. ``reference`` and
    ``prediction_reference`` are artifact keys of stored profiles; ``start_ms`` is where the
    first window starts."""

    drift_method: str | dict[str, str] = "auto"
    drift_thresholds: dict[str, float] = field(default_factory=dict)
    small_sample: int = SMALL_SAMPLE
    fdr: bool = True
    share_threshold: float = SHARE_THRESHOLD
    categorical: list[str] = field(default_factory=list)
    quality_thresholds: dict[str, float] = field(default_factory=dict)
    expected_rows: float | None = None
    task: str | None = None
    positive_label: Any = None
    min_labels: int = 100
    label_horizon_seconds: float = 7 * 86400.0
    cooldown_seconds: float = 3600.0
    reference: str | None = None
    prediction_reference: str | None = None
    start_ms: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MonitorConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            msg = f"Unknown monitor options {unknown!r}; known ones: {sorted(known)!r}."
            raise InvalidArgumentError(msg)
        cfg = cls(**dict(data))
        cfg.validate()
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> None:
        check_options(self.drift_method, self.drift_thresholds, self.share_threshold)
        if self.task not in (None, "classification", "regression"):
            msg = f"task must be 'classification' or 'regression'. Got {self.task!r}."
            raise InvalidArgumentError(msg)
        for name in ("min_labels", "small_sample"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                msg = f"{name} must be an integer >= 0. Got {value!r}."
                raise InvalidArgumentError(msg)
        for name in ("cooldown_seconds", "label_horizon_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                msg = f"{name} must be a number >= 0. Got {value!r}."
                raise InvalidArgumentError(msg)
        from shipyard.monitoring._quality import DEFAULT_QUALITY_THRESHOLDS

        for key, value in self.quality_thresholds.items():
            if key not in DEFAULT_QUALITY_THRESHOLDS:
                msg = (f"Unknown quality threshold {key!r}; use one of "
                       f"{sorted(DEFAULT_QUALITY_THRESHOLDS)!r}.")
                raise InvalidArgumentError(msg)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                msg = f"The quality threshold {key!r} must be a number >= 0. Got {value!r}."
                raise InvalidArgumentError(msg)
        if self.expected_rows is not None and self.expected_rows <= 0:
            msg = f"expected_rows must be positive. Got {self.expected_rows!r}."
            raise InvalidArgumentError(msg)
