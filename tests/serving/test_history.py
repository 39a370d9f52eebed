"""A model server's history: heartbeat samples from running totals, percentiles from the
latency histogram, downsampling for charts, and a real server writing its own history."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.serving.conftest import Zoo

from shipyard.entities.serving import DeploymentSample
from shipyard.errors import DeploymentNotFoundError, InvalidArgumentError
from shipyard.serving._history import (
    Totals,
    histogram_quantile,
    interval_sample,
    percentiles_ms,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
INF = math.inf


def test_quantile_interpolates_inside_the_bucket() -> None:
    # 10 observations <= 1 ms, 10 more in (1, 5] ms, none above
    buckets = [(0.001, 10.0), (0.005, 20.0), (INF, 20.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.001)
    assert histogram_quantile(0.75, buckets) == pytest.approx(0.003)
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.0005)


def test_quantile_in_the_inf_bucket_answers_the_highest_finite_bound() -> None:
    assert histogram_quantile(0.99, [(0.001, 1.0), (0.01, 1.0), (INF, 100.0)]) == 0.01


def test_quantile_of_an_empty_histogram_is_none() -> None:
    assert histogram_quantile(0.5, []) is None
    assert histogram_quantile(0.5, [(0.001, 0.0), (INF, 0.0)]) is None
    assert percentiles_ms([(0.001, 0.0), (INF, 0.0)]) == {}


def test_interval_sample_uses_only_the_intervals_observations() -> None:
    before = Totals(requests=100, errors=5, buckets=((0.001, 100.0), (0.1, 100.0),
                                                     (INF, 100.0)))
    # 10 new requests, all slow (between 1 and 100 ms), 2 of them errors
    after = Totals(requests=110, errors=7, buckets=((0.001, 100.0), (0.1, 110.0),
                                                    (INF, 110.0)))
    s = interval_sample(before, after, at=T0, seconds=5.0)
    assert (s.requests, s.errors, s.seconds) == (10, 2, 5.0)
    assert s.request_rate == 2.0
    assert s.error_rate == 0.2
    assert s.p50_ms == pytest.approx(50.5)  # lifetime buckets would say < 1 ms
    assert s.p50_ms < s.p95_ms < s.p99_ms <= 100.0


def test_interval_without_requests_has_no_percentiles() -> None:
    same = Totals(requests=3, errors=0, buckets=((0.001, 3.0), (INF, 3.0)))
    s = interval_sample(same, same, at=T0, seconds=15.0)
    assert (s.requests, s.p50_ms, s.p95_ms, s.p99_ms) == (0, None, None, None)


def test_totals_read_stats_and_ignore_junk() -> None:
    t = Totals.from_stats({"requests": 4, "errors": True, "latency_buckets": [
        [0.01, 4], ["x", 1], [INF, 4], "bad"]})
    assert t == Totals(requests=4.0, errors=0.0, buckets=((0.01, 4.0), (INF, 4.0)))


def test_service_history_validates_its_arguments(zoo: Zoo) -> None:
    serving = zoo.client.serving
    with pytest.raises(InvalidArgumentError, match="'since'"):
        serving.deployment_history("a" * 32, since=datetime(2026, 1, 1))
    with pytest.raises(InvalidArgumentError, match="'max_points'"):
        serving.deployment_history("a" * 32, max_points=0)
    with pytest.raises(DeploymentNotFoundError):
        serving.deployment_history("a" * 32)


def test_a_running_server_records_its_history(zoo: Zoo, serve: Any) -> None:
    """Each heartbeat of a real server adds a sample with the requests it answered in that
    interval and their latency percentiles; stats carry lifetime percentiles."""
    serving = zoo.client.serving
    record = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}
    with serve(zoo.client, ["models:/lr@champion"], serve_log_predictions=False,
               serve_heartbeat_interval=0.3) as s:
        dep = next(d for d in serving.list_deployments(live=True)
                   if d.pid is not None and d.models and d.models[0].name == "lr")
        for _ in range(20):
            assert s.post("/v1/models/lr/predict", json=[record]).status_code == 200
        assert s.post("/v1/models/lr/predict", json=[{"a": "x"}]).status_code == 400
        deadline = time.monotonic() + 10
        history: list[DeploymentSample] = []
        while time.monotonic() < deadline:
            history = serving.deployment_history(dep.id)
            if sum(h.requests for h in history) >= 21:
                break
            time.sleep(0.1)
    assert sum(h.requests for h in history) >= 21
    # the last heartbeat (at stop) closes the history: the samples add up to the totals
    history = serving.deployment_history(dep.id)
    stats = serving.get_deployment(dep.id).stats
    assert sum(h.requests for h in history) == stats["requests"]
    assert sum(h.errors for h in history) == stats["errors"] == 1
    busy = [h for h in history if h.requests]
    assert busy
    assert all(h.p50_ms is not None and 0 < h.p50_ms <= h.p95_ms <= h.p99_ms for h in busy)
    assert all(h.p50_ms is None for h in history if not h.requests)
    assert "latency_buckets" not in stats
    assert set(stats["latency_ms"]) == {"p50", "p95", "p99"}
