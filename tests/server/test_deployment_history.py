"""A deployment's heartbeat history in process: the JSON route, its arguments and errors,
and the deployments page's charts and window."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from tests.server.conftest import ApiClient

from shipyard.client import Client
from shipyard.entities._ids import utc_now
from shipyard.entities.serving import DeployedModel, Deployment, DeploymentSample

MODEL = (DeployedModel(name="churn", version=3, uri="models:/churn@champion"),)


@pytest.fixture
def fleet(server_client: Client) -> dict[str, Any]:
    """A live server with 2 hours of heartbeats (one a minute) and a stale one."""
    store = server_client.serving.store
    now = utc_now().replace(microsecond=0)
    live = store.create_deployment(Deployment(
        id="1" * 32, url="http://a:8080", models=MODEL, started_at=now - timedelta(hours=2),
        heartbeat_at=now, stats={"requests": 7200, "errors": 72,
                                 "latency_ms": {"p50": 3.0, "p95": 9.0, "p99": 20.0}}))
    for i in range(120, 0, -1):
        at = now - timedelta(minutes=i - 1)
        store.heartbeat_deployment(live.id, at=at, sample=DeploymentSample(
            at=at, seconds=60.0, requests=60 * (1 + i % 3), errors=i % 2,
            p50_ms=3.0, p95_ms=9.0, p99_ms=20.0 + i % 5))
    stale = store.create_deployment(Deployment(
        id="2" * 32, url="http://b:8080", models=MODEL, started_at=now - timedelta(hours=3),
        heartbeat_at=now - timedelta(minutes=30)))
    at = now - timedelta(minutes=30)
    store.heartbeat_deployment(stale.id, at=at, sample=DeploymentSample(
        at=at, seconds=15.0, requests=0, errors=0))
    return {"now": now, "live": live.id, "stale": stale.id}


def test_history_route_returns_the_samples_oldest_first(ui: ApiClient,
                                                        fleet: dict[str, Any]) -> None:
    r = ui.get(f"/api/v1/deployments/{fleet['live']}/history")
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body) == 120
    assert [s["at"] for s in body] == sorted(s["at"] for s in body)
    assert set(body[0]) == {"at", "seconds", "requests", "errors", "p50_ms", "p95_ms",
                            "p99_ms"}
    since = (fleet["now"] - timedelta(minutes=9, seconds=30)).isoformat()
    recent = ui.get(f"/api/v1/deployments/{fleet['live']}/history",
                    params={"since": since}).json()
    assert len(recent) == 10
    merged = ui.get(f"/api/v1/deployments/{fleet['live']}/history",
                    params={"max_points": 12}).json()
    assert len(merged) <= 12
    assert sum(s["requests"] for s in merged) == sum(s["requests"] for s in body)


def test_history_route_errors_are_4xx(ui: ApiClient, fleet: dict[str, Any]) -> None:
    missing = ui.get(f"/api/v1/deployments/{'9' * 32}/history")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "deployment-not-found"
    naive = ui.get(f"/api/v1/deployments/{fleet['live']}/history",
                   params={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 400
    assert "since" in naive.json()["error"]["message"]
    zero = ui.get(f"/api/v1/deployments/{fleet['live']}/history", params={"max_points": 0})
    assert zero.status_code == 400
    assert "max_points" in zero.json()["error"]["message"]
    assert ui.get(f"/api/v1/deployments/{fleet['live']}/history",
                  params={"since": "yesterday"}).status_code in (400, 422)


def _chart_data(page: str, index: int) -> dict[str, Any]:
    found = re.search(rf'<script type="application/json" id="dep-data-{index}">(.*?)</script>',
                      page, re.S)
    assert found, f"no chart data for deployment {index}"
    return json.loads(found.group(1))


def test_page_charts_the_window_and_marks_stale_silence(ui: ApiClient,
                                                        fleet: dict[str, Any]) -> None:
    page = ui.get("/deployments").text
    assert re.findall(r'<section id="dep-\w+" class="deployment" data-deployment-state="(\w+)"',
                      page) == ["live", "stale"]
    live = _chart_data(page, 1)
    assert set(live) == {"requests per second", "error rate", "latency"}
    # the default window is one hour: 60 one-minute samples
    assert len(live["requests per second"]["x"]) == 60
    assert [s["label"] for s in live["latency"]["series"]] == ["p50", "p95", "p99"]
    # the newest sample (i = 1): 1 error in 120 requests, shown in percent
    assert live["error rate"]["unit"] == "%"
    assert live["error rate"]["series"][0]["values"][-1] == round(100 / 120, 3)
    assert all(v in (1.0, 2.0, 3.0) for v in live["requests per second"]["series"][0]["values"])
    stale = _chart_data(page, 2)
    xs = stale["requests per second"]["x"]
    assert len(xs) == 2  # its one heartbeat, then blank time up to now
    assert stale["requests per second"]["series"][0]["values"][-1] is None
    assert "latency" not in stale  # no requests: no percentiles
    day = _chart_data(ui.get("/deployments?window=24h").text, 1)
    assert len(day["requests per second"]["x"]) == 120
    assert f"/api/v1/deployments/{fleet['live']}/history?since=" in page


def test_page_without_history_says_so(ui: ApiClient, server_client: Client) -> None:
    now = utc_now()
    server_client.serving.store.create_deployment(Deployment(
        id="3" * 32, url="http://c:8080", models=MODEL, started_at=now, heartbeat_at=now))
    page = ui.get("/deployments?window=nonsense").text
    assert "No heartbeats in the last 1h to chart yet." in page
