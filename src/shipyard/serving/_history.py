"""A model server's history over time: one `DeploymentSample` per heartbeat interval.

Heartbeat stats are running totals (requests, errors and the cumulative buckets of the
latency histogram). The agent keeps the previous totals and turns the difference into a
sample: the requests and errors of the interval and latency percentiles estimated from the
interval's histogram buckets (linear interpolation inside a bucket, as Prometheus'
``histogram_quantile`` does). Charts then need no counter arithmetic, and a restart, which
is a new deployment, never shows as a negative rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shipyard.entities.serving import DeploymentSample

QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True, slots=True)
class Totals:
    """Running totals of a server at one moment (what its stats callback reports)."""

    requests: float = 0.0
    errors: float = 0.0
    buckets: tuple[tuple[float, float], ...] = ()  # (upper bound in seconds, cumulative count)

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any]) -> Totals:
        """Read ``requests``, ``errors`` and ``latency_buckets`` (``[[le, count], ...]``)."""
        buckets = []
        for pair in stats.get("latency_buckets") or ():
            try:
                buckets.append((float(pair[0]), float(pair[1])))
            except (TypeError, ValueError, IndexError):
                continue
        return cls(requests=_num(stats.get("requests")), errors=_num(stats.get("errors")),
                   buckets=tuple(sorted(buckets)))


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else 0.0


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The ``q`` quantile (0..1) of a histogram given as ascending (upper bound, cumulative
    count) pairs; None when it is empty. A rank in the ``+Inf`` bucket answers the highest
    finite bound (the histogram knows no more)."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank and cumulative > below:
            if math.isinf(bound):
                return lower
            share = (rank - below) / (cumulative - below)
            return lower + (bound - lower) * share
        if not math.isinf(bound):
            lower = bound
        below = max(below, cumulative)
    return lower


def percentiles_ms(buckets: Sequence[tuple[float, float]]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds from buckets in seconds (empty when no observations)."""
    out = {}
    for name, q in QUANTILES.items():
        value = histogram_quantile(q, buckets)
        if value is not None:
            out[name] = round(value * 1000.0, 3)
    return out


def interval_sample(prev: Totals, cur: Totals, *, at: datetime,
                    seconds: float) -> DeploymentSample:
    """The sample of the interval between two totals (counters that went down count as 0)."""
    before = dict(prev.buckets)
    delta = [(bound, max(count - before.get(bound, 0.0), 0.0)) for bound, count in cur.buckets]
    pct = percentiles_ms(delta)
    return DeploymentSample(
        at=at, seconds=seconds, requests=int(max(cur.requests - prev.requests, 0)),
        errors=int(max(cur.errors - prev.errors, 0)), p50_ms=pct.get("p50"),
        p95_ms=pct.get("p95"), p99_ms=pct.get("p99"))
