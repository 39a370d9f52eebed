"""The deployments page charts a real model server's heartbeat history: a ``shipyard serve``
subprocess on the seeded store answers requests (some of them bad), its agent stores one
sample per heartbeat, and Chromium draws request rate, error rate and latency percentiles
from them with no console error; once the server stops it leaves the default listing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.browser.conftest import SHOTS, Tab, World
from tests.browser.test_pages import drawn

from shipyard.testing.server import clean_env, free_port

pytestmark = pytest.mark.browser

ROW = {"tenure": 12.0, "monthly_charges": 70.0, "support_calls": 2.0}


@dataclass
class ModelServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def model_server(world: World, tmp_path: Path) -> Iterator[ModelServer]:
    """``shipyard serve models:/churn@champion`` with a heartbeat every 0.5 s."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = clean_env(home=str(world.home), serve_heartbeat_interval="0.5",
                    serve_reload_interval="0")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipyard", "serve", "models:/churn@champion", "--port",
             str(port), "--no-log-predictions", "--no-access-log"],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            pytest.fail(f"shipyard serve exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"shipyard serve never became ready: {log.read_text()}")
        time.sleep(0.2)
    server = ModelServer(url=url, process=proc, log=log)
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _mine(library: Any, port: str) -> Any:
    found = [d for d in library.serving.list_deployments() if d.url.endswith(f":{port}")]
    assert found, "the model server did not register itself"
    return found[0]


def test_deployments_page_charts_a_real_servers_history(
        tab: Tab, library: Any, model_server: ModelServer) -> None:
    port = model_server.url.rsplit(":", 1)[1]
    dep = _mine(library, port)
    with httpx.Client(base_url=model_server.url, timeout=30) as http:
        for burst in (5, 20, 10):  # three bursts, a heartbeat or more apart
            for _ in range(burst):
                ok = http.post("/v1/models/churn/predict", json=[ROW])
                assert ok.status_code == 200, ok.text
            bad = http.post("/v1/models/churn/predict", json=[{"tenure": "many"}])
            assert bad.status_code == 400
            time.sleep(0.7)
    deadline = time.monotonic() + 20
    history = []
    while time.monotonic() < deadline:
        history = library.serving.deployment_history(dep.id)
        if sum(s.requests for s in history) >= 38 and len(history) >= 4:
            break
        time.sleep(0.2)
    busy = [s for s in history if s.requests]
    assert len(busy) >= 2, history
    assert sum(s.errors for s in history) >= 3  # the bad requests (and any 503 before ready)
    assert all(s.p50_ms is not None and s.p50_ms <= s.p99_ms for s in busy)  # type: ignore[operator]

    tab.go("/deployments?window=15m")
    section = f"#dep-{dep.id}"
    assert tab.page.get_attribute(section, "data-deployment-state") == "live"
    container = f"{section} .charts"
    assert drawn(tab, container) == 3
    titles = tab.page.locator(f"{container} .chart h4").all_inner_texts()
    assert [t.strip() for t in titles] == ["requests per second", "error rate (%)",
                                          "latency (ms)"]
    data_id = tab.page.get_attribute(container, "data-charts")
    charts = json.loads(tab.page.locator(f"script#{data_id}").inner_text())
    rates = [v for v in charts["requests per second"]["series"][0]["values"] if v]
    assert rates, charts
    assert max(rates) > 1  # 20 requests inside a second-long interval
    errors = [v for v in charts["error rate"]["series"][0]["values"] if v]
    assert errors, charts
    p99 = [v for v in charts["latency"]["series"][2]["values"] if v is not None]
    assert p99, charts
    # the uPlot canvases have pixels: a line was drawn, not an empty frame
    painted = tab.page.evaluate(
        """sel => Array.from(document.querySelectorAll(sel + ' .uplot canvas')).map(c => {
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; })""",
        container)
    assert all(n > 100 for n in painted), painted
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.locator(section).screenshot(path=str(SHOTS / "deployment-live-server.png"))

    # the JSON twin of the section answers the same samples
    twin = tab.page.get_attribute(f"{section} a.twin", "href")
    assert twin is not None
    body = httpx.get(tab.base + twin, timeout=10).json()
    assert sum(s["requests"] for s in body) >= 38

    model_server.process.send_signal(signal.SIGTERM)
    model_server.process.wait(timeout=30)
    assert library.serving.get_deployment(dep.id).stopped_at is not None
    tab.go("/deployments")
    assert tab.page.locator(section).count() == 0
