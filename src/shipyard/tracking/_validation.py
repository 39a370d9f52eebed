"""Validation of user input for tracking calls: every error names the field, the value and
what was expected, and nothing is stored when validation fails."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from shipyard.entities.tracking import ParamValue
from shipyard.errors import InvalidArgumentError

MAX_KEY_LEN = 250
MAX_PARAM_LEN = 6000
MAX_TAG_LEN = 8000
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-. /:]+$")


def validate_key(key: object, kind: str) -> str:
    """Metric, param and tag keys: 1..250 chars of letters, digits, ``_ - . / : space``,
    not path-like (no leading ``/``, no ``..`` or empty segments)."""
    if not isinstance(key, str):
        msg = f"A {kind} key must be a string. Got {key!r} ({type(key).__name__})."
        raise InvalidArgumentError(msg)
    if not key or not key.strip():
        msg = f"A {kind} key must not be empty. Got {key!r}."
        raise InvalidArgumentError(msg)
    if len(key) > MAX_KEY_LEN:
        msg = (f"A {kind} key must be at most {MAX_KEY_LEN} characters. "
               f"Got {len(key)}: {key[:40]!r}...")
        raise InvalidArgumentError(msg)
    if not _KEY_RE.match(key):
        bad = next(ch for ch in key if not _KEY_RE.match(ch))
        msg = (f"The {kind} key {key!r} contains {bad!r}; keys may use letters, digits, "
               "'_', '-', '.', '/', ':' and spaces.")
        raise InvalidArgumentError(msg)
    parts = key.split("/")
    if key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        msg = (f"The {kind} key {key!r} looks like a path; keys must not start with '/' or "
               "contain empty, '.' or '..' segments.")
        raise InvalidArgumentError(msg)
    return key


def validate_metric_value(key: str, value: object) -> float:
    """A real number (NaN and +/-inf allowed); bools and strings are rejected."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        msg = (f"Metric {key!r} must have a numeric value (int or float; NaN and inf allowed). "
               f"Got {value!r} ({type(value).__name__}).")
        raise InvalidArgumentError(msg)
    return float(value)


def validate_step(key: str, step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        msg = f"The step of metric {key!r} must be an integer. Got {step!r}."
        raise InvalidArgumentError(msg)
    return int(step)


def normalize_param(key: str, value: Any) -> ParamValue:
    """Keep str/int/float/bool/None typed; numpy scalars become Python scalars; anything else
    is stored as its ``str()`` (documented)."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        out: ParamValue = value
    elif isinstance(value, float):
        # JSON has no NaN or inf: keep them readable as text
        out = str(value) if math.isnan(value) or math.isinf(value) else value
    else:
        out = str(value)
    if isinstance(out, str) and len(out) > MAX_PARAM_LEN:
        msg = f"Param {key!r} must be at most {MAX_PARAM_LEN} characters. Got {len(out)}."
        raise InvalidArgumentError(msg, hint="log long values as an artifact (log_text)")
    return out


def normalize_tag(key: str, value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TAG_LEN:
        msg = f"Tag {key!r} must be at most {MAX_TAG_LEN} characters. Got {len(text)}."
        raise InvalidArgumentError(msg)
    return text
